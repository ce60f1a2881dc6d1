//===- StreamGroup.h - A stream group becomes stripe loops ------*- C++ -*-===//
//
// The stream half of mafat-fuse-tile (docs/Fusion.md, "Streaming"): a group
// whose plan mode is stream becomes one scf.for per stripe class, carrying
// the group's output map and one rolling buffer per window edge
// (Graph/StreamGroup.h) as iter_args.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_STREAMGROUP_H
#define MAFAT_TRANSFORMS_STREAMGROUP_H

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/Graph/FusionGroup.h"

#include "mlir/IR/Value.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/DenseMap.h"

namespace mafat {

/// Rewrites stream group `group` (of `graph`, whose ops `ir` finds) in
/// place. `currentValue` maps the output
/// layers of groups rewritten so far to their new values, and gets this
/// group's output. Fails with a diagnostic naming the group and the layer.
mlir::LogicalResult
rewriteStreamGroup(const LayerGraph &graph, const LayerIRMap &ir,
                   const FusionGroup &group,
                   llvm::DenseMap<unsigned, mlir::Value> &currentValue);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_STREAMGROUP_H
