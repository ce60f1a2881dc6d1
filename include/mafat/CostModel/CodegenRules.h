//===- CodegenRules.h - What codegen will do, asked by the models -*- C++
//-*-===//
//
// Decisions codegen makes that the cost models must price the same way.
// One home per rule: the transforms and both models call these functions,
// so the prediction cannot drift from the code.
//
// Epilogue fusion (mafat-tile-and-vectorize): register blocking tiles an
// elementwise layer (bias, activation, batch-norm) together with the blocked
// layer (conv, depthwise conv, pool, matmul) it reads, so the epilogue is
// applied while the block is in registers and the producer's map is never
// stored. The memory model drops the producer's buffer, the latency model
// prices the epilogue as compute only, and mafat-profile-groups times the
// two as one unit. The transform matches the same conditions on IR (after
// fuse-tile, where a layer read across a tiled group's boundary is a slice
// of a map, not the producer); the unit test TileAndVectorizeTest compares
// the two on real IR.
//
// The split-steps parallel form (mafat-parallelize). A layer's outermost
// register-block loop is split across the threads when the layer has at
// least `minWork` iterations (its linalg op's iteration space, i.e.
// multiply-accumulates for a conv); smaller layers run on the calling thread
// because a parallel launch costs more than it saves. Split steps own no
// buffers, so memory is the same for every thread count.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_COSTMODEL_CODEGENRULES_H
#define MAFAT_COSTMODEL_CODEGENRULES_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <optional>

namespace mafat {

class LayerGraph;
enum class LayerKind;

/// Whether codegen register-blocks layers of `kind` as tiles of their output
/// (conv, depthwise conv, pools, matmul): the only producers an elementwise
/// epilogue fuses into.
bool isBlockedKind(LayerKind kind);

/// Whether a node runs in the same scope as the epilogue asked about: both at
/// the top level (untiled groups; fuse-tile leaves their IR as it was) or
/// both in one tiled group's tile body. Across any other boundary the
/// consumer reads a slice of a map, which is no producer to fuse.
using SameScopeFn = llvm::function_ref<bool(unsigned node)>;

/// The layer register blocking fuses into elementwise layer `epilogue`, if
/// any: the first of its inputs (not its init) read through the identity
/// map whose producer is a blocked layer in the same scope with no other
/// reader (no other layer, no second operand, not a model output).
std::optional<unsigned> epilogueProducer(const LayerGraph &graph,
                                         unsigned epilogue,
                                         SameScopeFn sameScope);

/// The elementwise layer `producer` is fused into as its epilogue, if any
/// (the inverse of epilogueProducer; `sameScope` is asked about the
/// epilogue and its candidate producers).
std::optional<unsigned> fusedEpilogue(const LayerGraph &graph,
                                      unsigned producer, SameScopeFn sameScope);

/// Byte alignment of every buffer and of the workspace itself, unless the
/// `alignment` option says otherwise (mafat-plan-memory places the buffers,
/// the memory model predicts that placement, mafat-plan and mafat-fuse-tile
/// ask the model): one default for all of them.
constexpr unsigned kDefaultBufferAlignment = 64;

/// Below this many iterations a layer (or a layer's step in a tile or
/// stripe) is not split. A launch and its barrier cost about as much as
/// 30-60k multiply-accumulates on one core, and 2 threads gain at most
/// 1 - 1 / (2 * 0.9) = 44% of a step: steps below about 130k lose. At
/// 32768, mobilenet_v2 under 256 KiB split 1370 one-row steps and ran 0.75x
/// as fast on 2 threads as on 1; at 131072 its first group runs serially
/// and the model 1.01-1.08x (docs/Benchmarks.md, 2026-12-07).
constexpr int64_t kDefaultMinParallelWork = 131072;

/// How the generated code may use threads.
struct ParallelOptions {
  /// Threads the model is compiled for (1 = serial).
  unsigned threads = 1;
  /// Smallest layer split across threads, in iterations.
  int64_t minWork = kDefaultMinParallelWork;
};

/// Whether a layer of `iterations` iterations is split across the threads.
inline bool splitsAcrossThreads(const ParallelOptions &options,
                                int64_t iterations) {
  return options.threads > 1 && iterations >= options.minWork;
}

/// The concurrent-tiles form (mafat-fuse-tile's slot loop): slot s of S
/// runs the group's tiles whose row-major grid index g = r * gridCols + c
/// lies in [slotBandBegin(s), slotBandBegin(s + 1)), N tiles in all. The
/// bands differ by at most one tile, and each is a band of grid rows: the
/// runtime pool gives thread t a contiguous range of iterations, so slot s
/// (like rows-first split steps) computes the same part of every map and
/// reads the rows the previous group left in its own core's cache.
inline int64_t slotBandBegin(int64_t slot, int64_t tiles, int64_t slots) {
  return slot * tiles / slots;
}

/// The slot that runs row-major tile `tile` (the inverse of slotBandBegin:
/// the largest s with slotBandBegin(s) <= tile).
inline int64_t slotOfTile(int64_t tile, int64_t tiles, int64_t slots) {
  return ((tile + 1) * slots - 1) / tiles;
}

} // namespace mafat

#endif // MAFAT_COSTMODEL_CODEGENRULES_H
