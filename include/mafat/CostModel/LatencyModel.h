//===- LatencyModel.h - Predicted latency of a fusion group -*- C++ -*-===//
//
// The latency predictor the plan search ranks candidates with. It prices
// exactly the geometry the fuse-tile transform emits (FusionGroup): per tile,
// per layer, the region the tile computes (halos included), the pad copy of
// border tiles and the fixed costs; parameters come from a TargetProfile
// calibrated by mafat-calibrate (docs/CostModel.md).
//
// For layer l of the group, tile t = (r, c) computing h x w positions of a
// layer whose output map has A positions (1 for non-spatial results), with
// f = flops(l) * h * w / A:
//
//   compute(t, l) = f / rate(kind) * (1 + tileWidthPenalty / w)
//   bytes(t, l)   = operand tiles read + output tile written + weights
//                   (f32; an elementwise epilogue fused into its producer
//                   conv has no traffic of its own, only compute)
//   traffic(t, l) = bytes / (cacheGBps  if bytes <= cacheBytes,
//                            llcGBps    if bytes <= llcBytes,
//                            memoryGBps otherwise)
//   memory(t, l)  = max(0, traffic - compute)     (a roofline: time is
//                                                  max(compute, traffic))
//                   + weights / (bandwidth of their level) when an earlier
//                   tile on the same thread read weights larger than
//                   llcBytes / 2 (left out of bytes then): such re-reads
//                   come back from far and are not hidden under compute
//   copy(t, l)    = for a window layer whose tile touches the border
//                   (padding on either axis): (padded input tile written +
//                   input tile read) / copy bandwidth; for data-movement
//                   layers (concat, pad, slice, transpose, upsample, reorg):
//                   (operand tiles + output tile) / copy bandwidth; 0
//                   otherwise. Copy bandwidth: min(copyGBps, the bandwidth
//                   of the level the copied bytes fit in, as for traffic)
//   overhead(t,l) = layerOverheadUs (epilogues: 0)
//
//   group = sum over t, l of compute + memory + copy + overhead
//           + tileOverheadUs * tiles (tiled groups only)
//
// rate(kind): conv (window > 1x1), conv1x1, depthwise, pool, elementwise,
// epilogue (an elementwise layer fused into its producer), matmul. Reshapes
// are views: overhead only.
// On T threads (ParallelOptions), a layer the split-steps rule splits
// (CodegenRules.h: its tile has at least minWork iterations, taken as
// flops / 2) has its compute and its traffic within the caches divided by
// T * parallel.efficiency and pays parallel.launch_us per tile; traffic
// beyond the last-level cache is shared and does not shrink.
// A group with S > 1 slots (concurrent tiles) splits no step: each tile is
// priced serially, slot s gets a row-major band of them (slotOfTile),
// and the group takes max(slowest slot, total / P) / parallel.efficiency +
// parallel.launch_us on P = min(S, T) threads (the serial sum when P = 1).
// The cost is O(tiles x layers) with no allocation.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_COSTMODEL_LATENCYMODEL_H
#define MAFAT_COSTMODEL_LATENCYMODEL_H

#include "mafat/CostModel/CodegenRules.h"
#include "mafat/CostModel/TargetProfile.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraph.h"

namespace mafat {

/// The prediction for one group, with its breakdown (ms = the sum of the
/// four parts).
struct GroupLatency {
  double ms = 0;
  /// FLOPs (halos included) at the kinds' rates, with the narrow-tile term.
  double computeMs = 0;
  /// Pad copies of border tiles and data-movement layers.
  double copyMs = 0;
  /// Per-layer and per-tile fixed costs.
  double overheadMs = 0;
  /// Time memory traffic adds beyond the compute it overlaps with.
  double memoryMs = 0;
  /// Computed FLOPs / FLOPs of the group's layers run once, minus 1.
  double haloOverhead = 0;
  /// (layer, tile) steps split across threads (0: the group runs serially).
  unsigned splitSteps = 0;
  /// Concurrent tiles: the group's slots and the threads they run on (1, 1
  /// without).
  int64_t slots = 1;
  unsigned slotThreads = 1;
};

/// Predicts one group's latency on `profile`'s target.
GroupLatency predictGroupLatency(const LayerGraph &graph,
                                 const FusionGroup &group,
                                 const TargetProfile &profile,
                                 const ParallelOptions &parallel = {});

/// Sum of predictGroupLatency(...).ms over `groups` (e.g. buildPlanGroups'
/// result).
double predictPlanLatencyMs(const LayerGraph &graph,
                            llvm::ArrayRef<FusionGroup> groups,
                            const TargetProfile &profile,
                            const ParallelOptions &parallel = {});

/// One layer run whole on its own (a 1x1 group of just `node`, including its
/// pad copy and overhead); 0 for inputs.
double predictLayerLatencyMs(const LayerGraph &graph, unsigned node,
                             const TargetProfile &profile);

} // namespace mafat

#endif // MAFAT_COSTMODEL_LATENCYMODEL_H
