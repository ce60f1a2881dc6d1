//===- FilterPacking.h - Contiguous filter blocks for conv tiles -*- C++ -*-===//
//
// A conv tiled over filters reads, for each (kh, kw, c), tf consecutive
// floats of an HWCF filter whose rows are F floats apart: with F = 1024 one
// register block touches hundreds of pages, and the TLB, not the FMA units,
// sets the pace. Packing the constant filter at compile time into
// [F/tf][KH][KW][C][tf] makes each filter block one contiguous array.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_FILTERPACKING_H
#define MAFAT_TRANSFORMS_FILTERPACKING_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mafat {

/// Rewrites every filter-block slice `tensor.extract_slice %W[.., f][.., tf]`
/// of a constant HWCF filter %W, where f is a multiple of tf < F (the tile
/// loop's induction variable), into a rank-reducing slice of a packed
/// constant. Values and their order are unchanged; only addresses move.
void packConvFilterSlices(mlir::func::FuncOp func,
                          mlir::RewriterBase &rewriter);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_FILTERPACKING_H
