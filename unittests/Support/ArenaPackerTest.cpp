//===- ArenaPackerTest.cpp - Tests for the buffer packing core ------------===//
//
// The expected arena sizes below are worked out by hand in the comments next
// to them, not copied from the packer's output.
//
//===----------------------------------------------------------------------===//

#include "mafat/Support/ArenaPacker.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <random>

using namespace mafat;

namespace {

BufferRequest buf(uint64_t size, int64_t start, int64_t end,
                  uint64_t alignment = 1, std::string name = "") {
  BufferRequest request;
  request.size = size;
  request.alignment = alignment;
  request.start = start;
  request.end = end;
  request.name = std::move(name);
  return request;
}

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// Largest total size live at one instant: no layout can be smaller. The
/// maximum is reached at some buffer's start, so checking those suffices.
uint64_t liveLowerBound(const std::vector<BufferRequest> &requests) {
  uint64_t best = 0;
  for (const BufferRequest &at : requests) {
    uint64_t live = 0;
    for (const BufferRequest &r : requests)
      if (r.start <= at.start && at.start <= r.end)
        live += r.size;
    best = std::max(best, live);
  }
  return best;
}

/// Appends size-1 buffers live long after everything else. They conflict
/// with nothing, sort last by size and land at offset 0, so they leave the
/// layout of the original buffers alone but push the count past
/// kExhaustiveLimit: packing the result shows what the large-problem
/// heuristics (greedy-by-size, then execution order; the better wins) do.
std::vector<BufferRequest> forceGreedy(std::vector<BufferRequest> requests) {
  int64_t t = 1000;
  for (unsigned i = 0; i <= kExhaustiveLimit; ++i, t += 2)
    requests.push_back(buf(1, t, t));
  return requests;
}

std::vector<BufferRequest> randomRequests(std::mt19937_64 &rng, unsigned n,
                                          int64_t horizon, int64_t maxLength) {
  static const uint64_t alignments[] = {1, 2, 4, 8, 16, 64, 256, 4096};
  std::vector<BufferRequest> requests;
  for (unsigned i = 0; i < n; ++i) {
    uint64_t size;
    unsigned kind = rng() % 10;
    if (kind == 0)
      size = 0; // Exercise the zero-size path inside real problems.
    else if (kind < 8)
      size = 1 + rng() % 4096;
    else
      size = 1 + rng() % (1u << 20);
    int64_t start = static_cast<int64_t>(rng() % horizon);
    int64_t end = start + static_cast<int64_t>(rng() % (maxLength + 1));
    requests.push_back(
        buf(size, start, end, alignments[rng() % 8], "b" + std::to_string(i)));
  }
  return requests;
}

//===----------------------------------------------------------------------===//
// (a) Reuse across disjoint live ranges.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, DisjointLiveRangesShareOffsetZero) {
  std::vector<BufferRequest> requests = {buf(100, 0, 0), buf(300, 1, 2),
                                         buf(200, 3, 3), buf(50, 4, 9)};
  ArenaLayout layout = packBuffers(requests, /*arenaAlignment=*/1);
  EXPECT_EQ(layout.offsets, (std::vector<uint64_t>{0, 0, 0, 0}));
  EXPECT_EQ(layout.arenaBytes, 300u); // The largest buffer alone.
  EXPECT_EQ(verifyLayout(requests, layout), "");

  // Same buffers, arena rounded to 64: 300 -> 320.
  EXPECT_EQ(packBuffers(requests, 64).arenaBytes, 320u);
}

TEST(ArenaPackerTest, TouchingLiveRangesConflict) {
  // Closed intervals: [0, 1] and [1, 2] are both live at time 1.
  std::vector<BufferRequest> requests = {buf(10, 0, 1), buf(10, 1, 2)};
  ArenaLayout layout = packBuffers(requests, 1);
  EXPECT_EQ(layout.arenaBytes, 20u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
}

//===----------------------------------------------------------------------===//
// (b) Validity and the live-size lower bound on random instances.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, RandomInstancesAreValidAndAboveLowerBound) {
  std::mt19937_64 rng(20240611);
  static const uint64_t arenaAlignments[] = {1, 64, 4096};
  for (unsigned iter = 0; iter < 400; ++iter) {
    // Mostly moderate sizes, with every fifth instance small enough to go
    // through the exhaustive search.
    unsigned n = iter % 5 == 0 ? rng() % (kExhaustiveLimit + 1) : rng() % 80;
    std::vector<BufferRequest> requests = randomRequests(rng, n, 40, 12);
    uint64_t arenaAlignment = arenaAlignments[iter % 3];
    ArenaLayout layout = packBuffers(requests, arenaAlignment);
    SCOPED_TRACE("instance " + std::to_string(iter) + ", " + std::to_string(n) +
                 " buffers");
    ASSERT_EQ(verifyLayout(requests, layout), "");
    EXPECT_EQ(layout.arenaBytes % arenaAlignment, 0u);
    EXPECT_GE(layout.arenaBytes, liveLowerBound(requests));
    uint64_t peak = 0;
    for (size_t i = 0; i < requests.size(); ++i)
      if (requests[i].size != 0)
        peak = std::max(peak, layout.offsets[i] + requests[i].size);
    EXPECT_EQ(layout.arenaBytes, alignUp(peak, arenaAlignment));
  }
}

TEST(ArenaPackerTest, ExhaustiveSearchNeverLosesToGreedy) {
  // The exhaustive search starts from the greedy order, so on small inputs
  // it can only match or beat what greedy-by-size alone produces.
  std::mt19937_64 rng(7);
  for (unsigned iter = 0; iter < 300; ++iter) {
    unsigned n = 2 + rng() % (kExhaustiveLimit - 1);
    std::vector<BufferRequest> requests = randomRequests(rng, n, 6, 3);
    SCOPED_TRACE("instance " + std::to_string(iter));
    ArenaLayout best = packBuffers(requests, 1);
    ArenaLayout greedy = packBuffers(forceGreedy(requests), 1);
    ASSERT_EQ(verifyLayout(requests, best), "");
    EXPECT_LE(best.arenaBytes, greedy.arenaBytes);
    EXPECT_GE(best.arenaBytes, liveLowerBound(requests));
  }
}

//===----------------------------------------------------------------------===//
// (c) Alignment.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, OddSizesRespectAlignment) {
  // Everything live at once, so every buffer needs its own aligned slot.
  std::vector<BufferRequest> requests = {
      buf(17, 0, 5, 16),   buf(333, 0, 5, 64),   buf(4097, 0, 5, 4096),
      buf(1, 0, 5, 4096),  buf(65, 0, 5, 64),    buf(3, 0, 5, 16),
      buf(1001, 2, 3, 64), buf(4095, 1, 4, 4096)};
  ArenaLayout layout = packBuffers(requests, 64);
  ASSERT_EQ(verifyLayout(requests, layout), "");
  for (size_t i = 0; i < requests.size(); ++i)
    EXPECT_EQ(layout.offsets[i] % requests[i].alignment, 0u) << "buffer " << i;
  EXPECT_EQ(layout.arenaBytes % 64, 0u);
  EXPECT_GE(layout.arenaBytes, liveLowerBound(requests));
}

TEST(ArenaPackerTest, AlignmentHandComputedOptimum) {
  // Three buffers live together: A = 17 bytes @16, B = 1 byte @4096,
  // C = 65 bytes @64. B can only sit at 0 or at a multiple of 4096; anything
  // but 0 costs >= 4097 bytes, so B = 0. C then needs a nonzero multiple of
  // 64: C = 64, ending at 129. A fits in [1, 64) at the first multiple of
  // 16, i.e. A = 16 (ends at 33). Peak 129, rounded to the arena's 64: 192.
  // Greedy-by-size would put C at 0, A at 80 and B at 4096 (peak 4097).
  std::vector<BufferRequest> requests = {buf(17, 0, 0, 16), buf(1, 0, 0, 4096),
                                         buf(65, 0, 0, 64)};
  ArenaLayout layout = packBuffers(requests, 64);
  EXPECT_EQ(layout.offsets, (std::vector<uint64_t>{16, 0, 64}));
  EXPECT_EQ(layout.arenaBytes, 192u);
  EXPECT_EQ(verifyLayout(requests, layout), "");

  // Greedy alone: peak 4097, rounded to 64 -> 4160.
  ArenaLayout greedy = packBuffers(forceGreedy(requests), 64);
  EXPECT_EQ(greedy.arenaBytes, 4160u);
}

//===----------------------------------------------------------------------===//
// (d) Hand-computed optima where greedy-by-size is worse.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, HandOptimumTwoSmallBuffersMustStack) {
  // A = 6 @[1,1], B = 3 @[2,4], C = 6 @[4,4], D = 3 @[0,2].
  // Live sums: t0 D = 3, t1 A+D = 9, t2 B+D = 6, t3 B = 3, t4 B+C = 9, so
  // 9 is a lower bound. It is reached by A = 0, D = 6 (A and D meet at t1),
  // B = 0 (B and D meet at t2), C = 3 (C meets only B): peak 9.
  // Greedy-by-size places A = 0, C = 0 (disjoint), B = 6 (above C), then D
  // must avoid A [0,6) and B [6,9): D = 9, peak 12.
  std::vector<BufferRequest> requests = {buf(6, 1, 1), buf(3, 2, 4),
                                         buf(6, 4, 4), buf(3, 0, 2)};
  ArenaLayout layout = packBuffers(requests, 1);
  EXPECT_EQ(layout.arenaBytes, 9u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
  EXPECT_EQ(packBuffers(forceGreedy(requests), 1).arenaBytes, 12u);
}

TEST(ArenaPackerTest, HandOptimumLargestBufferNotAtBottom) {
  // A = 3 @[0,3], B = 3 @[1,3], C = 4 @[0,0], D = 2 @[1,1].
  // Live sums: t0 A+C = 7, t1 A+B+D = 8, t2..t3 A+B = 6: lower bound 8.
  // Layout A = 0, B = 3, D = 6 (t1: [0,3) [3,6) [6,8)) and C = 3 (meets
  // only A) reaches it: peak 8.
  // Greedy-by-size puts C = 0 first, A = 4 (above C), B = 0 (misses C),
  // leaving D only the 1-byte hole [3,4) below A: D = 7, peak 9.
  std::vector<BufferRequest> requests = {buf(3, 0, 3), buf(3, 1, 3),
                                         buf(4, 0, 0), buf(2, 1, 1)};
  ArenaLayout layout = packBuffers(requests, 1);
  EXPECT_EQ(layout.arenaBytes, 8u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
  EXPECT_EQ(packBuffers(forceGreedy(requests), 1).arenaBytes, 9u);
}

TEST(ArenaPackerTest, HandOptimumFiveBuffers) {
  // A = 3 @[3,4], B = 2 @[1,2], C = 3 @[2,3], D = 3 @[0,1], E = 1 @[0,0].
  // Live sums: t0 D+E = 4, t1 B+D = 5, t2 B+C = 5, t3 A+C = 6, t4 A = 3:
  // lower bound 6. Reached by A = 0, C = 3, B = 0, D = 2, E = 0: pairs that
  // meet are A/C [0,3)/[3,6), B/C [0,2)/[3,6), B/D [0,2)/[2,5), D/E
  // [2,5)/[0,1). Peak 6.
  // Greedy-by-size: A = 0, C = 3, D = 0 (meets neither), then B must avoid
  // D [0,3) and C [3,6): B = 6, peak 8. Execution order (the second
  // heuristic above the exhaustive limit) gets E = 0, D = 1, B = 4, C = 0,
  // A = 3: peak 6, so the large-problem path reaches the optimum too.
  std::vector<BufferRequest> requests = {
      buf(3, 3, 4), buf(2, 1, 2), buf(3, 2, 3), buf(3, 0, 1), buf(1, 0, 0)};
  ArenaLayout layout = packBuffers(requests, 1);
  EXPECT_EQ(layout.arenaBytes, 6u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
  EXPECT_EQ(packBuffers(forceGreedy(requests), 1).arenaBytes, 6u);
}

TEST(ArenaPackerTest, HandOptimumBottleneckChain) {
  // A ResNet-style bottleneck schedule, buffer i live [i, i+1], sizes
  // 256 64 64 256 64 64 256. Adjacent pairs sum to at most 320, a lower
  // bound. Reached by offsets 0 256 0 64 0 256 0: each 256 sits next to a
  // 64 that lies outside it (64 at 256 above [0,256), or 64 at 0 below
  // [64,320)). Peak 320.
  // Greedy-by-size puts all three 256s at 0 (they never meet), so the 64s
  // between two of them stack on top: 256 and 320, peak 384.
  std::vector<BufferRequest> requests;
  const uint64_t sizes[] = {256, 64, 64, 256, 64, 64, 256};
  for (int64_t i = 0; i < 7; ++i)
    requests.push_back(buf(sizes[i], i, i + 1));
  ArenaLayout layout = packBuffers(requests, 1);
  EXPECT_EQ(layout.arenaBytes, 320u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
  EXPECT_EQ(packBuffers(forceGreedy(requests), 1).arenaBytes, 384u);
}

//===----------------------------------------------------------------------===//
// (e) Determinism.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, SameInputGivesSameLayout) {
  std::mt19937_64 rng(99);
  for (unsigned n : {5u, 7u, 40u, 500u}) {
    std::vector<BufferRequest> requests = randomRequests(rng, n, 100, 20);
    std::vector<BufferRequest> copy = requests;
    ArenaLayout first = packBuffers(requests, 64);
    ArenaLayout second = packBuffers(copy, 64);
    EXPECT_EQ(first.offsets, second.offsets) << n << " buffers";
    EXPECT_EQ(first.arenaBytes, second.arenaBytes) << n << " buffers";
    EXPECT_EQ(first.naiveBytes, second.naiveBytes) << n << " buffers";
  }
}

TEST(ArenaPackerTest, EqualBuffersTieBreakByIndex) {
  // Identical overlapping buffers: the lower index is placed first, so it
  // gets the lower offset, both in exhaustive and in greedy mode.
  std::vector<BufferRequest> requests = {buf(8, 0, 1), buf(8, 0, 1),
                                         buf(8, 0, 1)};
  for (const std::vector<BufferRequest> &input :
       {requests, forceGreedy(requests)}) {
    ArenaLayout layout = packBuffers(input, 1);
    EXPECT_EQ(layout.offsets[0], 0u);
    EXPECT_EQ(layout.offsets[1], 8u);
    EXPECT_EQ(layout.offsets[2], 16u);
    EXPECT_EQ(layout.arenaBytes, 24u);
  }
}

//===----------------------------------------------------------------------===//
// (f) naiveBytes and (g) degenerate inputs.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, NaiveBytesIsSumOfAlignedSizes) {
  // One aligned allocation per buffer: 17 -> 32 (align 16), 333 -> 384
  // (64), 0 -> 0, 1 -> 8 (8), 4097 -> 8192 (4096); 32 + 384 + 8 + 8192.
  std::vector<BufferRequest> requests = {buf(17, 0, 0, 16), buf(333, 0, 3, 64),
                                         buf(0, 1, 1, 4096), buf(1, 2, 2, 8),
                                         buf(4097, 5, 6, 4096)};
  ArenaLayout layout = packBuffers(requests, 64);
  EXPECT_EQ(layout.naiveBytes, 8616u);
  EXPECT_LE(layout.arenaBytes, layout.naiveBytes);
  EXPECT_EQ(verifyLayout(requests, layout), "");
}

TEST(ArenaPackerTest, EmptyInput) {
  std::vector<BufferRequest> requests;
  ArenaLayout layout = packBuffers(requests);
  EXPECT_TRUE(layout.offsets.empty());
  EXPECT_EQ(layout.arenaBytes, 0u);
  EXPECT_EQ(layout.naiveBytes, 0u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
}

TEST(ArenaPackerTest, OnlyZeroSizeBuffers) {
  std::vector<BufferRequest> requests = {buf(0, 0, 5, 4096), buf(0, 0, 5, 64),
                                         buf(0, 3, 3)};
  ArenaLayout layout = packBuffers(requests);
  EXPECT_EQ(layout.offsets, (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_EQ(layout.arenaBytes, 0u);
  EXPECT_EQ(layout.naiveBytes, 0u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
}

TEST(ArenaPackerTest, ZeroSizeBuffersTakeNoSpace) {
  // The zero-size buffers overlap everything in time and ask for 4096-byte
  // alignment, yet must not move the real buffers: the larger one goes
  // first at 0 and the 10-byte one right above it at 20.
  std::vector<BufferRequest> requests = {buf(0, 0, 9, 4096), buf(10, 0, 1),
                                         buf(0, 0, 9, 4096), buf(20, 1, 2)};
  ArenaLayout layout = packBuffers(requests, 1);
  EXPECT_EQ(layout.offsets, (std::vector<uint64_t>{0, 20, 0, 0}));
  EXPECT_EQ(layout.arenaBytes, 30u);
  EXPECT_EQ(layout.naiveBytes, 30u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
}

//===----------------------------------------------------------------------===//
// (h) Layer-by-layer chains.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, VggLikeChainPacksIntoLargestAdjacentPair) {
  // Float32 activations of a VGG-16-like network at 224x224 (bytes), each
  // live from the layer producing it to the one consuming it: [i, i+1].
  // Only neighbours meet, so the arena can be no smaller than the largest
  // adjacent pair, here conv1_1 + conv1_2 = 2 * 64*224*224*4 = 25690112
  // bytes (already a multiple of 64), and greedy-by-size reaches it.
  const uint64_t sizes[] = {3 * 224 * 224 * 4,
                            64 * 224 * 224 * 4,
                            64 * 224 * 224 * 4,
                            64 * 112 * 112 * 4,
                            128 * 112 * 112 * 4,
                            128 * 112 * 112 * 4,
                            128 * 56 * 56 * 4,
                            256 * 56 * 56 * 4,
                            256 * 56 * 56 * 4,
                            256 * 56 * 56 * 4,
                            256 * 28 * 28 * 4,
                            512 * 28 * 28 * 4,
                            512 * 28 * 28 * 4,
                            512 * 28 * 28 * 4,
                            512 * 14 * 14 * 4,
                            512 * 14 * 14 * 4,
                            512 * 14 * 14 * 4,
                            512 * 14 * 14 * 4,
                            512 * 7 * 7 * 4,
                            4096 * 4,
                            4096 * 4,
                            1000 * 4};
  std::vector<BufferRequest> requests;
  uint64_t largestPair = 0;
  for (int64_t i = 0; i < 22; ++i) {
    requests.push_back(buf(sizes[i], i, i + 1, 64));
    if (i > 0)
      largestPair = std::max(largestPair, sizes[i - 1] + sizes[i]);
  }
  ASSERT_EQ(largestPair, 25690112u);
  ArenaLayout layout = packBuffers(requests, 64);
  EXPECT_EQ(layout.arenaBytes, alignUp(largestPair, 64));
  EXPECT_EQ(verifyLayout(requests, layout), "");
}

TEST(ArenaPackerTest, ShrinkingChainWithRounding) {
  // Sizes 1000, 900, ..., 100 with 64-byte alignment, buffer i live
  // [i, i+1]. The largest pair is 1000 + 900: buffer 0 at 0 and buffer 1 at
  // the next multiple of 64 above 1000, i.e. 1024, ending at 1924; the
  // arena rounds that to 1984. Later pairs are smaller and alternate
  // between offset 0 and just above their neighbour.
  std::vector<BufferRequest> requests;
  for (int64_t i = 0; i < 10; ++i)
    requests.push_back(buf(1000 - 100 * i, i, i + 1, 64));
  ArenaLayout layout = packBuffers(requests, 64);
  EXPECT_EQ(layout.arenaBytes, 1984u);
  EXPECT_EQ(layout.offsets[0], 0u);
  EXPECT_EQ(layout.offsets[1], 1024u);
  EXPECT_EQ(verifyLayout(requests, layout), "");
}

//===----------------------------------------------------------------------===//
// (i) Scale.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, ThreeThousandBuffersPackAndVerify) {
  std::mt19937_64 rng(3000);
  std::vector<BufferRequest> requests = randomRequests(rng, 3000, 3000, 60);
  ArenaLayout layout = packBuffers(requests, 64);
  ASSERT_EQ(verifyLayout(requests, layout), "");
  EXPECT_GE(layout.arenaBytes, liveLowerBound(requests));
  EXPECT_LT(layout.arenaBytes, layout.naiveBytes);
}

//===----------------------------------------------------------------------===//
// verifyLayout itself must catch broken layouts.
//===----------------------------------------------------------------------===//

TEST(ArenaPackerTest, VerifyLayoutRejectsBadLayouts) {
  std::vector<BufferRequest> requests = {buf(16, 0, 1, 16, "x"),
                                         buf(16, 1, 2, 16, "y")};
  ArenaLayout good = packBuffers(requests, 1);
  ASSERT_EQ(verifyLayout(requests, good), "");

  ArenaLayout overlap = good;
  overlap.offsets = {0, 0};
  EXPECT_NE(verifyLayout(requests, overlap).find("overlaps"),
            std::string::npos);

  ArenaLayout misaligned = good;
  misaligned.offsets = {0, 24};
  misaligned.arenaBytes = 64;
  EXPECT_NE(verifyLayout(requests, misaligned).find("aligned"),
            std::string::npos);

  ArenaLayout tooSmall = good;
  tooSmall.arenaBytes = 20;
  EXPECT_NE(verifyLayout(requests, tooSmall).find("arena"), std::string::npos);

  ArenaLayout wrongCount = good;
  wrongCount.offsets.pop_back();
  EXPECT_NE(verifyLayout(requests, wrongCount), "");

  // Names make the report usable.
  EXPECT_NE(verifyLayout(requests, overlap).find("'x'"), std::string::npos);
}

} // namespace

// The memory model packs a plan's buffers on its own clock (one tick per
// layer step) and the planner packs the IR's on op positions: the result
// must depend only on the order of live-range endpoints, never on their
// distances. Stretch the clock by a random strictly increasing map and
// compare, on instances large enough for the heuristics (not only the
// exhaustive search) to run.
TEST(ArenaPackerTest, OnlyTheOrderOfEventsMatters) {
  std::mt19937_64 rng(99);
  for (unsigned trial = 0; trial < 200; ++trial) {
    unsigned n = 3 + trial % 20;
    std::vector<BufferRequest> requests = randomRequests(rng, n, 30, 10);
    int64_t maxTime = 0;
    for (const BufferRequest &r : requests)
      maxTime = std::max(maxTime, r.end);
    std::vector<int64_t> stretch(maxTime + 1);
    int64_t t = 0;
    for (int64_t &s : stretch)
      s = t += 1 + static_cast<int64_t>(rng() % 50);
    std::vector<BufferRequest> stretched = requests;
    for (BufferRequest &r : stretched) {
      r.start = stretch[r.start];
      r.end = stretch[r.end];
    }
    EXPECT_EQ(packBuffers(requests).arenaBytes,
              packBuffers(stretched).arenaBytes)
        << "trial " << trial;
  }
}
