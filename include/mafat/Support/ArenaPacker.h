//===- ArenaPacker.h - Pack buffers with live ranges into one arena -------===//
//
// The single model of memory in mafat: the static memory planner packs the
// buffers of bufferized IR with it, and the cost model asks the same code what
// a plan's buffers will pack into, so prediction and reality cannot drift.
// Deliberately independent of MLIR: it sees only sizes, alignments and live
// ranges.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_SUPPORT_ARENAPACKER_H
#define MAFAT_SUPPORT_ARENAPACKER_H

#include <cstdint>
#include <string>
#include <vector>

namespace mafat {

/// One buffer to place. It is live on the closed interval [start, end] of an
/// abstract clock (e.g. op indices in a block); two buffers conflict iff their
/// intervals intersect.
struct BufferRequest {
  uint64_t size = 0;      ///< Bytes; 0-byte buffers get offset 0.
  uint64_t alignment = 1; ///< Power of two.
  int64_t start = 0;
  int64_t end = 0;
  std::string name; ///< For reports only.
};

/// Where each buffer went.
struct ArenaLayout {
  std::vector<uint64_t> offsets; ///< offsets[i] is for requests[i].
  uint64_t arenaBytes = 0;       ///< Max over buffers of offset + size,
                                 ///< rounded up to the arena alignment.
  uint64_t naiveBytes = 0;       ///< Sum of the sizes, each rounded up to
                                 ///< its alignment (no reuse).
};

/// Packs `requests` into one arena: no two buffers whose live ranges
/// intersect overlap in memory, every offset is a multiple of its buffer's
/// alignment, and the arena size is a multiple of `arenaAlignment`.
/// Deterministic: the same requests give the same layout.
///
/// Buffers are placed one at a time, each at the lowest offset (a multiple
/// of its alignment) that overlaps no already-placed buffer live at the same
/// time; only the placement order varies. Zero-size buffers get offset 0 and
/// take no part. Problems of up to `kExhaustiveLimit` nonzero buffers try
/// every order and keep the smallest arena (the best lowest-offset layout,
/// not a proven optimum over all offset assignments); larger ones try two
/// orders and keep the better: size descending (then earlier start, then
/// index) and execution order (start time). Both can lose to the best order,
/// e.g. by 20% on a bottleneck-style chain of sizes 256 64 64 256 (see
/// ArenaPackerTest.cpp). Runs in O(n^2) time.
ArenaLayout packBuffers(const std::vector<BufferRequest> &requests,
                        uint64_t arenaAlignment = 64);

/// Number of buffers up to which packBuffers searches all placement orders.
constexpr unsigned kExhaustiveLimit = 7;

/// Checks a layout against its requests; returns an empty string when valid,
/// or a description of the first violation: wrong offset count, invalid
/// alignment or live range, misalignment, a buffer extending past
/// `arenaBytes`, or two buffers that are live together and overlap.
std::string verifyLayout(const std::vector<BufferRequest> &requests,
                         const ArenaLayout &layout);

} // namespace mafat

#endif // MAFAT_SUPPORT_ARENAPACKER_H
