//===- FilterPacking.h - Contiguous filter blocks for conv tiles -*- C++
//-*-===//
//
// A conv tiled over filters reads, for each (kh, kw, c), tf consecutive
// floats of an HWCF filter whose rows are F floats apart: with F = 1024 one
// register block touches hundreds of pages, and the TLB, not the FMA units,
// sets the pace. Packing the constant filter at compile time into
// [F/tf][KH][KW][C][tf] makes each filter block one contiguous array. A deep
// conv with a cache level (RegisterBlock.h) reads a filter block one channel
// block cb at a time: it is packed [F/tf][C/cb][KH][KW][cb][tf], so the
// weights, which a model larger than the LLC streams from memory on every
// inference, arrive as one sequential run per cache block (YOLOv2-416
// 1.13x faster on one thread).
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_FILTERPACKING_H
#define MAFAT_TRANSFORMS_FILTERPACKING_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mafat {

/// Rewrites every filter-block slice `tensor.extract_slice %W[.., f][.., tf]`
/// of a constant HWCF filter %W, tf < F, into a rank-reducing slice of a
/// packed constant; when every user of such a slice is a channel-block
/// slice, those are rewritten instead. A block at a loop's induction
/// variable (a multiple of tf) reads a pack of the F/tf whole blocks; a
/// block at a constant offset (the peeled last block of 1000 = 31 x 32 + 8)
/// reads that pack if it lies in it, else a pack of its own. Slices of
/// dynamic size are left alone: mafat-tile-and-vectorize calls this again
/// once peeling has made them static. A constant whose loops use blocks of
/// several widths (the same conv in tiles of different widths) gets one pack
/// of the widest, which the narrower blocks read in place, if its whole
/// blocks cover theirs: weights are never copied once per width. A constant
/// that something still reads whole (a tile whose block is all F filters)
/// is not packed at all, for the same reason. Values and their order are
/// unchanged; only addresses move.
void packConvFilterSlices(mlir::func::FuncOp func,
                          mlir::RewriterBase &rewriter);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_FILTERPACKING_H
