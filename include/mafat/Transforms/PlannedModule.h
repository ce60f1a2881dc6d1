//===- PlannedModule.h - A model and its #mafat.plan ------------*- C++ -*-===//
//
// What the passes after mafat-plan read from a module: the model function
// (findEntry's rule, so every pass picks the same one), its layer graph and
// the groups of the plan attached as #mafat.plan, in the order they run.
// The passes that follow the plan (mafat-fuse-tile, the group profiler)
// must see the same groups, so they read them here.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_PLANNEDMODULE_H
#define MAFAT_TRANSFORMS_PLANNEDMODULE_H

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Plan/Plan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <vector>

namespace mafat {

struct PlannedModule {
  mlir::func::FuncOp entry;
  LayerGraph graph;
  /// Where the graph's nodes are in `entry`.
  LayerIRMap ir;
  /// The module's #mafat.plan, or layer by layer if it has none.
  Plan plan;
  bool hasPlan = false;
  /// buildPlanGroups(graph, plan): every layer, in execution order.
  std::vector<FusionGroup> groups;
};

/// Reads the planned model of `module`; `entry` names the model function as
/// for findEntry. With a plan, a missing model function, a graph that cannot
/// be built or a plan that does not fit it is an error (prefixed by `who`,
/// e.g. "mafat-fuse-tile: ", where the diagnostic is mafat's own). Without
/// one, the model runs layer by layer whatever it holds, so a module with no
/// single model function or a model the layer graph does not cover is no
/// error: `result` stays empty and nothing is reported.
mlir::LogicalResult readPlannedModule(mlir::ModuleOp module,
                                      llvm::StringRef entry,
                                      llvm::StringRef who,
                                      std::optional<PlannedModule> &result);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_PLANNEDMODULE_H
