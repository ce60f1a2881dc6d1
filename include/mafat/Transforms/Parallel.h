//===- Parallel.h - The contract of mafat's parallel forms ------*- C++ -*-===//
//
// Names and helpers shared by the passes that produce and lower parallel
// code: mafat-tile-and-vectorize marks the loops that may be split,
// mafat-parallelize turns them into scf.forall, mafat-outline-parallel and
// mafat-lower-parallel-launch turn those into calls of the caller's
// parallel-for (mafat/runtime.h).
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_PARALLEL_H
#define MAFAT_TRANSFORMS_PARALLEL_H

#include "mafat/Dialect/Mafat/AttrNames.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/ADT/StringRef.h"

namespace mafat {

/// The work of a layer for the split decision: its iteration count.
int64_t layerIterations(mlir::linalg::LinalgOp op);

/// Marks the outermost loop of `loops` (a layer's register-block tiling over
/// its parallel dims, outermost first) that runs more than once as
/// splittable; `work` is layerIterations of the layer.
void markParallelLoop(llvm::ArrayRef<mlir::LoopLikeOpInterface> loops,
                      int64_t work);

/// The work a marked loop was marked with; none if it is not marked.
std::optional<int64_t> parallelLoopWork(mlir::Operation *loop);

/// Removes the mark.
void clearParallelLoopMark(mlir::Operation *loop);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_PARALLEL_H
