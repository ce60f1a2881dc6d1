//===- MemoryModelTest.cpp - Fusion-group geometry and the memory model ---===//
//
// The geometry against brute force (every tile's every layer region is
// exactly what its consumers read, the tiles cover every layer), and the
// memory model against workspaces computed by hand. That the model agrees
// with the compiled code is checked end to end (mafat-compile
// --verify-memory-model in test/e2e).
//
//===----------------------------------------------------------------------===//

#include "mafat/CostModel/MemoryModel.h"

#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraph.h"
#include "mafat/Plan/Plan.h"

#include "Graph/GraphBuilder.h"

#include "gtest/gtest.h"

#include <random>
#include <set>

using namespace mafat;

namespace {

/// conv3x3 s1 p1 (8x8x4 -> 8x8x8) + bias/relu, max pool 2x2 s2 (-> 4x4x8),
/// conv3x3 s2 p1 dilation 1 (-> 2x2x8): strides, pads and a pool in a chain.
/// As canonical MLIR: each pad a tensor.pad folded into its conv, the
/// bias/relu a generic of addf + maximumf reading a bias constant.
std::unique_ptr<LayerGraph> chainGraph() {
  test::GraphBuilder b("chain");
  test::MapValue x = b.input(8, 8, 4);
  x = b.conv("L0:conv", x, 3, 8, 1, 1);
  x = b.eltwise("L0:relu", {x}, 2, 8 * 4);
  x = b.maxpool("L1:maxpool", x);
  x = b.conv("L2:conv", x, 3, 8, 2, 1);
  return std::make_unique<LayerGraph>(b.finish({x}));
}

class MemoryModelTest : public ::testing::Test {
protected:
  MemoryModelTest() { graph = chainGraph(); }

  PlanGroup planGroup(std::vector<std::string> layers, int64_t rows,
                      int64_t cols) {
    PlanGroup plan;
    plan.name = "g0";
    plan.layers = std::move(layers);
    plan.gridRows = rows;
    plan.gridCols = cols;
    Region out = spatialExtent(
        graph->node(*graph->lookup(plan.layers.back())).outputShape);
    EXPECT_EQ(assignBalancedTiles(plan, out.rows.size(), out.cols.size()), "");
    return plan;
  }

  std::unique_ptr<LayerGraph> graph;
};

/// Positions of layer `consumer`'s operand 0 that output position `o` (one
/// axis) reads, by enumerating the window taps; padding taps are dropped.
std::set<int64_t> tapsOf(const Window1D &w, int64_t o) {
  std::set<int64_t> taps;
  for (int64_t k = 0; k < w.kernel; ++k) {
    int64_t i = o * w.stride - w.padLow + k * w.dilation;
    if (i >= 0 && i < w.inputSize)
      taps.insert(i);
  }
  return taps;
}

TEST_F(MemoryModelTest, GeometryMatchesBruteForce) {
  std::vector<std::string> layers = {"L0:conv", "L0:relu", "L1:maxpool",
                                     "L2:conv"};
  for (int64_t rows = 1; rows <= 2; ++rows)
    for (int64_t cols = 1; cols <= 2; ++cols) {
      std::string error;
      std::optional<FusionGroup> group =
          FusionGroup::build(*graph, planGroup(layers, rows, cols), error);
      ASSERT_TRUE(group) << error;
      for (bool alongRows : {true, false}) {
        const TileAxis &axis = alongRows ? group->rows() : group->cols();
        for (unsigned t = 0; t < axis.size(); ++t) {
          // The last layer computes exactly its tile.
          EXPECT_EQ(axis.span[t].back(), axis.tiles[t]);
          // Each earlier layer computes exactly what its consumer's span
          // reads, tap by tap (a chain: one consumer each).
          for (unsigned l = 0; l + 1 < layers.size(); ++l) {
            const LayerNode &consumer =
                graph->node(group->layers()[l + 1].node);
            std::set<int64_t> needed;
            Interval span = axis.span[t][l + 1];
            for (int64_t o = span.lo; o <= span.hi; ++o) {
              if (!consumer.window) {
                needed.insert(o);
                continue;
              }
              const Window1D &w =
                  alongRows ? consumer.window->rows : consumer.window->cols;
              for (int64_t i : tapsOf(w, o))
                needed.insert(i);
            }
            ASSERT_FALSE(needed.empty());
            EXPECT_EQ(axis.span[t][l],
                      Interval(*needed.begin(), *needed.rbegin()))
                << "tile " << t << " layer " << l;
            // Padding: taps of the span's ends that fall outside the map.
            if (consumer.window) {
              const Window1D &w =
                  alongRows ? consumer.window->rows : consumer.window->cols;
              int64_t first = span.lo * w.stride - w.padLow;
              int64_t last =
                  span.hi * w.stride - w.padLow + (w.kernel - 1) * w.dilation;
              EXPECT_EQ(axis.padLow[t][l + 1], std::max<int64_t>(0, -first));
              EXPECT_EQ(axis.padHigh[t][l + 1],
                        std::max<int64_t>(0, last - (w.inputSize - 1)));
            }
          }
        }
        // Every layer is covered by the union of the tiles' spans.
        for (unsigned l = 0; l < layers.size(); ++l) {
          int64_t extent =
              alongRows ? graph->node(group->layers()[l].node).outputShape[1]
                        : graph->node(group->layers()[l].node).outputShape[2];
          std::vector<bool> seen(extent, false);
          for (unsigned t = 0; t < axis.size(); ++t)
            for (int64_t i = axis.span[t][l].lo; i <= axis.span[t][l].hi; ++i)
              seen[i] = true;
          EXPECT_TRUE(llvm::all_of(seen, [](bool b) { return b; }))
              << "layer " << l;
        }
      }
    }
}

TEST_F(MemoryModelTest, RejectsGroupsThatCannotBeFused) {
  std::string error;
  // The conv is read by the relu, outside the group, but is not its last
  // layer.
  EXPECT_FALSE(FusionGroup::build(
      *graph, planGroup({"L0:conv", "L1:maxpool"}, 2, 2), error));
  EXPECT_NE(error.find("'L0:conv' is read outside the group"),
            std::string::npos)
      << error;
  PlanGroup bad = planGroup({"L0:relu", "L1:maxpool"}, 2, 2);
  bad.layers = {"L1:maxpool", "L0:relu"};
  EXPECT_FALSE(FusionGroup::build(*graph, bad, error));
  EXPECT_NE(error.find("listed before its operand"), std::string::npos)
      << error;
  PlanGroup gap = planGroup({"L0:conv", "L0:relu", "L1:maxpool"}, 2, 1);
  gap.rowTiles = {Interval(0, 1), Interval(2, 2)};
  EXPECT_FALSE(FusionGroup::build(*graph, gap, error));
  EXPECT_NE(error.find("tiles end at 2"), std::string::npos) << error;
}

// Hand-computed: layer by layer, the live buffers at each step are
//   pad of the input   10x10x4 floats = 1600 B   (copy, then L0:conv)
//   L0 conv + relu     8x8x8          = 2048 B   (the relu is fused into the
//                                                 conv and owns the buffer)
//   L1 max pool        4x4x8          =  512 B
//   pad of the pool    6x6x8          = 1152 B
// and the last conv writes the caller's output. The pad and the relu output
// overlap at L0's step (1600 + 2048 = 3648); later pairs are smaller.
TEST_F(MemoryModelTest, LayerByLayerByHand) {
  std::string error;
  std::optional<MemoryPrediction> p =
      predictMemory(*graph, layerByLayerPlan(*graph), {}, error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->workspaceBytes, 3648u);
  EXPECT_EQ(p->naiveBytes, 1600u + 2048u + 512u + 1152u);
  EXPECT_EQ(p->ioBytes, (8u * 8 * 4 + 2 * 2 * 8) * 4);
}

// Hand-computed: the whole chain fused, one output tile per conv output
// row (2x1 grid of the 2x2 output; columns whole, so padded left where the
// stride-2 conv's window starts at -1). Back-projection, rows:
//   tile 0: L2:conv [0,0] reads pool [-1,1] -> [0,1] (pad 1 above); the pool
//           [0,1] reads relu [0,3]; L0:conv [0,3] reads input [-1,4] ->
//           [0,4] (pad 1 above)
//   tile 1: L2:conv [1,1] reads pool [1,3]; the pool reads relu [2,7];
//           L0:conv [2,7] reads input [1,8] -> [1,7] (pad 1 below)
// Tile 0's body, in order: input pad 6x10x4 floats = 960 B, conv + relu
// 4x8x8 = 1024 B, pool 2x4x8 = 256 B, pool pad 3x5x8 = 480 B; tile 1's:
// 8x10x4 = 1280, 6x8x8 = 1536, 3x4x8 = 384, 3x5x8 = 480. Each buffer is
// live with its neighbours only, so a body's arena is its largest adjacent
// pair: 960 + 1024 = 1984 and 1280 + 1536 = 2816. The bodies run one after
// the other, so the workspace is the larger, 2816 B.
TEST_F(MemoryModelTest, FusedChainByHand) {
  Plan plan;
  plan.groups.push_back(
      planGroup({"L0:conv", "L0:relu", "L1:maxpool", "L2:conv"}, 2, 1));
  std::string error;
  std::optional<MemoryPrediction> p = predictMemory(*graph, plan, {}, error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->workspaceBytes, 2816u);
  ASSERT_EQ(p->groups.size(), 1u);
  EXPECT_EQ(p->groups[0].tileBytes, 2816u);
  std::optional<FusionGroup> group =
      FusionGroup::build(*graph, plan.groups[0], error);
  ASSERT_TRUE(group) << error;
  std::vector<BufferRequest> tiles = groupTileBuffers(*graph, *group, {});
  // Two classes (top and bottom tile), four buffers each.
  std::vector<uint64_t> sizes;
  for (const BufferRequest &r : tiles)
    sizes.push_back(r.size);
  EXPECT_EQ(sizes,
            (std::vector<uint64_t>{960, 1024, 256, 480, 1280, 1536, 384, 480}));
}

// A map a group reads last dies inside it, at its last read: here L1's pad
// copy. 1x1 conv (8x8x4 -> 8x8x8, 2048 B), 3x3 conv with a pad (10x10x8 =
// 3200 B padded copy, 8x8x8 = 2048 B output), 2x2 max pool (the model
// output). Layer by layer: L0's map and the pad copy (5248 B) at the pad
// step, then the pad copy and L1's output (5248 B). Priced alone with L0's
// map live throughout, L1's group would need 2048 + 3200 + 2048 = 7296 B;
// with the map consumed, what the code needs: 5248 B.
std::unique_ptr<LayerGraph> consumedGraph() {
  test::GraphBuilder b("consumed");
  test::MapValue x = b.input(8, 8, 4);
  x = b.conv("L0:conv", x, 1, 8, 1, 0);
  x = b.conv("L1:conv", x, 3, 8, 1, 1);
  x = b.maxpool("L2:maxpool", x);
  return std::make_unique<LayerGraph>(b.finish({x}));
}

TEST(MemoryModelConsumed, ConsumedMapDiesInsideTheGroup) {
  std::unique_ptr<LayerGraph> built = consumedGraph();
  ASSERT_TRUE(built);
  const LayerGraph &graph = *built;
  std::string error;
  std::optional<MemoryPrediction> exact =
      predictMemory(graph, layerByLayerPlan(graph), {}, error);
  ASSERT_TRUE(exact) << error;
  EXPECT_EQ(exact->workspaceBytes, 5248u);

  PlanGroup plan;
  plan.name = "g1";
  plan.layers = {"L1:conv"};
  ASSERT_EQ(assignBalancedTiles(plan, 8, 8), "");
  std::optional<FusionGroup> group = FusionGroup::build(graph, plan, error);
  ASSERT_TRUE(group) << error;
  unsigned l0 = *graph.lookup("L0:conv");
  EXPECT_EQ(predictGroupMemory(graph, *group, {l0}, {}).peakBytes, 7296u);
  EXPECT_EQ(predictGroupMemory(graph, *group, {l0}, {}, {l0}).peakBytes,
            exact->workspaceBytes);
}

// The search prices a group with the maps live around it.
TEST_F(MemoryModelTest, GroupMemoryCountsLiveMaps) {
  std::string error;
  std::optional<FusionGroup> group = FusionGroup::build(
      *graph, planGroup({"L1:maxpool", "L2:conv"}, 2, 1), error);
  ASSERT_TRUE(group) << error;
  unsigned relu = *graph->lookup("L0:relu");
  GroupMemory alone = predictGroupMemory(*graph, *group, {}, {});
  GroupMemory withInput = predictGroupMemory(*graph, *group, {relu}, {});
  // The relu map (2048 B) is read by every tile body, so it adds up.
  EXPECT_EQ(withInput.peakBytes, alone.peakBytes + 2048u);
  EXPECT_EQ(withInput.liveMapBytes, 2048u);
}

// Hybrid stream groups (issue 12): the rolling buffer between the pool and
// the stride-2 conv is as wide as the widest column tile's padded span, not
// the map. L2:conv (3x3, stride 2, pad 1) computes 2 columns: in 2 column
// tiles, column 0 reads pool columns [-1, 1] (1 of padding, 2 real) and
// column 1 reads [1, 3]: 3 columns either way, against 1 + 4 = 5 for the
// full width. Rows and channels are the same, so the buffer is 3/5 as
// large.
TEST_F(MemoryModelTest, HybridStreamBuffersTakeTheColumnTileWidth) {
  auto rolling = [&](int64_t gridCols) -> uint64_t {
    Plan plan;
    PlanGroup group =
        planGroup({"L0:conv", "L0:relu", "L1:maxpool", "L2:conv"}, 2, 1);
    group.mode = GroupMode::Stream;
    group.stripeRows = 1;
    group.gridCols = gridCols;
    group.colTiles = gridCols == 1 ? std::vector<Interval>{{0, 1}}
                                   : std::vector<Interval>{{0, 0}, {1, 1}};
    plan.groups.push_back(group);
    std::string error;
    std::optional<MemoryPrediction> p = predictMemory(*graph, plan, {}, error);
    EXPECT_TRUE(p) << error;
    if (!p)
      return 0;
    for (const BufferRequest &r : p->buffers)
      if (r.name == "group g0 rolling buffer 0")
        return r.size;
    ADD_FAILURE() << "no rolling buffer";
    return 0;
  };
  uint64_t full = rolling(1), hybrid = rolling(2);
  ASSERT_GT(full, 0u);
  EXPECT_EQ(full % (5 * 8 * 4), 0u);
  EXPECT_EQ(hybrid * 5, full * 3);
}

// Concurrent column tiles: with 2 slots, the rolling buffers leave the top
// level; each slot's copy of them sits in the slot loop's body beside its
// column regions (live one after another), and the loop is one buffer of
// two such arenas.
TEST_F(MemoryModelTest, ConcurrentColumnTilesCopyTheirBuffersPerSlot) {
  auto predict = [&](int64_t slots) {
    Plan plan;
    PlanGroup group =
        planGroup({"L0:conv", "L0:relu", "L1:maxpool", "L2:conv"}, 2, 1);
    group.mode = GroupMode::Stream;
    group.stripeRows = 1;
    group.gridCols = 2;
    group.colTiles = {{0, 0}, {1, 1}};
    group.slots = slots;
    plan.groups.push_back(group);
    std::string error;
    std::optional<MemoryPrediction> p = predictMemory(*graph, plan, {}, error);
    EXPECT_TRUE(p) << error;
    return p;
  };
  std::optional<MemoryPrediction> serial = predict(1), slotted = predict(2);
  ASSERT_TRUE(serial && slotted);
  const uint64_t align = kDefaultBufferAlignment;
  uint64_t rolling = 0, widestRegion = 0;
  for (const BufferRequest &r : serial->buffers) {
    if (r.name.rfind("group g0 rolling buffer", 0) == 0)
      rolling += llvm::alignTo(r.size, align);
    if (r.name == "group g0 tile body")
      widestRegion = std::max(widestRegion, r.size);
  }
  ASSERT_GT(rolling, 0u);
  ASSERT_GT(widestRegion, 0u);
  uint64_t slotLoop = 0;
  for (const BufferRequest &r : slotted->buffers) {
    EXPECT_NE(r.name.rfind("group g0 rolling buffer", 0), 0u) << r.name;
    if (r.name == "group g0 tile body") {
      EXPECT_EQ(slotLoop, 0u) << "one slot loop";
      slotLoop = r.size;
    }
  }
  EXPECT_EQ(slotLoop, 2 * llvm::alignTo(rolling + widestRegion, align));
}

} // namespace
