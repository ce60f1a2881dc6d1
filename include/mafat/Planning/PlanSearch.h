//===- PlanSearch.h - The fastest plan that fits a memory budget -*- C++
//-*-===//
//
// The plan search: dynamic programming over group boundaries x tile grids.
//
// The layers are put in one execution order (chooseExecutionOrder). A plan
// is then a split of that order into segments, each a fusion group with a
// grid; a 1x1 grid means layer by layer, so only single-layer segments get
// it. Two facts make the search decomposable and hence exact over this
// space:
//   - the maps materialised while segment [i, j) runs are the outputs of
//     layers before i that a layer at or after i reads. Any such layer must
//     be the last of its group (FusionGroup allows only the last layer to be
//     read outside), so the set depends on i alone, not on earlier cuts;
//   - a plan's workspace is (up to packing, see searchPlan) the largest
//     group workspace and its latency the sum of group latencies.
// So best[j] = min over candidates [i, j) x grid of best[i] + latency, over
// the candidates whose workspace fits the budget. The limit on tiled groups
// adds a dimension (best[j][k]).
//
// Branches (DAGs): a map read by a non-adjacent later layer (a route, a
// residual skip, the trunk of a two-headed output) forces a cut right after
// its producer and stays live until its last reader; both follow from the
// segment rule above without special cases. Groups are contiguous in the
// chosen order, so a group cannot interleave with a parallel branch; the
// order is chosen to keep few bytes live across cuts.
//
// Pricing is a callback (GroupPricer) so that the search can be tested
// against exhaustive enumeration with synthetic costs; searchPlan plugs in
// the memory and latency models and checks the result with the exact
// workspace predictor.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_PLANNING_PLANSEARCH_H
#define MAFAT_PLANNING_PLANSEARCH_H

#include "mafat/CostModel/CodegenRules.h"
#include "mafat/CostModel/MemoryModel.h"
#include "mafat/CostModel/TargetProfile.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraph.h"
#include "mafat/Plan/Plan.h"
#include "mafat/Planning/ExecutionOrder.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace mafat {

//===----------------------------------------------------------------------===//
// The search
//===----------------------------------------------------------------------===//

/// Restrictions of the search space. The defaults search everything but
/// grids beyond 8x8; the paper's space is {maxTiledGroups = 2,
/// cutsAfterPoolOnly, squareGrids, maxGrid = 5}.
struct SearchSpace {
  /// Most groups with a grid other than 1x1; 0 = no limit.
  unsigned maxTiledGroups = 0;
  /// Tiled groups end right after a pooling layer (or an elementwise chain
  /// right after one) or at the last layer of the order.
  bool cutsAfterPoolOnly = false;
  /// Only N x N grids.
  bool squareGrids = false;
  /// Most tiles along each axis (also never more than the output extent).
  unsigned maxGrid = 8;
  /// Pruning: a tiled group neither starts with nor ends right before an
  /// epilogue (an elementwise layer that is the only reader of the layer
  /// just before it, e.g. a conv's bias + activation). Cutting there
  /// materialises the pre-activation map for no gain in memory, and
  /// skipping those boundaries quarters the candidates.
  bool fuseEpilogues = true;
  /// Pruning: a candidate whose recomputed halos add more than this
  /// fraction of its FLOPs is not priced, and neither are longer segments
  /// with the same end and grid (halos only grow towards the input).
  /// Doubling the work never reached a Pareto front of the models in
  /// bench/pareto.py; the paper's deepest configuration (16 layers, 5x5)
  /// adds 1.47, so comparisons with its space raise the cap.
  double maxHaloOverhead = 1.0;
  /// Concurrent tiles: a tiled group may also run min(maxSlots, its tiles)
  /// tiles at once, each slot with its own tile buffers, and a hybrid
  /// stream group min(maxSlots, its column tiles) column tiles, each slot
  /// with its own rolling buffers (the threads the plan is made for; 1 =
  /// every group runs its tiles one by one).
  unsigned maxSlots = 1;
  /// Also price stream groups (issue 12): for every segment the stream
  /// transform runs (chains, residual blocks), stripes of 1, 2, 4 and 8
  /// output rows (below the output's rows), full width or in column tiles
  /// (hybrid: every balanced count within maxGrid and the output's columns
  /// that shrinks the widest tile). Off by
  /// default until the latency model's stream pricing is calibrated.
  bool stream = false;
};

/// The price of one candidate group.
struct GroupCost {
  /// Workspace while the group runs: its tile buffers and the maps live
  /// meanwhile, packed (GroupMemory::peakBytes).
  uint64_t peakBytes = 0;
  double latencyMs = 0;
};

/// Prices a candidate group; `liveMaps` are the materialised maps live while
/// it runs other than its own output, and `consumedMaps` those of them that
/// nothing after the group reads (predictGroupMemory's arguments).
using GroupPricer = std::function<GroupCost(
    const FusionGroup &group, llvm::ArrayRef<unsigned> liveMaps,
    llvm::ArrayRef<unsigned> consumedMaps)>;

/// One plan the search found, with the prices it was chosen by.
struct SearchResult {
  /// Groups in execution order ("g0", "g1", ...), balanced tiles assigned.
  Plan plan;
  std::vector<GroupCost> groupCosts;
  /// Largest group peak (the DP's workspace figure) and summed latency.
  uint64_t peakBytes = 0;
  double latencyMs = 0;
  unsigned tiledGroups = 0;
};

/// What the search looked at, for reports and the timing table in
/// docs/Plans.md.
struct SearchStats {
  unsigned layers = 0;
  /// Segment x grid candidates priced, and those skipped by the halo cap or
  /// rejected by FusionGroup::build.
  unsigned priced = 0, prunedHalo = 0, rejected = 0;
  /// Candidates left after dropping those another grid of the same segment
  /// beats in both workspace and latency.
  unsigned kept = 0;
  double pricingSeconds = 0;
};

/// Prices keyed by what determines them (layer names of the segment, grid,
/// names of the live maps), so that searches over several orders of the same
/// graph - or over a rebuilt graph with the same layers - price each
/// candidate once.
struct PriceCache {
  struct Entry {
    enum Kind { Priced, Rejected, PrunedHalo } kind = Priced;
    GroupCost cost;
  };
  std::unordered_map<std::string, Entry> entries;
};

class PlanSearch {
public:
  /// Enumerates and prices the candidate groups over `order` (a topological
  /// order of all non-input layers; chooseExecutionOrder's by default).
  PlanSearch(const LayerGraph &graph, const SearchSpace &space,
             const GroupPricer &price,
             std::optional<std::vector<unsigned>> order = std::nullopt,
             PriceCache *cache = nullptr);

  llvm::ArrayRef<unsigned> order() const { return layerOrder; }
  const SearchStats &stats() const { return searchStats; }

  /// The plan with the lowest summed latency whose every group's peak is at
  /// most `budget` (no budget: the fastest plan), ties to the smaller peak;
  /// std::nullopt if no plan in the space fits.
  std::optional<SearchResult> search(std::optional<uint64_t> budget) const;

  /// The smallest budget search() succeeds with: min over plans of the
  /// largest group peak.
  uint64_t minFeasibleBudget() const;

  /// The Pareto front of (peak, latency): search() at no budget, then again
  /// just below the last peak, until nothing fits. Ordered by increasing
  /// peak (and strictly decreasing latency).
  std::vector<SearchResult> paretoFront() const;

private:
  struct Candidate {
    unsigned begin = 0; ///< Segment [begin, end) of the order.
    int64_t rows = 1, cols = 1;
    int64_t slots = 1;
    /// A stream group's stripe height; 0 for a recompute group.
    int64_t stripeRows = 0;
    /// A stream group's chunk rows (PlanGroup::chunkRows); 0: none.
    int64_t chunkRows = 0;
    GroupCost cost;
    bool tiled() const { return rows * cols > 1 || stripeRows > 0; }
  };
  SearchResult makeResult(llvm::ArrayRef<const Candidate *> path) const;

  const LayerGraph &graph;
  SearchSpace space;
  std::vector<unsigned> layerOrder;
  /// byEnd[j]: candidates ending at position j (exclusive end).
  std::vector<std::vector<Candidate>> byEnd;
  SearchStats searchStats;
};

//===----------------------------------------------------------------------===//
// With the cost models
//===----------------------------------------------------------------------===//

struct PlanSearchOptions {
  /// Largest workspace allowed; none: the fastest plan.
  std::optional<uint64_t> budget;
  SearchSpace space;
  MemoryModelOptions memory;
  TargetProfile profile;
  /// The threads the plan is made for (priced by the latency model).
  ParallelOptions parallel;
  /// Re-runs of the search with a lowered budget when the exact workspace
  /// of the chosen plan overshoots the budget.
  unsigned retries = 4;
  /// Also compute the Pareto front (for reports).
  bool pareto = false;
};

/// A point of the Pareto front, with the exact workspace of its plan.
struct ParetoPoint {
  uint64_t workspaceBytes = 0;
  double latencyMs = 0;
  unsigned groups = 0, tiledGroups = 0;
  /// Groups running their tiles concurrently (slots > 1).
  unsigned concurrentGroups = 0;
};

struct PlanSearchOutcome {
  Plan plan;
  /// The exact prediction (predictMemory) of `plan`.
  MemoryPrediction memory;
  double latencyMs = 0;
  /// Exact workspace of the smallest-workspace plan the search finds.
  uint64_t minWorkspaceBytes = 0;
  /// Searches run (1 + re-runs with a lowered budget).
  unsigned searches = 0;
  std::vector<ParetoPoint> pareto;
  SearchStats stats;
  double searchSeconds = 0;
};

/// The cost-model pricer: predictGroupMemory and predictGroupLatency.
GroupPricer modelPricer(const LayerGraph &graph,
                        const MemoryModelOptions &memory,
                        const TargetProfile &profile,
                        const ParallelOptions &parallel = {});

/// Searches with the cost models over the graph's own node order (the pass
/// puts the IR in chooseExecutionOrder's order first, so that the groups run
/// in the order they were priced in). The DP prices each group on its own;
/// packing all groups on one clock (predictMemory, what the generated code
/// uses) can differ by a few alignment units, so the chosen plan is checked
/// with predictMemory and, if it overshoots the budget, the search re-runs
/// with the budget lowered by the overshoot (up to `retries` times). The plan
/// that fits competes with the Pareto front: the fastest front plan whose
/// exact workspace fits wins (a re-run can overshoot downwards, and a front
/// plan priced over the budget group by group can pack under it). Fails
/// with a message stating the smallest workspace the search reaches if the
/// budget is infeasible. With `space.stream` the recompute-only space is
/// searched too and competes (docs/Plans.md, "Stream candidates"), so adding
/// stream candidates never raises the smallest workspace.
/// When the budget is infeasible, `infeasible` (if given) receives the
/// smallest workspace and the front, for a caller that searches several
/// variants of a model (rematerialization) and reports their minimum.
std::optional<PlanSearchOutcome>
searchPlan(const LayerGraph &graph, const PlanSearchOptions &options,
           std::string &error, PriceCache *cache = nullptr,
           PlanSearchOutcome *infeasible = nullptr);

/// `a` and `b` merged into one front (by increasing workspace, each point
/// faster than every smaller one).
std::vector<ParetoPoint> mergeParetoFronts(std::vector<ParetoPoint> a,
                                           llvm::ArrayRef<ParetoPoint> b);

/// The one message of an infeasible budget, naming the smallest workspace
/// of the space searched.
std::string infeasibleBudgetMessage(uint64_t budget,
                                    uint64_t minWorkspaceBytes);

/// Of candidateOrders(graph), the order whose search serves `options` best:
/// the fastest plan within the budget (ties: the smaller smallest
/// workspace, then the smaller workspace), or, if
/// no order fits, the one reaching the smaller workspace. Bytes live across
/// cuts alone do not decide it: on yolov3-tiny the schedule that frees the
/// route map early keeps the trunk map live through the 26x26 head, and its
/// smallest workspace is 15% larger. Prices go to `cache` for the search
/// that follows.
std::vector<unsigned> pickExecutionOrder(const LayerGraph &graph,
                                         const PlanSearchOptions &options,
                                         PriceCache &cache);

} // namespace mafat

#endif // MAFAT_PLANNING_PLANSEARCH_H
