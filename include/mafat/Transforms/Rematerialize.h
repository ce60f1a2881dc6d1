//===- Rematerialize.h - Clone a layer chain for late readers --*- C++ -*-===//
//
// The IR side of mafat/Graph/Rematerialization.h: the chain's layers are
// cloned (with their own inits and folded pads; constants are shared) right
// before the first op of the late readers, which then read the copy. The
// copies are named "<layer>.remat" (NameLoc) and carry
// `mafat.rematerialized = "<map>"`, which also keeps CSE from merging a copy
// back into its original while both are still untiled.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_REMATERIALIZE_H
#define MAFAT_TRANSFORMS_REMATERIALIZE_H

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/Graph/Rematerialization.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mafat {

/// Rewrites `func` (whose layer graph and IR map are `built`) so that
/// `r.lateUsers` read a copy of `r.chain` computed from `r.source`. The
/// layer graph must be rebuilt afterwards. Fails, emitting an error, if the
/// layers' ops are not all in the entry block.
mlir::LogicalResult rematerialize(mlir::func::FuncOp func,
                                  const IRLayerGraph &built,
                                  const Rematerialization &r);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_REMATERIALIZE_H
