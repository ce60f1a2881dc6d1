//===- PlanSearchTest.cpp - The plan search against exhaustive enumeration ===//
//
// The DP claims to be exact over its space (splits of one execution order
// into groups x grids, under the limits). These tests enumerate every plan of
// that space on small chains and DAGs, price each with the same synthetic
// costs but with the live maps worked out from the plan itself (not from the
// DP's position rule), and compare: the fastest plan under every budget that
// matters, the smallest feasible budget and the whole Pareto front, with and
// without the paper's limits. The layer graphs are built without MLIR
// (unittests/Graph/GraphBuilder.h), as the layer-graph builder recognises
// the canonical ops named below.
//
//===----------------------------------------------------------------------===//

#include "mafat/Planning/PlanSearch.h"

#include "mafat/Geometry/ReceptiveField.h"

#include "Graph/GraphBuilder.h"

#include "gtest/gtest.h"

#include <functional>
#include <limits>
#include <map>
#include <set>

using namespace mafat;

namespace {

//===----------------------------------------------------------------------===//
// The test models, built without IR
//===----------------------------------------------------------------------===//

using Value = test::MapValue;

/// The layers the models are made of, as canonical MLIR would write them:
/// k x k convs with "same" padding for stride 1, 2 x 2 max pools, ReLU (one
/// body op) or add + ReLU (two), channel concats.
class Emitter {
public:
  Value input(int64_t h, int64_t w, int64_t c) { return b.input(h, w, c); }
  Value conv(const std::string &name, const Value &x, int64_t k, int64_t cout,
             int64_t stride = 1) {
    return b.conv(name, x, k, cout, stride, (k - 1) / 2);
  }
  Value maxpool(const std::string &name, const Value &x) {
    return b.maxpool(name, x);
  }
  Value eltwise(const std::string &name, const Value &a,
                const Value *other = nullptr) {
    if (other)
      return b.eltwise(name, {a, *other}, 2);
    return b.eltwise(name, {a}, 1);
  }
  Value concat(const std::string &name, const Value &a, const Value &c) {
    return b.concat(name, {a, c});
  }
  LayerGraph module(const std::vector<Value> &results) {
    return b.finish(results);
  }

private:
  test::GraphBuilder b;
};

struct Model {
  std::optional<LayerGraph> graph;

  explicit Model(LayerGraph g) : graph(std::move(g)) {}
};

//===----------------------------------------------------------------------===//
// Synthetic costs
//===----------------------------------------------------------------------===//

bool isWorkspaceMap(const LayerGraph &g, unsigned id) {
  return g.node(id).kind != LayerKind::Input &&
         !llvm::is_contained(g.outputs(), id);
}

/// Memory: live maps + the group's output + for tiled groups the largest
/// tile's intermediate regions. Latency: halo-inflated FLOPs, per-layer and
/// per-tile overheads, and a penalty for writing a full map to "slow
/// memory" when it is large, so fusing pays off sometimes and not always.
GroupCost syntheticCost(const LayerGraph &g, const FusionGroup &fg,
                        llvm::ArrayRef<unsigned> live) {
  GroupCost cost;
  for (unsigned id : live)
    if (isWorkspaceMap(g, id))
      cost.peakBytes += g.node(id).outputBytes;
  unsigned out = fg.outputLayer().node;
  if (isWorkspaceMap(g, out))
    cost.peakBytes += g.node(out).outputBytes;
  uint64_t largestTile = 0;
  if (fg.isTiled())
    for (unsigned r = 0; r < fg.rows().size(); ++r)
      for (unsigned c = 0; c < fg.cols().size(); ++c) {
        uint64_t bytes = 0;
        for (unsigned l = 0; l + 1 < fg.layers().size(); ++l)
          bytes += fg.computed(r, c, l).size() *
                   g.node(fg.layers()[l].node).outputShape[3] * 4;
        largestTile = std::max(largestTile, bytes);
      }
  cost.peakBytes += largestTile;
  cost.latencyMs = fg.computedFlops(g) * 1e-6 +
                   0.01 * fg.layers().size() * fg.numTiles() +
                   0.02 * fg.numTiles();
  if (g.node(out).outputBytes > 4096)
    cost.latencyMs += g.node(out).outputBytes * 2e-5;
  return cost;
}

//===----------------------------------------------------------------------===//
// Exhaustive enumeration
//===----------------------------------------------------------------------===//

struct PlanPrice {
  uint64_t peak = 0;
  double latency = 0;
  unsigned tiled = 0;
};

/// Every plan of the space over `order`: all splits into segments, every
/// grid per segment (1x1 only for single layers), priced with the live maps
/// of the plan itself: outputs of earlier groups that this or a later group
/// reads.
std::vector<PlanPrice> enumeratePlans(const LayerGraph &g,
                                      llvm::ArrayRef<unsigned> order,
                                      const SearchSpace &space) {
  unsigned n = order.size();
  std::vector<PlanPrice> plans;
  struct Chosen {
    unsigned begin, end;
    int64_t rows, cols;
  };
  std::vector<Chosen> stack;
  std::map<std::tuple<unsigned, unsigned, int64_t, int64_t>,
           std::optional<FusionGroup>>
      built;
  auto build = [&](const Chosen &c) -> const std::optional<FusionGroup> & {
    auto key = std::make_tuple(c.begin, c.end, c.rows, c.cols);
    auto it = built.find(key);
    if (it != built.end())
      return it->second;
    PlanGroup group;
    group.name = "x";
    for (unsigned p = c.begin; p < c.end; ++p)
      group.layers.push_back(g.node(order[p]).name);
    group.gridRows = c.rows;
    group.gridCols = c.cols;
    Region e = spatialExtent(g.node(order[c.end - 1]).outputShape);
    std::optional<FusionGroup> fg;
    std::string error;
    if (assignBalancedTiles(group, e.rows.size(), e.cols.size()).empty())
      fg = FusionGroup::build(g, group, error);
    return built[key] = std::move(fg);
  };
  // An elementwise layer reading only the layer right before it, its only
  // reader.
  auto isEpilogue = [&](unsigned p) {
    if (p == 0 || p >= n)
      return false;
    const LayerNode &node = g.node(order[p]);
    if (node.kind != LayerKind::Elementwise)
      return false;
    for (const LayerOperand &op : node.operands)
      if (op.producer != order[p - 1])
        return false;
    return g.node(order[p - 1]).users.size() == 1 &&
           !llvm::is_contained(g.outputs(), order[p - 1]);
  };
  auto allowed = [&](const Chosen &c) {
    if (c.rows * c.cols == 1)
      return c.end == c.begin + 1;
    if (space.fuseEpilogues && (isEpilogue(c.begin) || isEpilogue(c.end)))
      return false;
    if (space.squareGrids && c.rows != c.cols)
      return false;
    if (c.rows > space.maxGrid || c.cols > space.maxGrid)
      return false;
    if (space.cutsAfterPoolOnly && c.end != order.size()) {
      unsigned id = order[c.end - 1];
      while (g.node(id).kind == LayerKind::Elementwise)
        id = g.node(id).operands[0].producer;
      if (g.node(id).kind != LayerKind::MaxPool)
        return false;
    }
    return true;
  };
  std::function<void(unsigned)> recurse = [&](unsigned begin) {
    if (begin == n) {
      PlanPrice price;
      for (const Chosen &c : stack) {
        // Live: last layers of earlier groups read by this or a later group.
        std::vector<unsigned> live;
        for (const Chosen &e : stack) {
          if (e.begin >= c.begin)
            break;
          unsigned id = order[e.end - 1];
          for (unsigned user : g.node(id).users)
            for (unsigned p = c.begin; p < n; ++p)
              if (order[p] == user && !llvm::is_contained(live, id))
                live.push_back(id);
        }
        GroupCost cost = syntheticCost(g, *build(c), live);
        price.peak = std::max(price.peak, cost.peakBytes);
        price.latency += cost.latencyMs;
        price.tiled += c.rows * c.cols > 1;
      }
      if (!space.maxTiledGroups || price.tiled <= space.maxTiledGroups)
        plans.push_back(price);
      return;
    }
    for (unsigned end = begin + 1; end <= n; ++end) {
      Region e = spatialExtent(g.node(order[end - 1]).outputShape);
      for (int64_t r = 1; r <= std::min<int64_t>(e.rows.size(), 8); ++r)
        for (int64_t c = 1; c <= std::min<int64_t>(e.cols.size(), 8); ++c) {
          Chosen chosen{begin, end, r, c};
          if (!allowed(chosen) || !build(chosen))
            continue;
          stack.push_back(chosen);
          recurse(end);
          stack.pop_back();
        }
    }
  };
  recurse(0);
  return plans;
}

/// Compares the DP with the enumeration on every budget at which the
/// answer can change (each distinct plan peak) and just below the smallest.
void expectOptimal(const LayerGraph &g, const SearchSpace &space) {
  SearchSpace exact = space;
  exact.maxHaloOverhead = std::numeric_limits<double>::infinity();
  PlanSearch search(
      g, exact,
      [&](const FusionGroup &fg, llvm::ArrayRef<unsigned> live,
          llvm::ArrayRef<unsigned>) { return syntheticCost(g, fg, live); });
  std::vector<PlanPrice> plans = enumeratePlans(g, search.order(), exact);
  ASSERT_FALSE(plans.empty());
  std::set<uint64_t> peaks;
  uint64_t minPeak = std::numeric_limits<uint64_t>::max();
  for (const PlanPrice &p : plans) {
    peaks.insert(p.peak);
    minPeak = std::min(minPeak, p.peak);
  }
  EXPECT_EQ(search.minFeasibleBudget(), minPeak);
  EXPECT_FALSE(search.search(minPeak - 1).has_value());
  // Exhaustive Pareto front: for each budget, the fastest plan.
  std::vector<std::pair<uint64_t, double>> front;
  for (uint64_t budget : peaks) {
    double best = std::numeric_limits<double>::infinity();
    for (const PlanPrice &p : plans)
      if (p.peak <= budget)
        best = std::min(best, p.latency);
    std::optional<SearchResult> r = search.search(budget);
    ASSERT_TRUE(r.has_value()) << "budget " << budget;
    EXPECT_NEAR(r->latencyMs, best, 1e-9 * best) << "budget " << budget;
    EXPECT_LE(r->peakBytes, budget);
    if (exact.maxTiledGroups)
      EXPECT_LE(r->tiledGroups, exact.maxTiledGroups);
    // The DP's plan is a real plan: its groups build and cover every layer.
    std::string error;
    EXPECT_TRUE(buildPlanGroups(g, r->plan, error).has_value()) << error;
    if (front.empty() || best < front.back().second - 1e-9 * best) {
      // Smallest peak reaching this latency.
      uint64_t peak = budget;
      for (const PlanPrice &p : plans)
        if (std::abs(p.latency - best) <= 1e-9 * best)
          peak = std::min(peak, p.peak);
      front.push_back({peak, best});
    }
  }
  // The exhaustive front, by increasing peak, with strictly falling latency.
  std::vector<std::pair<uint64_t, double>> expected;
  for (auto point : front) {
    while (!expected.empty() && expected.back().first >= point.first)
      expected.pop_back();
    expected.push_back(point);
  }
  std::vector<SearchResult> dp = search.paretoFront();
  ASSERT_EQ(dp.size(), expected.size());
  for (auto [r, e] : llvm::zip(dp, expected)) {
    EXPECT_EQ(r.peakBytes, e.first);
    EXPECT_NEAR(r.latencyMs, e.second, 1e-9 * e.second);
  }
  // Keeps the test honest: the costs must make the front non-trivial.
  EXPECT_GE(dp.size(), 2u);
}

LayerGraph chainModel() {
  Emitter e;
  Value x = e.input(16, 16, 3);
  x = e.conv("L0:conv", x, 3, 8);
  x = e.eltwise("L0:relu", x);
  x = e.maxpool("L1:maxpool", x);
  x = e.conv("L2:conv", x, 3, 16);
  x = e.conv("L3:conv", x, 1, 8);
  x = e.maxpool("L4:maxpool", x);
  return e.module({x});
}

//===----------------------------------------------------------------------===//
// Tests
//===----------------------------------------------------------------------===//

TEST(PlanSearch, ChainMatchesExhaustive) {
  Model m(chainModel());
  ASSERT_TRUE(m.graph);
  SearchSpace space;
  space.maxGrid = 3;
  expectOptimal(*m.graph, space);
}

TEST(PlanSearch, ChainMatchesExhaustiveUnderPaperLimits) {
  Model m(chainModel());
  ASSERT_TRUE(m.graph);
  SearchSpace paper;
  paper.maxTiledGroups = 2;
  paper.cutsAfterPoolOnly = true;
  paper.squareGrids = true;
  paper.maxGrid = 3;
  expectOptimal(*m.graph, paper);
  SearchSpace oneGroup;
  oneGroup.maxTiledGroups = 1;
  oneGroup.maxGrid = 2;
  expectOptimal(*m.graph, oneGroup);
}

TEST(PlanSearch, LimitsShapeThePlans) {
  Model m(chainModel());
  ASSERT_TRUE(m.graph);
  SearchSpace paper;
  paper.maxTiledGroups = 1;
  paper.cutsAfterPoolOnly = true;
  paper.squareGrids = true;
  paper.maxGrid = 2;
  PlanSearch search(*m.graph, paper,
                    [&](const FusionGroup &fg, llvm::ArrayRef<unsigned> live,
                        llvm::ArrayRef<unsigned>) {
                      return syntheticCost(*m.graph, fg, live);
                    });
  for (const SearchResult &r : search.paretoFront()) {
    unsigned tiled = 0;
    for (const PlanGroup &group : r.plan.groups) {
      if (group.gridRows * group.gridCols == 1) {
        EXPECT_EQ(group.layers.size(), 1u);
        continue;
      }
      ++tiled;
      EXPECT_EQ(group.gridRows, group.gridCols);
      EXPECT_LE(group.gridRows, 2);
      llvm::StringRef last = group.layers.back();
      EXPECT_TRUE(last.ends_with("maxpool")) << last.str();
    }
    EXPECT_LE(tiled, 1u);
  }
  // The unrestricted space is never slower and reaches at least as low.
  SearchSpace full;
  full.maxGrid = 2;
  PlanSearch wide(*m.graph, full,
                  [&](const FusionGroup &fg, llvm::ArrayRef<unsigned> live,
                      llvm::ArrayRef<unsigned>) {
                    return syntheticCost(*m.graph, fg, live);
                  });
  EXPECT_LE(wide.minFeasibleBudget(), search.minFeasibleBudget());
  EXPECT_LE(wide.search(std::nullopt)->latencyMs,
            search.search(std::nullopt)->latencyMs + 1e-12);
}

/// A residual block and a two-branch concat: maps read by non-adjacent
/// layers force cuts and stay live.
LayerGraph dagModel() {
  Emitter e;
  Value x = e.input(16, 16, 3);
  Value a = e.conv("L0:conv", x, 3, 8);
  Value b = e.conv("L1:conv", a, 3, 8);
  Value c = e.conv("L2:conv", b, 1, 8);
  Value r = e.eltwise("L3:add", c, &a);
  Value p = e.maxpool("L4:maxpool", r);
  Value t = e.conv("L5:conv", p, 3, 16);
  Value s = e.conv("L6:conv", p, 1, 4);
  Value cat = e.concat("L7:concat", t, s);
  return e.module({cat});
}

TEST(PlanSearch, DagMatchesExhaustive) {
  Model m(dagModel());
  ASSERT_TRUE(m.graph);
  SearchSpace space;
  space.maxGrid = 2;
  expectOptimal(*m.graph, space);
}

TEST(PlanSearch, BranchesKeepMapsLive) {
  Model m(dagModel());
  ASSERT_TRUE(m.graph);
  const LayerGraph &g = *m.graph;
  // What the search tells the pricer is live, by the group's first layer.
  std::map<std::string, std::set<std::string>> liveAt;
  SearchSpace space;
  space.maxGrid = 2;
  PlanSearch search(g, space,
                    [&](const FusionGroup &fg, llvm::ArrayRef<unsigned> live,
                        llvm::ArrayRef<unsigned>) {
                      std::set<std::string> names;
                      for (unsigned id : live)
                        names.insert(g.node(id).name);
                      std::string first = g.node(fg.layers()[0].node).name;
                      auto [it, fresh] = liveAt.try_emplace(first, names);
                      // The live set depends on where the group starts only.
                      EXPECT_EQ(it->second, names) << first;
                      return syntheticCost(g, fg, live);
                    });
  std::vector<std::string> order;
  for (unsigned id : search.order())
    order.push_back(g.node(id).name);
  // The smaller branch (L6, 4 channels) runs first.
  EXPECT_EQ(order, (std::vector<std::string>{"L0:conv", "L1:conv", "L2:conv",
                                             "L3:add", "L4:maxpool", "L6:conv",
                                             "L5:conv", "L7:concat"}));
  using Names = std::set<std::string>;
  EXPECT_EQ(liveAt["L0:conv"], Names{});
  // The skip connection stays live through the residual branch.
  EXPECT_EQ(liveAt["L1:conv"], Names{"L0:conv"});
  EXPECT_EQ(liveAt["L2:conv"], (Names{"L0:conv", "L1:conv"}));
  EXPECT_EQ(liveAt["L3:add"], (Names{"L0:conv", "L2:conv"}));
  // The fork stays live until its last reader; the first branch's output
  // until the concat.
  EXPECT_EQ(liveAt["L6:conv"], Names{"L4:maxpool"});
  EXPECT_EQ(liveAt["L5:conv"], (Names{"L4:maxpool", "L6:conv"}));
  EXPECT_EQ(liveAt["L7:concat"], (Names{"L5:conv", "L6:conv"}));
  // A group may hold L0:conv before its last layer only if it also holds
  // the add that reads it.
  for (const SearchResult &r : search.paretoFront())
    for (const PlanGroup &group : r.plan.groups) {
      auto has = [&](llvm::StringRef name) {
        return llvm::is_contained(group.layers, name);
      };
      if (has("L0:conv") && group.layers.back() != "L0:conv")
        EXPECT_TRUE(has("L3:add"));
      if (has("L4:maxpool") && group.layers.back() != "L4:maxpool")
        EXPECT_TRUE(has("L5:conv") && has("L6:conv"));
    }
}

/// YOLOv2's passthrough: a big map feeds a long trunk and a small branch
/// that shrinks it; the branch should run first.
LayerGraph routeModel() {
  Emitter e;
  Value x = e.input(16, 16, 4);
  Value f = e.conv("L0:conv", x, 3, 32);
  Value t = e.maxpool("L1:maxpool", f);
  t = e.conv("L2:conv", t, 3, 32);
  t = e.conv("L3:conv", t, 3, 32);
  t = e.conv("L4:conv", t, 3, 32);
  Value b = e.conv("L5:conv", f, 1, 2, /*stride=*/2);
  Value cat = e.concat("L6:concat", b, t);
  return e.module({cat});
}

TEST(PlanSearch, OrderKeepsFewBytesLive) {
  Model m(routeModel());
  ASSERT_TRUE(m.graph);
  const LayerGraph &g = *m.graph;
  std::vector<unsigned> own;
  for (unsigned id : g.topologicalOrder())
    if (g.node(id).kind != LayerKind::Input)
      own.push_back(id);
  std::vector<unsigned> chosen = chooseExecutionOrder(g);
  ASSERT_EQ(chosen.size(), own.size());
  // The branch conv runs right after the fork.
  EXPECT_EQ(g.node(chosen[1]).name, "L5:conv");
  auto sum = [](const std::vector<uint64_t> &v) {
    uint64_t s = 0;
    for (uint64_t b : v)
      s += b;
    return s;
  };
  uint64_t chosenBytes = sum(bytesAcrossCuts(g, chosen));
  uint64_t ownBytes = sum(bytesAcrossCuts(g, own));
  EXPECT_LT(chosenBytes, ownBytes);
  // Own order: L0 (16*16*32*4 B) is live across 5 cuts (after L0 .. after
  // L4), the L1-L4 maps across one each.
  EXPECT_EQ(bytesAcrossCuts(g, own)[1], 16u * 16 * 32 * 4);
  EXPECT_EQ(bytesAcrossCuts(g, own)[5], 16u * 16 * 32 * 4 + 8 * 8 * 32 * 4);
  EXPECT_EQ(bytesAcrossCuts(g, own).back(), 0u);
  SearchSpace space;
  space.maxGrid = 2;
  expectOptimal(g, space);
}

/// The live and consumed maps of a group (what the search prices candidates
/// with and the report prices the chosen groups with) are the same whether
/// the schedule's steps are layers or whole groups.
TEST(PlanSearch, MapLiveness) {
  Model m(routeModel());
  ASSERT_TRUE(m.graph);
  const LayerGraph &g = *m.graph;
  auto id = [&](llvm::StringRef name) { return *g.lookup(name); };
  auto names = [&](llvm::ArrayRef<unsigned> ids) {
    std::vector<std::string> result;
    for (unsigned i : ids)
      result.push_back(g.node(i).name);
    return result;
  };
  using Names = std::vector<std::string>;
  // Own order L0 .. L6: L0 is read by L1 and by the branch conv L5.
  std::vector<unsigned> own = programOrder(g);
  ASSERT_EQ(own.size(), 7u);
  MapLiveness byLayer = MapLiveness::ofOrder(g, own);
  EXPECT_EQ(names(byLayer.live(0)), Names{});
  EXPECT_EQ(names(byLayer.live(2)), (Names{"L0:conv", "L1:maxpool"}));
  EXPECT_EQ(names(byLayer.live(5)), (Names{"L0:conv", "L4:conv"}));
  EXPECT_EQ(names(byLayer.consumed(5, 6)), Names{"L0:conv"});
  EXPECT_EQ(names(byLayer.consumed(1, 5)), Names{});
  EXPECT_EQ(names(byLayer.live(7)), Names{});
  EXPECT_EQ(byLayer.lastRead(id("L0:conv")), 5);
  EXPECT_EQ(byLayer.lastRead(id("L6:concat")), -1);

  // The same order as groups: [L0] [L1 .. L4] [L5] [L6].
  Plan plan;
  plan.groups = {
      PlanGroup{"a", {"L0:conv"}},
      PlanGroup{"b", {"L1:maxpool", "L2:conv", "L3:conv", "L4:conv"}},
      PlanGroup{"c", {"L5:conv"}}, PlanGroup{"d", {"L6:concat"}}};
  std::string error;
  std::optional<std::vector<FusionGroup>> groups =
      buildPlanGroups(g, plan, error);
  ASSERT_TRUE(groups) << error;
  ASSERT_EQ(groups->size(), 4u);
  MapLiveness byGroup = MapLiveness::ofGroups(g, *groups);
  EXPECT_EQ(names(byGroup.live(1)), Names{"L0:conv"});
  EXPECT_EQ(names(byGroup.consumed(1, 2)), Names{});
  EXPECT_EQ(names(byGroup.live(2)), (Names{"L0:conv", "L4:conv"}));
  EXPECT_EQ(names(byGroup.consumed(2, 3)), Names{"L0:conv"});
  EXPECT_EQ(names(byGroup.live(3)), (Names{"L4:conv", "L5:conv"}));
  EXPECT_EQ(names(byGroup.consumed(3, 4)), (Names{"L4:conv", "L5:conv"}));
  // Group b seen as the segment [1, 5) of the order.
  EXPECT_EQ(names(byLayer.live(1)), names(byGroup.live(1)));
  EXPECT_EQ(names(byLayer.consumed(1, 5)), names(byGroup.consumed(1, 2)));
}

TEST(PlanSearch, HaloCapPrunes) {
  Model m(chainModel());
  ASSERT_TRUE(m.graph);
  const LayerGraph &g = *m.graph;
  auto price = [&](const FusionGroup &fg, llvm::ArrayRef<unsigned> live,
                   llvm::ArrayRef<unsigned>) {
    return syntheticCost(g, fg, live);
  };
  SearchSpace capped;
  capped.maxGrid = 3;
  capped.maxHaloOverhead = 0.25;
  PlanSearch search(g, capped, price);
  EXPECT_GT(search.stats().prunedHalo, 0u);
  for (const SearchResult &r : search.paretoFront()) {
    std::string error;
    auto groups = buildPlanGroups(g, r.plan, error);
    ASSERT_TRUE(groups) << error;
    for (const FusionGroup &fg : *groups)
      EXPECT_LE(fg.haloOverhead(g), 0.25);
  }
  SearchSpace uncapped = capped;
  uncapped.maxHaloOverhead = std::numeric_limits<double>::infinity();
  PlanSearch all(g, uncapped, price);
  EXPECT_EQ(all.stats().prunedHalo, 0u);
  EXPECT_GT(all.stats().priced, search.stats().priced);
}

TEST(PlanSearch, InfeasibleBudget) {
  Model m(chainModel());
  ASSERT_TRUE(m.graph);
  SearchSpace space;
  space.maxGrid = 2;
  PlanSearch search(*m.graph, space,
                    [&](const FusionGroup &fg, llvm::ArrayRef<unsigned> live,
                        llvm::ArrayRef<unsigned>) {
                      return syntheticCost(*m.graph, fg, live);
                    });
  uint64_t min = search.minFeasibleBudget();
  EXPECT_FALSE(search.search(min - 1));
  std::optional<SearchResult> r = search.search(min);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->peakBytes, min);
  // The smallest budget needs tiling: layer by layer needs more.
  EXPECT_GT(r->tiledGroups, 0u);
}

// Hybrid stream candidates (issue 12): with stream groups on, the search also
// prices stream groups in every balanced column tile count within maxGrid
// (uneven ones too: 3 tiles of the chain's columns), each one the stream
// transform builds, and a plan that picks one keeps its column tiles.
TEST(PlanSearch, StreamCandidatesIncludeColumnTiles) {
  Model m(chainModel());
  ASSERT_TRUE(m.graph);
  const LayerGraph &g = *m.graph;
  std::set<int64_t> streamCols;
  std::set<std::pair<int64_t, int64_t>> streamSlots;
  // Hybrid stream groups are the cheapest on memory here, so the smallest
  // budget's plan holds one.
  auto price = [&](const FusionGroup &fg, llvm::ArrayRef<unsigned> live,
                   llvm::ArrayRef<unsigned>) {
    GroupCost cost = syntheticCost(g, fg, live);
    if (fg.plan().isStream()) {
      streamCols.insert(fg.cols().size());
      streamSlots.insert({int64_t(fg.cols().size()), fg.plan().slots});
      EXPECT_EQ(fg.plan().colTiles,
                balancedSplit(fg.cols().tiles.back().hi + 1, fg.cols().size()));
      if (fg.cols().size() > 1)
        cost.peakBytes = 1;
    }
    return cost;
  };
  SearchSpace space;
  space.stream = true;
  space.maxGrid = 4;
  space.maxSlots = 2;
  PlanSearch search(g, space, price);
  EXPECT_EQ(streamCols, (std::set<int64_t>{1, 2, 3, 4}));
  // With two threads, each hybrid candidate is also priced with its column
  // tiles in two slots; full-width stripes keep one.
  EXPECT_EQ(streamSlots,
            (std::set<std::pair<int64_t, int64_t>>{
                {1, 1}, {2, 1}, {2, 2}, {3, 1}, {3, 2}, {4, 1}, {4, 2}}));
  std::optional<SearchResult> r = search.search(search.minFeasibleBudget());
  ASSERT_TRUE(r);
  bool hybrid = false;
  for (const PlanGroup &group : r->plan.groups)
    hybrid |= group.isStream() && group.gridCols > 1 &&
              group.colTiles.size() == (size_t)group.gridCols;
  EXPECT_TRUE(hybrid);
  std::string error;
  EXPECT_TRUE(buildPlanGroups(g, r->plan, error)) << error;
}

// Global reductions (issue 12): with stream groups on, a segment ending in a
// global pool's sum is priced as a stream group in stripes of 1, 2, 4 and 8
// rows of the map it reduces (below its 9 rows), full width, with one output
// tile, although the divisor after it is its epilogue; a plan that picks one
// builds.
TEST(PlanSearch, StreamCandidatesEndInAGlobalReduction) {
  test::GraphBuilder b;
  Value x = b.input(9, 7, 4);
  x = b.eltwise("L0:leaky", {b.conv("L0:conv", x, 3, 8, 1, 1)}, 4);
  x = b.eltwise("L1:relu", {b.conv("L1:conv", x, 1, 16, 1, 0)}, 1);
  x = b.globalSumPool("L2:gsum", x);
  // The divisor, an elementwise epilogue of the pool, stays after the group.
  LayerGraph g = b.finish({b.eltwise("L2:div", {x}, 1)});
  std::set<int64_t> stripes;
  std::set<std::string> firsts;
  auto price = [&](const FusionGroup &fg, llvm::ArrayRef<unsigned> live,
                   llvm::ArrayRef<unsigned>) {
    GroupCost cost = syntheticCost(g, fg, live);
    if (fg.plan().isStream() && fg.plan().layers.back() == "L2:gsum") {
      stripes.insert(fg.plan().stripeRows);
      firsts.insert(fg.plan().layers.front());
      EXPECT_EQ(fg.plan().gridRows * fg.plan().gridCols, 1);
      cost.peakBytes = 1;
    }
    return cost;
  };
  SearchSpace space;
  space.stream = true;
  PlanSearch search(g, space, price);
  EXPECT_EQ(stripes, (std::set<int64_t>{1, 2, 4, 8}));
  EXPECT_EQ(firsts, (std::set<std::string>{"L0:conv", "L1:conv"}));
  std::optional<SearchResult> r = search.search(search.minFeasibleBudget());
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->plan.groups.empty());
  ASSERT_EQ(r->plan.groups.size(), 2u);
  const PlanGroup &streamed = r->plan.groups[0];
  EXPECT_TRUE(streamed.isStream());
  EXPECT_EQ(streamed.layers.back(), "L2:gsum");
  EXPECT_EQ(streamed.rowTiles, std::vector<Interval>{Interval(0, 0)});
  EXPECT_EQ(r->plan.groups[1].layers, std::vector<std::string>{"L2:div"});
  std::string error;
  EXPECT_TRUE(buildPlanGroups(g, r->plan, error)) << error;
}

} // namespace
