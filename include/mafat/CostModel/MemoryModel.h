//===- MemoryModel.h - The workspace a plan's generated code uses -*- C++
//-*-===//
//
// The memory predictor. A plan fixes the exact list of buffers the generated
// code allocates: per fusion group, the tile buffers its loop bodies need,
// and the full maps materialised at group boundaries (live from the group
// that writes them to the last group that reads them). mafat-fuse-tile emits
// IR whose bufferization allocates exactly these buffers with the same
// relative live ranges, and mafat-plan-memory packs what it finds with the
// same ArenaPacker, so predicted and real workspace agree byte for byte (the
// e2e tests check it on every plan they compile).
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_COSTMODEL_MEMORYMODEL_H
#define MAFAT_COSTMODEL_MEMORYMODEL_H

#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraph.h"
#include "mafat/Plan/Plan.h"
#include "mafat/Support/ArenaPacker.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mafat {

/// What the predictor needs to know about the code generator.
struct MemoryModelOptions {
  /// mafat-plan-memory's alignment (bytes, a power of two).
  uint64_t alignment = kDefaultBufferAlignment;
};

/// The prediction for one group.
struct GroupMemory {
  /// Arena of the group's own tile buffers alone: its largest tile class
  /// (a stream group: stripe class or column region), or with slots the
  /// slot loop's buffer, every slot's copy (a stream group's slots own
  /// their rolling buffers, so those count here; without slots they are
  /// top-level buffers and do not).
  uint64_t tileBytes = 0;
  /// Bytes of full maps live while the group runs (its inputs from earlier
  /// groups, its output, maps passing by to later groups), each rounded up
  /// to the alignment. Model inputs and outputs are not in the workspace.
  uint64_t liveMapBytes = 0;
  /// Arena of tile buffers and live maps packed together: the workspace the
  /// group would need on its own.
  uint64_t peakBytes = 0;
  /// Largest tile of the output layer (rows x cols).
  int64_t maxTileRows = 0, maxTileCols = 0;
  /// predictMemory only: the highest byte of the plan's packed arena that a
  /// buffer live while this group runs reaches. The largest footprint is
  /// the workspace; `peakBytes` (the group priced alone, its inputs live
  /// throughout) can be larger, as the whole plan packs tighter.
  uint64_t footprintBytes = 0;
};

/// The prediction for a plan.
struct MemoryPrediction {
  /// The arena mafat-plan-memory will produce: every buffer of every group
  /// packed on one clock.
  uint64_t workspaceBytes = 0;
  /// Sum of all buffer sizes (no reuse), as mafat-plan-memory reports it.
  uint64_t naiveBytes = 0;
  std::vector<GroupMemory> groups;
  /// Model inputs and outputs (caller-owned), weights (read-only data).
  uint64_t ioBytes = 0;
  uint64_t weightBytes = 0;
  /// The full buffer list, for reports and tests.
  std::vector<BufferRequest> buffers;
};

/// The tile buffers of one group on a local clock (group-relative), in the
/// order the generated code first uses them. Empty for a 1x1 group (its
/// layers' maps are full maps).
std::vector<BufferRequest> groupTileBuffers(const LayerGraph &graph,
                                            const FusionGroup &group,
                                            const MemoryModelOptions &options);

/// The memory of one group run on its own: its tile buffers packed together
/// with the full maps live while it runs. `liveMaps` are the node ids of the
/// materialised maps live during the group other than its own output (its
/// inputs from earlier groups, maps passing by to later groups); the group's
/// output map is added here. Model inputs and outputs are skipped (they are
/// not in the workspace). This is what the search prices a candidate group
/// with; predictMemory packs all groups on one clock.
/// `consumedMaps` (a subset of `liveMaps`) are read by nothing after the
/// group: they die at their last read inside it, as in predictMemory.
GroupMemory predictGroupMemory(const LayerGraph &graph,
                               const FusionGroup &group,
                               llvm::ArrayRef<unsigned> liveMaps,
                               const MemoryModelOptions &options,
                               llvm::ArrayRef<unsigned> consumedMaps = {});

/// Predicts the workspace of `plan` (whose groups must cover every layer of
/// the graph, in an execution order). Fails with a message naming the group
/// if a group cannot be built.
std::optional<MemoryPrediction> predictMemory(const LayerGraph &graph,
                                              const Plan &plan,
                                              const MemoryModelOptions &options,
                                              std::string &error);

} // namespace mafat

#endif // MAFAT_COSTMODEL_MEMORYMODEL_H
