//===- ReceptiveFieldTest.cpp - Receptive-field algebra vs brute force ----===//
//
// Every closed form in ReceptiveField.h is compared with direct enumeration
// of the op's index formula on random configurations: which input indices an
// output range reads, which outputs an input range determines, and (the
// property the fuse-tile transform relies on) that running an op on the
// clipped, re-padded input slice reproduces the untiled outputs exactly.
// Darknet's reorg is checked against a transcription of its reorg_cpu loop.
//
//===----------------------------------------------------------------------===//

#include "mafat/Geometry/ReceptiveField.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <random>
#include <set>

using namespace mafat;

namespace {

constexpr int kIterations = 3000;

int64_t uniform(std::mt19937_64 &rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

/// A random sub-interval of [0, size).
Interval randomInterval(std::mt19937_64 &rng, int64_t size) {
  int64_t a = uniform(rng, 0, size - 1), b = uniform(rng, 0, size - 1);
  return Interval(std::min(a, b), std::max(a, b));
}

/// A random window with at least one output. Pads may exceed the window
/// extent and strides may exceed it, so windows can lie entirely in padding
/// and skip input indices: the cases where a naive formula goes wrong.
Window1D randomWindow(std::mt19937_64 &rng) {
  for (;;) {
    Window1D w;
    w.kernel = uniform(rng, 1, 5);
    w.stride = uniform(rng, 1, 4);
    w.dilation = uniform(rng, 1, 3);
    w.padLow = uniform(rng, 0, 6);
    w.padHigh = uniform(rng, 0, 6);
    w.inputSize = uniform(rng, 1, 30);
    if (w.outputSize() >= 1)
      return w;
  }
}

/// Every unpadded input index output `o` reads, padding included.
std::vector<int64_t> reads(const Window1D &w, int64_t o) {
  std::vector<int64_t> result;
  for (int64_t t = 0; t < w.kernel; ++t)
    result.push_back(o * w.stride + t * w.dilation - w.padLow);
  return result;
}

/// The reference answer for windowInput, by enumeration.
WindowInput bruteWindowInput(const Window1D &w, Interval out) {
  WindowInput r;
  for (int64_t o = out.lo; o <= out.hi; ++o)
    for (int64_t p : reads(w, o)) {
      r.full = r.full.hull(Interval(p, p));
      if (p >= 0 && p < w.inputSize)
        r.read = r.read.hull(Interval(p, p));
    }
  r.clipped = r.full.intersect(Interval::whole(w.inputSize));
  for (int64_t p = r.full.lo; p <= r.full.hi; ++p) {
    r.padLow += p < 0;
    r.padHigh += p >= w.inputSize;
  }
  return r;
}

/// A 1-D integer "convolution" over a padded input; the padding value is a
/// parameter so max-pool style padding (-inf) is covered too.
std::vector<int64_t> conv1d(const std::vector<int64_t> &padded,
                            const std::vector<int64_t> &weights, int64_t stride,
                            int64_t dilation, int64_t outputs) {
  std::vector<int64_t> out(outputs, 0);
  for (int64_t o = 0; o < outputs; ++o)
    for (size_t t = 0; t < weights.size(); ++t)
      out[o] += weights[t] * padded[o * stride + t * dilation];
  return out;
}

std::vector<int64_t> pad(const std::vector<int64_t> &v, int64_t lo, int64_t hi,
                         int64_t value) {
  std::vector<int64_t> r(lo, value);
  r.insert(r.end(), v.begin(), v.end());
  r.insert(r.end(), hi, value);
  return r;
}

//===----------------------------------------------------------------------===//
// Interval and Region basics
//===----------------------------------------------------------------------===//

TEST(Interval, Basics) {
  EXPECT_TRUE(Interval().isEmpty());
  EXPECT_EQ(Interval(3, 2), Interval(7, 1)); // all empties are equal
  EXPECT_EQ(Interval(2, 5).size(), 4);
  EXPECT_EQ(Interval(5, 2).size(), 0);
  EXPECT_EQ(Interval(0, 9).intersect(Interval(4, 20)), Interval(4, 9));
  EXPECT_TRUE(Interval(0, 3).intersect(Interval(5, 8)).isEmpty());
  EXPECT_EQ(Interval(0, 3).hull(Interval(6, 8)), Interval(0, 8));
  EXPECT_EQ(Interval().hull(Interval(6, 8)), Interval(6, 8));
  EXPECT_EQ(Interval(6, 8).hull(Interval()), Interval(6, 8));
  EXPECT_TRUE(Interval(0, 3).contains(Interval()));
  EXPECT_FALSE(Interval(0, 3).contains(Interval(2, 4)));
  EXPECT_EQ(Interval(1, 2).shift(-3), Interval(-2, -1));
  EXPECT_EQ(Interval(1, 2).str(), "[1, 2]");
  EXPECT_EQ(Interval().str(), "[]");
}

TEST(Region, HullAndMerge) {
  Region a(Interval(0, 3), Interval(2, 5)), b(Interval(5, 6), Interval(0, 1));
  EXPECT_EQ(a.hull(b), Region(Interval(0, 6), Interval(0, 5)));
  EXPECT_EQ(a.size(), 16);
  EXPECT_TRUE(Region(Interval(0, 3), Interval()).isEmpty());
  EXPECT_EQ(a.hull(Region(Interval(9, 9), Interval())), a);
  EXPECT_EQ(mergeRegions({a, b, Region()}), a.hull(b));
  EXPECT_TRUE(mergeRegions({}).isEmpty());
  EXPECT_EQ(pointwiseInput(a), a);
  EXPECT_EQ(a.str(), "[0, 3]x[2, 5]");
}

/// Residual add / concat: the region a consumer set needs of one value is
/// the hull of what each consumer needs; check it against enumeration.
TEST(Region, MergeIsHullOfRandomRegions) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::vector<Region> regions;
    int64_t n = uniform(rng, 1, 4);
    int64_t rlo = INT64_MAX, rhi = INT64_MIN, clo = INT64_MAX, chi = INT64_MIN;
    for (int64_t j = 0; j < n; ++j) {
      Region r(randomInterval(rng, 40), randomInterval(rng, 40));
      regions.push_back(r);
      rlo = std::min(rlo, r.rows.lo), rhi = std::max(rhi, r.rows.hi);
      clo = std::min(clo, r.cols.lo), chi = std::max(chi, r.cols.hi);
    }
    Region merged = mergeRegions(regions);
    EXPECT_EQ(merged, Region(Interval(rlo, rhi), Interval(clo, chi)));
    for (const Region &r : regions)
      EXPECT_TRUE(merged.contains(r));
  }
}

TEST(Division, FloorAndCeil) {
  for (int64_t a = -20; a <= 20; ++a)
    for (int64_t b = 1; b <= 6; ++b) {
      int64_t f = floorDiv(a, b), c = ceilDiv(a, b);
      EXPECT_TRUE(f * b <= a && a < (f + 1) * b) << a << "/" << b;
      EXPECT_TRUE((c - 1) * b < a && a <= c * b) << a << "/" << b;
    }
}

//===----------------------------------------------------------------------===//
// Sliding windows
//===----------------------------------------------------------------------===//

TEST(Window, HandWorkedExamples) {
  // 3x3 "same" conv on 8 rows: rows 0..3 need -1..4, i.e. 0..4 plus one
  // row of top padding.
  Window1D same{3, 1, 1, 1, 1, 8};
  EXPECT_EQ(same.outputSize(), 8);
  WindowInput in = windowInput(same, Interval(0, 3));
  EXPECT_EQ(in.full, Interval(-1, 4));
  EXPECT_EQ(in.clipped, Interval(0, 4));
  EXPECT_EQ(in.padLow, 1);
  EXPECT_EQ(in.padHigh, 0);
  EXPECT_EQ(in.read, Interval(0, 4));
  // Stride-2 3x3 conv, pad 1+0 (TF "same" on an even size): outputs 2..3 of
  // 4 read rows 3..7 of 8; no padding. The paper's formula assumes pool
  // size == stride and gets this wrong.
  Window1D strided{3, 2, 1, 1, 0, 8};
  EXPECT_EQ(strided.outputSize(), 4);
  in = windowInput(strided, Interval(2, 3));
  EXPECT_EQ(in.clipped, Interval(3, 7));
  EXPECT_EQ(in.padLow + in.padHigh, 0);
  // Darknet's size-2 stride-1 maxpool pads one at the bottom: the last
  // output reads the last row and one row of padding.
  Window1D pool21{2, 1, 1, 0, 1, 13};
  EXPECT_EQ(pool21.outputSize(), 13);
  in = windowInput(pool21, Interval(12, 12));
  EXPECT_EQ(in.full, Interval(12, 13));
  EXPECT_EQ(in.clipped, Interval(12, 12));
  EXPECT_EQ(in.padHigh, 1);
  // Dilation 4, pad 5: output 0 reads -5, -1, 3 (in-bounds: only 3).
  Window1D dilated{3, 1, 4, 5, 5, 10};
  in = windowInput(dilated, Interval(0, 0));
  EXPECT_EQ(in.full, Interval(-5, 3));
  EXPECT_EQ(in.clipped, Interval(0, 3));
  EXPECT_EQ(in.padLow, 5);
  EXPECT_EQ(in.read, Interval(3, 3));
  // A 1x1 window in the padding reads nothing real.
  Window1D padOnly{1, 1, 1, 2, 0, 4};
  in = windowInput(padOnly, Interval(0, 1));
  EXPECT_TRUE(in.clipped.isEmpty());
  EXPECT_TRUE(in.read.isEmpty());
  EXPECT_EQ(in.padLow, 2);
}

TEST(Window, BackwardMatchesBruteForce) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < kIterations; ++i) {
    Window1D w = randomWindow(rng);
    Interval out = randomInterval(rng, w.outputSize());
    WindowInput got = windowInput(w, out);
    WindowInput want = bruteWindowInput(w, out);
    SCOPED_TRACE(w.str() + " out " + out.str());
    EXPECT_EQ(got.full, want.full);
    EXPECT_EQ(got.clipped, want.clipped);
    EXPECT_EQ(got.padLow, want.padLow);
    EXPECT_EQ(got.padHigh, want.padHigh);
    EXPECT_EQ(got.read, want.read);
    EXPECT_EQ(got.padLow + got.clipped.size() + got.padHigh, got.full.size());
    EXPECT_TRUE(got.clipped.contains(got.read));
  }
}

TEST(Window, ForwardMatchesBruteForce) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < kIterations; ++i) {
    Window1D w = randomWindow(rng);
    Interval in = randomInterval(rng, w.inputSize);
    SCOPED_TRACE(w.str() + " in " + in.str());
    // Which outputs have every read either in `in` or in padding adjacent
    // to it (low padding if `in` starts at 0, high if it ends at the end).
    std::set<int64_t> want;
    for (int64_t o = 0; o < w.outputSize(); ++o) {
      bool ok = true;
      for (int64_t p : reads(w, o))
        ok &= in.contains(p) || (p < 0 && in.lo == 0) ||
              (p >= w.inputSize && in.hi == w.inputSize - 1);
      if (ok)
        want.insert(o);
    }
    Interval got = windowOutputsFrom(w, in);
    std::set<int64_t> gotSet;
    for (int64_t o = got.lo; o <= got.hi; ++o)
      gotSet.insert(o);
    EXPECT_EQ(gotSet, want);
  }
}

TEST(Window, ForwardInvertsBackward) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < kIterations; ++i) {
    Window1D w = randomWindow(rng);
    Interval out = randomInterval(rng, w.outputSize());
    Interval clipped = windowInput(w, out).clipped;
    SCOPED_TRACE(w.str() + " out " + out.str());
    if (!clipped.isEmpty())
      EXPECT_TRUE(windowOutputsFrom(w, clipped).contains(out));
  }
}

/// The property fuse-tile relies on: slice the input at `clipped`, pad it by
/// padLow/padHigh with the op's padding value, run the op with the same
/// kernel, stride and dilation and no further padding, and the result is
/// exactly outputs o1..o2 of the untiled op.
TEST(Window, TiledExecutionReproducesUntiled) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < kIterations; ++i) {
    Window1D w = randomWindow(rng);
    std::vector<int64_t> input(w.inputSize), weights(w.kernel);
    for (int64_t &v : input)
      v = uniform(rng, -100, 100);
    for (int64_t &v : weights)
      v = uniform(rng, -3, 3);
    int64_t padValue = uniform(rng, -5, 5);
    std::vector<int64_t> full =
        conv1d(pad(input, w.padLow, w.padHigh, padValue), weights, w.stride,
               w.dilation, w.outputSize());

    Interval out = randomInterval(rng, w.outputSize());
    WindowInput in = windowInput(w, out);
    std::vector<int64_t> slice;
    for (int64_t p = in.clipped.lo; p <= in.clipped.hi; ++p)
      slice.push_back(input[p]);
    std::vector<int64_t> tile =
        conv1d(pad(slice, in.padLow, in.padHigh, padValue), weights, w.stride,
               w.dilation, out.size());
    SCOPED_TRACE(w.str() + " out " + out.str());
    EXPECT_EQ(static_cast<int64_t>(in.padLow + slice.size() + in.padHigh),
              (out.size() - 1) * w.stride + w.extent());
    EXPECT_EQ(tile, std::vector<int64_t>(full.begin() + out.lo,
                                         full.begin() + out.hi + 1));
  }
}

/// Fused tiling of a chain of three windows: back-project a tile through the
/// chain, run each layer on its clipped, padded slice (the padding value of
/// each layer, not a computed value, outside the map), and compare the
/// final tile with the untiled chain.
TEST(Window, FusedChainReproducesUntiled) {
  std::mt19937_64 rng(5);
  int tested = 0;
  for (int i = 0; tested < 500 && i < 100000; ++i) {
    std::vector<Window1D> chain(3);
    int64_t size = uniform(rng, 8, 40);
    bool ok = true;
    for (Window1D &w : chain) {
      w = randomWindow(rng);
      w.inputSize = size;
      w.padLow = std::min<int64_t>(w.padLow, w.extent() - 1);
      w.padHigh = std::min<int64_t>(w.padHigh, w.extent() - 1);
      size = w.outputSize();
      ok &= size >= 1;
    }
    if (!ok)
      continue;
    ++tested;
    std::vector<std::vector<int64_t>> weights;
    std::vector<int64_t> padValues;
    for (const Window1D &w : chain) {
      weights.emplace_back(w.kernel);
      for (int64_t &v : weights.back())
        v = uniform(rng, -2, 2);
      padValues.push_back(uniform(rng, -5, 5));
    }
    std::vector<int64_t> input(chain[0].inputSize);
    for (int64_t &v : input)
      v = uniform(rng, -50, 50);

    std::vector<int64_t> untiled = input;
    for (size_t l = 0; l < chain.size(); ++l)
      untiled =
          conv1d(pad(untiled, chain[l].padLow, chain[l].padHigh, padValues[l]),
                 weights[l], chain[l].stride, chain[l].dilation,
                 chain[l].outputSize());

    // Back-project the output tile: the clipped input of layer l is the
    // output range layer l - 1 computes.
    Interval out = randomInterval(rng, chain.back().outputSize());
    std::vector<Interval> outs(chain.size());
    std::vector<WindowInput> ins(chain.size());
    Interval cur = out;
    for (size_t l = chain.size(); l-- > 0;) {
      outs[l] = cur;
      ins[l] = windowInput(chain[l], cur);
      cur = ins[l].clipped;
    }
    std::vector<int64_t> tile;
    for (int64_t p = cur.lo; p <= cur.hi; ++p)
      tile.push_back(input[p]);
    for (size_t l = 0; l < chain.size(); ++l)
      tile = conv1d(pad(tile, ins[l].padLow, ins[l].padHigh, padValues[l]),
                    weights[l], chain[l].stride, chain[l].dilation,
                    outs[l].size());
    EXPECT_EQ(tile, std::vector<int64_t>(untiled.begin() + out.lo,
                                         untiled.begin() + out.hi + 1));
  }
  EXPECT_EQ(tested, 500);
}

TEST(Window, TwoDimensionsAreIndependent) {
  std::mt19937_64 rng(6);
  for (int i = 0; i < 500; ++i) {
    Window2D w{randomWindow(rng), randomWindow(rng)};
    Region out(randomInterval(rng, w.rows.outputSize()),
               randomInterval(rng, w.cols.outputSize()));
    WindowInput2D in = windowInput(w, out);
    // Brute force over 2-D taps: the hull of the in-bounds positions read.
    Region read;
    for (int64_t oy = out.rows.lo; oy <= out.rows.hi; ++oy)
      for (int64_t ox = out.cols.lo; ox <= out.cols.hi; ++ox)
        for (int64_t py : reads(w.rows, oy))
          for (int64_t px : reads(w.cols, ox))
            if (py >= 0 && py < w.rows.inputSize && px >= 0 &&
                px < w.cols.inputSize)
              read = read.hull(Region(Interval(py, py), Interval(px, px)));
    SCOPED_TRACE(w.str() + " out " + out.str());
    EXPECT_EQ(in.read(), read);
    EXPECT_EQ(in.clipped(), Region(windowInput(w.rows, out.rows).clipped,
                                   windowInput(w.cols, out.cols).clipped));
    EXPECT_TRUE(windowOutputsFrom(w, in.clipped()).contains(out) ||
                in.clipped().isEmpty());
  }
}

//===----------------------------------------------------------------------===//
// Upsampling and space-to-depth
//===----------------------------------------------------------------------===//

TEST(Upsample, MatchesBruteForce) {
  std::mt19937_64 rng(10);
  for (int i = 0; i < kIterations; ++i) {
    int64_t f = uniform(rng, 1, 5), inSize = uniform(rng, 1, 20);
    Interval out = randomInterval(rng, inSize * f);
    std::set<int64_t> need;
    for (int64_t o = out.lo; o <= out.hi; ++o)
      need.insert(o / f); // out[o] = in[o / f]
    Interval got = upsampleInput(f, out);
    EXPECT_EQ(got, Interval(*need.begin(), *need.rbegin()));
    EXPECT_EQ(static_cast<int64_t>(need.size()), got.size()); // no gaps
    // The phase: outputs of the first input index before `out`.
    int64_t before = 0;
    for (int64_t o = 0; o < out.lo; ++o)
      before += o / f == got.lo;
    EXPECT_EQ(upsamplePhase(f, out), before);

    Interval in = randomInterval(rng, inSize);
    std::set<int64_t> determined;
    for (int64_t o = 0; o < inSize * f; ++o)
      if (in.contains(o / f))
        determined.insert(o);
    Interval fwd = upsampleOutputsFrom(f, in);
    EXPECT_EQ(fwd, Interval(*determined.begin(), *determined.rbegin()));
    EXPECT_EQ(static_cast<int64_t>(determined.size()), fwd.size());
  }
  EXPECT_EQ(upsampleInput(2, 3, Region(Interval(3, 6), Interval(2, 8))),
            Region(Interval(1, 3), Interval(0, 2)));
}

/// A literal NHWC space-to-depth: reshape to (H/s, s, W/s, s, C), transpose
/// to (H/s, W/s, s, s, C) (block-major) or (H/s, W/s, C, s, s)
/// (channel-major), reshape to (H/s, W/s, s*s*C).
std::vector<int64_t> spaceToDepthTable(int64_t h, int64_t w, int64_t c,
                                       int64_t s, SpaceToDepthOrder order) {
  int64_t oh = h / s, ow = w / s, oc = c * s * s;
  std::vector<int64_t> table(oh * ow * oc);
  for (int64_t a = 0; a < oh; ++a)
    for (int64_t dy = 0; dy < s; ++dy)
      for (int64_t b = 0; b < ow; ++b)
        for (int64_t dx = 0; dx < s; ++dx)
          for (int64_t ci = 0; ci < c; ++ci) {
            int64_t src = ((a * s + dy) * w + (b * s + dx)) * c + ci;
            int64_t co = order == SpaceToDepthOrder::BlockMajor
                             ? (dy * s + dx) * c + ci
                             : (ci * s + dy) * s + dx;
            table[(a * ow + b) * oc + co] = src;
          }
  return table;
}

TEST(SpaceToDepth, MatchesBruteForce) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 400; ++i) {
    int64_t s = uniform(rng, 1, 4), h = s * uniform(rng, 1, 6),
            w = s * uniform(rng, 1, 6), c = uniform(rng, 1, 3);
    for (SpaceToDepthOrder order :
         {SpaceToDepthOrder::BlockMajor, SpaceToDepthOrder::ChannelMajor}) {
      std::vector<int64_t> table = spaceToDepthTable(h, w, c, s, order);
      int64_t oh = h / s, ow = w / s, oc = c * s * s;
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x)
          for (int64_t co = 0; co < oc; ++co) {
            int64_t src = table[(y * ow + x) * oc + co];
            Element e = spaceToDepthSource(s, c, Element{y, x, co}, order);
            ASSERT_EQ((e.y * w + e.x) * c + e.c, src);
          }
      // The positions an output region reads, over all channels, form
      // exactly the box spaceToDepthInput returns.
      Region out(randomInterval(rng, oh), randomInterval(rng, ow));
      std::set<std::pair<int64_t, int64_t>> need;
      for (int64_t y = out.rows.lo; y <= out.rows.hi; ++y)
        for (int64_t x = out.cols.lo; x <= out.cols.hi; ++x)
          for (int64_t co = 0; co < oc; ++co) {
            int64_t src = table[(y * ow + x) * oc + co];
            need.insert({src / c / w, src / c % w});
          }
      Region box = spaceToDepthInput(s, out);
      EXPECT_EQ(static_cast<int64_t>(need.size()), box.size());
      for (auto [py, px] : need)
        EXPECT_TRUE(box.rows.contains(py) && box.cols.contains(px));
      // Forward: outputs whose whole block lies in a random input range.
      Interval in = randomInterval(rng, h);
      std::set<int64_t> determined;
      for (int64_t o = 0; o < oh; ++o)
        if (in.contains(o * s) && in.contains(o * s + s - 1))
          determined.insert(o);
      Interval fwd = spaceToDepthOutputsFrom(s, in);
      EXPECT_EQ(static_cast<int64_t>(determined.size()), fwd.size());
      if (!determined.empty())
        EXPECT_EQ(fwd, Interval(*determined.begin(), *determined.rbegin()));
    }
  }
}

//===----------------------------------------------------------------------===//
// Darknet's reorg
//===----------------------------------------------------------------------===//

/// Darknet's reorg_cpu (src/blas.c), transcribed for batch 1: with
/// forward == 0 it stores out[in_index] = x[out_index]. Returns, for every
/// flat output index, the flat input index it copies (both NCHW buffers).
std::vector<int64_t> darknetReorgTable(int64_t w, int64_t h, int64_t c,
                                       int64_t stride) {
  std::vector<int64_t> table(w * h * c, -1);
  int64_t outC = c / (stride * stride);
  for (int64_t k = 0; k < c; ++k)
    for (int64_t j = 0; j < h; ++j)
      for (int64_t i = 0; i < w; ++i) {
        int64_t inIndex = i + w * (j + h * k);
        int64_t c2 = k % outC;
        int64_t offset = k / outC;
        int64_t w2 = i * stride + offset % stride;
        int64_t h2 = j * stride + offset / stride;
        int64_t outIndex = w2 + w * stride * (h2 + h * stride * c2);
        table[inIndex] = outIndex; // out[in_index] = x[out_index]
      }
  return table;
}

/// Checks source(), inputRows, inputCols and inputHull of one reorg against
/// the transcription, on `regions` random output regions.
void checkReorg(const DarknetReorg &r, std::mt19937_64 &rng, int regions) {
  ASSERT_TRUE(r.isValid());
  std::vector<int64_t> table =
      darknetReorgTable(r.width, r.height, r.channels, r.stride);
  const int64_t oh = r.outHeight(), ow = r.outWidth(), oc = r.outChannels();
  auto sourceOf = [&](int64_t y, int64_t x, int64_t co) {
    // The next layer reads Darknet's output buffer as NCHW (oc, oh, ow).
    int64_t m = table[(co * oh + y) * ow + x];
    return Element{m % (r.height * r.width) / r.width, m % r.width,
                   m / (r.height * r.width)};
  };
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x)
      for (int64_t co = 0; co < oc; ++co) {
        Element want = sourceOf(y, x, co), got = r.source(Element{y, x, co});
        ASSERT_TRUE(got == want)
            << "out (" << y << "," << x << "," << co << "): got (" << got.y
            << "," << got.x << "," << got.c << ") want (" << want.y << ","
            << want.x << "," << want.c << ")";
      }
  for (int i = 0; i < regions; ++i) {
    Region out(randomInterval(rng, oh), randomInterval(rng, ow));
    std::set<int64_t> rows, cols;
    std::set<std::pair<int64_t, int64_t>> need;
    for (int64_t y = out.rows.lo; y <= out.rows.hi; ++y)
      for (int64_t x = out.cols.lo; x <= out.cols.hi; ++x)
        for (int64_t co = 0; co < oc; ++co) {
          Element e = sourceOf(y, x, co);
          rows.insert(e.y), cols.insert(e.x), need.insert({e.y, e.x});
        }
    SCOPED_TRACE("out " + out.str());
    // Rows exactly (as a set), columns exactly, and the needed positions are
    // their full product: the hull is the tightest box, and the box holds
    // every needed element.
    std::set<int64_t> gotRows;
    std::vector<Interval> intervals = r.inputRows(out.rows);
    for (size_t j = 0; j < intervals.size(); ++j) {
      if (j > 0)
        EXPECT_GT(intervals[j].lo, intervals[j - 1].hi + 1); // disjoint
      for (int64_t y = intervals[j].lo; y <= intervals[j].hi; ++y)
        gotRows.insert(y);
    }
    EXPECT_EQ(gotRows, rows);
    Interval c = r.inputCols(out.cols);
    EXPECT_EQ(c, Interval(*cols.begin(), *cols.rbegin()));
    EXPECT_EQ(static_cast<int64_t>(cols.size()), c.size());
    EXPECT_EQ(need.size(), rows.size() * cols.size());
    Region hull = r.inputHull(out);
    EXPECT_EQ(hull, Region(Interval(*rows.begin(), *rows.rbegin()), c));
    for (auto [py, px] : need)
      EXPECT_TRUE(hull.rows.contains(py) && hull.cols.contains(px));
  }
}

TEST(DarknetReorg, MatchesReorgCpuOnRandomShapes) {
  std::mt19937_64 rng(12);
  for (int i = 0; i < 150; ++i) {
    DarknetReorg r;
    r.stride = uniform(rng, 1, 3);
    r.height = r.stride * uniform(rng, 1, 8);
    r.width = r.stride * uniform(rng, 1, 8);
    r.channels = r.stride * r.stride * uniform(rng, 1, 4);
    SCOPED_TRACE("reorg h" + std::to_string(r.height) + " w" +
                 std::to_string(r.width) + " c" + std::to_string(r.channels) +
                 " s" + std::to_string(r.stride));
    checkReorg(r, rng, 10);
  }
}

TEST(DarknetReorg, YoloV2Passthrough) {
  // YOLOv2's layer 27: 26x26x64 -> 13x13x256, stride 2.
  std::mt19937_64 rng(13);
  DarknetReorg r{26, 26, 64, 2};
  checkReorg(r, rng, 40);
  // The example in the header: output rows 0..1 read input rows 0..4 and 25.
  std::vector<Interval> rows = r.inputRows(Interval(0, 1));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], Interval(0, 4));
  EXPECT_EQ(rows[1], Interval(25, 25));
  EXPECT_EQ(r.inputHull(Region(Interval(0, 1), Interval(3, 4))),
            Region(Interval(0, 25), Interval(6, 9)));
}

TEST(DarknetReorg, StrideOneIsIdentity) {
  DarknetReorg r{5, 7, 3, 1};
  for (int64_t y = 0; y < 5; ++y)
    for (int64_t x = 0; x < 7; ++x)
      for (int64_t c = 0; c < 3; ++c)
        EXPECT_TRUE(r.source(Element{y, x, c}) == (Element{y, x, c}));
  EXPECT_EQ(r.inputHull(Region(Interval(1, 2), Interval(3, 5))),
            Region(Interval(1, 2), Interval(3, 5)));
}

//===----------------------------------------------------------------------===//
// Balanced splits
//===----------------------------------------------------------------------===//

TEST(BalancedSplit, ExhaustiveSmallCases) {
  for (int64_t extent = 1; extent <= 64; ++extent)
    for (int64_t parts = 1; parts <= extent; ++parts) {
      std::vector<Interval> split = balancedSplit(extent, parts);
      ASSERT_EQ(static_cast<int64_t>(split.size()), parts);
      int64_t next = 0;
      for (int64_t i = 0; i < parts; ++i) {
        EXPECT_EQ(split[i].lo, next); // consecutive, starting at 0
        int64_t want = extent / parts + (i < extent % parts ? 1 : 0);
        EXPECT_EQ(split[i].size(), want) << extent << "/" << parts << " #" << i;
        EXPECT_FALSE(split[i].isEmpty());
        next = split[i].hi + 1;
      }
      EXPECT_EQ(next, extent); // covers everything
    }
}

TEST(BalancedSplit, PaperExamples) {
  // 608 / 5: 121.6 -> three tiles of 122, then two of 121 (the paper's
  // ceil-then-remainder would give 122, 122, 122, 122, 120).
  std::vector<Interval> s = balancedSplit(608, 5);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], Interval(0, 121));
  EXPECT_EQ(s[2], Interval(244, 365));
  EXPECT_EQ(s[3], Interval(366, 486));
  EXPECT_EQ(s[4], Interval(487, 607));
  // 7 into 4: 2 2 2 1.
  s = balancedSplit(7, 4);
  EXPECT_EQ(s[3], Interval(6, 6));
}

TEST(BalancedSplit, InvalidRequests) {
  EXPECT_TRUE(balancedSplit(5, 0).empty());
  EXPECT_TRUE(balancedSplit(5, 6).empty()); // would need an empty part
  EXPECT_TRUE(balancedSplit(0, 1).empty());
  EXPECT_TRUE(balancedSplit(5, -1).empty());
  EXPECT_TRUE(tileGrid(4, 4, 5, 1).empty());
}

TEST(BalancedSplit, TileGrid) {
  std::vector<Region> grid = tileGrid(10, 7, 3, 2);
  ASSERT_EQ(grid.size(), 6u);
  // Rows 4 3 3, cols 4 3; row-major.
  EXPECT_EQ(grid[0], Region(Interval(0, 3), Interval(0, 3)));
  EXPECT_EQ(grid[1], Region(Interval(0, 3), Interval(4, 6)));
  EXPECT_EQ(grid[5], Region(Interval(7, 9), Interval(4, 6)));
  int64_t total = 0;
  for (const Region &r : grid)
    total += r.size();
  EXPECT_EQ(total, 70);
}

} // namespace
