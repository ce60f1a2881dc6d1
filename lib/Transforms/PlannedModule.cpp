//===- PlannedModule.cpp - A model and its #mafat.plan --------------------===//

#include "mafat/Transforms/PlannedModule.h"

#include "mafat/Analysis/ModelEntry.h"
#include "mafat/Dialect/Mafat/MafatAttrs.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mafat;

LogicalResult mafat::readPlannedModule(ModuleOp module, StringRef entry,
                                       StringRef who,
                                       std::optional<PlannedModule> &result) {
  result.reset();
  auto planAttr = module->getAttrOfType<PlanAttr>(kPlanAttrName);
  func::FuncOp func;
  FailureOr<IRLayerGraph> built = failure();
  {
    // Without a plan, what cannot be planned is not an error here.
    std::optional<ScopedDiagnosticHandler> quiet;
    if (!planAttr)
      quiet.emplace(module.getContext(),
                    [](Diagnostic &) { return success(); });
    func = findEntry(module, entry, who);
    if (!func)
      return success(!planAttr);
    built = buildLayerGraph(func);
    if (failed(built))
      return success(!planAttr);
  }
  Plan plan = planAttr ? fromAttr(planAttr) : layerByLayerPlan(built->graph);
  std::string error;
  std::optional<std::vector<FusionGroup>> groups =
      buildPlanGroups(built->graph, plan, error);
  if (!groups)
    return func.emitError(who) << error;
  result = PlannedModule{func,
                         std::move(built->graph),
                         std::move(built->ir),
                         std::move(plan),
                         (bool)planAttr,
                         std::move(*groups)};
  return success();
}
