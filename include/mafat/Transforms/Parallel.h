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

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/ADT/StringRef.h"

namespace mafat {

/// The mark of an scf.for whose iterations write disjoint blocks of one
/// layer's output and use no buffer of their own; its value is the layer's
/// iteration count (the work a parallel launch is weighed against). Kept in
/// the loop's location metadata (see markParallelLoop).
constexpr llvm::StringLiteral kParallelLoopAttr = "mafat.parallel";
/// On the entry's last argument: the caller's `const mafat_parallel_t *`.
constexpr llvm::StringLiteral kParallelArgAttr = "mafat.parallel";
/// On a launch declaration: the task function it launches.
constexpr llvm::StringLiteral kLaunchBodyAttr = "mafat.launch_body";
/// On a planned function: the thread count it was compiled for.
constexpr llvm::StringLiteral kThreadsAttr = "mafat.threads";

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
