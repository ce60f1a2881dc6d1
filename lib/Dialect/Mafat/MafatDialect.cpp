//===- MafatDialect.cpp - The mafat dialect -------------------------------===//

#include "mafat/Dialect/Mafat/MafatDialect.h"
#include "mafat/Dialect/Mafat/MafatAttrs.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mafat;

#include "mafat/Dialect/Mafat/MafatDialect.cpp.inc"

void MafatDialect::initialize() { registerAttributes(); }

// Attribute constructors do not know where the attribute ends up, and
// toAttr builds without checking; this is the one place that sees the plan
// in place, so it re-runs the full check there. Every other mafat.* name
// (mafat.workspace_bytes, mafat.input_names, ...) belongs to passes that
// check their own attributes.
LogicalResult MafatDialect::verifyOperationAttribute(Operation *op,
                                                     NamedAttribute attr) {
  if (attr.getName() != kPlanAttrName)
    return success();
  auto plan = dyn_cast<PlanAttr>(attr.getValue());
  if (!plan)
    return op->emitError() << "'" << kPlanAttrName
                           << "' must be a #mafat.plan attribute, got "
                           << attr.getValue();
  if (!isa<ModuleOp>(op))
    return op->emitError() << "'" << kPlanAttrName
                           << "' belongs on a builtin.module, not on '"
                           << op->getName() << "'";
  return PlanAttr::verify([op] { return op->emitError(); }, plan.getGroups());
}
