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

/// What mafat-parallelize needs to know of a layer's split loop.
struct ParallelMark {
  /// The layer's iteration count (the split rule's work).
  int64_t work = 0;
  /// Split by output rows rather than filter blocks: each thread then reads
  /// only its rows of the input, which the previous layer, split the same
  /// way, left in that thread's cache. Chosen when the layer's weights are
  /// no larger than its input (early and depthwise layers); deep layers
  /// with large weights split filters so each thread reads half of them.
  bool rowsFirst = false;
};

/// The mark of layer `op`.
ParallelMark parallelMarkOf(mlir::linalg::LinalgOp op);

/// Marks the outermost loop of `loops` (a layer's register-block tiling over
/// its parallel dims, outermost first) that runs more than once as
/// splittable. The next loop of `loops` that runs more than once is marked
/// as its inner output-block loop (the rows when the split loop walks filter
/// blocks).
void markParallelLoop(llvm::ArrayRef<mlir::LoopLikeOpInterface> loops,
                      ParallelMark mark);

/// The work a marked loop was marked with; none if it is not marked.
std::optional<int64_t> parallelLoopWork(mlir::Operation *loop);

/// Whether the layer of a marked loop prefers a split by rows.
bool prefersRowSplit(mlir::Operation *loop);

/// Whether `loop` is marked as the inner output-block loop of a split loop.
bool isParallelInnerLoop(mlir::Operation *loop);

/// Removes the marks.
void clearParallelLoopMark(mlir::Operation *loop);

/// Marks `loop` as a fused group's slot loop of `slots` iterations (the
/// concurrent-tiles form): mafat-parallelize makes it an scf.forall whatever
/// it allocates, and mafat-plan-memory gives each iteration its own copy of
/// the buffers the loop body allocates.
void markSlotLoop(mlir::Operation *loop, int64_t slots);

/// The slot count of a slot loop; none for any other loop.
std::optional<int64_t> slotLoopCount(mlir::Operation *loop);

/// A fused group's slot loop (the concurrent forms: tiles of a recompute
/// group, column tiles of a stream group): an scf.for over `slots`
/// iterations carrying the output map `acc`, marked for mafat-parallelize
/// (markSlotLoop). `body` emits slot `slotIv`'s work on the carried map and
/// returns the map. Returns the loop's result.
mlir::Value
emitSlotLoop(mlir::OpBuilder &b, mlir::Location loc, int64_t slots,
             mlir::Value acc,
             llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                            mlir::Value, mlir::Value)>
                 body);

/// The part of a tile class's loop [0, count) inside a slot's band of the
/// group's `tiles` tiles, [lo(s), lo(s + 1)) with lo(s) = s * tiles floordiv
/// slots (CodegenRules.h, slotBandBegin): max(0, lo(s) - first) and
/// min(count, lo(s + 1) - first), an affine.max and an affine.min of
/// `dims`, whose dim 0 is the slot. `first`, an affine expression of
/// `dims`, is the row-major index of the loop's first tile.
std::pair<mlir::Value, mlir::Value>
slotBandBounds(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange dims,
               mlir::AffineExpr first, int64_t count, int64_t tiles,
               int64_t slots);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_PARALLEL_H
