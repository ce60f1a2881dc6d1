//===- ReceptiveField.h - Which input region an output region needs -------===//
//
// The receptive-field algebra of fused tile partitioning: for a region of a
// layer's output, the region of each input that computing it reads, and the
// reverse. The planner back-projects every output tile through a fusion group
// with it, the memory predictor sizes tile buffers from it and the fuse-tile
// transform slices and pads tiles by it, so all three see the same numbers.
// It is exact where MAFAT's back-projection is not (strides, dilations,
// asymmetric padding, pool size != stride) and deliberately independent of
// MLIR, so the unit tests can check it against brute force.
//
// Coordinates are the unpadded input's: a window reaching before row 0 or
// past the last row reads padding, which the results report separately.
// Regions are spatial (rows x columns of an NHWC map) and cover all channels.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_GEOMETRY_RECEPTIVEFIELD_H
#define MAFAT_GEOMETRY_RECEPTIVEFIELD_H

#include <cstdint>
#include <string>
#include <vector>

namespace mafat {

//===----------------------------------------------------------------------===//
// Intervals and regions
//===----------------------------------------------------------------------===//

/// A closed integer interval [lo, hi]; empty iff lo > hi. All empty
/// intervals compare equal.
struct Interval {
  int64_t lo = 0;
  int64_t hi = -1;

  Interval() = default;
  Interval(int64_t lo, int64_t hi) : lo(lo), hi(hi) {}
  static Interval empty() { return Interval(); }
  /// [0, size - 1]: every index of a dimension of `size` elements.
  static Interval whole(int64_t size) { return Interval(0, size - 1); }

  bool isEmpty() const { return lo > hi; }
  int64_t size() const { return isEmpty() ? 0 : hi - lo + 1; }
  bool contains(int64_t v) const { return lo <= v && v <= hi; }
  /// True for an empty `other` (the empty set is a subset of everything).
  bool contains(Interval other) const {
    return other.isEmpty() || (lo <= other.lo && other.hi <= hi);
  }
  Interval intersect(Interval other) const;
  /// Smallest interval containing both; an empty operand is ignored.
  Interval hull(Interval other) const;
  /// The interval moved by `delta`.
  Interval shift(int64_t delta) const {
    return isEmpty() ? empty() : Interval(lo + delta, hi + delta);
  }

  bool operator==(Interval other) const {
    return (isEmpty() && other.isEmpty()) || (lo == other.lo && hi == other.hi);
  }
  bool operator!=(Interval other) const { return !(*this == other); }
  /// "[lo, hi]", or "[]" when empty.
  std::string str() const;
};

/// A rectangle [rows.lo, rows.hi] x [cols.lo, cols.hi] of a 2-D map (the H
/// and W dimensions of NHWC). Empty iff either side is empty.
struct Region {
  Interval rows;
  Interval cols;

  Region() = default;
  Region(Interval rows, Interval cols) : rows(rows), cols(cols) {}
  /// Every element of a height x width map.
  static Region whole(int64_t height, int64_t width) {
    return Region(Interval::whole(height), Interval::whole(width));
  }

  bool isEmpty() const { return rows.isEmpty() || cols.isEmpty(); }
  /// Number of (row, col) positions.
  int64_t size() const { return isEmpty() ? 0 : rows.size() * cols.size(); }
  bool contains(const Region &other) const {
    return other.isEmpty() ||
           (rows.contains(other.rows) && cols.contains(other.cols));
  }
  Region intersect(const Region &other) const {
    return Region(rows.intersect(other.rows), cols.intersect(other.cols));
  }
  /// Union hull; an empty operand is ignored.
  Region hull(const Region &other) const;

  bool operator==(const Region &other) const {
    return (isEmpty() && other.isEmpty()) ||
           (rows == other.rows && cols == other.cols);
  }
  bool operator!=(const Region &other) const { return !(*this == other); }
  /// "[r0, r1]x[c0, c1]", or "[]" when empty.
  std::string str() const;
};

/// Union hull of any number of regions: what an op that reads one value
/// several times (a residual add, a concat of views of one map, several
/// consumers in one fusion group) needs of it. Empty for no regions.
Region mergeRegions(const std::vector<Region> &regions);

//===----------------------------------------------------------------------===//
// Sliding windows: convolutions, depthwise convolutions, pools, pads
//===----------------------------------------------------------------------===//

/// One spatial dimension of a sliding-window op. Output index o reads
/// padded-input indices o * stride + t * dilation for t in [0, kernel), i.e.
/// unpadded indices o * stride - padLow + t * dilation; unpadded indices
/// outside [0, inputSize) are padding. A standalone `tensor.pad` is the
/// window kernel = stride = dilation = 1.
struct Window1D {
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t padLow = 0;
  int64_t padHigh = 0;
  int64_t inputSize = 0; ///< Unpadded.

  /// Span of one window in the padded input: (kernel - 1) * dilation + 1.
  int64_t extent() const { return (kernel - 1) * dilation + 1; }
  int64_t paddedSize() const { return inputSize + padLow + padHigh; }
  /// Number of windows that fit the padded input (the largest output size a
  /// linalg op over it may have; an op may compute fewer).
  int64_t outputSize() const;
  /// Kernel, stride and dilation positive, pads and input size non-negative.
  bool isValid() const;
  /// "k3 s2 d1 pad 1+0 in 17" (for reports and test failure messages).
  std::string str() const;
};

/// What output range [o1, o2] of one window dimension reads.
struct WindowInput {
  /// Hull of every index read, padding included: [o1 * s - padLow,
  /// o2 * s - padLow + extent - 1]. May reach below 0 or past the input.
  Interval full;
  /// `full` clipped to the input: the input slice a tile takes.
  Interval clipped;
  /// Indices of `full` below 0 and past the input. The tile's padded input
  /// is padLow + clipped.size() + padHigh = full.size() long, and running the
  /// op on it with the same kernel, stride and dilation (no further padding)
  /// yields exactly outputs o1..o2.
  int64_t padLow = 0;
  int64_t padHigh = 0;
  /// Hull of the input indices actually read (no padding). Inside `clipped`;
  /// smaller only when a dilated or strided window skips the first or last
  /// indices of `clipped` (e.g. k=3, d=4, padLow=5: output 0 reads -5, -1, 3).
  Interval read;
};

/// The input an output range needs. `out` is taken as given (the caller keeps
/// it inside [0, outputSize)); an empty `out` needs nothing.
WindowInput windowInput(const Window1D &w, Interval out);

/// The largest output range computable from input [a, b] (clipped to the
/// input) plus the tensor's own padding where [a, b] touches a border: an
/// output is included iff every index it reads is in [a, b], or is low
/// padding and a == 0, or is high padding and b == inputSize - 1. Limited to
/// [0, w.outputSize()). The forward direction of windowInput: for a window
/// of outputs O, windowOutputsFrom(w, windowInput(w, O).clipped) contains O.
Interval windowOutputsFrom(const Window1D &w, Interval in);

/// A window op over rows (H) and columns (W).
struct Window2D {
  Window1D rows;
  Window1D cols;
  std::string str() const;
};

/// windowInput per dimension.
struct WindowInput2D {
  WindowInput rows;
  WindowInput cols;
  Region full() const { return Region(rows.full, cols.full); }
  Region clipped() const { return Region(rows.clipped, cols.clipped); }
  Region read() const { return Region(rows.read, cols.read); }
};

WindowInput2D windowInput(const Window2D &w, const Region &out);
Region windowOutputsFrom(const Window2D &w, const Region &in);

//===----------------------------------------------------------------------===//
// Pointwise ops, nearest upsampling, space-to-depth, Darknet's reorg
//===----------------------------------------------------------------------===//

/// Elementwise ops (bias, activations, folded batch-norm, residual adds) and
/// channel concatenation read exactly the output region of each full-size
/// operand.
inline Region pointwiseInput(const Region &out) { return out; }

/// Nearest upsampling by an integer factor: output index o reads input
/// o / factor (floor). Exact: [o1 / f, o2 / f]. Also depth-to-space.
Interval upsampleInput(int64_t factor, Interval out);
/// How many output indices of input upsampleInput(factor, out).lo lie
/// before `out` (its "phase", in [0, factor)); 0 for an empty range.
int64_t upsamplePhase(int64_t factor, Interval out);
/// Outputs that input range [a, b] determines completely: [a * f, b * f + f -
/// 1].
Interval upsampleOutputsFrom(int64_t factor, Interval in);
Region upsampleInput(int64_t factorRows, int64_t factorCols, const Region &out);

/// Space-to-depth with block `stride` (TensorFlow/ONNX SpaceToDepth and its
/// channel-major variant alike): output pixel (y, x) reads input rows
/// y * s .. y * s + s - 1 and the same columns. Exact: [o1 * s, o2 * s + s -
/// 1].
Interval spaceToDepthInput(int64_t stride, Interval out);
/// Outputs whose whole block lies in [a, b]: [ceil(a / s), floor((b + 1) / s) -
/// 1].
Interval spaceToDepthOutputsFrom(int64_t stride, Interval in);
Region spaceToDepthInput(int64_t stride, const Region &out);

/// One element of an NHWC map (batch 1).
struct Element {
  int64_t y = 0;
  int64_t x = 0;
  int64_t c = 0;
  bool operator==(const Element &o) const {
    return y == o.y && x == o.x && c == o.c;
  }
};

/// Where a space-to-depth output channel's block offset goes.
enum class SpaceToDepthOrder {
  /// Output channel (dy * s + dx) * C + c: TensorFlow, ONNX SpaceToDepth.
  BlockMajor,
  /// Output channel c * s * s + dy * s + dx: the transpose of the above.
  ChannelMajor,
};

/// The input element a space-to-depth output element copies (`inChannels` is
/// C, the input's channel count).
Element spaceToDepthSource(int64_t stride, int64_t inChannels, Element out,
                           SpaceToDepthOrder order);

/// Darknet's `[reorg]` layer as YOLOv2 runs it: `reorg_cpu(input, w, h, c,
/// batch, stride, /*forward=*/0, output)` with the input's w, h, c. It reads
/// the NCHW input buffer as if it were (c / s^2) x (h * s) x (w * s) and
/// writes it as c x h x w, and the next layer reads that buffer as
/// (c * s^2) x (h / s) x (w / s). It is not a space-to-depth: channels and
/// rows are interleaved, so an output row mixes rows from all over the input.
///
/// Derivation (index form, all channels): output (yo, xo, co) with
/// r = co % s^2, q = co / s^2, dy = q / (c / s^2) / s, dx = q / (c / s^2) % s,
/// R = r * (h / s) + yo reads input column xo * s + dx and input row
/// ((R / s) * s^2 + dy * s + R % s) % h. Columns therefore map exactly as in
/// space-to-depth, and because co ranges over every (r, dy, dx) combination,
/// the input positions an output region reads over all channels are exactly
/// inputRows(rows) x inputCols(cols). inputRows is in general not an
/// interval (for h = 26, s = 2, output rows 0..1 read input rows 0..4 and
/// 25), so a box is necessarily conservative: inputHull returns the
/// smallest box containing every element read (exact as a hull, not as a
/// set). Planners should expect it to be nearly the whole map and treat a
/// reorg as a place to materialise, not to tile through.
struct DarknetReorg {
  int64_t height = 0;   ///< Input H (divisible by stride).
  int64_t width = 0;    ///< Input W (divisible by stride).
  int64_t channels = 0; ///< Input C (divisible by stride^2).
  int64_t stride = 2;

  int64_t outHeight() const { return height / stride; }
  int64_t outWidth() const { return width / stride; }
  int64_t outChannels() const { return channels * stride * stride; }
  bool isValid() const;

  /// The input element output element `out` copies.
  Element source(Element out) const;
  /// Exactly the input rows read by output rows `outRows` (over all output
  /// columns and channels), as sorted, disjoint, non-adjacent intervals.
  std::vector<Interval> inputRows(Interval outRows) const;
  /// Exactly the input columns read by `outCols`: [o1 * s, o2 * s + s - 1].
  Interval inputCols(Interval outCols) const;
  /// Smallest box containing every input position `out` reads.
  Region inputHull(const Region &out) const;
};

//===----------------------------------------------------------------------===//
// Balanced tile splits
//===----------------------------------------------------------------------===//

/// Splits [0, extent) into `parts` consecutive intervals whose sizes differ by
/// at most one, the first extent % parts of them one element longer; none is
/// empty. Returns an empty vector unless 1 <= parts <= extent.
std::vector<Interval> balancedSplit(int64_t extent, int64_t parts);

/// A rows x cols grid of balanced tiles over a height x width map, row-major
/// (tile (i, j) at index i * cols + j). Empty unless both splits are valid.
std::vector<Region> tileGrid(int64_t height, int64_t width, int64_t rows,
                             int64_t cols);

/// Floor and ceiling division for any signs of `a` (b > 0).
int64_t floorDiv(int64_t a, int64_t b);
int64_t ceilDiv(int64_t a, int64_t b);

} // namespace mafat

#endif // MAFAT_GEOMETRY_RECEPTIVEFIELD_H
