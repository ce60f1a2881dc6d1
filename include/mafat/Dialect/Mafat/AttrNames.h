//===- AttrNames.h - Discardable attributes of mafat's pass contract -*- C++
//-*-===//
//
// The names of the discardable attributes mafat's passes hand to each
// other and to the target, declared once. (The plan itself is the typed
// #mafat.plan attribute, MafatAttrs.td.)
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_DIALECT_MAFAT_ATTRNAMES_H
#define MAFAT_DIALECT_MAFAT_ATTRNAMES_H

#include "llvm/ADT/StringRef.h"

namespace mafat {

/// The mark of an scf.for whose iterations write disjoint blocks of one
/// layer's output and own no buffer; its value is the layer's iteration
/// count. Kept in the loop's location metadata (Transforms/Parallel.h).
constexpr llvm::StringLiteral kParallelLoopAttr = "mafat.parallel";
/// The mark of the next output-block loop inside a marked loop: it may be
/// folded into the split loop (Transforms/Parallel.h).
constexpr llvm::StringLiteral kParallelInnerLoopAttr = "mafat.parallel_inner";
/// Next to kParallelLoopAttr: split the inner (row) loop's iterations, not
/// the marked (filter-block) loop's (Transforms/Parallel.h, ParallelMark).
constexpr llvm::StringLiteral kParallelRowsFirstAttr = "mafat.rows_first";
/// A fused group's slot loop (concurrent tiles): its iterations are the
/// group's slots, each running its share of the tiles with its own tile
/// buffers; the value is the slot count. In the loop's location metadata,
/// set by mafat-fuse-tile, read by mafat-parallelize (Transforms/Parallel.h).
constexpr llvm::StringLiteral kSlotLoopAttr = "mafat.slots";
/// On a planned function's last argument: the caller's
/// `const mafat_parallel_t *`.
constexpr llvm::StringLiteral kParallelArgAttr = "mafat.parallel";
/// On a launch declaration: the task function it launches.
constexpr llvm::StringLiteral kLaunchBodyAttr = "mafat.launch_body";
/// On a planned function: the thread count it was compiled for.
constexpr llvm::StringLiteral kThreadsAttr = "mafat.threads";
/// On a linalg.copy on tensors into a temporary that bufferization will copy
/// on into its destination (a stream group's rolling-buffer shift, set by
/// mafat-fuse-tile): mafat-tile-and-vectorize leaves it for the buffer level,
/// where mafat-lower-copies folds the two copies into one in place.
constexpr llvm::StringLiteral kCopyOnBuffersAttr = "mafat.copy_on_buffers";

/// On the ops mafat-plan cloned to recompute a map for its late readers
/// (mafat/Transforms/Rematerialize.h): the name of that map's layer. It
/// also keeps CSE from folding a copy back into its original.
constexpr llvm::StringLiteral kRematerializedAttr = "mafat.rematerialized";

// The model's contract, from the importers (python/mafat/mlir_emitter.py
// writes the same names) to mafat-plan-memory and the target.

/// On the model function: the names and layouts of its inputs and outputs
/// (string arrays, in argument / result order).
constexpr llvm::StringLiteral kInputNamesAttr = "mafat.input_names";
constexpr llvm::StringLiteral kOutputNamesAttr = "mafat.output_names";
constexpr llvm::StringLiteral kInputLayoutsAttr = "mafat.input_layouts";
constexpr llvm::StringLiteral kOutputLayoutsAttr = "mafat.output_layouts";
/// On a planned function (mafat-plan-memory): the arena's size and
/// alignment, and the bytes of the buffers it replaced.
constexpr llvm::StringLiteral kWorkspaceBytesAttr = "mafat.workspace_bytes";
constexpr llvm::StringLiteral kWorkspaceAlignAttr = "mafat.workspace_align";
constexpr llvm::StringLiteral kNaiveBytesAttr = "mafat.naive_bytes";
/// On the model function: the memory model's workspace (mafat-fuse-tile),
/// checked against kWorkspaceBytesAttr by mafat-plan-memory.
constexpr llvm::StringLiteral kPredictedWorkspaceBytesAttr =
    "mafat.predicted_workspace_bytes";
/// On a planned function's workspace argument.
constexpr llvm::StringLiteral kWorkspaceArgAttr = "mafat.workspace";

} // namespace mafat

#endif // MAFAT_DIALECT_MAFAT_ATTRNAMES_H
