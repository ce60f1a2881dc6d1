//===- ReceptiveField.cpp - Which input region an output region needs -----===//
//
// Closed forms for the receptive-field algebra. Every function here is
// cross-checked against direct enumeration in
// unittests/Geometry/ReceptiveFieldTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "mafat/Geometry/ReceptiveField.h"

#include <algorithm>

namespace mafat {

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t ceilDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a > 0) ? q + 1 : q;
}

//===----------------------------------------------------------------------===//
// Interval, Region
//===----------------------------------------------------------------------===//

Interval Interval::intersect(Interval other) const {
  if (isEmpty() || other.isEmpty())
    return empty();
  Interval r(std::max(lo, other.lo), std::min(hi, other.hi));
  return r.isEmpty() ? empty() : r;
}

Interval Interval::hull(Interval other) const {
  if (isEmpty())
    return other.isEmpty() ? empty() : other;
  if (other.isEmpty())
    return *this;
  return Interval(std::min(lo, other.lo), std::max(hi, other.hi));
}

std::string Interval::str() const {
  if (isEmpty())
    return "[]";
  return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

Region Region::hull(const Region &other) const {
  if (isEmpty())
    return other.isEmpty() ? Region() : other;
  if (other.isEmpty())
    return *this;
  return Region(rows.hull(other.rows), cols.hull(other.cols));
}

std::string Region::str() const {
  if (isEmpty())
    return "[]";
  return rows.str() + "x" + cols.str();
}

Region mergeRegions(const std::vector<Region> &regions) {
  Region result;
  for (const Region &r : regions)
    result = result.hull(r);
  return result;
}

//===----------------------------------------------------------------------===//
// Sliding windows
//===----------------------------------------------------------------------===//

int64_t Window1D::outputSize() const {
  int64_t span = paddedSize() - extent();
  return span < 0 ? 0 : span / stride + 1;
}

bool Window1D::isValid() const {
  return kernel > 0 && stride > 0 && dilation > 0 && padLow >= 0 &&
         padHigh >= 0 && inputSize >= 0;
}

std::string Window1D::str() const {
  return "k" + std::to_string(kernel) + " s" + std::to_string(stride) + " d" +
         std::to_string(dilation) + " pad " + std::to_string(padLow) + "+" +
         std::to_string(padHigh) + " in " + std::to_string(inputSize);
}

std::string Window2D::str() const {
  return "rows(" + rows.str() + ") cols(" + cols.str() + ")";
}

/// Hull of the in-bounds indices read by outputs [o1, o2]. Only outputs whose
/// window crosses a border can read a sparse subset of it near that border;
/// they are at most ceil(pad / stride) + 1 per side, so the loops are short.
static Interval readHull(const Window1D &w, Interval out) {
  const int64_t s = w.stride, d = w.dilation, k = w.kernel;
  const int64_t last = w.inputSize - 1;
  auto start = [&](int64_t o) { return o * s - w.padLow; };

  // Lowest in-bounds read. Outputs whose window starts at or after 0 read
  // their start, which grows with o, so only the first of them matters.
  bool haveLo = false;
  int64_t lo = 0;
  int64_t o = out.lo;
  for (; o <= out.hi && start(o) < 0; ++o) {
    int64_t t = ceilDiv(-start(o), d); // first tap at index >= 0
    if (t > k - 1)
      continue;
    int64_t p = start(o) + t * d;
    if (p <= last && (!haveLo || p < lo))
      lo = p, haveLo = true;
  }
  if (o <= out.hi && start(o) <= last && (!haveLo || start(o) < lo))
    lo = start(o), haveLo = true;
  if (!haveLo)
    return Interval::empty();

  // Highest in-bounds read, symmetrically from the top.
  bool haveHi = false;
  int64_t hi = 0;
  o = out.hi;
  auto end = [&](int64_t o) { return start(o) + (k - 1) * d; };
  for (; o >= out.lo && end(o) > last; --o) {
    int64_t t = floorDiv(last - start(o), d); // last tap at index <= last
    if (t < 0)
      continue;
    int64_t p = start(o) + t * d;
    if (p >= 0 && (!haveHi || p > hi))
      hi = p, haveHi = true;
  }
  if (o >= out.lo && end(o) >= 0 && (!haveHi || end(o) > hi))
    hi = end(o), haveHi = true;
  // Some output read an in-bounds index, so the top side finds one too.
  return haveHi ? Interval(lo, hi) : Interval::empty();
}

WindowInput windowInput(const Window1D &w, Interval out) {
  WindowInput result;
  if (out.isEmpty())
    return result;
  result.full = Interval(out.lo * w.stride - w.padLow,
                         out.hi * w.stride - w.padLow + w.extent() - 1);
  result.clipped = result.full.intersect(Interval::whole(w.inputSize));
  // Positions of `full` below 0 and past the input, so that padLow +
  // clipped.size() + padHigh == full.size() even when `full` lies entirely
  // in the padding.
  result.padLow =
      Interval(result.full.lo, std::min<int64_t>(result.full.hi, -1)).size();
  result.padHigh =
      Interval(std::max<int64_t>(result.full.lo, w.inputSize), result.full.hi)
          .size();
  result.read = readHull(w, out);
  return result;
}

Interval windowOutputsFrom(const Window1D &w, Interval in) {
  in = in.intersect(Interval::whole(w.inputSize));
  if (in.isEmpty())
    return Interval::empty();
  // The tensor's own padding is available next to a tile that touches the
  // border, as it is to the untiled op.
  int64_t lowBound = in.lo == 0 ? -w.padLow : in.lo;
  int64_t highBound = in.hi == w.inputSize - 1 ? in.hi + w.padHigh : in.hi;
  Interval result(ceilDiv(lowBound + w.padLow, w.stride),
                  floorDiv(highBound + w.padLow - w.extent() + 1, w.stride));
  return result.intersect(Interval::whole(w.outputSize()));
}

WindowInput2D windowInput(const Window2D &w, const Region &out) {
  WindowInput2D result;
  if (out.isEmpty())
    return result;
  result.rows = windowInput(w.rows, out.rows);
  result.cols = windowInput(w.cols, out.cols);
  return result;
}

Region windowOutputsFrom(const Window2D &w, const Region &in) {
  if (in.isEmpty())
    return Region();
  return Region(windowOutputsFrom(w.rows, in.rows),
                windowOutputsFrom(w.cols, in.cols));
}

//===----------------------------------------------------------------------===//
// Upsampling, space-to-depth, reorg
//===----------------------------------------------------------------------===//

Interval upsampleInput(int64_t factor, Interval out) {
  if (out.isEmpty())
    return Interval::empty();
  return Interval(floorDiv(out.lo, factor), floorDiv(out.hi, factor));
}

int64_t upsamplePhase(int64_t factor, Interval out) {
  if (out.isEmpty())
    return 0;
  return out.lo - factor * floorDiv(out.lo, factor);
}

Interval upsampleOutputsFrom(int64_t factor, Interval in) {
  if (in.isEmpty())
    return Interval::empty();
  return Interval(in.lo * factor, in.hi * factor + factor - 1);
}

Region upsampleInput(int64_t factorRows, int64_t factorCols,
                     const Region &out) {
  if (out.isEmpty())
    return Region();
  return Region(upsampleInput(factorRows, out.rows),
                upsampleInput(factorCols, out.cols));
}

Interval spaceToDepthInput(int64_t stride, Interval out) {
  if (out.isEmpty())
    return Interval::empty();
  return Interval(out.lo * stride, out.hi * stride + stride - 1);
}

Interval spaceToDepthOutputsFrom(int64_t stride, Interval in) {
  if (in.isEmpty())
    return Interval::empty();
  Interval r(ceilDiv(in.lo, stride), floorDiv(in.hi + 1, stride) - 1);
  return r.isEmpty() ? Interval::empty() : r;
}

Region spaceToDepthInput(int64_t stride, const Region &out) {
  if (out.isEmpty())
    return Region();
  return Region(spaceToDepthInput(stride, out.rows),
                spaceToDepthInput(stride, out.cols));
}

Element spaceToDepthSource(int64_t stride, int64_t inChannels, Element out,
                           SpaceToDepthOrder order) {
  int64_t block, c;
  if (order == SpaceToDepthOrder::BlockMajor) {
    block = out.c / inChannels;
    c = out.c % inChannels;
  } else {
    block = out.c % (stride * stride);
    c = out.c / (stride * stride);
  }
  return Element{out.y * stride + block / stride,
                 out.x * stride + block % stride, c};
}

bool DarknetReorg::isValid() const {
  return stride > 0 && height > 0 && width > 0 && channels > 0 &&
         height % stride == 0 && width % stride == 0 &&
         channels % (stride * stride) == 0;
}

Element DarknetReorg::source(Element out) const {
  // See the derivation in the header.
  const int64_t s = stride, s2 = s * s, oc = channels / s2;
  int64_t r = out.c % s2, q = out.c / s2;
  int64_t offset = q / oc, c2 = q % oc;
  int64_t dy = offset / s, dx = offset % s;
  int64_t bigR = r * outHeight() + out.y;
  int64_t rowFull = (bigR / s) * s2 + dy * s + bigR % s;
  return Element{rowFull % height, out.x * s + dx, c2 * s2 + rowFull / height};
}

std::vector<Interval> DarknetReorg::inputRows(Interval outRows) const {
  std::vector<Interval> result;
  if (outRows.isEmpty())
    return result;
  // s^3 rows per output row: enumerating them is cheaper than any case
  // analysis of the wrap-around, and exact.
  const int64_t s = stride, s2 = s * s;
  std::vector<char> hit(height, 0);
  for (int64_t r = 0; r < s2; ++r)
    for (int64_t yo = outRows.lo; yo <= outRows.hi; ++yo) {
      int64_t bigR = r * outHeight() + yo;
      for (int64_t dy = 0; dy < s; ++dy)
        hit[((bigR / s) * s2 + dy * s + bigR % s) % height] = 1;
    }
  for (int64_t y = 0; y < height; ++y) {
    if (!hit[y])
      continue;
    if (!result.empty() && result.back().hi == y - 1)
      result.back().hi = y;
    else
      result.push_back(Interval(y, y));
  }
  return result;
}

Interval DarknetReorg::inputCols(Interval outCols) const {
  return spaceToDepthInput(stride, outCols);
}

Region DarknetReorg::inputHull(const Region &out) const {
  if (out.isEmpty())
    return Region();
  std::vector<Interval> rows = inputRows(out.rows);
  return Region(Interval(rows.front().lo, rows.back().hi), inputCols(out.cols));
}

//===----------------------------------------------------------------------===//
// Balanced splits
//===----------------------------------------------------------------------===//

std::vector<Interval> balancedSplit(int64_t extent, int64_t parts) {
  std::vector<Interval> result;
  if (parts < 1 || parts > extent)
    return result;
  int64_t base = extent / parts, extra = extent % parts, lo = 0;
  for (int64_t i = 0; i < parts; ++i) {
    int64_t size = base + (i < extra ? 1 : 0);
    result.push_back(Interval(lo, lo + size - 1));
    lo += size;
  }
  return result;
}

std::vector<Region> tileGrid(int64_t height, int64_t width, int64_t rows,
                             int64_t cols) {
  std::vector<Region> result;
  std::vector<Interval> r = balancedSplit(height, rows);
  std::vector<Interval> c = balancedSplit(width, cols);
  if (r.empty() || c.empty())
    return result;
  for (Interval ri : r)
    for (Interval ci : c)
      result.push_back(Region(ri, ci));
  return result;
}

} // namespace mafat
