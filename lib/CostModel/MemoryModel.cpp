//===- MemoryModel.cpp - The workspace a plan's generated code uses -------===//
//
// Mirrors, buffer for buffer, what the compile pipeline allocates for a plan
// (mafat-fuse-tile, then register blocking, bufferization and
// mafat-plan-memory), on a clock of layer steps instead of op positions.
// ArenaPacker only compares live-range endpoints, so the two clocks give the
// same packing as long as the order of events agrees. The rules, and the code
// they mirror:
//
//  * A window layer whose input is padded gets a padded copy of its input
//    (tensor.pad bufferizes to alloc + fill + copy), live from the copy to the
//    layer. In a tile body only tiles at the image border are padded.
//  * Every layer gets an output buffer, except: a model output (written to
//    the caller's out-param), a view (reshape, slice), a conv/pool/matmul
//    whose only user is an elementwise layer that register blocking fuses as
//    its epilogue (CodegenRules.h, fusedEpilogue: the pair accumulates in
//    the epilogue's buffer, at the epilogue's place), and in a tile body the
//    group's last layer when it is a linalg op (it writes the group's output
//    map in place).
//  * A tile body (FuseTile.cpp: one scf.execute_region per tile class) is
//    packed on its own; at the top level it is one buffer as large as that
//    arena, live at its class's loop only (PlanMemory.cpp packs scopes
//    bottom-up the same way).
//  * A stream group with several column tiles (hybrid) runs each column
//    class in a region of its own (StreamGroup.cpp), packed like a tile body:
//    its stripe classes' arenas one after another.
//  * A group with several slots (concurrent tiles) runs its classes inside
//    one slot loop, an scf.forall after mafat-parallelize: the loop's body
//    packs the class arenas one after another, and the forall is one buffer
//    of `slots` copies of that arena, each rounded up to the alignment. A
//    hybrid stream group's slot body also allocates its rolling buffers.
//  * A tiled group's output map is live from its first tile class to its
//    last reader.
//
//===----------------------------------------------------------------------===//

#include "mafat/CostModel/MemoryModel.h"

#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Graph/StreamGroup.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <limits>

using namespace mafat;

namespace {

constexpr int64_t kFloatBytes = 4;

bool isViewKind(LayerKind kind) {
  return kind == LayerKind::Reshape || kind == LayerKind::Slice;
}

/// The layer whose buffer elementwise layer `node` writes over in place:
/// its init, when that is a layer's value nothing else reads (one-shot
/// bufferization then writes the result into the init's buffer; for a model
/// output that buffer is the caller's). Only at the top level: fuse-tile
/// gives every layer of a tile body a fresh init. Not for a fused epilogue:
/// its producer then accumulates in a fresh map (TileAndVectorize.cpp,
/// accumulateInDestination), taken as the epilogue's own output buffer.
std::optional<unsigned> overwrittenInit(const LayerGraph &graph,
                                        const LayerNode &node,
                                        SameScopeFn sameScope) {
  if (node.kind != LayerKind::Elementwise ||
      epilogueProducer(graph, node.id, sameScope))
    return std::nullopt;
  for (const LayerOperand &operand : node.operands) {
    const LayerNode &p = graph.node(operand.producer);
    if (!operand.init || p.kind == LayerKind::Input || isViewKind(p.kind) ||
        p.users.size() != 1 || llvm::is_contained(graph.outputs(), p.id) ||
        llvm::count_if(node.operands, [&](const LayerOperand &o) {
          return o.producer == p.id;
        }) != 1)
      continue;
    return p.id;
  }
  return std::nullopt;
}

/// Bytes of a padded window input: the operand's extent plus padding.
int64_t paddedBytes(const LayerNode &node) {
  const LayerOperand &in = node.operands[0];
  int64_t bytes = kFloatBytes;
  for (auto [d, size] : llvm::enumerate(in.shape)) {
    int64_t extra = 0;
    if (d == 1)
      extra = node.window->rows.padLow + node.window->rows.padHigh;
    if (d == 2)
      extra = node.window->cols.padLow + node.window->cols.padHigh;
    bytes *= size + extra;
  }
  return bytes;
}

bool hasPad(const LayerNode &node) {
  if (!node.window || node.operands.empty() ||
      node.operands[0].access != SpatialAccess::Window)
    return false;
  const Window2D &w = *node.window;
  return w.rows.padLow || w.rows.padHigh || w.cols.padLow || w.cols.padHigh;
}

/// Buffers on one clock, with readers extending live ranges.
class BufferList {
public:
  explicit BufferList(uint64_t alignment) : alignment(alignment) {}

  unsigned add(uint64_t size, int64_t at, std::string name) {
    BufferRequest request;
    request.size = size;
    request.alignment = alignment;
    request.start = request.end = at;
    request.name = std::move(name);
    requests.push_back(request);
    return requests.size() - 1;
  }
  void readAt(unsigned buffer, int64_t at) {
    BufferRequest &r = requests[buffer];
    r.start = std::min(r.start, at);
    r.end = std::max(r.end, at);
  }
  uint64_t pack() const { return packBuffers(requests, alignment).arenaBytes; }

  uint64_t alignment;
  std::vector<BufferRequest> requests;
};

/// One layer run in a scope (a tile body, or the top level).
struct ScopeLayer {
  unsigned node = 0;
  /// Operand i's producer as an index into the scope, or -1 (read from a
  /// map outside the scope: its reads are the caller's business).
  llvm::SmallVector<int, 2> operandIndex;
  /// Bytes of the padded input copy (0: no pad copy in this scope).
  int64_t padBytes = 0;
  /// Bytes of the output buffer (0: none - a view, a model output, a fused
  /// producer, or a last layer writing the group's output in place).
  int64_t outBytes = 0;
  /// Whether the output is a view of operand 0's storage.
  bool isView = false;
  /// Scope index of the layer whose buffer this one writes over (its init),
  /// or -1.
  int overwrites = -1;
  /// Index of the fused epilogue (this layer runs in its step), or -1.
  int epilogue = -1;
};

/// Steps and buffers of a scope. Returns, per scope layer, the step at which
/// it runs (for readers outside, e.g. the top level's tiled groups).
struct ScopeResult {
  std::vector<int64_t> runStep;
  /// First step of each layer: its pad copy if it has one, else runStep.
  std::vector<int64_t> firstStep;
  std::vector<int> storage; ///< Buffer holding each layer's value, or -1.
};

/// Appends the buffers of `layers` (in execution order) to `list`, with steps
/// starting at `clock`. Readers of maps outside the scope are reported
/// through `externalRead(producerNode, step)`.
ScopeResult runScope(const LayerGraph &graph, llvm::ArrayRef<ScopeLayer> layers,
                     BufferList &list, int64_t &clock,
                     llvm::function_ref<void(unsigned, int64_t)> externalRead) {
  unsigned n = layers.size();
  ScopeResult result;
  result.runStep.assign(n, -1);
  result.storage.assign(n, -1);
  std::vector<int64_t> padStep(n, -1);
  // Steps: a pad copy where the layer stands, then the layer itself unless
  // its epilogue runs it.
  for (unsigned l = 0; l < n; ++l) {
    if (layers[l].padBytes > 0)
      padStep[l] = clock++;
    if (layers[l].epilogue < 0)
      result.runStep[l] = clock++;
  }
  for (unsigned l = 0; l < n; ++l)
    if (layers[l].epilogue >= 0)
      result.runStep[l] = result.runStep[layers[l].epilogue];
  result.firstStep = result.runStep;
  for (unsigned l = 0; l < n; ++l)
    if (padStep[l] >= 0)
      result.firstStep[l] = std::min(result.firstStep[l], padStep[l]);
  // Buffers in the order the code allocates them, reads extending them.
  std::vector<int> padBuffer(n, -1);
  for (unsigned l = 0; l < n; ++l) {
    const ScopeLayer &layer = layers[l];
    const LayerNode &node = graph.node(layer.node);
    if (layer.padBytes > 0) {
      padBuffer[l] = list.add(layer.padBytes, padStep[l], node.name + " pad");
      list.readAt(padBuffer[l], result.runStep[l]);
    }
    if (layer.isView && !layer.operandIndex.empty() &&
        layer.operandIndex[0] >= 0)
      result.storage[l] = result.storage[layer.operandIndex[0]];
    else if (layer.overwrites >= 0)
      result.storage[l] = result.storage[layer.overwrites];
    else if (layer.outBytes > 0)
      result.storage[l] =
          list.add(layer.outBytes, result.runStep[l], node.name + " out");
    for (auto [i, p] : llvm::enumerate(layer.operandIndex)) {
      int64_t at = (i == 0 && padStep[l] >= 0) ? padStep[l] : result.runStep[l];
      if (p < 0) {
        externalRead(node.operands[i].producer, at);
        continue;
      }
      if (result.storage[p] >= 0)
        list.readAt(result.storage[p], at);
    }
  }
  return result;
}

/// The scope layers of one tile (r, c) of a tiled group.
std::vector<ScopeLayer> tileScope(const LayerGraph &graph,
                                  const FusionGroup &group, unsigned r,
                                  unsigned c) {
  llvm::ArrayRef<FusedLayer> fused = group.layers();
  unsigned last = fused.size() - 1;
  llvm::DenseMap<unsigned, int> position;
  for (auto [l, layer] : llvm::enumerate(fused))
    position[layer.node] = l;
  auto inGroup = [&](unsigned id) { return position.count(id) != 0; };
  const TileAxis &rows = group.rows(), &cols = group.cols();
  std::vector<ScopeLayer> layers(fused.size());
  for (unsigned l = 0; l <= last; ++l) {
    const LayerNode &node = graph.node(fused[l].node);
    ScopeLayer &layer = layers[l];
    layer.node = fused[l].node;
    layer.operandIndex.assign(fused[l].operandLayer.begin(),
                              fused[l].operandLayer.end());
    bool padded = rows.padLow[r][l] || rows.padHigh[r][l] ||
                  cols.padLow[c][l] || cols.padHigh[c][l];
    int64_t tileBytes = kFloatBytes * rows.span[r][l].size() *
                        cols.span[c][l].size() * node.outputShape[3];
    if (node.kind == LayerKind::Pad) {
      // A standalone pad: its tile is the padded copy (or the input itself).
      layer.isView = !padded;
      layer.outBytes = padded ? tileBytes : 0;
      continue;
    }
    if (padded)
      layer.padBytes =
          kFloatBytes * node.operands[0].shape[3] *
          (rows.read[r][l][0].size() + rows.padLow[r][l] + rows.padHigh[r][l]) *
          (cols.read[c][l][0].size() + cols.padLow[c][l] + cols.padHigh[c][l]);
    if (l < last)
      if (auto e = fusedEpilogue(graph, fused[l].node, inGroup))
        layer.epilogue = position[*e];
    // The last linalg layer writes the group's output map in place; a
    // tensor.concat always builds its result in a new buffer.
    bool inPlace = l == last && node.kind != LayerKind::Concat;
    if (layer.epilogue < 0 && !inPlace)
      layer.outBytes = tileBytes;
  }
  return layers;
}

/// The scope layer of layer `l` of a stream group in `stripe` (a step or
/// one piece of a chunked head), mirroring Transforms/StreamGroup.cpp: the
/// padded copy of an external window operand, and a fresh output tile unless
/// it writes a rolling buffer, is the last layer or a fused producer. The
/// shift of a rolling buffer's kept rows takes no buffer (mafat-lower-copies
/// moves them in place). Rolling buffers themselves are top-level buffers
/// (streamTopLevel). A layer that does not
/// run takes a step with no buffers. Indices are group positions;
/// `position` maps a node id of the group to its position.
ScopeLayer stripeLayer(const LayerGraph &graph, const StreamGroup &stream,
                       const llvm::DenseMap<unsigned, int> &position,
                       const Stripe &stripe, unsigned c, unsigned l) {
  const FusionGroup &group = stream.group();
  llvm::ArrayRef<FusedLayer> fused = group.layers();
  const TileAxis &cols = group.cols();
  unsigned last = fused.size() - 1;
  const LayerNode &node = graph.node(fused[l].node);
  ScopeLayer layer;
  layer.node = fused[l].node;
  int written = stream.bufferOf(l);
  bool runs = !stripe.rows[l].isEmpty();
  // Rolling buffers are top-level buffers, not the scope's; a reader of a
  // buffer writer's fresh tile reads that buffer too (the tile is written
  // in place into it, and inserted after its fresh readers).
  for (auto [i, p] : llvm::enumerate(fused[l].operandLayer))
    layer.operandIndex.push_back(
        !runs || (p >= 0 && stream.bufferReadBy(l, i) >= 0) ? -1 : p);
  if (!runs)
    return layer;
  if (fused[l].operandLayer[0] < 0 &&
      node.operands[0].access == SpatialAccess::Window) {
    int64_t lowR = stripe.externalPadLow[l][0];
    int64_t highR = stripe.externalPadHigh[l][0];
    int64_t lowC = cols.padLow[c][l], highC = cols.padHigh[c][l];
    if (lowR || highR || lowC || highC)
      layer.padBytes = kFloatBytes * node.operands[0].shape[3] *
                       (stripe.externalRead[l][0].size() + lowR + highR) *
                       (cols.read[c][l][0].size() + lowC + highC);
  }
  if (l < last) {
    auto inGroup = [&](unsigned id) { return position.count(id) != 0; };
    if (auto e = fusedEpilogue(graph, fused[l].node, inGroup))
      layer.epilogue = position.lookup(*e);
  }
  // A layer writing into a concat's destination directly takes no tile;
  // the first such layer allocates the concat's fresh tile (if the concat
  // has one), which the others and the concat then write over.
  int concat = stream.directConcat(l);
  if (concat < 0 && node.kind == LayerKind::Concat)
    concat = l;
  int first = concat >= 0 ? stream.firstDirectOperand(concat) : -1;
  if (first >= 0) {
    if ((unsigned)first != l)
      layer.overwrites = first;
    else if ((unsigned)concat != last && stream.bufferOf(concat) < 0)
      layer.outBytes = kFloatBytes * stripe.rows[concat].size() *
                       cols.span[c][concat].size() *
                       graph.node(fused[concat].node).outputShape[3];
    return layer;
  }
  if (layer.epilogue < 0 && l != last && written < 0)
    layer.outBytes = kFloatBytes * stripe.rows[l].size() *
                     cols.span[c][l].size() * node.outputShape[3];
  return layer;
}

/// The scope layers of a stripe class of a stream group (first stripe `t`)
/// in column tile `c`, in the transform's order. A chunked segment: every
/// piece runs the segment's layers.
std::vector<ScopeLayer> stripeScope(const LayerGraph &graph,
                                    const StreamGroup &stream, unsigned t,
                                    unsigned c) {
  const Stripe &stripe = stream.stripes()[t];
  unsigned n = stream.group().layers().size();
  std::vector<ScopeLayer> layers;
  // Scope index of each group position's latest run: operands and
  // epilogues are in the same piece, or whole steps.
  std::vector<int> latest(n, -1);
  llvm::DenseMap<unsigned, int> position;
  for (auto [k, layer] : llvm::enumerate(stream.group().layers()))
    position[layer.node] = k;
  auto push = [&](const Stripe &geometry, unsigned l) {
    ScopeLayer layer = stripeLayer(graph, stream, position, geometry, c, l);
    for (int &p : layer.operandIndex)
      if (p >= 0)
        p = latest[p];
    if (layer.overwrites >= 0)
      layer.overwrites = latest[layer.overwrites];
    latest[l] = layers.size();
    if (layer.epilogue >= 0)
      layer.epilogue = layers.size() + (layer.epilogue - l);
    layers.push_back(layer);
  };
  unsigned l = 0;
  for (auto [index, segment] : llvm::enumerate(stream.segments())) {
    for (; l < segment.first; ++l)
      push(stripe, l);
    size_t start = layers.size();
    for (const Stripe &piece : stripe.pieces)
      if (piece.segment == (int)index)
        for (unsigned m = segment.first; m <= segment.last; ++m)
          push(piece, m);
    if (layers.size() == start)
      continue;
    l = segment.last + 1;
  }
  for (; l < n; ++l)
    push(stripe, l);
  return layers;
}

/// Whether `group` is a stream group with several column tiles (hybrid):
/// the transform then runs each column class in a region of its own
/// holding that class's stripe classes.
bool isHybridStream(const FusionGroup &group) {
  return group.plan().isStream() && group.cols().size() > 1;
}

/// The tile classes' scopes of a tiled group, in the order the transform
/// emits them: stripe classes (per column class for a hybrid stream group)
/// for a stream group, tile classes otherwise. `columnClass` gets each
/// scope's column class (0 unless hybrid). `stream` is a stream group's
/// geometry (none if it could not be built: no scopes).
std::vector<std::vector<ScopeLayer>>
classScopes(const LayerGraph &graph, const FusionGroup &group,
            const StreamGroup *stream,
            std::vector<unsigned> *columnClass = nullptr) {
  std::vector<std::vector<ScopeLayer>> scopes;
  if (group.plan().isStream()) {
    if (!stream)
      return scopes;
    for (auto [k, cols] : llvm::enumerate(group.runs(group.cols())))
      for (StripeRun run : stream->runs()) {
        scopes.push_back(stripeScope(graph, *stream, run.first, cols.first));
        if (columnClass)
          columnClass->push_back(k);
      }
    return scopes;
  }
  for (TileRun rows : group.runs(group.rows()))
    for (TileRun cols : group.runs(group.cols())) {
      scopes.push_back(tileScope(graph, group, rows.first, cols.first));
      if (columnClass)
        columnClass->push_back(0);
    }
  return scopes;
}

} // namespace

std::vector<BufferRequest>
mafat::groupTileBuffers(const LayerGraph &graph, const FusionGroup &group,
                        const MemoryModelOptions &options) {
  std::vector<BufferRequest> all;
  if (!group.isTiled())
    return all;
  if (group.plan().isStream()) {
    std::string error;
    std::optional<StreamGroup> stream = StreamGroup::build(graph, group, error);
    for (const std::vector<ScopeLayer> &scope :
         classScopes(graph, group, stream ? &*stream : nullptr)) {
      BufferList list(options.alignment);
      int64_t clock = 0;
      runScope(graph, scope, list, clock, [](unsigned, int64_t) {});
      llvm::append_range(all, list.requests);
    }
    return all;
  }
  for (TileRun rows : group.runs(group.rows()))
    for (TileRun cols : group.runs(group.cols())) {
      unsigned r = rows.first, c = cols.first;
      BufferList list(options.alignment);
      int64_t clock = 0;
      runScope(graph, tileScope(graph, group, r, c), list, clock,
               [](unsigned, int64_t) {});
      llvm::append_range(all, list.requests);
    }
  return all;
}

namespace {

/// Arena of each tile class of a tiled group, in the order FuseTile emits
/// the classes (row runs outer, column runs inner). A hybrid stream group:
/// one per column class, its stripe classes' arenas packed one after
/// another (one step each), as PlanMemory.cpp packs the column region.
std::vector<uint64_t> classArenas(const LayerGraph &graph,
                                  const FusionGroup &group,
                                  const StreamGroup *stream, uint64_t alignment,
                                  uint64_t &naive) {
  std::vector<uint64_t> arenas;
  std::vector<unsigned> columnClass;
  std::vector<std::vector<ScopeLayer>> scopes =
      classScopes(graph, group, stream, &columnClass);
  std::optional<BufferList> column;
  for (auto [k, scope] : llvm::enumerate(scopes)) {
    BufferList list(alignment);
    int64_t clock = 0;
    runScope(graph, scope, list, clock, [](unsigned, int64_t) {});
    for (const BufferRequest &req : list.requests)
      naive += llvm::alignTo(req.size, alignment);
    if (!isHybridStream(group)) {
      arenas.push_back(list.pack());
      continue;
    }
    if (!column)
      column.emplace(alignment);
    column->add(list.pack(), column->requests.size(), "stripe class");
    if (k + 1 == scopes.size() || columnClass[k + 1] != columnClass[k]) {
      arenas.push_back(column->pack());
      column.reset();
    }
  }
  return arenas;
}

/// The buffers a tiled group's tile bodies take at the top level, in
/// order: one per class, or with slots one slot loop holding `slots` copies
/// of its body (the classes packed one after another), as PlanMemory.cpp
/// packs an scf.forall. A hybrid stream group's slot body (concurrent column
/// tiles, StreamGroup.cpp) first allocates its `rolling` buffers, live
/// across its column classes' regions.
std::vector<uint64_t> tileBodyBuffers(const std::vector<uint64_t> &arenas,
                                      int64_t slots, uint64_t alignment,
                                      llvm::ArrayRef<int64_t> rolling = {}) {
  if (slots <= 1)
    return arenas;
  BufferList body(alignment);
  std::vector<unsigned> buffers;
  for (auto [b, bytes] : llvm::enumerate(rolling))
    buffers.push_back(
        body.add(bytes, 0, "rolling buffer " + std::to_string(b)));
  for (auto [k, arena] : llvm::enumerate(arenas)) {
    body.add(arena, k, "tile class");
    for (unsigned b : buffers)
      body.readAt(b, k);
  }
  return {uint64_t(slots) * llvm::alignTo(body.pack(), alignment)};
}

/// The first tile body (class) of `group` that writes its output map, which
/// is where the map's first use, so its live range, starts: the first steps
/// of a stream group in full-width stripes fill the pipeline and may make
/// a class of their own that writes no output row. 0 for every other
/// group (a streamed reduction fills its map before the loops, a hybrid
/// stream group's column regions each run all stripes).
int64_t firstOutputBody(const FusionGroup &group, const StreamGroup *stream) {
  // With slots every class is in one body (tileBodyBuffers); the index
  // below counts classes.
  if (!stream || isHybridStream(group) || group.plan().slots > 1 ||
      stream->reduction() >= 0)
    return 0;
  unsigned last = group.layers().size() - 1;
  for (auto [k, run] : llvm::enumerate(stream->runs()))
    if (!stream->stripes()[run.first].rows[last].isEmpty())
      return k;
  return 0;
}

/// A stream group's rolling buffers: bytes, in the order the transform
/// allocates them (each filled once before the stripe loops).
std::vector<int64_t> rollingBufferBytes(const StreamGroup *stream) {
  std::vector<int64_t> bytes;
  if (stream)
    for (const RollingBuffer &buffer : stream->buffers())
      bytes.push_back(buffer.bytes());
  return bytes;
}

/// The top level of a plan restricted to `groups` (all of a plan's groups,
/// or one candidate group for the search); maps read from outside these
/// groups are `liveMaps`, live throughout except `consumedMaps`, which die
/// at their last read here.
struct TopLevel {
  BufferList list;
  uint64_t naive = 0;
  /// Per group of the scope: its largest tile-class arena (0 if untiled).
  std::vector<uint64_t> groupTileBytes;
  /// Steps each node of the scope runs in (first, last), {-1, -1} if none.
  std::vector<std::pair<int64_t, int64_t>> nodeSteps;
  explicit TopLevel(uint64_t alignment) : list(alignment) {}
};

TopLevel buildTopLevel(const LayerGraph &graph,
                       llvm::ArrayRef<const FusionGroup *> groups,
                       llvm::ArrayRef<unsigned> liveMaps,
                       const MemoryModelOptions &options,
                       llvm::ArrayRef<unsigned> consumedMaps = {}) {
  TopLevel top(options.alignment);
  BufferList &list = top.list;
  llvm::DenseSet<unsigned> graphOutputs(graph.outputs().begin(),
                                        graph.outputs().end());
  // Which nodes run in this scope, and how.
  std::vector<int> tiledGroupOf(graph.size(), -1);
  std::vector<bool> inScope(graph.size(), false);
  for (auto [g, group] : llvm::enumerate(groups))
    for (const FusedLayer &layer : group->layers()) {
      inScope[layer.node] = true;
      if (group->isTiled())
        tiledGroupOf[layer.node] = g;
    }
  // Storage of every node's value at the top level (-1: none or outside).
  std::vector<int> storage(graph.size(), -1);
  for (unsigned id : liveMaps) {
    const LayerNode &node = graph.node(id);
    if (node.kind == LayerKind::Input || graphOutputs.count(id))
      continue;
    storage[id] = list.add(node.outputBytes, 0, node.name + " (live map)");
  }
  int64_t clock = 1;
  top.groupTileBytes.assign(groups.size(), 0);
  top.nodeSteps.assign(graph.size(), {-1, -1});
  std::vector<unsigned> liveMapBuffers;
  for (auto [id, b] : llvm::enumerate(storage))
    if (b >= 0 && !llvm::is_contained(consumedMaps, id))
      liveMapBuffers.push_back(b);
  auto readAt = [&](unsigned producer, int64_t at) {
    if (storage[producer] >= 0)
      list.readAt(storage[producer], at);
  };
  auto unfused = [&](unsigned id) {
    return inScope[id] && tiledGroupOf[id] < 0;
  };
  // Layers run in program order (node ids are one); a tiled group runs as
  // a whole where its output layer stands.
  std::vector<unsigned> order;
  for (unsigned id = 0; id < graph.size(); ++id)
    if (inScope[id])
      order.push_back(id);
  unsigned i = 0;
  while (i < order.size()) {
    unsigned id = order[i];
    int g = tiledGroupOf[id];
    if (g >= 0) {
      const FusionGroup &group = *groups[g];
      if (id != group.outputLayer().node) {
        ++i;
        continue;
      }
      // A stream group's geometry, built once for all that follows.
      std::optional<StreamGroup> built;
      if (group.plan().isStream()) {
        std::string error;
        built = StreamGroup::build(graph, group, error);
      }
      const StreamGroup *stream = built ? &*built : nullptr;
      std::vector<uint64_t> arenas =
          classArenas(graph, group, stream, options.alignment, top.naive);
      // A stream group's rolling buffers: each filled in turn before the
      // stripe loops, live to the last one (allocated after the output map).
      // A hybrid group fills them in each column region instead; with slots,
      // each slot allocates its own in the slot loop.
      std::vector<int64_t> rolling = rollingBufferBytes(stream);
      if (isHybridStream(group) && group.plan().slots > 1) {
        for (int64_t bytes : rolling)
          top.naive += llvm::alignTo(bytes, options.alignment);
        arenas = tileBodyBuffers(arenas, group.plan().slots, options.alignment,
                                 rolling);
        rolling.clear();
      } else {
        arenas = tileBodyBuffers(arenas, group.plan().slots, options.alignment);
      }
      for (uint64_t arena : arenas)
        top.groupTileBytes[g] = std::max(top.groupTileBytes[g], arena);
      int64_t fills = clock;
      if (!isHybridStream(group))
        clock += rolling.size();
      int64_t first = clock;
      unsigned acc = 0;
      bool hasAcc = !graphOutputs.count(id);
      int64_t firstWrite = firstOutputBody(group, stream);
      if (hasAcc)
        acc = list.add(graph.node(id).outputBytes, first + firstWrite,
                       graph.node(id).name + " (group " + group.name().str() +
                           " output)");
      std::vector<unsigned> rollingBuffers;
      for (auto [b, bytes] : llvm::enumerate(rolling)) {
        int64_t at = isHybridStream(group) ? first : fills + b;
        rollingBuffers.push_back(list.add(bytes, at,
                                          "group " + group.name().str() +
                                              " rolling buffer " +
                                              std::to_string(b)));
      }
      for (auto [body, arena] : llvm::enumerate(arenas)) {
        int64_t at = clock++;
        list.add(arena, at, "group " + group.name().str() + " tile body");
        for (unsigned b : rollingBuffers)
          list.readAt(b, at);
        if (hasAcc && static_cast<int64_t>(body) >= firstWrite)
          list.readAt(acc, at);
        for (const FusedLayer &layer : group.layers())
          for (auto [k, operand] :
               llvm::enumerate(graph.node(layer.node).operands))
            if (layer.operandLayer[k] < 0)
              readAt(operand.producer, at);
      }
      if (hasAcc)
        storage[id] = acc;
      for (const FusedLayer &layer : group.layers())
        top.nodeSteps[layer.node] = {first, clock - 1};
      ++i;
      continue;
    }
    // A maximal run of unfused layers forms one scope.
    std::vector<unsigned> run;
    while (i < order.size() && tiledGroupOf[order[i]] < 0)
      run.push_back(order[i++]);
    llvm::DenseMap<unsigned, int> position;
    for (auto [k, node] : llvm::enumerate(run))
      position[node] = k;
    // Layers a model output writes over are that output's buffer.
    llvm::DenseSet<unsigned> outputInits;
    for (unsigned nodeId : run)
      if (graphOutputs.count(nodeId))
        if (std::optional<unsigned> init =
                overwrittenInit(graph, graph.node(nodeId), unfused))
          if (position.count(*init))
            outputInits.insert(*init);
    std::vector<ScopeLayer> layers(run.size());
    for (auto [k, nodeId] : llvm::enumerate(run)) {
      const LayerNode &node = graph.node(nodeId);
      ScopeLayer &layer = layers[k];
      layer.node = nodeId;
      for (const LayerOperand &operand : node.operands) {
        auto it = position.find(operand.producer);
        layer.operandIndex.push_back(it == position.end() ? -1 : it->second);
      }
      layer.isView = isViewKind(node.kind);
      if (hasPad(node))
        layer.padBytes = paddedBytes(node);
      if (auto e = fusedEpilogue(graph, nodeId, unfused))
        layer.epilogue = position[*e];
      if (std::optional<unsigned> init = overwrittenInit(graph, node, unfused))
        if (auto it = position.find(*init); it != position.end())
          layer.overwrites = it->second;
      if (layer.epilogue < 0 && !layer.isView && layer.overwrites < 0 &&
          !graphOutputs.count(nodeId) && !outputInits.count(nodeId))
        layer.outBytes = node.outputBytes;
    }
    ScopeResult scope = runScope(graph, layers, list, clock, readAt);
    for (auto [k, nodeId] : llvm::enumerate(run)) {
      storage[nodeId] = scope.storage[k];
      top.nodeSteps[nodeId] = {scope.firstStep[k], scope.runStep[k]};
    }
  }
  // Live maps stay live to the end.
  for (unsigned b : liveMapBuffers)
    list.readAt(b, clock);
  for (const BufferRequest &req : list.requests)
    if (req.name.find("tile body") == std::string::npos)
      top.naive += llvm::alignTo(req.size, options.alignment);
  return top;
}

} // namespace

GroupMemory mafat::predictGroupMemory(const LayerGraph &graph,
                                      const FusionGroup &group,
                                      llvm::ArrayRef<unsigned> liveMaps,
                                      const MemoryModelOptions &options,
                                      llvm::ArrayRef<unsigned> consumedMaps) {
  const FusionGroup *groups[] = {&group};
  TopLevel top = buildTopLevel(graph, groups, liveMaps, options, consumedMaps);
  GroupMemory memory;
  memory.tileBytes = top.groupTileBytes[0];
  for (unsigned id : liveMaps) {
    const LayerNode &node = graph.node(id);
    if (node.kind != LayerKind::Input &&
        !llvm::is_contained(graph.outputs(), id))
      memory.liveMapBytes += llvm::alignTo(node.outputBytes, options.alignment);
  }
  unsigned out = group.outputLayer().node;
  if (!llvm::is_contained(graph.outputs(), out))
    memory.liveMapBytes +=
        llvm::alignTo(graph.node(out).outputBytes, options.alignment);
  memory.peakBytes = top.list.pack();
  Region tile = group.computed(0, 0, group.layers().size() - 1);
  memory.maxTileRows = tile.rows.size();
  memory.maxTileCols = tile.cols.size();
  return memory;
}

std::optional<MemoryPrediction>
mafat::predictMemory(const LayerGraph &graph, const Plan &plan,
                     const MemoryModelOptions &options, std::string &error) {
  std::optional<std::vector<FusionGroup>> groups =
      buildPlanGroups(graph, plan, error);
  if (!groups)
    return std::nullopt;
  std::vector<const FusionGroup *> pointers;
  for (const FusionGroup &group : *groups)
    pointers.push_back(&group);
  TopLevel top = buildTopLevel(graph, pointers, {}, options);
  MemoryPrediction prediction;
  ArenaLayout layout = packBuffers(top.list.requests, options.alignment);
  prediction.workspaceBytes = layout.arenaBytes;
  prediction.naiveBytes = top.naive;
  prediction.buffers = top.list.requests;
  for (auto [g, group] : llvm::enumerate(*groups)) {
    GroupMemory memory;
    memory.tileBytes = top.groupTileBytes[g];
    // The group's footprint in the packed arena: the highest byte any
    // buffer live during its steps reaches (so the largest footprint is the
    // workspace).
    int64_t first = std::numeric_limits<int64_t>::max(), last = -1;
    for (const FusedLayer &layer : group.layers()) {
      auto [from, to] = top.nodeSteps[layer.node];
      if (from < 0)
        continue;
      first = std::min(first, from);
      last = std::max(last, to);
    }
    for (auto [b, req] : llvm::enumerate(top.list.requests))
      if (req.size > 0 && req.start <= last && req.end >= first)
        memory.footprintBytes = std::max(
            memory.footprintBytes,
            llvm::alignTo(layout.offsets[b] + req.size, options.alignment));
    Region tile = group.computed(0, 0, group.layers().size() - 1);
    memory.maxTileRows = tile.rows.size();
    memory.maxTileCols = tile.cols.size();
    prediction.groups.push_back(memory);
  }
  for (unsigned id : graph.inputs())
    prediction.ioBytes += graph.node(id).outputBytes;
  for (unsigned id : graph.outputs())
    prediction.ioBytes += graph.node(id).outputBytes;
  prediction.weightBytes = graph.totalWeightBytes();
  return prediction;
}
