//===- PlanSearch.cpp - The fastest plan that fits a memory budget --------===//

#include "mafat/Planning/PlanSearch.h"

#include "mafat/CostModel/LatencyModel.h"
#include "mafat/Geometry/ReceptiveField.h"
#include "mafat/Graph/StreamGroup.h"
#include "mafat/Support/ByteSize.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>

using namespace mafat;

namespace {

bool isModelOutput(const LayerGraph &graph, unsigned id) {
  return llvm::is_contained(graph.outputs(), id);
}

/// The tiled group may end at order position `last`: after a pool, or an
/// elementwise chain right after one (its epilogue).
bool endsAfterPool(const LayerGraph &graph, unsigned id) {
  while (true) {
    const LayerNode &node = graph.node(id);
    if (node.kind == LayerKind::MaxPool || node.kind == LayerKind::SumPool)
      return true;
    if (node.kind != LayerKind::Elementwise || node.operands.empty())
      return false;
    id = node.operands[0].producer;
  }
}

/// Can the layer sit in a tiled group at all (FusionGroup::build's rules,
/// checked up front so that hopeless segments are not built)?
bool isTileable(const LayerGraph &graph, unsigned id) {
  return whyNotTileable(graph.node(id)).empty();
}

/// Rows and columns look alike to every layer: square maps, symmetric
/// windows. On a segment of such layers a grid and its transpose cost the
/// same memory, and the transpose with wider tiles is no slower (the latency
/// model's narrow-tile penalty), so only grids with cols <= rows are tried.
bool isSquareLayer(const LayerGraph &graph, unsigned id) {
  const LayerNode &node = graph.node(id);
  // Maps (rank 4) whose rows and columns are as many.
  auto square = [](llvm::ArrayRef<int64_t> shape, const Region &extent) {
    return shape.size() == 4 && extent.rows.size() == extent.cols.size();
  };
  if (!square(node.outputShape, spatialExtent(node.outputShape)) ||
      (node.kind == LayerKind::Upsample && node.factorRows != node.factorCols))
    return false;
  for (const LayerOperand &op : node.operands)
    if (!square(op.shape, operandExtent(op)))
      return false;
  if (node.window) {
    const Window1D &r = node.window->rows, &c = node.window->cols;
    if (r.kernel != c.kernel || r.stride != c.stride ||
        r.dilation != c.dilation || r.padLow != c.padLow ||
        r.padHigh != c.padHigh)
      return false;
  }
  return true;
}
constexpr double kInf = std::numeric_limits<double>::infinity();

} // namespace

//===----------------------------------------------------------------------===//
// Candidates
//===----------------------------------------------------------------------===//

PlanSearch::PlanSearch(const LayerGraph &graph, const SearchSpace &space,
                       const GroupPricer &price,
                       std::optional<std::vector<unsigned>> order,
                       PriceCache *cache)
    : graph(graph), space(space),
      layerOrder(order ? std::move(*order) : chooseExecutionOrder(graph)) {
  auto start = std::chrono::steady_clock::now();
  unsigned n = layerOrder.size();
  searchStats.layers = n;
  byEnd.assign(n + 1, {});
  // Which maps are live while a segment [i, j) of the order runs.
  MapLiveness liveness = MapLiveness::ofOrder(graph, layerOrder);
  // epilogue[p]: the layer at p is an elementwise layer of one activation
  // operand, made at p - 1 and read by nothing else.
  std::vector<bool> epilogue(n + 1, false);
  for (unsigned p = 1; p < n; ++p) {
    const LayerNode &node = graph.node(layerOrder[p]);
    unsigned prev = layerOrder[p - 1];
    epilogue[p] = space.fuseEpilogues && node.kind == LayerKind::Elementwise &&
                  llvm::all_of(node.operands,
                               [&](const LayerOperand &op) {
                                 return op.producer == prev;
                               }) &&
                  !node.operands.empty() &&
                  graph.node(prev).users.size() == 1 &&
                  !isModelOutput(graph, prev);
  }
  unsigned maxGrid = std::max(1u, space.maxGrid);
  auto priceGroup = [&](unsigned i, unsigned j, int64_t rows, int64_t cols,
                        int64_t outRows, int64_t outCols, int64_t slots = 1,
                        int64_t stripeRows = 0,
                        int64_t chunkRows = 0) -> std::optional<Candidate> {
    PlanGroup group;
    group.name = "candidate";
    for (unsigned p = i; p < j; ++p)
      group.layers.push_back(graph.node(layerOrder[p]).name);
    group.gridRows = rows;
    group.gridCols = cols;
    group.slots = slots;
    if (stripeRows > 0) {
      group.mode = GroupMode::Stream;
      group.stripeRows = stripeRows;
      group.chunkRows = chunkRows;
    }
    std::string key;
    PriceCache::Entry entry;
    llvm::ArrayRef<unsigned> live = liveness.live(i);
    std::vector<unsigned> consumed = liveness.consumed(i, j);
    auto cached = [&]() -> bool {
      if (!cache)
        return false;
      for (const std::string &name : group.layers)
        key += name + "\n";
      key += std::to_string(rows) + "x" + std::to_string(cols) + "/" +
             std::to_string(slots) + "\n";
      if (stripeRows > 0)
        key += "stream " + std::to_string(stripeRows) + " chunk " +
               std::to_string(chunkRows) + "\n";
      for (unsigned id : live)
        key += graph.node(id).name + "\n";
      // Which of them die inside depends on the order after the group.
      key += "consumed\n";
      for (unsigned id : consumed)
        key += graph.node(id).name + "\n";
      auto it = cache->entries.find(key);
      if (it == cache->entries.end())
        return false;
      entry = it->second;
      return true;
    };
    if (!cached()) {
      std::string error;
      std::optional<FusionGroup> fg;
      if (stripeRows > 0) {
        group.rowTiles = stripeSplit(outRows, stripeRows);
        group.colTiles = balancedSplit(outCols, cols);
        fg = FusionGroup::build(graph, group, error);
      } else if (assignBalancedTiles(group, outRows, outCols).empty()) {
        fg = FusionGroup::build(graph, group, error);
      }
      if (!fg)
        entry.kind = PriceCache::Entry::Rejected;
      else if (fg->isTiled() && fg->haloOverhead(graph) > space.maxHaloOverhead)
        entry.kind = PriceCache::Entry::PrunedHalo;
      else
        entry.cost = price(*fg, live, consumed);
      if (cache)
        cache->entries.emplace(std::move(key), entry);
    }
    if (entry.kind == PriceCache::Entry::Rejected) {
      ++searchStats.rejected;
      return std::nullopt;
    }
    if (entry.kind == PriceCache::Entry::PrunedHalo) {
      ++searchStats.prunedHalo;
      return std::nullopt;
    }
    ++searchStats.priced;
    Candidate c;
    c.begin = i;
    c.rows = rows;
    c.cols = cols;
    c.slots = slots;
    c.stripeRows = stripeRows;
    c.chunkRows = chunkRows;
    c.cost = entry.cost;
    return c;
  };

  for (unsigned j = 1; j <= n; ++j) {
    unsigned lastId = layerOrder[j - 1];
    Region extent = spatialExtent(graph.node(lastId).outputShape);
    int64_t outRows = extent.rows.size(), outCols = extent.cols.size();
    std::vector<Candidate> &out = byEnd[j];
    // Layer by layer.
    if (std::optional<Candidate> c =
            priceGroup(j - 1, j, 1, 1, outRows, outCols))
      out.push_back(*c);
    if (!isTileable(graph, lastId))
      continue;
    if (space.cutsAfterPoolOnly && j != n && !endsAfterPool(graph, lastId))
      continue;
    // A global reduction streamed in a group accumulates into the group's
    // output, so its elementwise epilogue (a global average pool's divisor)
    // runs after the group instead of in the pool's register block.
    const LayerNode &lastNode = graph.node(lastId);
    const bool reduces = space.stream && isGlobalReduction(lastNode);
    if (epilogue[j] && !reduces)
      continue;
    // Grids still worth trying for this end; the halo cap removes a grid
    // for all longer segments.
    // Tile counts whose largest tile is no smaller than with one tile fewer
    // (19 rows: 6 tiles of at most 4 rows, like 5) only add overhead.
    auto counts = [&](int64_t extent) {
      std::vector<int64_t> result;
      for (int64_t t = 1; t <= std::min<int64_t>(maxGrid, extent); ++t)
        if (t == 1 || ceilDiv(extent, t) < ceilDiv(extent, t - 1))
          result.push_back(t);
      return result;
    };
    std::vector<std::pair<int64_t, int64_t>> grids;
    for (int64_t r : counts(outRows))
      for (int64_t c : counts(outCols))
        if (r * c > 1 && (!space.squareGrids || r == c))
          grids.push_back({r, c});
    // Stream stripe heights and column tile counts (1: full-width stripes,
    // more: hybrid) still worth trying for this end; a segment the stream
    // transform rejects (an unsupported layer, two window readers of one
    // layer, readers at different rates) removes its variant for all longer
    // segments, which hold the same layers and readers, and so does a
    // column halo over the cap (halos only grow towards the input).
    // A global reduction (a global average pool's sum) streams in stripes
    // of the rows it reduces, full width (Graph/StreamGroup.h).
    constexpr int64_t kStripeRows[] = {1, 2, 4, 8};
    std::vector<std::pair<int64_t, int64_t>> stripes;
    if (reduces) {
      for (int64_t s : kStripeRows)
        if (s < reducedRows(lastNode))
          stripes.push_back({s, 1});
    } else if (space.stream) {
      for (int64_t s : kStripeRows)
        if (s < outRows)
          for (int64_t c : counts(outCols))
            stripes.push_back({s, c});
    }
    bool square = true;
    for (int i = j - 1; i >= 0 && (!grids.empty() || !stripes.empty()); --i) {
      unsigned id = layerOrder[i];
      square = square && isSquareLayer(graph, id);
      if (i != (int)j - 1) {
        // A layer inside the group: tileable, read only by later layers of
        // the group, not a model output.
        if (!isTileable(graph, id) || isModelOutput(graph, id) ||
            liveness.lastRead(id) < 0 || liveness.lastRead(id) >= (int)j)
          break;
      }
      if (epilogue[i])
        continue;
      unsigned firstCandidate = out.size();
      for (auto it = grids.begin(); it != grids.end();) {
        if (square && it->second > it->first) {
          ++it;
          continue;
        }
        unsigned before = searchStats.prunedHalo;
        std::optional<Candidate> c =
            priceGroup(i, j, it->first, it->second, outRows, outCols);
        if (c) {
          out.push_back(*c);
          // The same group with its tiles spread over the threads' slots.
          int64_t slots =
              std::min<int64_t>(space.maxSlots, it->first * it->second);
          if (slots > 1)
            if (std::optional<Candidate> s = priceGroup(
                    i, j, it->first, it->second, outRows, outCols, slots))
              out.push_back(*s);
        }
        if (searchStats.prunedHalo != before)
          it = grids.erase(it);
        else
          ++it;
      }
      // A reduction alone reads its map from outside the group: nothing to
      // stream yet, but longer segments may (no variant is removed).
      for (auto it = stripes.begin();
           it != stripes.end() && !(reduces && i == (int)j - 1);) {
        auto [stripe, cols] = *it;
        unsigned before = searchStats.rejected;
        unsigned prunedBefore = searchStats.prunedHalo;
        // Stream groups run their stripes in order: one slot, or with
        // column tiles (hybrid) one per thread, each streaming its own.
        std::optional<Candidate> c =
            priceGroup(i, j, ceilDiv(outRows, stripe), cols, outRows, outCols,
                       /*slots=*/1, stripe);
        bool rejected = searchStats.rejected != before ||
                        searchStats.prunedHalo != prunedBefore;
        if (c) {
          // Each form with its column tiles one after another and, planned
          // for several threads, min(threads, C) at once.
          int64_t slots = std::min<int64_t>(space.maxSlots, cols);
          auto withSlots = [&](const Candidate &one, int64_t chunkRows) {
            out.push_back(one);
            if (slots > 1)
              if (std::optional<Candidate> s =
                      priceGroup(i, j, ceilDiv(outRows, stripe), cols, outRows,
                                 outCols, slots, stripe, chunkRows))
                out.push_back(*s);
          };
          withSlots(*c, 0);
          // The same stripes with every segment in pieces of one row
          // (chunk_rows): smaller steps, more calls. A group without a
          // rolling buffer has nothing to chunk; that rejects no stripe.
          if (std::optional<Candidate> chunked =
                  priceGroup(i, j, ceilDiv(outRows, stripe), cols, outRows,
                             outCols, /*slots=*/1, stripe, /*chunkRows=*/1))
            withSlots(*chunked, 1);
        }
        if (rejected)
          it = stripes.erase(it);
        else
          ++it;
      }
      // Keep only the grids no other grid of this segment beats on both
      // workspace and latency.
      std::vector<Candidate> segment(out.begin() + firstCandidate, out.end());
      out.resize(firstCandidate);
      for (const Candidate &c : segment) {
        bool dominated = llvm::any_of(segment, [&](const Candidate &o) {
          if (&o == &c)
            return false;
          bool noWorse = o.cost.peakBytes <= c.cost.peakBytes &&
                         o.cost.latencyMs <= c.cost.latencyMs;
          bool better = o.cost.peakBytes < c.cost.peakBytes ||
                        o.cost.latencyMs < c.cost.latencyMs ||
                        // Identical prices: keep the first (smaller grid).
                        &o < &c;
          return noWorse && better;
        });
        if (!dominated)
          out.push_back(c);
      }
    }
  }
  for (const auto &candidates : byEnd)
    searchStats.kept += candidates.size();
  searchStats.pricingSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
}

//===----------------------------------------------------------------------===//
// Dynamic programming
//===----------------------------------------------------------------------===//

SearchResult
PlanSearch::makeResult(llvm::ArrayRef<const Candidate *> path) const {
  SearchResult result;
  for (auto [k, c] : llvm::enumerate(path)) {
    unsigned to = k + 1 < path.size() ? path[k + 1]->begin : layerOrder.size();
    PlanGroup group;
    group.name = "g" + std::to_string(k);
    for (unsigned p = c->begin; p < to; ++p)
      group.layers.push_back(graph.node(layerOrder[p]).name);
    group.gridRows = c->rows;
    group.gridCols = c->cols;
    group.slots = c->slots;
    Region extent = spatialExtent(graph.node(layerOrder[to - 1]).outputShape);
    // Cannot fail: the candidate was built with the same split.
    if (c->stripeRows > 0) {
      group.mode = GroupMode::Stream;
      group.stripeRows = c->stripeRows;
      group.chunkRows = c->chunkRows;
      group.rowTiles = stripeSplit(extent.rows.size(), c->stripeRows);
      group.colTiles = balancedSplit(extent.cols.size(), c->cols);
    } else {
      (void)assignBalancedTiles(group, extent.rows.size(), extent.cols.size());
    }
    result.plan.groups.push_back(std::move(group));
    result.groupCosts.push_back(c->cost);
    result.peakBytes = std::max(result.peakBytes, c->cost.peakBytes);
    result.latencyMs += c->cost.latencyMs;
    result.tiledGroups += c->tiled();
  }
  return result;
}

std::optional<SearchResult>
PlanSearch::search(std::optional<uint64_t> budget) const {
  unsigned n = layerOrder.size();
  unsigned K = space.maxTiledGroups;
  unsigned levels = K ? K + 1 : 1;
  struct State {
    double latency = kInf;
    uint64_t peak = 0;
    const Candidate *via = nullptr;
    unsigned fromLevel = 0;
  };
  std::vector<std::vector<State>> best(n + 1, std::vector<State>(levels));
  best[0][0].latency = 0;
  for (unsigned j = 1; j <= n; ++j) {
    for (const Candidate &c : byEnd[j]) {
      if (budget && c.cost.peakBytes > *budget)
        continue;
      for (unsigned k = 0; k < levels; ++k) {
        const State &from = best[c.begin][k];
        if (from.latency == kInf)
          continue;
        unsigned to = K && c.tiled() ? k + 1 : k;
        if (to >= levels)
          continue;
        double latency = from.latency + c.cost.latencyMs;
        uint64_t peak = std::max(from.peak, c.cost.peakBytes);
        State &s = best[j][to];
        if (latency < s.latency || (latency == s.latency && peak < s.peak))
          s = State{latency, peak, &c, k};
      }
    }
  }
  int bestLevel = -1;
  for (unsigned k = 0; k < levels; ++k) {
    const State &s = best[n][k];
    if (s.latency == kInf)
      continue;
    if (bestLevel < 0 || s.latency < best[n][bestLevel].latency ||
        (s.latency == best[n][bestLevel].latency &&
         s.peak < best[n][bestLevel].peak))
      bestLevel = k;
  }
  if (bestLevel < 0)
    return std::nullopt;
  std::vector<const Candidate *> path;
  unsigned j = n, k = bestLevel;
  while (j > 0) {
    const State &s = best[j][k];
    path.push_back(s.via);
    j = s.via->begin;
    k = s.fromLevel;
  }
  std::reverse(path.begin(), path.end());
  return makeResult(path);
}

uint64_t PlanSearch::minFeasibleBudget() const {
  unsigned n = layerOrder.size();
  unsigned K = space.maxTiledGroups;
  unsigned levels = K ? K + 1 : 1;
  constexpr uint64_t none = std::numeric_limits<uint64_t>::max();
  std::vector<std::vector<uint64_t>> best(n + 1,
                                          std::vector<uint64_t>(levels, none));
  best[0][0] = 0;
  for (unsigned j = 1; j <= n; ++j)
    for (const Candidate &c : byEnd[j])
      for (unsigned k = 0; k < levels; ++k) {
        if (best[c.begin][k] == none)
          continue;
        unsigned to = K && c.tiled() ? k + 1 : k;
        if (to >= levels)
          continue;
        best[j][to] =
            std::min(best[j][to], std::max(best[c.begin][k], c.cost.peakBytes));
      }
  return *std::min_element(best[n].begin(), best[n].end());
}

std::vector<SearchResult> PlanSearch::paretoFront() const {
  std::vector<SearchResult> front;
  std::optional<uint64_t> budget;
  while (std::optional<SearchResult> r = search(budget)) {
    // A point with the same latency and a smaller peak replaces the last.
    if (!front.empty() && front.back().latencyMs >= r->latencyMs)
      front.pop_back();
    uint64_t peak = r->peakBytes;
    front.push_back(std::move(*r));
    if (peak == 0)
      break;
    budget = peak - 1;
  }
  std::reverse(front.begin(), front.end());
  return front;
}

//===----------------------------------------------------------------------===//
// With the cost models
//===----------------------------------------------------------------------===//

GroupPricer mafat::modelPricer(const LayerGraph &graph,
                               const MemoryModelOptions &memory,
                               const TargetProfile &profile,
                               const ParallelOptions &parallel) {
  return [&graph, memory, profile,
          parallel](const FusionGroup &group, llvm::ArrayRef<unsigned> liveMaps,
                    llvm::ArrayRef<unsigned> consumedMaps) {
    GroupCost cost;
    cost.peakBytes =
        predictGroupMemory(graph, group, liveMaps, memory, consumedMaps)
            .peakBytes;
    cost.latencyMs = predictGroupLatency(graph, group, profile, parallel).ms;
    return cost;
  };
}

std::vector<unsigned>
mafat::pickExecutionOrder(const LayerGraph &graph,
                          const PlanSearchOptions &options, PriceCache &cache) {
  std::vector<std::vector<unsigned>> orders = candidateOrders(graph);
  if (orders.size() == 1)
    return orders.front();
  GroupPricer price =
      modelPricer(graph, options.memory, options.profile, options.parallel);
  int best = -1;
  std::optional<SearchResult> bestResult;
  uint64_t bestMin = 0;
  for (auto [k, order] : llvm::enumerate(orders)) {
    PlanSearch search(graph, options.space, price, order, &cache);
    std::optional<SearchResult> r = search.search(options.budget);
    uint64_t min = search.minFeasibleBudget();
    bool better;
    if (best < 0)
      better = true;
    else if (r && bestResult)
      // Equally fast: the order that reaches further down wins (its front
      // holds more plans), then the smaller workspace.
      better = r->latencyMs < bestResult->latencyMs ||
               (r->latencyMs == bestResult->latencyMs &&
                (min < bestMin ||
                 (min == bestMin && r->peakBytes < bestResult->peakBytes)));
    else if (r || bestResult)
      better = r.has_value();
    else
      better = min < bestMin;
    if (better) {
      best = k;
      bestResult = std::move(r);
      bestMin = min;
    }
  }
  return orders[best];
}

namespace {

/// searchPlan over `options.space` alone. On an infeasible budget the
/// outcome so far (smallest workspace, front, stats) goes to `*partial`.
std::optional<PlanSearchOutcome>
searchSpace(const LayerGraph &graph, const PlanSearchOptions &options,
            std::string &error, PriceCache *cache, PlanSearchOutcome *partial) {
  auto start = std::chrono::steady_clock::now();
  PlanSearch search(
      graph, options.space,
      modelPricer(graph, options.memory, options.profile, options.parallel),
      programOrder(graph), cache);
  PlanSearchOutcome outcome;
  outcome.stats = search.stats();

  // Exact workspaces, memoised: the front and the re-runs revisit plans. A
  // deque, so that the pointers handed out stay valid as it grows.
  std::deque<std::pair<Plan, MemoryPrediction>> exact;
  auto predict = [&](const Plan &plan) -> const MemoryPrediction * {
    for (const auto &[p, m] : exact)
      if (p == plan)
        return &m;
    std::optional<MemoryPrediction> m =
        predictMemory(graph, plan, options.memory, error);
    if (!m)
      return nullptr;
    exact.emplace_back(plan, std::move(*m));
    return &exact.back().second;
  };

  // The front, with exact workspaces: the DP ranks plans by their
  // group-by-group peak, but exact packing may put a front point below the
  // smallest-peak plan (YOLOv2-608 layers 0-15: 4.35 MiB against 5.48 MiB),
  // so the smallest workspace - what an infeasible budget is told - and the
  // plans a budget admits are read from all of it. An unbudgeted compile
  // without a report needs neither.
  std::vector<SearchResult> front;
  if (options.pareto || options.budget)
    front = search.paretoFront();
  std::vector<ParetoPoint> points;
  for (const SearchResult &r : front) {
    const MemoryPrediction *m = predict(r.plan);
    if (!m)
      return std::nullopt;
    ParetoPoint point;
    point.workspaceBytes = m->workspaceBytes;
    point.latencyMs = r.latencyMs;
    point.groups = r.plan.groups.size();
    point.tiledGroups = r.tiledGroups;
    point.concurrentGroups = llvm::count_if(
        r.plan.groups, [](const PlanGroup &g) { return g.slots > 1; });
    // Exact packing may not keep the DP's order of peaks; keep a front.
    while (!points.empty() &&
           points.back().workspaceBytes >= point.workspaceBytes)
      points.pop_back();
    points.push_back(point);
  }
  if (options.pareto)
    outcome.pareto = points;
  // The smallest workspace: the exact figure of the DP's smallest-peak plan,
  // or of a front point if one packs tighter.
  uint64_t minPeak = search.minFeasibleBudget();
  if (std::optional<SearchResult> smallest = search.search(minPeak)) {
    const MemoryPrediction *m = predict(smallest->plan);
    if (!m)
      return std::nullopt;
    outcome.minWorkspaceBytes = m->workspaceBytes;
  }
  for (const ParetoPoint &point : points)
    outcome.minWorkspaceBytes =
        std::min(outcome.minWorkspaceBytes, point.workspaceBytes);

  auto accept = [&](const SearchResult &r, const MemoryPrediction &m) {
    outcome.plan = r.plan;
    outcome.memory = m;
    outcome.latencyMs = r.latencyMs;
    outcome.searchSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return outcome;
  };
  auto infeasible = [&]() -> std::optional<PlanSearchOutcome> {
    if (partial)
      *partial = outcome;
    error = infeasibleBudgetMessage(*options.budget, outcome.minWorkspaceBytes);
    return std::nullopt;
  };

  if (!options.budget) {
    std::optional<SearchResult> r = search.search(std::nullopt);
    if (!r) {
      error = "the search space holds no plan for this model";
      return std::nullopt;
    }
    ++outcome.searches;
    const MemoryPrediction *m = predict(r->plan);
    if (!m)
      return std::nullopt;
    return accept(*r, *m);
  }

  uint64_t budget = *options.budget;
  if (budget < minPeak && budget < outcome.minWorkspaceBytes)
    return infeasible();
  // The fastest plan found so far whose exact workspace fits.
  std::optional<SearchResult> best;
  const MemoryPrediction *bestMemory = nullptr;
  uint64_t target = budget;
  for (unsigned attempt = 0; attempt <= options.retries; ++attempt) {
    std::optional<SearchResult> r = search.search(target);
    ++outcome.searches;
    if (!r)
      break;
    const MemoryPrediction *m = predict(r->plan);
    if (!m)
      return std::nullopt;
    if (m->workspaceBytes <= budget) {
      // Not necessarily the answer: a re-run's lowered budget can overshoot
      // downwards (one overshoot of 0.6 MiB took YOLOv2-608 from 174 to
      // 217 ms at 5 MiB), and a front point whose group-by-group peak is
      // over the budget can pack under it. The plan competes with the front.
      best = std::move(r);
      bestMemory = m;
      break;
    }
    uint64_t overshoot = m->workspaceBytes - budget;
    if (overshoot >= target)
      break;
    target -= overshoot;
  }
  // The fastest front point that truly fits (the front is by increasing
  // peak, i.e. decreasing latency), if it beats the re-run's plan.
  for (const SearchResult &r : llvm::reverse(front)) {
    if (best && r.latencyMs >= best->latencyMs)
      break;
    const MemoryPrediction *m = predict(r.plan);
    if (!m)
      return std::nullopt;
    if (m->workspaceBytes <= budget) {
      best = r;
      bestMemory = m;
      break;
    }
  }
  if (best)
    return accept(*best, *bestMemory);
  return infeasible();
}

} // namespace

std::vector<ParetoPoint>
mafat::mergeParetoFronts(std::vector<ParetoPoint> a,
                         llvm::ArrayRef<ParetoPoint> b) {
  llvm::append_range(a, b);
  llvm::stable_sort(a, [](const ParetoPoint &x, const ParetoPoint &y) {
    return x.workspaceBytes < y.workspaceBytes ||
           (x.workspaceBytes == y.workspaceBytes && x.latencyMs < y.latencyMs);
  });
  std::vector<ParetoPoint> front;
  for (const ParetoPoint &p : a)
    if (front.empty() || p.latencyMs < front.back().latencyMs)
      front.push_back(p);
  return front;
}

std::string mafat::infeasibleBudgetMessage(uint64_t budget,
                                           uint64_t minWorkspaceBytes) {
  return "memory budget " + formatBytes(budget) +
         " is infeasible: the smallest workspace any plan in the search "
         "space reaches is " +
         formatBytes(minWorkspaceBytes);
}

std::optional<PlanSearchOutcome>
mafat::searchPlan(const LayerGraph &graph, const PlanSearchOptions &options,
                  std::string &error, PriceCache *cache,
                  PlanSearchOutcome *infeasible) {
  PlanSearchOutcome partial;
  std::optional<PlanSearchOutcome> outcome =
      searchSpace(graph, options, error, cache, &partial);
  if (!options.space.stream || (!outcome && partial.minWorkspaceBytes == 0)) {
    if (!outcome && infeasible && partial.minWorkspaceBytes != 0)
      *infeasible = std::move(partial);
    return outcome;
  }
  // The space with stream groups holds every recompute-only plan too, but
  // the DP ranks plans by their group-by-group peak, and exact packing can
  // put a recompute-only plan below every plan the larger space keeps
  // (mobile_net: 13312 bytes against 13504). So the recompute-only search
  // competes: the smallest workspace of the space is the smaller of the two
  // (what an infeasible budget is told), and a budget only that search
  // meets is met.
  PlanSearchOptions recomputeOnly = options;
  recomputeOnly.space.stream = false;
  PlanSearchOutcome recomputePartial;
  std::string recomputeError;
  std::optional<PlanSearchOutcome> recompute = searchSpace(
      graph, recomputeOnly, recomputeError, cache, &recomputePartial);
  if (!recompute && recomputePartial.minWorkspaceBytes == 0) {
    error = recomputeError;
    return std::nullopt;
  }
  const PlanSearchOutcome &all = outcome ? *outcome : partial;
  const PlanSearchOutcome &sub = recompute ? *recompute : recomputePartial;
  uint64_t minWorkspace = all.minWorkspaceBytes;
  if (sub.minWorkspaceBytes && sub.minWorkspaceBytes < minWorkspace)
    minWorkspace = sub.minWorkspaceBytes;
  std::vector<ParetoPoint> pareto = mergeParetoFronts(all.pareto, sub.pareto);
  if (!outcome && !recompute) {
    error = infeasibleBudgetMessage(*options.budget, minWorkspace);
    if (infeasible) {
      infeasible->minWorkspaceBytes = minWorkspace;
      infeasible->pareto = std::move(pareto);
      infeasible->searches = all.searches + sub.searches;
    }
    return std::nullopt;
  }
  // The faster plan that fits (ties: the smaller workspace, then streaming's).
  bool takeRecompute =
      !outcome ||
      (recompute &&
       (recompute->latencyMs < outcome->latencyMs ||
        (recompute->latencyMs == outcome->latencyMs &&
         recompute->memory.workspaceBytes < outcome->memory.workspaceBytes)));
  PlanSearchOutcome result = takeRecompute ? *recompute : *outcome;
  result.minWorkspaceBytes = minWorkspace;
  result.pareto = std::move(pareto);
  result.searches = all.searches + sub.searches;
  result.searchSeconds = all.searchSeconds + sub.searchSeconds;
  result.stats = all.stats;
  return result;
}
