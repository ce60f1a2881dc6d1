//===- AttrNames.h - Discardable attributes of mafat's pass contract -*- C++ -*-===//
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
/// On a planned function's last argument: the caller's
/// `const mafat_parallel_t *`.
constexpr llvm::StringLiteral kParallelArgAttr = "mafat.parallel";
/// On a launch declaration: the task function it launches.
constexpr llvm::StringLiteral kLaunchBodyAttr = "mafat.launch_body";
/// On a planned function: the thread count it was compiled for.
constexpr llvm::StringLiteral kThreadsAttr = "mafat.threads";

} // namespace mafat

#endif // MAFAT_DIALECT_MAFAT_ATTRNAMES_H
