//===- RegisterBlock.cpp - Per-op, per-target register blocking -----------===//
//
// The shapes follow what was measured on upstream MLIR 22 (see
// docs/Codegen.md): for a direct conv, tile output width x filters so that
// ~16-20 accumulators fill the register file (ow 4 x f 64 on AVX-512), loop
// over filters outside rows and columns, and reduce over kh = kw = 1 with a
// small channel step (4; 16 for 1x1 convs); the 2-D window then decomposes
// to a 1-D conv that vectorizes into broadcast-FMA outer products.
//
//===----------------------------------------------------------------------===//

#include "mafat/Transforms/RegisterBlock.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "llvm/ADT/bit.h"

using namespace mlir;

namespace mafat {

int64_t chooseDivisor(int64_t n, int64_t cap, int64_t multiple) {
  if (n <= 0)
    return 1;
  cap = std::max<int64_t>(1, std::min(cap, n));
  int64_t best = 1, bestMultiple = 0;
  for (int64_t d = 1; d <= cap; ++d) {
    if (n % d)
      continue;
    best = d;
    if (multiple > 1 && d % multiple == 0)
      bestMultiple = d;
  }
  return bestMultiple ? bestMultiple : best;
}

int64_t chooseVectorBlock(int64_t n, int64_t cap, int64_t lanes) {
  cap = std::max<int64_t>(1, std::min(cap, n));
  int64_t p = llvm::bit_floor(uint64_t(cap));
  for (int64_t q = p; q >= lanes; q >>= 1)
    if (n % q == 0)
      return q;
  // No whole-register power of two divides. A wider block whose remainder
  // is itself a power of two still vectorizes cleanly (1000 logits or
  // filters: 31 x 32 + 8; squeezenet's 512->1000 1x1 conv at 13x13 measured
  // 11% faster than 62 x 16 + 8); otherwise one register, the remainder
  // (n mod lanes, e.g. 15 of 255 filters) peeled into its own block.
  for (int64_t q = p; q > lanes; q >>= 1)
    if (int64_t rest = n % q; rest >= 4 && llvm::isPowerOf2_64(rest))
      return q;
  // A wider block that leaves the same remainder as one register adds no
  // tail of its own; in a conv or matmul it halves the input broadcasts per
  // FMA (YOLOv2's head, 425 filters: 13 x 32 + 9 instead of 26 x 16 + 9).
  for (int64_t q = p; q > lanes; q >>= 1)
    if (n % q == n % lanes)
      return q;
  if (n > lanes)
    return lanes;
  for (int64_t q = p; q >= 4; q >>= 1)
    if (n % q == 0)
      return q;
  return chooseDivisor(n, cap, lanes);
}

namespace {

/// Accumulator registers a block may use: the rest hold the broadcast input
/// and the filter vectors; more than ~20 of 32 made LLVM spill in the
/// inner loop (measured: ow 13 x f 32 spilled 33 zmm per iteration).
int64_t accumulatorBudget(const VectorTarget &t) {
  return std::max<int64_t>(1, t.registers * 5 / 8);
}

/// Output-width x channel block for ops whose innermost output dim is the
/// vectorized channel dim: returns {tw, tc}. `channelVectors` registers span
/// the channel block; the width block then fills the accumulator budget.
std::pair<int64_t, int64_t> widthChannelBlock(int64_t width, int64_t channels,
                                              int64_t channelVectors,
                                              const VectorTarget &t) {
  int64_t lanes = t.lanes;
  int64_t tc = chooseVectorBlock(channels, channelVectors * lanes, lanes);
  int64_t vecs = (tc + lanes - 1) / lanes;
  int64_t cap =
      std::min(width, std::max<int64_t>(1, accumulatorBudget(t) / vecs));
  // A divisor keeps every tile identical; when the best one wastes more
  // than half the registers (13 columns: only 1), take the full block and
  // let the pass peel the remainder into its own static tile.
  int64_t tw = chooseDivisor(width, cap);
  if (2 * tw < cap)
    tw = cap;
  return {tw, tc};
}

/// Estimated cycles per filter vector to cover `width` output columns in
/// blocks of `tw` (the remainder peeled) with `tf` filters, per channel step:
/// a block of w x v accumulators issues w*v FMAs (two per cycle), w input
/// broadcasts (one per cycle) and v filter loads, and needs about 12
/// accumulators in flight to hide the FMA latency. Measured on Zen 5: ow 2 x
/// f 64 and ow 3 x f 32 blocks ran well below their FMA count, and ow 13 x
/// f 16 (one broadcast per FMA) 11% slower than ow 10 + 3 x f 32.
double convBlockCycles(int64_t width, int64_t tw, int64_t tf,
                       const VectorTarget &t) {
  int64_t v = std::max<int64_t>(1, (tf + t.lanes - 1) / t.lanes);
  auto block = [&](int64_t w) {
    double fmas = double(w * v) / 2, broadcasts = double(w);
    return std::max({fmas, broadcasts, 6.0});
  };
  int64_t full = width / tw, rest = width % tw;
  double cycles = full * block(tw) + (rest ? block(rest) : 0.0);
  return cycles / v;
}

} // namespace

std::optional<RegisterBlock> chooseRegisterBlock(linalg::LinalgOp op,
                                                 const VectorTarget &target) {
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  if (llvm::any_of(r, ShapedType::isDynamic))
    return std::nullopt;
  RegisterBlock b;

  // Loops (n, oh, ow, f, kh, kw, c).
  if (isa<linalg::Conv2DNhwcHwcfOp>(op)) {
    // Four filter vectors when the register file is large (ow 4 x f 64 on
    // AVX-512 measured ~93% of peak on a 3x3 conv, ow 8 x f 32 ~77%), two
    // on 16-register AVX2. 1x1 convs have no window loop to amortise the
    // accumulator reads over, so they take a longer channel step.
    int64_t fVectors = target.registers >= 32 ? 4 : 2;
    auto [tw, tf] = widthChannelBlock(r[2], r[3], fVectors, target);
    const int64_t widestF = tf;
    // Narrow maps (7 or 13 columns) leave a remainder block with too few
    // accumulators to hide the FMA latency: fewer filter vectors and a
    // wider block may cover the width in fewer, fuller blocks (7x7x512:
    // ow 7 x f 32 measured 15% faster than ow 5 + 2 x f 64).
    double bestCycles = convBlockCycles(r[2], tw, tf, target);
    for (int64_t v = fVectors / 2; v >= 1; v /= 2) {
      auto [w, f] = widthChannelBlock(r[2], r[3], v, target);
      double cycles = convBlockCycles(r[2], w, f, target);
      if (cycles < bestCycles * 0.98) {
        bestCycles = cycles;
        tw = w;
        tf = f;
      }
    }
    bool pointwise = r[4] == 1 && r[5] == 1;
    int64_t tc = chooseDivisor(r[6], pointwise ? 16 : 4);
    b.parallel = {1, 1, tw, tf, 0, 0, 0};
    b.reduction = {0, 0, 0, 0, 1, 1, tc};
    b.interchange = {0, 3, 1, 2, 4, 5, 6};
    // The channel cache block sets the order of the sum over channels, so it
    // must not depend on the width (a fused tile is narrower than the map):
    // size it for the widest filter block the channels allow, whatever
    // block the width picked, so fused and unfused builds stay bit-identical.
    int64_t sliceBytes = r[4] * r[5] * widestF * 4;
    if (sliceBytes * r[6] > kFilterCacheBytes) {
      int64_t cBlock = chooseDivisor(
          r[6], std::max<int64_t>(tc, kFilterCacheBytes / sliceBytes), tc);
      if (cBlock % tc == 0 && cBlock < r[6]) {
        b.cacheParallel = {1, 0, 0, tf, 0, 0, 0};
        b.cacheReduction = {0, 0, 0, 0, 0, 0, cBlock};
      }
    }
    return b;
  }
  // Loops (n, oh, ow, c, kh, kw): no reuse across channels, so the channel
  // block is the vector and the width block the accumulators. The window is
  // reduced one row at a time, columns inner, into one accumulator: a
  // streamed global pool (Graph/StreamGroup.h) adds its rows step by step in
  // this same order, which keeps it bit-identical.
  if (isa<linalg::DepthwiseConv2DNhwcHwcOp, linalg::PoolingNhwcMaxOp,
          linalg::PoolingNhwcSumOp>(op)) {
    auto [tw, tc] = widthChannelBlock(r[2], r[3], 2, target);
    b.parallel = {1, 1, tw, tc, 0, 0};
    b.reduction = {0, 0, 0, 0, 1, 1};
    b.interchange = {0, 3, 1, 2, 4, 5};
    return b;
  }
  // Loops (m, n, k).
  if (isa<linalg::MatmulOp>(op)) {
    auto [tm, tn] = widthChannelBlock(r[0], r[1], 2, target);
    b.parallel = {tm, tn, 0};
    b.reduction = {0, 0, chooseDivisor(r[2], 16)};
    return b;
  }
  // Elementwise: all-parallel generics and fills. Vectorize the innermost
  // dim, block the next one; the rest iterate one by one.
  bool allParallel = llvm::all_of(op.getIteratorTypesArray(), [](auto it) {
    return it == utils::IteratorType::parallel;
  });
  // Only projected-permutation maps: tiling a generic whose map divides an
  // index (nearest upsample: d floordiv 2) slices at `offset floordiv s` but
  // keeps the floordiv on the local index, which reads the wrong elements.
  bool permutations = llvm::all_of(op.getIndexingMapsArray(), [](AffineMap m) {
    return m.isProjectedPermutation();
  });
  if (isa<linalg::GenericOp, linalg::FillOp, linalg::CopyOp, linalg::MapOp>(
          op) &&
      allParallel && permutations) {
    if (r.empty())
      return std::nullopt;
    b.parallel.assign(r.size(), 1);
    b.parallel.back() =
        chooseVectorBlock(r.back(), 4 * target.lanes, target.lanes);
    if (r.size() >= 2)
      b.parallel[r.size() - 2] = chooseDivisor(r[r.size() - 2], 8);
    return b;
  }
  return std::nullopt;
}

} // namespace mafat
