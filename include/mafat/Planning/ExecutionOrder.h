//===- ExecutionOrder.h - Layer order, live maps ----------------*- C++ -*-===//
//
// The plan search splits one execution order of the layers into groups, and
// mafat-plan moves the IR into that order. Which maps are live while a group
// runs follows from the order alone: the search prices candidate groups with
// it, and the plan report prices the chosen groups the same way, so both ask
// MapLiveness.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_PLANNING_EXECUTIONORDER_H
#define MAFAT_PLANNING_EXECUTIONORDER_H

#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraph.h"

#include <cstdint>
#include <vector>

namespace mafat {

/// The graph's non-input layers in its own order (the IR's program order).
std::vector<unsigned> programOrder(const LayerGraph &graph);

/// When each materialised map of a schedule is made and last read. A
/// schedule is a sequence of steps, each one layer (the search's view of an
/// order) or one whole group (a plan's view); the maps live while steps
/// [begin, end) run as one group are the outputs of earlier steps that a
/// step at or after `begin` reads. A map a group reads but nothing after it
/// does is consumed: it dies inside the group (at a padded reader's pad copy,
/// say) instead of staying live throughout. These are predictGroupMemory's
/// `liveMaps` and `consumedMaps`.
class MapLiveness {
public:
  /// One step per layer of `order` (a topological order of all non-input
  /// layers).
  static MapLiveness ofOrder(const LayerGraph &graph,
                             llvm::ArrayRef<unsigned> order);
  /// One step per group of a plan (buildPlanGroups' groups, in execution
  /// order).
  static MapLiveness ofGroups(const LayerGraph &graph,
                              llvm::ArrayRef<FusionGroup> groups);

  unsigned numSteps() const { return liveAt.size() - 1; }
  /// The last step that reads node `id`'s map, or -1 if no step does.
  int lastRead(unsigned id) const { return lastReadStep[id]; }
  /// Maps made before step `begin` and read at or after it, in the order
  /// they are made. Model inputs are never among them; model outputs may be
  /// (the caller owns them, predictGroupMemory skips them).
  llvm::ArrayRef<unsigned> live(unsigned begin) const { return liveAt[begin]; }
  /// Of live(begin), the maps no step at or after `end` reads.
  std::vector<unsigned> consumed(unsigned begin, unsigned end) const;

private:
  MapLiveness(const LayerGraph &graph,
              llvm::ArrayRef<llvm::SmallVector<unsigned, 1>> steps);

  std::vector<int> lastReadStep;
  /// liveAt[s] for s in [0, numSteps()].
  std::vector<std::vector<unsigned>> liveAt;
};

/// Bytes of materialised maps live across each cut point of `order` (a
/// topological order of the graph's non-input nodes): entry p is the sum of
/// outputBytes over MapLiveness::ofOrder(graph, order).live(p). Model inputs
/// and outputs are caller-owned and not counted.
std::vector<uint64_t> bytesAcrossCuts(const LayerGraph &graph,
                                      llvm::ArrayRef<unsigned> order);

/// The execution order of the non-input layers the search plans over: of
/// the graph's own order (the importer's) and a greedy memory-aware list
/// schedule (run next the ready layer that adds the fewest live bytes - its
/// output minus the maps it is the last reader of -, preferring to continue
/// from the layer just run, then the smallest id), the one with the smaller
/// sum of bytesAcrossCuts (then the smaller maximum; then the graph's own).
/// On YOLOv2 the schedule runs the route branch (1x1 conv + reorg) before
/// the trunk, so a 13x13x256 map instead of a 26x26x512 map stays live
/// across the trunk's cuts.
std::vector<unsigned> chooseExecutionOrder(const LayerGraph &graph);

/// The distinct candidate orders: the graph's own and the greedy schedule
/// (one entry for a chain).
std::vector<std::vector<unsigned>> candidateOrders(const LayerGraph &graph);

} // namespace mafat

#endif // MAFAT_PLANNING_EXECUTIONORDER_H
