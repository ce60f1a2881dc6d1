//===- ArenaPacker.cpp - Pack buffers with live ranges into one arena -----===//
//
// Offline dynamic storage allocation: every buffer's size and live range is
// known up front, and we pick offsets so that buffers alive at the same time
// never share bytes. The problem is NP-hard in general, so we place buffers
// one at a time at the lowest offset that fits (first fit) and only choose the
// order: greedy-by-size for large inputs, the best of all orders for small
// ones.
//
// Kept free of MLIR and LLVM so that the memory planner, the cost model and
// the unit tests all run exactly this code on plain numbers.
//
//===----------------------------------------------------------------------===//

#include "mafat/Support/ArenaPacker.h"

#include <algorithm>
#include <cassert>
#include <numeric>

using namespace mafat;

namespace {

/// A buffer that takes part in packing: zero-size requests are filtered out
/// up front because they occupy no bytes and cannot conflict with anything.
struct Item {
  uint64_t size;
  uint64_t alignment;
  int64_t start;
  int64_t end;
};

/// An alignment of 0 is treated as 1 so that callers that leave it
/// uninitialised in spirit still get a valid (unconstrained) placement.
uint64_t normalizeAlignment(uint64_t alignment) {
  return alignment == 0 ? 1 : alignment;
}

bool isPowerOf2(uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

uint64_t alignTo(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// Closed intervals: a buffer freed at time t and one allocated at time t are
/// both live at t, so they must not share memory.
bool liveRangesIntersect(int64_t aStart, int64_t aEnd, int64_t bStart,
                         int64_t bEnd) {
  return aStart <= bEnd && bStart <= aEnd;
}

bool conflicts(const Item &a, const Item &b) {
  return liveRangesIntersect(a.start, a.end, b.start, b.end);
}

/// Places `items` one by one in `order` at the lowest aligned offset that
/// does not overlap any already-placed, time-conflicting item. Writes the
/// offsets into `offsets` (indexed like `items`) and returns the peak, i.e.
/// the maximum of offset + size (unrounded).
///
/// Placed items are kept sorted by offset, so finding the lowest gap is one
/// linear scan that can stop at the first placed item starting above the
/// candidate's end; the whole packing is O(n^2) without any sorting per item.
uint64_t placeInOrder(const std::vector<Item> &items,
                      const std::vector<unsigned> &order,
                      std::vector<uint64_t> &offsets,
                      std::vector<unsigned> &placedByOffset) {
  placedByOffset.clear();
  uint64_t peak = 0;
  for (unsigned idx : order) {
    const Item &item = items[idx];
    uint64_t candidate = 0;
    for (unsigned other : placedByOffset) {
      const Item &placed = items[other];
      uint64_t placedBegin = offsets[other];
      // Everything from here on starts at or above placedBegin; if the
      // candidate ends before it, nothing later can overlap either.
      if (placedBegin >= candidate + item.size)
        break;
      if (!conflicts(item, placed))
        continue;
      // Earlier entries all end at or below the candidate (either they never
      // reached it or the candidate was already bumped past them), so bumping
      // past this one keeps the invariant.
      uint64_t placedEnd = placedBegin + placed.size;
      if (placedEnd > candidate)
        candidate = alignTo(placedEnd, item.alignment);
    }
    offsets[idx] = candidate;
    peak = std::max(peak, candidate + item.size);

    // Insert after existing entries with the same offset so the order of
    // placement breaks ties; any stable rule would do, this one is cheap.
    auto pos =
        std::upper_bound(placedByOffset.begin(), placedByOffset.end(),
                         candidate, [&](uint64_t offset, unsigned other) {
                           return offset < offsets[other];
                         });
    placedByOffset.insert(pos, idx);
  }
  return peak;
}

/// The largest total size live at any single instant. No layout can have a
/// peak below it, so once a placement order reaches it the search can stop.
/// The maximum over all instants is attained at some buffer's start, which
/// makes the O(n^2) scan below exact.
uint64_t liveSizeLowerBound(const std::vector<Item> &items) {
  uint64_t best = 0;
  for (const Item &at : items) {
    uint64_t live = 0;
    for (const Item &item : items)
      if (item.start <= at.start && at.start <= item.end)
        live += item.size;
    best = std::max(best, live);
  }
  return best;
}

} // namespace

ArenaLayout mafat::packBuffers(const std::vector<BufferRequest> &requests,
                               uint64_t arenaAlignment) {
  arenaAlignment = normalizeAlignment(arenaAlignment);
  assert(isPowerOf2(arenaAlignment) && "arena alignment must be a power of 2");

  ArenaLayout layout;
  layout.offsets.assign(requests.size(), 0);

  // Gather the buffers that actually need bytes; `origin` maps them back.
  std::vector<Item> items;
  std::vector<size_t> origin;
  for (size_t i = 0, e = requests.size(); i != e; ++i) {
    const BufferRequest &request = requests[i];
    if (request.size == 0)
      continue;
    uint64_t alignment = normalizeAlignment(request.alignment);
    assert(isPowerOf2(alignment) && "buffer alignment must be a power of 2");
    // What one aligned allocation per buffer costs: the honest baseline,
    // and never below the arena (which only adds reuse to it).
    layout.naiveBytes += alignTo(request.size, alignment);
    assert(request.start <= request.end && "live range must not be empty");
    items.push_back({request.size, alignment, request.start, request.end});
    origin.push_back(i);
  }
  if (items.empty())
    return layout;

  // Greedy-by-size: big buffers first, since they are the hardest to fit into
  // holes later; among equal sizes, the earlier one first. Only the order of
  // live-range endpoints matters, never their distance, so the memory model
  // (which has its own clock, one tick per layer step) packs a plan's
  // buffers exactly as mafat-plan-memory packs the IR's (whose clock counts
  // ops). The index makes the order total and thus deterministic.
  const unsigned n = items.size();
  std::vector<unsigned> greedyOrder(n);
  std::iota(greedyOrder.begin(), greedyOrder.end(), 0u);
  std::sort(greedyOrder.begin(), greedyOrder.end(),
            [&](unsigned a, unsigned b) {
              const Item &x = items[a], &y = items[b];
              if (x.size != y.size)
                return x.size > y.size;
              if (x.start != y.start)
                return x.start < y.start;
              return a < b;
            });

  std::vector<uint64_t> offsets(n, 0), bestOffsets;
  std::vector<unsigned> placedByOffset;
  placedByOffset.reserve(n);
  uint64_t bestPeak = placeInOrder(items, greedyOrder, offsets, placedByOffset);
  bestOffsets = offsets;

  // Greedy-by-size stacks every large buffer of a bottleneck chain (ResNet:
  // 256 64 64 256 ...) at offset 0 and piles the small ones on top; placing
  // in execution order instead lets each small buffer slide into the space
  // its dead predecessor left. Try both and keep the better: still
  // deterministic and O(n^2).
  std::vector<unsigned> timeOrder(greedyOrder);
  std::stable_sort(timeOrder.begin(), timeOrder.end(),
                   [&](unsigned a, unsigned b) {
                     return items[a].start < items[b].start;
                   });
  uint64_t timePeak = placeInOrder(items, timeOrder, offsets, placedByOffset);
  if (timePeak < bestPeak) {
    bestPeak = timePeak;
    bestOffsets = offsets;
  }

  if (n <= kExhaustiveLimit) {
    // Try every placement order, still placing each buffer at its lowest
    // feasible offset. This is the best first-fit layout, not a proven
    // optimum over all offset assignments, but on tiny problems it fixes the
    // cases where the size order paints itself into a corner. The
    // permutation is over positions in the greedy order, so the greedy
    // layout is the first candidate and wins every tie: small and large
    // problems agree whenever greedy is already the best.
    uint64_t lowerBound = liveSizeLowerBound(items);
    std::vector<unsigned> perm(n), order(n);
    std::iota(perm.begin(), perm.end(), 0u);
    while (bestPeak > lowerBound &&
           std::next_permutation(perm.begin(), perm.end())) {
      for (unsigned i = 0; i != n; ++i)
        order[i] = greedyOrder[perm[i]];
      uint64_t peak = placeInOrder(items, order, offsets, placedByOffset);
      if (peak < bestPeak) {
        bestPeak = peak;
        bestOffsets = offsets;
      }
    }
  }

  for (unsigned i = 0; i != n; ++i)
    layout.offsets[origin[i]] = bestOffsets[i];
  layout.arenaBytes = alignTo(bestPeak, arenaAlignment);
  return layout;
}

std::string mafat::verifyLayout(const std::vector<BufferRequest> &requests,
                                const ArenaLayout &layout) {
  auto describe = [&](size_t i) {
    const BufferRequest &request = requests[i];
    std::string text = "buffer " + std::to_string(i);
    if (!request.name.empty())
      text += " ('" + request.name + "')";
    return text;
  };

  if (layout.offsets.size() != requests.size())
    return "layout has " + std::to_string(layout.offsets.size()) +
           " offsets for " + std::to_string(requests.size()) + " buffers";

  for (size_t i = 0, e = requests.size(); i != e; ++i) {
    const BufferRequest &request = requests[i];
    if (request.size == 0)
      continue;
    uint64_t offset = layout.offsets[i];
    uint64_t alignment = normalizeAlignment(request.alignment);
    if (!isPowerOf2(alignment))
      return describe(i) + " has alignment " + std::to_string(alignment) +
             ", which is not a power of 2";
    if (request.start > request.end)
      return describe(i) + " has an empty live range [" +
             std::to_string(request.start) + ", " +
             std::to_string(request.end) + "]";
    if (offset % alignment != 0)
      return describe(i) + " at offset " + std::to_string(offset) +
             " is not aligned to " + std::to_string(alignment);
    // Written to avoid overflow in offset + size.
    if (offset > layout.arenaBytes || request.size > layout.arenaBytes - offset)
      return describe(i) + " at offset " + std::to_string(offset) +
             " with size " + std::to_string(request.size) +
             " does not fit in the arena of " +
             std::to_string(layout.arenaBytes) + " bytes";
  }

  // Quadratic, but it only runs in tests and debug checks, and a few thousand
  // buffers are still a few million cheap comparisons.
  for (size_t i = 0, e = requests.size(); i != e; ++i) {
    const BufferRequest &a = requests[i];
    if (a.size == 0)
      continue;
    for (size_t j = i + 1; j != e; ++j) {
      const BufferRequest &b = requests[j];
      if (b.size == 0 || !liveRangesIntersect(a.start, a.end, b.start, b.end))
        continue;
      uint64_t aBegin = layout.offsets[i], bBegin = layout.offsets[j];
      // Both fit in the arena (checked above), so these sums cannot overflow.
      if (aBegin < bBegin + b.size && bBegin < aBegin + a.size)
        return describe(i) + " at [" + std::to_string(aBegin) + ", " +
               std::to_string(aBegin + a.size) + ") overlaps " + describe(j) +
               " at [" + std::to_string(bBegin) + ", " +
               std::to_string(bBegin + b.size) + ") while both are live";
    }
  }
  return "";
}
