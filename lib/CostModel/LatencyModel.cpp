//===- LatencyModel.cpp - Predicted latency of a fusion group -------------===//
//
// The formula is documented in LatencyModel.h. The search calls this for
// every candidate group, so the loops below touch only what FusionGroup has
// already computed and allocate nothing.
//
//===----------------------------------------------------------------------===//

#include "mafat/CostModel/LatencyModel.h"

#include "mafat/Graph/StreamGroup.h"

#include <algorithm>

using namespace llvm;

namespace mafat {

namespace {

/// Generated code is f32 throughout.
constexpr double kElementBytes = 4;

/// How a layer is priced.
enum class Pricing {
  None,     ///< Inputs, reshapes (views): overhead at most.
  Compute,  ///< FLOPs at a rate, roofline against traffic.
  Epilogue, ///< Elementwise fused into its producer's register block.
  Copy,     ///< Data movement at copy bandwidth.
};

/// Bytes per (row, col) position of a value of `shape` whose rows and
/// columns are `extent`: the channels of a map, the whole value for other
/// ranks (one position).
double bytesPerPosition(ArrayRef<int64_t> shape, const Region &extent) {
  double elements = 1;
  for (int64_t d : shape)
    elements *= d;
  return elements / std::max<int64_t>(1, extent.size()) * kElementBytes;
}

/// Of a layer's NHWC output.
double bytesPerPosition(ArrayRef<int64_t> shape) {
  return bytesPerPosition(shape, spatialExtent(shape));
}

/// Of an operand as its reader sees it (an NCHW map read channels first has
/// its rows and columns last).
double bytesPerPosition(const LayerOperand &operand) {
  return bytesPerPosition(operand.shape, operandExtent(operand));
}

/// Whether `node` is an elementwise layer register blocking fuses into its
/// producer (CodegenRules.h). In a tiled group both must be in the group.
/// In an untiled one a producer outside it is taken to run untiled too: a
/// group is priced on its own, so the search can price it before choosing
/// its neighbours' grids (mafat-profile-groups and the memory model see
/// the whole plan and know).
bool isFusedEpilogue(const LayerGraph &graph, const LayerNode &node,
                     const FusedLayer &layer, bool tiled) {
  auto sameScope = [&](unsigned producer) {
    if (!tiled)
      return true;
    for (auto [i, operand] : llvm::enumerate(node.operands))
      if (operand.producer == producer)
        return layer.operandLayer[i] >= 0;
    return false;
  };
  return epilogueProducer(graph, node.id, sameScope).has_value();
}

double rateGflops(const LayerNode &node, const TargetProfile &p) {
  switch (node.kind) {
  case LayerKind::Conv:
    if (node.window && node.window->rows.kernel == 1 &&
        node.window->cols.kernel == 1)
      return p.conv1x1Gflops;
    return p.convGflops;
  case LayerKind::DepthwiseConv:
    return p.depthwiseGflops;
  case LayerKind::MaxPool:
  case LayerKind::SumPool:
    return p.poolGflops;
  case LayerKind::Matmul:
    return p.matmulGflops;
  default:
    return p.elementwiseGflops;
  }
}

Pricing pricingOf(LayerKind kind) {
  switch (kind) {
  case LayerKind::Input:
  case LayerKind::Reshape:
    return Pricing::None;
  case LayerKind::Conv:
  case LayerKind::DepthwiseConv:
  case LayerKind::MaxPool:
  case LayerKind::SumPool:
  case LayerKind::Elementwise:
  case LayerKind::Matmul:
    return Pricing::Compute;
  case LayerKind::Concat:
  case LayerKind::Pad:
  case LayerKind::Slice:
  case LayerKind::Transpose:
  case LayerKind::Upsample:
  case LayerKind::Reorg:
    return Pricing::Copy;
  }
  return Pricing::Compute;
}

/// Seconds, by term.
struct Seconds {
  double compute = 0, copy = 0, memory = 0, overhead = 0;
  double total() const { return compute + copy + memory + overhead; }
};

/// The one formula for a step of a layer: a tile of a recompute group, or
/// the rows a layer computes in one step of a stream group. The callers
/// differ only in what the step reads (a tile's input region, a rolling
/// buffer's window) and in which padding it copies.
class StepPricer {
public:
  /// `parallel` decides which steps split (CodegenRules.h); a group whose
  /// tiles run in slots splits none and passes one thread.
  StepPricer(const TargetProfile &profile, const ParallelOptions &parallel)
      : profile(profile), parallel(parallel),
        secPerCopyByte(1e-9 / profile.copyGBps) {}

  /// Seconds per byte of a working set of `bytes` at its memory level.
  double secPerByte(double bytes) const {
    double gbps = bytes <= profile.cacheBytes ? profile.cacheGBps
                  : bytes <= profile.llcBytes ? profile.llcGBps
                                              : profile.memoryGBps;
    return 1e-9 / gbps;
  }
  /// A copy runs at copy bandwidth, or slower where its data lives.
  double copySeconds(double bytes) const {
    return bytes * std::max(secPerCopyByte, secPerByte(bytes));
  }

  /// What a split step gains, T * efficiency; charges `into` its launch.
  double splitSpeedup(Seconds &into) const {
    into.overhead += profile.parallelLaunchUs * 1e-6;
    return parallel.threads * profile.parallelEfficiency;
  }

  /// Adds to `into` one step of `node` computing `h` x `w` output positions
  /// and reading `inBytes` of operands; `firstRead` if no earlier step on
  /// the same thread read the layer's weights; `wholeLayer` if the step is
  /// the whole layer on its own (a 1x1 group). `h` may be a fraction: a
  /// step of a streamed global reduction adds a share of its one row's
  /// window. Returns whether the step is split across the threads.
  bool layerStep(const LayerNode &node, Pricing pricing, double h, int64_t w,
                 double inBytes, bool firstRead, bool wholeLayer,
                 Seconds &into) const {
    const double positions = h * w;
    const double flops = flopsPerPosition(node) * positions;
    if (pricing == Pricing::Epilogue) {
      into.compute += flops * 1e-9 / profile.epilogueGflops;
      return false;
    }
    into.overhead += profile.layerOverheadUs * 1e-6;
    const double outBytes = bytesPerPosition(node.outputShape) * positions;
    if (pricing == Pricing::Copy) {
      double seconds = copySeconds(inBytes + outBytes);
      // A layout transpose on its own is split by rows (mafat-parallelize);
      // the other copies stay serial.
      const bool split =
          wholeLayer && node.kind == LayerKind::Transpose &&
          splitsAcrossThreads(parallel, int64_t(outBytes / kElementBytes));
      if (split)
        seconds /= splitSpeedup(into);
      into.copy += seconds;
      return split;
    }
    double tCompute = flops * 1e-9 / rateGflops(node, profile);
    if (node.outputShape.size() == 4 && profile.tileWidthPenalty > 0)
      tCompute *= 1 + profile.tileWidthPenalty / std::max<int64_t>(1, w);
    // A later step on the same thread (the next tile of a slot, the next
    // stripe) reads the weights again. Weights larger than half the LLC
    // (the rest holds the maps and the other cores' data) are gone by then,
    // and the FMA-bound register blocks do not hide their stream: on
    // yolov2-416's 13x13 convs (37.7-47 MB of filters, 2 threads) two row
    // tiles instead of one measured 0.4-1.1 ms slower per layer, about one
    // more pass over the weights at LLC bandwidth. So such a re-read is
    // priced outside the roofline. Smaller weights stay in it: YOLOv2-608's
    // 2.4-4.7 MB layers re-read in every one-row stripe ran at 1.01x the
    // unfused latency. The first read stays in the roofline, and so do the
    // tiles of other slots (they read the weights at the same time, on
    // other cores).
    const bool reread = !firstRead && node.weightBytes > profile.llcBytes / 2;
    const double bytes = inBytes + outBytes + (reread ? 0 : node.weightBytes);
    double tTraffic = bytes * secPerByte(bytes);
    double tWeights =
        reread ? node.weightBytes * secPerByte(node.weightBytes) : 0;
    // flops count a multiply-accumulate as two: iterations = flops / 2.
    bool split = splitsAcrossThreads(parallel, int64_t(flops / 2));
    if (split) {
      const double speedup = splitSpeedup(into);
      tCompute /= speedup;
      if (bytes <= profile.llcBytes)
        tTraffic /= speedup;
      // Split by filter blocks (weights outweigh the input: the rowsFirst
      // test of ParallelMarks.cpp), each thread streams its share of the
      // weights but reads the whole input, which the previous split step
      // left spread over the cores' caches: (T - 1) / T of it crosses cores
      // before the step's compute can overlap it, at about memory speed on
      // the 2-core VMs measured. Split by rows, a thread streams all the
      // weights and reads the rows it wrote. This is why the short steps of
      // stream groups (few rows, weights re-read per step) scale worse than
      // whole layers (docs/CostModel.md).
      if (node.weightBytes > inBytes) {
        if (node.weightBytes <= profile.llcBytes)
          tWeights /= speedup;
        into.memory += inBytes * (parallel.threads - 1) / parallel.threads *
                       1e-9 / profile.memoryGBps;
      }
    }
    into.compute += tCompute;
    into.memory += std::max(0.0, tTraffic - tCompute) + tWeights;
    return split;
  }

  /// The padded copy of operand 0 a step makes: `readRows` x `readCols`
  /// positions read, written with `padRows` x `padCols` more.
  double padCopySeconds(double readRows, double readCols, int64_t padRows,
                        int64_t padCols, double bytesPerPos) const {
    if (padRows <= 0 && padCols <= 0)
      return 0;
    double written = (readRows + padRows) * (readCols + padCols) * bytesPerPos;
    return copySeconds(written + readRows * readCols * bytesPerPos);
  }

  static double flopsPerPosition(const LayerNode &node) {
    return node.flops /
           std::max<int64_t>(1, spatialExtent(node.outputShape).size());
  }

private:
  const TargetProfile &profile;
  ParallelOptions parallel;
  double secPerCopyByte;
};

} // namespace

namespace {

/// Concurrent tiles (or column tiles of a stream group): the slots take
/// row-major bands of the tiles (CodegenRules.h, slotOfTile) and run on
/// min(slots, threads) threads at the calibrated efficiency; the slowest
/// slot, or the average thread when slots outnumber threads, sets the time.
/// `s`, the serial sum of `tileSeconds` and what runs around them, is
/// scaled alike, term by term. Returns the threads the slots run on.
unsigned shareOutSlots(llvm::ArrayRef<double> tileSeconds, int64_t slots,
                       const TargetProfile &profile,
                       const ParallelOptions &parallel, Seconds &s) {
  std::vector<double> slotSeconds(slots, 0.0);
  const int64_t tiles = tileSeconds.size();
  for (int64_t t = 0; t < tiles; ++t)
    slotSeconds[slotOfTile(t, tiles, slots)] += tileSeconds[t];
  double serial = s.total();
  unsigned slotThreads = std::min<int64_t>(slots, parallel.threads);
  if (slotThreads > 1 && serial > 0) {
    double slowest = *std::max_element(slotSeconds.begin(), slotSeconds.end());
    double parallelSeconds =
        std::max(slowest, serial / slotThreads) / profile.parallelEfficiency;
    double scale = parallelSeconds / serial;
    s.compute *= scale;
    s.copy *= scale;
    s.memory *= scale;
    s.overhead = s.overhead * scale + profile.parallelLaunchUs * 1e-6;
  }
  return slotThreads;
}

/// A stream group (Graph/StreamGroup.h), priced step by step with the same
/// terms as a tile: every row is computed once, but each step re-reads the
/// weights of every layer that runs in it (deep layers with large filters
/// want taller stripes), readers of a rolling buffer read its whole padded
/// window, and the shift of the kept rows (one copy, in place),
/// the bottom padding and the one fill of each buffer are copies. Unlike
/// tiles, this allocates (the geometry is built here).
GroupLatency predictStreamLatency(const LayerGraph &graph,
                                  const FusionGroup &group,
                                  const StreamGroup &stream,
                                  const TargetProfile &profile,
                                  const ParallelOptions &parallel) {
  Seconds s;
  unsigned splitSteps = 0;
  const TileAxis &cols = group.cols();
  // Concurrent column tiles (slots): each column tile streams whole on one
  // thread, so no step of it is split; the slots share the column tiles'
  // times out at the end, as concurrent tiles do below.
  const int64_t slots = group.plan().slots;
  const StepPricer pricer(
      profile, slots > 1 ? ParallelOptions{1, parallel.minWork} : parallel);
  std::vector<double> columnSeconds(cols.size(), 0.0);
  std::vector<bool> weightsRead(group.layers().size(), false);
  // Column tile `c` streams down the group on its own columns (its halo is
  // recomputed: the spans overlap), after filling every buffer.
  for (unsigned c = 0; c < cols.size(); ++c) {
    const double before = s.total();
    // The first column tile of each slot reads the weights first.
    if (slots > 1 && c > 0 &&
        slotOfTile(c, cols.size(), slots) !=
            slotOfTile(c - 1, cols.size(), slots))
      weightsRead.assign(weightsRead.size(), false);
    for (const RollingBuffer &buffer : stream.buffers())
      s.copy += pricer.copySeconds(double(buffer.bytes()));
    // One run of layer `l` on the rows of `step` (a step or a piece).
    auto priceLayer = [&](const Stripe &step, unsigned l) {
      const FusedLayer &layer = group.layers()[l];
      const LayerNode &node = graph.node(layer.node);
      const int64_t h = step.rows[l].size();
      if (h == 0)
        return;
      const int64_t w = cols.span[c][l].size();
      // A streamed global reduction adds h of the rows its one output row
      // reduces: that share of its FLOPs.
      const double positions = (int)l == stream.reduction()
                                   ? double(h) / reducedRows(node)
                                   : double(h);
      // Windowed and elementwise layers compute; a concat copies the
      // operands that do not write into it directly (directConcat), and
      // with none left it emits nothing.
      Pricing pricing = isFusedEpilogue(graph, node, layer, /*tiled=*/true)
                            ? Pricing::Epilogue
                            : pricingOf(node.kind);
      auto direct = [&](unsigned i) {
        return node.kind == LayerKind::Concat && stream.writesInPlace(l, i);
      };
      // The share of a concat's output rows it copies itself.
      double copied = 1;
      if (node.kind == LayerKind::Concat) {
        int64_t channels = 0;
        for (unsigned i = 0, e = node.operands.size(); i < e; ++i)
          if (!direct(i))
            channels += node.operands[i].shape[3];
        if (channels == 0)
          return;
        copied = double(channels) / node.outputShape[3];
      }
      double inBytes = 0;
      for (unsigned i = 0, e = node.operands.size(); i < e; ++i) {
        if (direct(i))
          continue;
        double perPos = bytesPerPosition(node.operands[i]);
        int read = layer.operandLayer[i] >= 0 ? stream.bufferReadBy(l, i) : -1;
        if (read >= 0) {
          unsigned k = stream.readerIndex(l, i);
          inBytes += double(step.buffers[read].windowOf(k).size()) *
                     stream.buffers()[read].columns[c].read[k].size() * perPos;
        } else if (layer.operandLayer[i] >= 0)
          inBytes += double(h) * cols.read[c][l][i].size() * perPos;
        else
          inBytes += double(step.externalRead[l][i].size()) *
                     cols.read[c][l][i].size() * perPos;
      }
      if (pricer.layerStep(node, pricing, positions * copied, w, inBytes,
                           !weightsRead[l], /*wholeLayer=*/false, s))
        ++splitSteps;
      weightsRead[l] = true;
      if (pricing == Pricing::Epilogue)
        return;
      // The padded copy of an operand from outside the group.
      if (layer.operandLayer[0] < 0 && node.window &&
          node.operands[0].access == SpatialAccess::Window)
        s.copy += pricer.padCopySeconds(
            step.externalRead[l][0].size(), cols.read[c][l][0].size(),
            step.externalPadLow[l][0] + step.externalPadHigh[l][0],
            cols.padLow[c][l] + cols.padHigh[c][l],
            bytesPerPosition(node.operands[0]));
    };
    for (const Stripe &step : stream.stripes()) {
      s.overhead += profile.tileOverheadUs * 1e-6;
      for (unsigned l = 0, e = group.layers().size(); l < e; ++l) {
        int written = stream.bufferOf(l);
        if (written >= 0) {
          const BufferStep &b = step.buffers[written];
          const RollingBuffer &buffer = stream.buffers()[written];
          double rowBytes =
              double(buffer.columns[c].cols) * buffer.channels * kElementBytes;
          if (b.moves())
            s.copy += pricer.copySeconds(2 * b.keep * rowBytes);
          if (b.padRows > 0)
            s.copy += pricer.copySeconds(b.padRows * rowBytes);
        }
        // A chunked segment runs each layer once per piece: the small steps
        // pay the per-layer overhead and re-read the weights each time.
        llvm::SmallVector<const Stripe *, 8> runs;
        for (const Stripe &piece : step.pieces)
          if (!piece.rows[l].isEmpty())
            runs.push_back(&piece);
        if (runs.empty())
          runs.push_back(&step);
        for (const Stripe *run : runs)
          priceLayer(*run, l);
      }
    }
    columnSeconds[c] = s.total() - before;
  }
  unsigned slotThreads = 1;
  if (slots > 1)
    slotThreads = shareOutSlots(columnSeconds, slots, profile, parallel, s);
  GroupLatency result;
  result.computeMs = s.compute * 1e3;
  result.copyMs = s.copy * 1e3;
  result.memoryMs = s.memory * 1e3;
  result.overheadMs = s.overhead * 1e3;
  result.ms =
      result.computeMs + result.copyMs + result.memoryMs + result.overheadMs;
  // Rows are computed once; column tiles recompute their column halos.
  result.haloOverhead = cols.size() > 1 ? group.haloOverhead(graph) : 0;
  result.splitSteps = splitSteps;
  result.slots = slots;
  result.slotThreads = slotThreads;
  return result;
}

} // namespace

GroupLatency predictGroupLatency(const LayerGraph &graph,
                                 const FusionGroup &group,
                                 const TargetProfile &profile,
                                 const ParallelOptions &parallel) {
  if (group.plan().isStream()) {
    std::string error;
    if (std::optional<StreamGroup> stream =
            StreamGroup::build(graph, group, error))
      return predictStreamLatency(graph, group, *stream, profile, parallel);
  }
  // Everything in seconds until the end.
  Seconds s;
  double flopsOnce = 0, flopsComputed = 0;
  unsigned splitSteps = 0;
  const TileAxis &rows = group.rows();
  const TileAxis &cols = group.cols();
  const bool tiled = group.isTiled();
  const double layerOverhead = profile.layerOverheadUs * 1e-6;

  // Concurrent tiles: each tile runs whole on one thread, so no step of it
  // is split; its time is accounted per tile and the slots share them out
  // at the end.
  const int64_t slots = tiled ? group.plan().slots : 1;
  const StepPricer pricer(
      profile, slots > 1 ? ParallelOptions{1, parallel.minWork} : parallel);
  std::vector<double> tileSeconds(slots > 1 ? group.numTiles() : 0, 0.0);

  for (auto [l, layer] : llvm::enumerate(group.layers())) {
    const LayerNode &node = graph.node(layer.node);
    Pricing pricing = pricingOf(node.kind);
    if (pricing == Pricing::Compute &&
        isFusedEpilogue(graph, node, layer, tiled))
      pricing = Pricing::Epilogue;
    if (node.kind != LayerKind::Input)
      flopsOnce += node.flops;
    if (pricing == Pricing::None) {
      if (node.kind != LayerKind::Input) {
        s.overhead += layerOverhead * group.numTiles();
        for (double &t : tileSeconds)
          t += layerOverhead;
      }
      continue;
    }

    const double flopsPerPos = StepPricer::flopsPerPosition(node);
    // Padding only exists where the window reads operand 0 with one.
    const bool padded = node.kind != LayerKind::Pad && node.window &&
                        !node.operands.empty() &&
                        node.operands[0].access == SpatialAccess::Window;

    for (unsigned r = 0; r < rows.size(); ++r) {
      const int64_t h = rows.span[r][l].size();
      for (unsigned c = 0; c < cols.size(); ++c) {
        const double before = s.total();
        const int64_t w = cols.span[c][l].size();
        flopsComputed += flopsPerPos * double(h) * w;
        double inBytes = 0;
        for (unsigned i = 0, e = node.operands.size(); i < e; ++i)
          inBytes += double(rows.read[r][l][i].size()) *
                     cols.read[c][l][i].size() *
                     bytesPerPosition(node.operands[i]);
        // The first tile of each slot (band of tiles on one thread) reads
        // the weights first.
        const int64_t tile = r * cols.size() + c;
        const bool firstRead =
            tile == 0 ||
            (slots > 1 && slotOfTile(tile, group.numTiles(), slots) !=
                              slotOfTile(tile - 1, group.numTiles(), slots));
        if (pricer.layerStep(node, pricing, h, w, inBytes, firstRead,
                             /*wholeLayer=*/!tiled, s))
          ++splitSteps;
        if (padded && pricing == Pricing::Compute)
          s.copy += pricer.padCopySeconds(
              rows.read[r][l][0].size(), cols.read[c][l][0].size(),
              rows.padLow[r][l] + rows.padHigh[r][l],
              cols.padLow[c][l] + cols.padHigh[c][l],
              bytesPerPosition(node.operands[0]));
        if (!tileSeconds.empty())
          tileSeconds[r * cols.size() + c] += s.total() - before;
      }
    }
  }
  if (tiled) {
    s.overhead += profile.tileOverheadUs * 1e-6 * group.numTiles();
    for (double &t : tileSeconds)
      t += profile.tileOverheadUs * 1e-6;
  }

  unsigned slotThreads = 1;
  if (slots > 1)
    slotThreads = shareOutSlots(tileSeconds, slots, profile, parallel, s);

  GroupLatency result;
  result.computeMs = s.compute * 1e3;
  result.copyMs = s.copy * 1e3;
  result.memoryMs = s.memory * 1e3;
  result.overheadMs = s.overhead * 1e3;
  result.ms =
      result.computeMs + result.copyMs + result.memoryMs + result.overheadMs;
  result.haloOverhead = flopsOnce > 0 ? flopsComputed / flopsOnce - 1.0 : 0.0;
  result.splitSteps = splitSteps;
  result.slots = slots;
  result.slotThreads = slotThreads;
  return result;
}

double predictPlanLatencyMs(const LayerGraph &graph,
                            ArrayRef<FusionGroup> groups,
                            const TargetProfile &profile,
                            const ParallelOptions &parallel) {
  double ms = 0;
  for (const FusionGroup &group : groups)
    ms += predictGroupLatency(graph, group, profile, parallel).ms;
  return ms;
}

double predictLayerLatencyMs(const LayerGraph &graph, unsigned node,
                             const TargetProfile &profile) {
  const LayerNode &layer = graph.node(node);
  if (layer.kind == LayerKind::Input)
    return 0;
  PlanGroup plan;
  plan.name = layer.name;
  plan.layers = {layer.name};
  Region extent = spatialExtent(layer.outputShape);
  assignBalancedTiles(plan, extent.rows.size(), extent.cols.size());
  std::string error;
  std::optional<FusionGroup> group = FusionGroup::build(graph, plan, error);
  // A single layer in a 1x1 group always builds; be safe anyway.
  if (!group)
    return 0;
  return predictGroupLatency(graph, *group, profile).ms;
}

} // namespace mafat
