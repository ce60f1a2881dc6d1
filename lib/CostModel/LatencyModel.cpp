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

/// Bytes per (row, col) position of a value of `shape`: the channels of an
/// NHWC map, the whole value for other ranks (one position).
double bytesPerPosition(ArrayRef<int64_t> shape) {
  double elements = 1;
  for (int64_t d : shape)
    elements *= d;
  if (shape.size() == 4)
    elements /= std::max<int64_t>(1, shape[1] * shape[2]);
  return elements * kElementBytes;
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

} // namespace

namespace {

/// A stream group (Graph/StreamGroup.h), priced step by step with the same
/// terms as a tile: every row is computed once, but each step re-reads the
/// weights of every layer that runs in it (deep layers with large filters
/// want taller stripes), readers of a rolling buffer read its whole padded
/// window, and the shift of the kept rows (through a temporary: two copies),
/// the bottom padding and the one fill of each buffer are copies. Unlike
/// tiles, this allocates (the geometry is built here); the search does not
/// price stream candidates yet.
GroupLatency predictStreamLatency(const LayerGraph &graph,
                                  const FusionGroup &group,
                                  const StreamGroup &stream,
                                  const TargetProfile &profile,
                                  const ParallelOptions &parallel) {
  double compute = 0, copy = 0, memory = 0, overhead = 0;
  unsigned splitSteps = 0;
  const TileAxis &cols = group.cols();
  const double secPerCopyByte = 1e-9 / profile.copyGBps;
  auto secPerByte = [&](double bytes) {
    double gbps = bytes <= profile.cacheBytes ? profile.cacheGBps
                  : bytes <= profile.llcBytes ? profile.llcGBps
                                              : profile.memoryGBps;
    return 1e-9 / gbps;
  };
  auto copySeconds = [&](double bytes) {
    return bytes * std::max(secPerCopyByte, secPerByte(bytes));
  };
  for (const RollingBuffer &buffer : stream.buffers())
    copy += copySeconds(double(buffer.bytes()));
  for (const Stripe &step : stream.stripes()) {
    overhead += profile.tileOverheadUs * 1e-6;
    for (auto [l, layer] : llvm::enumerate(group.layers())) {
      const LayerNode &node = graph.node(layer.node);
      int written = stream.bufferOf(l);
      if (written >= 0) {
        const BufferStep &b = step.buffers[written];
        const RollingBuffer &buffer = stream.buffers()[written];
        double rowBytes = double(buffer.cols) * buffer.channels * kElementBytes;
        if (b.moves())
          copy += 2 * copySeconds(2 * b.keep * rowBytes);
        if (b.padRows > 0)
          copy += copySeconds(b.padRows * rowBytes);
      }
      const int64_t h = step.rows[l].size();
      if (h == 0)
        continue;
      const int64_t w = cols.span[0][l].size();
      const double area =
          std::max<int64_t>(1, spatialExtent(node.outputShape).size());
      const double flops = node.flops / area * double(h) * w;
      bool epilogue = isFusedEpilogue(graph, node, layer, /*tiled=*/true);
      const double secPerFlop = 1e-9 / (epilogue ? profile.epilogueGflops
                                                 : rateGflops(node, profile));
      if (epilogue) {
        compute += flops * secPerFlop;
        continue;
      }
      overhead += profile.layerOverheadUs * 1e-6;
      double inBytes = 0;
      for (unsigned i = 0, e = node.operands.size(); i < e; ++i) {
        double perPos = bytesPerPosition(node.operands[i].shape);
        int read = stream.bufferReadBy(l);
        if (read >= 0 && i == 0)
          inBytes += double(step.buffers[read].window.size()) *
                     stream.buffers()[read].cols * perPos;
        else if (layer.operandLayer[i] >= 0)
          inBytes += double(h) * cols.read[0][l][i].size() * perPos;
        else
          inBytes += double(step.externalRead[l][i].size()) *
                     cols.read[0][l][i].size() * perPos;
      }
      const double outBytes =
          bytesPerPosition(node.outputShape) * double(h) * w;
      double tCompute = flops * secPerFlop;
      if (profile.tileWidthPenalty > 0)
        tCompute *= 1 + profile.tileWidthPenalty / std::max<int64_t>(1, w);
      const double bytes = inBytes + outBytes + node.weightBytes;
      double tTraffic = bytes * secPerByte(bytes);
      if (splitsAcrossThreads(parallel, int64_t(flops / 2))) {
        double speedup = parallel.threads * profile.parallelEfficiency;
        tCompute /= speedup;
        if (bytes <= profile.llcBytes)
          tTraffic /= speedup;
        overhead += profile.parallelLaunchUs * 1e-6;
        ++splitSteps;
      }
      compute += tCompute;
      memory += std::max(0.0, tTraffic - tCompute);
      // The padded copy of an operand from outside the group.
      if (layer.operandLayer[0] < 0 && node.window &&
          node.operands[0].access == SpatialAccess::Window) {
        int64_t padRows =
            step.externalPadLow[l][0] + step.externalPadHigh[l][0];
        int64_t padCols = cols.padLow[0][l] + cols.padHigh[0][l];
        if (padRows > 0 || padCols > 0) {
          double perPos = bytesPerPosition(node.operands[0].shape);
          double readRows = step.externalRead[l][0].size();
          double readCols = cols.read[0][l][0].size();
          copy +=
              copySeconds((readRows + padRows) * (readCols + padCols) * perPos +
                          readRows * readCols * perPos);
        }
      }
    }
  }
  GroupLatency result;
  result.computeMs = compute * 1e3;
  result.copyMs = copy * 1e3;
  result.memoryMs = memory * 1e3;
  result.overheadMs = overhead * 1e3;
  result.ms =
      result.computeMs + result.copyMs + result.memoryMs + result.overheadMs;
  result.haloOverhead = 0;
  result.splitSteps = splitSteps;
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
  double compute = 0, copy = 0, memory = 0, overhead = 0;
  double flopsOnce = 0, flopsComputed = 0;
  unsigned splitSteps = 0;
  const TileAxis &rows = group.rows();
  const TileAxis &cols = group.cols();
  const bool tiled = group.isTiled();
  const double secPerCopyByte = 1e-9 / profile.copyGBps;
  const double secPerCacheByte = 1e-9 / profile.cacheGBps;
  const double secPerLlcByte = 1e-9 / profile.llcGBps;
  const double secPerMemoryByte = 1e-9 / profile.memoryGBps;
  const double layerOverhead = profile.layerOverheadUs * 1e-6;
  // Seconds per byte of a working set of `bytes` at its memory level.
  auto secPerByte = [&](double bytes) {
    return bytes <= profile.cacheBytes ? secPerCacheByte
           : bytes <= profile.llcBytes ? secPerLlcByte
                                       : secPerMemoryByte;
  };
  // A copy runs at copy bandwidth, or slower where its data lives.
  auto copySeconds = [&](double bytes) {
    return bytes * std::max(secPerCopyByte, secPerByte(bytes));
  };

  // Concurrent tiles: each tile runs whole on one thread, so no step of it
  // is split; its time is accounted per tile and the slots share them out
  // at the end.
  const int64_t slots = tiled ? group.plan().slots : 1;
  const ParallelOptions stepParallel =
      slots > 1 ? ParallelOptions{1, parallel.minWork} : parallel;
  std::vector<double> tileSeconds(slots > 1 ? group.numTiles() : 0, 0.0);
  auto total = [&] { return compute + copy + memory + overhead; };

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
        overhead += layerOverhead * group.numTiles();
        for (double &t : tileSeconds)
          t += layerOverhead;
      }
      continue;
    }

    const bool spatial = node.outputShape.size() == 4;
    const double area =
        std::max<int64_t>(1, spatialExtent(node.outputShape).size());
    const double flopsPerPos = node.flops / area;
    const double secPerFlop =
        1e-9 / (pricing == Pricing::Epilogue ? profile.epilogueGflops
                                             : rateGflops(node, profile));
    const double outBytesPerPos = bytesPerPosition(node.outputShape);
    const double weightBytes = node.weightBytes;
    // Padding only exists where the window reads operand 0 with one.
    const bool padded = node.kind != LayerKind::Pad && node.window &&
                        !node.operands.empty() &&
                        node.operands[0].access == SpatialAccess::Window;
    const double padBytesPerPos =
        padded ? bytesPerPosition(node.operands[0].shape) : 0;

    for (unsigned r = 0; r < rows.size(); ++r) {
      const int64_t h = rows.span[r][l].size();
      for (unsigned c = 0; c < cols.size(); ++c) {
        auto priceTile = [&] {
          const int64_t w = cols.span[c][l].size();
          const double positions = double(h) * w;
          const double flops = flopsPerPos * positions;
          flopsComputed += flops;
          if (pricing == Pricing::Epilogue) {
            compute += flops * secPerFlop;
            return;
          }
          overhead += layerOverhead;

          double inBytes = 0;
          for (unsigned i = 0, e = node.operands.size(); i < e; ++i) {
            int64_t readRows = rows.read[r][l][i].size();
            int64_t readCols = cols.read[c][l][i].size();
            inBytes += double(readRows) * readCols *
                       bytesPerPosition(node.operands[i].shape);
          }
          const double outBytes = outBytesPerPos * positions;

          if (pricing == Pricing::Copy) {
            copy += copySeconds(inBytes + outBytes);
            return;
          }

          double tCompute = flops * secPerFlop;
          if (spatial && profile.tileWidthPenalty > 0)
            tCompute *= 1 + profile.tileWidthPenalty / std::max<int64_t>(1, w);
          const double bytes = inBytes + outBytes + weightBytes;
          double tTraffic = bytes * secPerByte(bytes);
          // flops count a multiply-accumulate as two: iterations = flops / 2.
          if (splitsAcrossThreads(stepParallel, int64_t(flops / 2))) {
            double speedup = parallel.threads * profile.parallelEfficiency;
            tCompute /= speedup;
            if (bytes <= profile.llcBytes)
              tTraffic /= speedup;
            overhead += profile.parallelLaunchUs * 1e-6;
            ++splitSteps;
          }
          compute += tCompute;
          memory += std::max(0.0, tTraffic - tCompute);

          if (padded) {
            int64_t padRows = rows.padLow[r][l] + rows.padHigh[r][l];
            int64_t padCols = cols.padLow[c][l] + cols.padHigh[c][l];
            if (padRows > 0 || padCols > 0) {
              double readRows = rows.read[r][l][0].size();
              double readCols = cols.read[c][l][0].size();
              double written =
                  (readRows + padRows) * (readCols + padCols) * padBytesPerPos;
              double read = readRows * readCols * padBytesPerPos;
              copy += copySeconds(written + read);
            }
          }
        };
        const double before = total();
        priceTile();
        if (!tileSeconds.empty())
          tileSeconds[r * cols.size() + c] += total() - before;
      }
    }
  }
  if (tiled) {
    overhead += profile.tileOverheadUs * 1e-6 * group.numTiles();
    for (double &t : tileSeconds)
      t += profile.tileOverheadUs * 1e-6;
  }

  // The slots take row-major bands of tiles (CodegenRules.h, slotOfTile)
  // and run on min(slots, threads) threads at the calibrated efficiency;
  // the slowest slot, or the average thread when slots outnumber threads,
  // sets the time. The breakdown is scaled alike.
  unsigned slotThreads = 1;
  if (slots > 1) {
    std::vector<double> slotSeconds(slots, 0.0);
    const int64_t tiles = tileSeconds.size();
    for (int64_t t = 0; t < tiles; ++t)
      slotSeconds[slotOfTile(t, tiles, slots)] += tileSeconds[t];
    double serial = total();
    slotThreads = std::min<int64_t>(slots, parallel.threads);
    if (slotThreads > 1 && serial > 0) {
      double slowest =
          *std::max_element(slotSeconds.begin(), slotSeconds.end());
      double parallelSeconds =
          std::max(slowest, serial / slotThreads) / profile.parallelEfficiency;
      double scale = parallelSeconds / serial;
      compute *= scale;
      copy *= scale;
      memory *= scale;
      overhead = overhead * scale + profile.parallelLaunchUs * 1e-6;
    }
  }

  GroupLatency result;
  result.computeMs = compute * 1e3;
  result.copyMs = copy * 1e3;
  result.memoryMs = memory * 1e3;
  result.overheadMs = overhead * 1e3;
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
