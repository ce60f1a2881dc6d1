//===- LatencyModelTest.cpp - Target profiles and the latency model -------===//

#include "mafat/CostModel/LatencyModel.h"
#include "mafat/CostModel/TargetProfile.h"

#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraph.h"
#include "mafat/Graph/StreamGroup.h"
#include "mafat/Plan/Plan.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include "Graph/GraphBuilder.h"

#include "gtest/gtest.h"

#include <cmath>
#include <string>

using namespace mafat;

namespace {

//===----------------------------------------------------------------------===//
// Profiles
//===----------------------------------------------------------------------===//

std::string readSourceFile(llvm::StringRef relative) {
  std::string path = std::string(MAFAT_SOURCE_DIR) + "/" + relative.str();
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buffer)) << "cannot read " << path;
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

/// A profile whose every field differs from the defaults of the struct.
TargetProfile sampleProfile() {
  TargetProfile p;
  p.name = "sample";
  p.triple = "x86_64-linux-gnu";
  p.calibrated = true;
  p.source = "a \"quoted\" note";
  p.convGflops = 155.2;
  p.conv1x1Gflops = 0.1;
  p.depthwiseGflops = 17;
  p.poolGflops = 1.0 / 3.0;
  p.elementwiseGflops = 1e-7;
  p.epilogueGflops = 1500;
  p.matmulGflops = 52.5;
  p.copyGBps = 12.25;
  p.cacheGBps = 90;
  p.llcGBps = 33.5;
  p.memoryGBps = 12.5;
  p.cacheBytes = 1310720;
  p.llcBytes = 50331648;
  p.tileWidthPenalty = 1.25;
  p.layerOverheadUs = 0;
  p.tileOverheadUs = 3.5;
  return p;
}

TEST(TargetProfile, RoundTrip) {
  TargetProfile p = sampleProfile();
  std::string text = profileToJson(p);
  std::string error;
  std::optional<TargetProfile> back = profileFromJson(text, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, p);
  // Shortest exact forms, not 17 digits.
  EXPECT_NE(text.find("\"conv\": 155.2,"), std::string::npos) << text;
  EXPECT_EQ(profileToJson(*back), text);
}

TEST(TargetProfile, EqualityLooksAtEveryField) {
  TargetProfile a = sampleProfile(), b = a;
  b.tileOverheadUs += 1;
  EXPECT_NE(a, b);
  b = a;
  b.calibrated = false;
  EXPECT_NE(a, b);
  b = a;
  b.memoryGBps = 1;
  EXPECT_NE(a, b);
}

/// Parses `text` after replacing the first `from` with `to`, expects failure
/// and returns the message.
std::string errorAfterEdit(llvm::StringRef from, llvm::StringRef to) {
  std::string text = profileToJson(sampleProfile());
  size_t pos = text.find(from.str());
  EXPECT_NE(pos, std::string::npos) << from.str();
  if (pos != std::string::npos)
    text.replace(pos, from.size(), to.str());
  std::string error;
  EXPECT_FALSE(profileFromJson(text, error)) << text;
  return error;
}

TEST(TargetProfile, ErrorPaths) {
  std::string error;
  EXPECT_FALSE(profileFromJson("{", error));
  EXPECT_EQ(error.rfind("invalid JSON: ", 0), 0u) << error;
  EXPECT_FALSE(profileFromJson("[]", error));
  EXPECT_EQ(error, "profile: expected an object");

  EXPECT_EQ(errorAfterEdit("\"name\"", "\"nmae\""), "nmae: unknown key");
  EXPECT_EQ(errorAfterEdit("\"conv1x1\"", "\"conv_1x1\""),
            "throughput_gflops.conv_1x1: unknown key");
  EXPECT_EQ(errorAfterEdit("\"layer\"", "\"layers\""),
            "overhead_us.layers: unknown key");
  EXPECT_EQ(errorAfterEdit("\"bandwidth_gbps\": {",
                           "\"bandwidth_gbps\": 3, \"x\": {"),
            "x: unknown key");
  EXPECT_EQ(errorAfterEdit("\"name\": \"sample\",", ""), "name: missing");
  EXPECT_EQ(errorAfterEdit("\"triple\": \"x86_64-linux-gnu\"", "\"triple\": 3"),
            "triple: expected a string");
  EXPECT_EQ(errorAfterEdit("\"calibrated\": true,", ""), "calibrated: missing");
  EXPECT_EQ(errorAfterEdit("\"calibrated\": true", "\"calibrated\": 1"),
            "calibrated: expected true or false");
  EXPECT_EQ(errorAfterEdit("\"cache_bytes\": 1310720,", ""),
            "cache_bytes: missing");
  EXPECT_EQ(errorAfterEdit("\"llc\": 33.5", "\"llc\": null"),
            "bandwidth_gbps.llc: expected a number");
  EXPECT_EQ(errorAfterEdit("\"memory\": 12.5", "\"memory\": \"fast\""),
            "bandwidth_gbps.memory: expected a number");
  EXPECT_EQ(errorAfterEdit("\"depthwise\": 17,", ""),
            "throughput_gflops.depthwise: missing");
  EXPECT_EQ(errorAfterEdit("\"conv\": 155.2", "\"conv\": 0"),
            "throughput_gflops.conv: must be positive");
  EXPECT_EQ(errorAfterEdit("\"cache\": 90", "\"cache\": -1"),
            "bandwidth_gbps.cache: must be positive");
  EXPECT_EQ(errorAfterEdit("\"tile_width_penalty\": 1.25",
                           "\"tile_width_penalty\": -0.5"),
            "tile_width_penalty: must not be negative");
  EXPECT_EQ(errorAfterEdit("\"tile\": 3.5", "\"tile\": -1"),
            "overhead_us.tile: must not be negative");

  // A whole group missing, or not an object.
  std::string text = profileToJson(sampleProfile());
  llvm::json::Value value = cantFail(llvm::json::parse(text));
  value.getAsObject()->erase("overhead_us");
  std::string printed;
  llvm::raw_string_ostream(printed) << value;
  EXPECT_FALSE(profileFromJson(printed, error));
  EXPECT_EQ(error, "overhead_us: missing");
  (*value.getAsObject())["overhead_us"] = 1;
  printed.clear();
  llvm::raw_string_ostream(printed) << value;
  EXPECT_FALSE(profileFromJson(printed, error));
  EXPECT_EQ(error, "overhead_us: expected an object");
}

TEST(TargetProfile, CheckProfileRejectsNonFinite) {
  TargetProfile p = sampleProfile();
  EXPECT_EQ(checkProfile(p), "");
  p.layerOverheadUs = std::nan("");
  EXPECT_EQ(checkProfile(p), "overhead_us.layer: must be finite");
  p = sampleProfile();
  p.cacheBytes = 0;
  EXPECT_EQ(checkProfile(p), "cache_bytes: must be positive");
}

TEST(TargetProfile, LoadProfileNamesThePath) {
  std::string error;
  EXPECT_FALSE(loadProfile("/nonexistent/profile.json", error));
  EXPECT_EQ(error.rfind("/nonexistent/profile.json: ", 0), 0u) << error;
  std::optional<TargetProfile> p = loadProfile(
      std::string(MAFAT_SOURCE_DIR) + "/test/Inputs/synthetic-profile.json",
      error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->name, "synthetic");
  EXPECT_FALSE(p->calibrated);
}

TEST(TargetProfile, DefaultsEqualShippedProfiles) {
  for (auto [triple, file] : {std::pair<const char *, const char *>{
                                  "x86_64-linux-gnu", "profiles/x86_64.json"},
                              {"aarch64-linux-gnu", "profiles/aarch64.json"}}) {
    std::string error;
    std::optional<TargetProfile> shipped =
        profileFromJson(readSourceFile(file), error);
    ASSERT_TRUE(shipped) << file << ": " << error;
    EXPECT_EQ(defaultProfile(triple), *shipped)
        << file << " differs from the built-in profile:\n"
        << profileToJson(defaultProfile(triple));
    EXPECT_EQ(shipped->triple, triple);
  }
  EXPECT_TRUE(defaultProfile("x86_64-unknown-linux-gnu").calibrated);
  // qemu timings mean nothing: the aarch64 profile is derived, not measured.
  EXPECT_FALSE(defaultProfile("aarch64-linux-gnu").calibrated);
  EXPECT_EQ(defaultProfile("arm64-apple-darwin").name,
            defaultProfile("aarch64-linux-gnu").name);
}

//===----------------------------------------------------------------------===//
// The latency model
//===----------------------------------------------------------------------===//

/// A chain of 3x3 (or 1x1) convs, each followed by a bias + leaky epilogue,
/// as canonical MLIR writes it (a tensor.pad folded into the conv; the
/// epilogue a generic of four arith ops reading the conv and a bias
/// constant): layer i is "L<i>:conv" and "L<i>:leaky".
struct ConvSpec {
  int64_t filters, kernel, pad;
};

LayerGraph chainModel(int64_t h, int64_t w, int64_t c,
                      llvm::ArrayRef<ConvSpec> convs) {
  test::GraphBuilder b;
  test::MapValue x = b.input(h, w, c);
  for (auto [i, spec] : llvm::enumerate(convs)) {
    std::string L = "L" + std::to_string(i) + ":";
    x = b.conv(L + "conv", x, spec.kernel, spec.filters, 1, spec.pad);
    x = b.eltwise(L + "leaky", {x}, 4, spec.filters * 4);
  }
  return b.finish({x});
}

class LatencyModelTest : public ::testing::Test {
protected:
  /// Keeps the graph alive for the rest of the test.
  const LayerGraph &graphOf(LayerGraph graph) {
    graphs.push_back(std::make_unique<LayerGraph>(std::move(graph)));
    return *graphs.back();
  }

  /// A c x h x w input and its transpose "to_nhwc": with `channelsFirst`
  /// the layout transpose of an NCHW input (GraphBuilder::toNhwc), else a
  /// transpose reading its NHWC input whole (GraphBuilder::transpose).
  const LayerGraph &transposeGraph(int64_t c, int64_t h, int64_t w,
                                   bool channelsFirst) {
    test::GraphBuilder b;
    test::MapValue t = channelsFirst ? b.toNhwc("to_nhwc", b.inputNchw(c, h, w))
                                     : b.transpose("to_nhwc", b.input(h, w, c));
    return graphOf(b.finish({t}));
  }

  /// The group of `layers` with a balanced rows x cols grid.
  FusionGroup group(const LayerGraph &g, std::vector<std::string> layers,
                    int64_t rows = 1, int64_t cols = 1) {
    PlanGroup plan;
    plan.name = "g";
    plan.layers = std::move(layers);
    plan.gridRows = rows;
    plan.gridCols = cols;
    Region out =
        spatialExtent(g.node(*g.lookup(plan.layers.back())).outputShape);
    EXPECT_EQ(assignBalancedTiles(plan, out.rows.size(), out.cols.size()), "");
    std::string error;
    std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
    EXPECT_TRUE(group) << error;
    return std::move(*group);
  }

  /// The stream-mode group of `layers` in stripes of `stripeRows` over the
  /// whole output map of the last layer.
  static PlanGroup streamPlan(const LayerGraph &g,
                              std::vector<std::string> layers,
                              int64_t stripeRows) {
    Region out = spatialExtent(g.node(*g.lookup(layers.back())).outputShape);
    int64_t height = out.rows.size();
    PlanGroup plan;
    plan.name = "s";
    plan.layers = std::move(layers);
    plan.mode = GroupMode::Stream;
    plan.stripeRows = stripeRows;
    plan.gridRows = (height + stripeRows - 1) / stripeRows;
    plan.rowTiles = stripeSplit(height, stripeRows);
    plan.colTiles = {Interval(0, out.cols.size() - 1)};
    return plan;
  }

  std::vector<std::unique_ptr<LayerGraph>> graphs;
};

/// Round numbers with a cache large enough that no test layer spills.
TargetProfile plainProfile() {
  TargetProfile p;
  p.name = "plain";
  p.triple = "x86_64-linux-gnu";
  p.convGflops = 100;
  p.conv1x1Gflops = 50;
  p.depthwiseGflops = 10;
  p.poolGflops = 10;
  p.elementwiseGflops = 10;
  p.epilogueGflops = 20;
  p.matmulGflops = 10;
  p.copyGBps = 10;
  p.cacheGBps = 1000;
  p.llcGBps = 1000;
  p.memoryGBps = 10;
  p.cacheBytes = 1e9;
  p.llcBytes = 1e9;
  p.tileWidthPenalty = 0;
  p.layerOverheadUs = 1;
  p.tileOverheadUs = 2;
  return p;
}

TEST_F(LatencyModelTest, OneConvIsFlopsOverThroughput) {
  const LayerGraph &g = graphOf(chainModel(34, 34, 16, {{32, 3, 0}}));
  TargetProfile p = plainProfile();
  const LayerNode &conv = g.node(*g.lookup("L0:conv"));
  GroupLatency lat = predictGroupLatency(g, group(g, {"L0:conv"}), p);
  double computeMs = conv.flops / (p.convGflops * 1e9) * 1e3;
  EXPECT_NEAR(lat.computeMs, computeMs, 1e-12);
  EXPECT_EQ(lat.copyMs, 0);   // no padding
  EXPECT_EQ(lat.memoryMs, 0); // in cache, far below compute
  EXPECT_NEAR(lat.overheadMs, 1e-3, 1e-12);
  EXPECT_NEAR(lat.ms, computeMs + 1e-3, 1e-12);
  EXPECT_EQ(lat.haloOverhead, 0);
  EXPECT_DOUBLE_EQ(predictLayerLatencyMs(g, conv.id, p), lat.ms);

  // 1x1 convs have their own rate.
  const LayerGraph &g1 = graphOf(chainModel(32, 32, 16, {{32, 1, 0}}));
  const LayerNode &conv1 = g1.node(*g1.lookup("L0:conv"));
  EXPECT_NEAR(predictGroupLatency(g1, group(g1, {"L0:conv"}), p).computeMs,
              conv1.flops / 50e9 * 1e3, 1e-12);
}

// Split steps (CodegenRules.h): a layer with at least minWork iterations
// (flops / 2) runs T * efficiency times faster on T threads and pays one
// launch; smaller layers and one thread are priced as before.
TEST_F(LatencyModelTest, SplitStepsScaleBigLayersOnly) {
  const LayerGraph &g = graphOf(chainModel(34, 34, 16, {{32, 3, 0}}));
  TargetProfile p = plainProfile();
  p.parallelEfficiency = 0.8;
  p.parallelLaunchUs = 5;
  const LayerNode &conv = g.node(*g.lookup("L0:conv"));
  FusionGroup one = group(g, {"L0:conv"});
  GroupLatency serial = predictGroupLatency(g, one, p);
  GroupLatency same = predictGroupLatency(g, one, p, ParallelOptions{1});
  EXPECT_DOUBLE_EQ(same.ms, serial.ms);
  EXPECT_EQ(same.splitSteps, 0u);

  ParallelOptions two{2, int64_t(conv.flops / 2)};
  GroupLatency split = predictGroupLatency(g, one, p, two);
  EXPECT_EQ(split.splitSteps, 1u);
  EXPECT_NEAR(split.computeMs, serial.computeMs / (2 * 0.8), 1e-12);
  EXPECT_NEAR(split.overheadMs, serial.overheadMs + 5e-3, 1e-12);

  // One iteration short of the threshold: serial, as codegen leaves it.
  ParallelOptions tooSmall{2, int64_t(conv.flops / 2) + 1};
  GroupLatency small = predictGroupLatency(g, one, p, tooSmall);
  EXPECT_EQ(small.splitSteps, 0u);
  EXPECT_DOUBLE_EQ(small.ms, serial.ms);
}

// A layout transpose on its own (the NCHW -> NHWC conversion of a model's
// input) is split by rows like a layer (mafat-parallelize); a smaller one
// stays serial, and so does every other copy.
TEST_F(LatencyModelTest, LayoutTransposesSplitLikeLayers) {
  const LayerGraph &g = transposeGraph(8, 64, 64, /*channelsFirst=*/false);
  TargetProfile p = plainProfile();
  p.parallelEfficiency = 0.8;
  p.parallelLaunchUs = 5;
  FusionGroup one = group(g, {"to_nhwc"});
  GroupLatency serial = predictGroupLatency(g, one, p);
  EXPECT_EQ(serial.splitSteps, 0u);
  EXPECT_GT(serial.copyMs, 0);

  const int64_t elements = 64 * 64 * 8;
  GroupLatency split =
      predictGroupLatency(g, one, p, ParallelOptions{2, elements});
  EXPECT_EQ(split.splitSteps, 1u);
  EXPECT_NEAR(split.copyMs, serial.copyMs / (2 * 0.8), 1e-12);
  EXPECT_NEAR(split.overheadMs, serial.overheadMs + 5e-3, 1e-12);

  GroupLatency small =
      predictGroupLatency(g, one, p, ParallelOptions{2, elements + 1});
  EXPECT_EQ(small.splitSteps, 0u);
  EXPECT_DOUBLE_EQ(small.ms, serial.ms);
}

// The layout transpose of an NCHW input in a group reads, per position of a
// piece, the map's channels (3 values here), not its last two dimensions:
// whole or in two row tiles it copies the 3 x 16 x 16 input once and
// writes it once, at the plain profile's copy bandwidth (10 GB/s; its
// cache holds everything).
TEST_F(LatencyModelTest, LayoutTransposeReadsChannelsPerPosition) {
  const LayerGraph &g = transposeGraph(3, 16, 16, /*channelsFirst=*/true);
  TargetProfile p = plainProfile();
  const double bytes = 2.0 * 3 * 16 * 16 * 4;
  GroupLatency whole = predictGroupLatency(g, group(g, {"to_nhwc"}), p);
  EXPECT_NEAR(whole.copyMs, bytes / 10e9 * 1e3, 1e-12);
  GroupLatency halves = predictGroupLatency(g, group(g, {"to_nhwc"}, 2, 1), p);
  EXPECT_NEAR(halves.copyMs, whole.copyMs, 1e-12);
}

// A split step whose weights outweigh its input is split by filter blocks:
// each thread reads the whole input, (T - 1) / T of it from another core,
// priced at memory bandwidth and not overlapped. Split by rows (input
// larger than weights) it pays nothing more.
TEST_F(LatencyModelTest, FilterSplitStepsReadTheirInputAcrossCores) {
  TargetProfile p = plainProfile();
  p.parallelEfficiency = 1;
  ParallelOptions two{2, 1};
  // 6x6x64 input (9216 B), 3x3 conv to 256 filters (590 KB of weights).
  const LayerGraph &deep = graphOf(chainModel(6, 6, 64, {{256, 3, 0}}));
  GroupLatency serial = predictGroupLatency(deep, group(deep, {"L0:conv"}), p);
  GroupLatency split =
      predictGroupLatency(deep, group(deep, {"L0:conv"}), p, two);
  EXPECT_EQ(split.splitSteps, 1u);
  EXPECT_DOUBLE_EQ(serial.memoryMs, 0);
  EXPECT_NEAR(split.memoryMs, 6 * 6 * 64 * 4 / 2.0 / 10e9 * 1e3, 1e-12);
  // 34x34x16 input (74 KB), 32 filters (18 KB): rows, nothing crosses.
  const LayerGraph &wide = graphOf(chainModel(34, 34, 16, {{32, 3, 0}}));
  EXPECT_DOUBLE_EQ(
      predictGroupLatency(wide, group(wide, {"L0:conv"}), p, two).memoryMs, 0);
}

TEST_F(LatencyModelTest, MonotoneInFlops) {
  TargetProfile p = defaultProfile("x86_64-linux-gnu");
  double last = 0;
  for (int64_t filters : {8, 16, 32, 64, 128}) {
    const LayerGraph &g = graphOf(chainModel(32, 32, 16, {{filters, 3, 1}}));
    double ms = predictGroupLatency(g, group(g, {"L0:conv", "L0:leaky"}), p).ms;
    EXPECT_GT(ms, last) << filters << " filters";
    last = ms;
  }
}

TEST_F(LatencyModelTest, EpilogueCostsOnlyItsCompute) {
  const LayerGraph &g = graphOf(chainModel(34, 34, 16, {{32, 3, 0}}));
  TargetProfile p = plainProfile();
  const LayerNode &leaky = g.node(*g.lookup("L0:leaky"));
  double alone = predictGroupLatency(g, group(g, {"L0:conv"}), p).ms;
  double fused =
      predictGroupLatency(g, group(g, {"L0:conv", "L0:leaky"}), p).ms;
  EXPECT_NEAR(fused - alone, leaky.flops / 20e9 * 1e3, 1e-12);
}

TEST_F(LatencyModelTest, HaloRecomputeRaisesLatency) {
  const LayerGraph &g =
      graphOf(chainModel(32, 32, 16, {{16, 3, 1}, {16, 3, 1}, {16, 3, 1}}));
  TargetProfile p = plainProfile();
  p.layerOverheadUs = p.tileOverheadUs = 0;
  std::vector<std::string> layers = {"L0:conv",  "L0:leaky", "L1:conv",
                                     "L1:leaky", "L2:conv",  "L2:leaky"};
  GroupLatency whole = predictGroupLatency(g, group(g, layers), p);
  GroupLatency tiled = predictGroupLatency(g, group(g, layers, 4, 4), p);
  FusionGroup tiledGroup = group(g, layers, 4, 4);
  EXPECT_EQ(whole.haloOverhead, 0);
  EXPECT_GT(tiled.haloOverhead, 0.1);
  EXPECT_NEAR(tiled.haloOverhead, tiledGroup.haloOverhead(g), 1e-12);
  EXPECT_NEAR(tiled.computeMs / whole.computeMs, 1 + tiled.haloOverhead, 1e-9);
  EXPECT_GT(tiled.ms, whole.ms);
  // Finer grids recompute more.
  EXPECT_GT(predictGroupLatency(g, group(g, layers, 8, 8), p).ms, tiled.ms);
}

TEST_F(LatencyModelTest, NarrowTilesPayTheWidthPenalty) {
  const LayerGraph &g = graphOf(chainModel(34, 34, 16, {{32, 3, 0}}));
  TargetProfile p = plainProfile();
  p.tileWidthPenalty = 4;
  const LayerNode &conv = g.node(*g.lookup("L0:conv"));
  // Whole: one 32-column tile. Split 1x4: 8 columns each, no halo (single
  // layer, unpadded: each tile reads its own input window).
  GroupLatency whole = predictGroupLatency(g, group(g, {"L0:conv"}), p);
  GroupLatency split = predictGroupLatency(g, group(g, {"L0:conv"}, 1, 4), p);
  double base = conv.flops / 100e9 * 1e3;
  EXPECT_NEAR(whole.computeMs, base * (1 + 4.0 / 32), 1e-12);
  EXPECT_NEAR(split.computeMs, base * (1 + 4.0 / 8), 1e-12);
}

TEST_F(LatencyModelTest, PadCopiesOnlyAtTheBorder) {
  TargetProfile p = plainProfile();
  // Unpadded: nothing to copy; padded: the whole padded input once in a 1x1
  // group: (34*34 written + 32*32 read) * 16 channels * 4 bytes.
  const LayerGraph &g0 = graphOf(chainModel(34, 34, 16, {{16, 3, 0}}));
  EXPECT_EQ(predictGroupLatency(g0, group(g0, {"L0:conv"}), p).copyMs, 0);
  const LayerGraph &g = graphOf(chainModel(32, 32, 16, {{16, 3, 1}}));
  double bytes = (34.0 * 34 + 32 * 32) * 16 * 4;
  EXPECT_NEAR(predictGroupLatency(g, group(g, {"L0:conv"}), p).copyMs,
              bytes / 10e9 * 1e3, 1e-12);
  // 3x3 grid: the centre tile reads inside the image and copies nothing, so
  // the eight border tiles copy less than nine tiles would.
  FusionGroup grid = group(g, {"L0:conv"}, 3, 3);
  double perTileMax = 0;
  for (unsigned r = 0; r < 3; ++r)
    for (unsigned c = 0; c < 3; ++c)
      EXPECT_EQ(grid.rows().padLow[r][0] + grid.rows().padHigh[r][0] +
                        grid.cols().padLow[c][0] + grid.cols().padHigh[c][0] ==
                    0,
                r == 1 && c == 1);
  double copy = predictGroupLatency(g, grid, p).copyMs;
  EXPECT_GT(copy, 0);
  // Tile (0, 0): rows 0-10 read 0-11 padded by 1 above; same for columns.
  perTileMax = (13.0 * 13 + 12 * 12) * 16 * 4 / 10e9 * 1e3;
  EXPECT_LT(copy, 8 * perTileMax);
}

TEST_F(LatencyModelTest, TrafficBeyondCacheIsCharged) {
  const LayerGraph &g = graphOf(chainModel(34, 34, 16, {{32, 3, 0}}));
  TargetProfile p = plainProfile();
  FusionGroup conv = group(g, {"L0:conv"});
  EXPECT_EQ(predictGroupLatency(g, conv, p).memoryMs, 0);
  // Shrink the cache below the working set and make memory very slow: the
  // time becomes the traffic (roofline).
  const LayerNode &node = g.node(*g.lookup("L0:conv"));
  double bytes = 34.0 * 34 * 16 * 4 + node.outputBytes + node.weightBytes;
  p.cacheBytes = p.llcBytes = bytes - 1;
  p.memoryGBps = 0.001;
  GroupLatency lat = predictGroupLatency(g, conv, p);
  EXPECT_NEAR(lat.computeMs + lat.memoryMs, bytes / 1e6 * 1e3, 1e-9);
  // Within the last-level cache: its bandwidth.
  p.llcBytes = bytes;
  p.llcGBps = 0.002;
  lat = predictGroupLatency(g, conv, p);
  EXPECT_NEAR(lat.computeMs + lat.memoryMs, bytes / 2e6 * 1e3, 1e-9);
  p.cacheBytes = bytes;
  EXPECT_EQ(predictGroupLatency(g, conv, p).memoryMs, 0);
}

// A later tile on the same thread reads weights larger than half the LLC
// again, at the bandwidth of where they fit, outside the roofline; tiles of
// other slots read them at the same time on other cores and pay nothing
// more.
TEST_F(LatencyModelTest, WeightsRereadByALaterTileAreCharged) {
  // 6x6x64 input, 3x3 conv to 256 filters: 589824 B of weights.
  const LayerGraph &g = graphOf(chainModel(6, 6, 64, {{256, 3, 1}}));
  const double weights = g.node(*g.lookup("L0:conv")).weightBytes;
  TargetProfile p = plainProfile();
  p.cacheBytes = 1000;
  p.llcBytes = 2 * weights - 2;
  p.llcGBps = 1;
  std::vector<std::string> layers = {"L0:conv", "L0:leaky"};
  GroupLatency whole = predictGroupLatency(g, group(g, layers), p);
  GroupLatency halves = predictGroupLatency(g, group(g, layers, 2, 1), p);
  // The first tile's working set (weights included) is in the roofline in
  // both; the second tile's activations fit the cache and hide under its
  // compute, its weights do not.
  EXPECT_NEAR(halves.memoryMs - whole.memoryMs, weights / 1e9 * 1e3,
              whole.computeMs);
  EXPECT_GT(halves.memoryMs - whole.memoryMs, 0.9 * weights / 1e9 * 1e3);

  // The same two tiles in two slots, on two threads: each slot's one tile
  // reads the weights first, so the slots share about the whole layer's
  // traffic and no re-read.
  PlanGroup plan = group(g, layers, 2, 1).plan();
  plan.slots = 2;
  std::string error;
  std::optional<FusionGroup> slotted = FusionGroup::build(g, plan, error);
  ASSERT_TRUE(slotted) << error;
  GroupLatency concurrent =
      predictGroupLatency(g, *slotted, p, ParallelOptions{2, 1});
  EXPECT_NEAR(concurrent.memoryMs, whole.memoryMs, 0.1 * whole.memoryMs);

  // Weights within half the LLC are still there: no re-read term, the
  // second tile's traffic (activations and weights) hides under compute.
  p.llcBytes = 2 * weights;
  p.llcGBps = 1000;
  EXPECT_EQ(predictGroupLatency(g, group(g, layers, 2, 1), p).memoryMs, 0);
}

TEST_F(LatencyModelTest, OverheadPerLayerPerTileAndPerTile) {
  const LayerGraph &g =
      graphOf(chainModel(32, 32, 16, {{16, 3, 1}, {16, 3, 1}}));
  TargetProfile p = plainProfile();
  std::vector<std::string> layers = {"L0:conv", "L0:leaky", "L1:conv",
                                     "L1:leaky"};
  // Two non-epilogue layers x 6 tiles x 1 us + 6 tiles x 2 us.
  EXPECT_NEAR(predictGroupLatency(g, group(g, layers, 2, 3), p).overheadMs,
              (2 * 6 * 1 + 6 * 2) * 1e-3, 1e-12);
  // Untiled: no per-tile term.
  EXPECT_NEAR(predictGroupLatency(g, group(g, layers), p).overheadMs, 2 * 1e-3,
              1e-12);
}

TEST_F(LatencyModelTest, PlanIsTheSumOfItsGroups) {
  const LayerGraph &g =
      graphOf(chainModel(32, 32, 16, {{16, 3, 1}, {32, 1, 0}}));
  TargetProfile p = defaultProfile("x86_64-linux-gnu");
  std::string error;
  auto groups = buildPlanGroups(g, layerByLayerPlan(g), error);
  ASSERT_TRUE(groups) << error;
  double sum = 0;
  for (const LayerNode &node : g.nodes())
    sum += predictLayerLatencyMs(g, node.id, p);
  EXPECT_NEAR(predictPlanLatencyMs(g, *groups, p), sum, 1e-12);
  EXPECT_GT(sum, 0);
}

} // namespace

// Streaming (issue 12): every row is computed once, so the compute term is
// the unfused one, unlike a recompute grid of the same stripes; each step
// re-reads the weights, so thinner stripes move more bytes.
TEST_F(LatencyModelTest, StreamComputesEveryRowOnce) {
  const LayerGraph &g =
      graphOf(chainModel(32, 32, 16, {{16, 3, 1}, {16, 3, 1}, {16, 3, 1}}));
  TargetProfile p = plainProfile();
  p.layerOverheadUs = p.tileOverheadUs = 0;
  std::vector<std::string> layers = {"L0:conv",  "L0:leaky", "L1:conv",
                                     "L1:leaky", "L2:conv",  "L2:leaky"};
  auto stream = [&](int64_t stripeRows) {
    PlanGroup plan = streamPlan(g, layers, stripeRows);
    std::string error;
    std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
    EXPECT_TRUE(group) << error;
    return predictGroupLatency(g, *group, p);
  };
  GroupLatency whole = predictGroupLatency(g, group(g, layers), p);
  GroupLatency recompute = predictGroupLatency(g, group(g, layers, 8, 1), p);
  GroupLatency streamed = stream(4);
  EXPECT_EQ(streamed.haloOverhead, 0);
  EXPECT_NEAR(streamed.computeMs, whole.computeMs, 1e-9 * whole.computeMs);
  EXPECT_LT(streamed.computeMs, recompute.computeMs);
  // Shifts, bottom padding and the buffers' fills are copies.
  EXPECT_GT(streamed.copyMs, 0);
  // One-row stripes re-read the weights 32 times instead of 8.
  p.memoryGBps = p.cacheGBps = p.llcGBps = 0.001;
  EXPECT_GT(stream(1).memoryMs, stream(4).memoryMs);
}

// The stream geometry (Graph/StreamGroup.h) both models price: over all
// steps every layer computes each of its rows exactly once, in order, the
// output layer exactly the plan's stripes, every reader's window fits its
// rolling buffer, and in the steady state no layer computes more than its
// rate (S rows here: stride-1 chains).
TEST_F(LatencyModelTest, StreamGeometryComputesEveryRowOnce) {
  for (auto convs :
       std::vector<std::vector<ConvSpec>>{{{8, 3, 1}, {8, 3, 1}, {8, 3, 1}},
                                          {{8, 3, 0}, {8, 1, 0}, {8, 3, 1}},
                                          {{8, 1, 0}, {8, 3, 1}}}) {
    const LayerGraph &g = graphOf(chainModel(23, 9, 4, convs));
    std::vector<std::string> layers;
    for (size_t i = 0; i < convs.size(); ++i) {
      layers.push_back("L" + std::to_string(i) + ":conv");
      layers.push_back("L" + std::to_string(i) + ":leaky");
    }
    for (int64_t s : {1, 2, 3, 5}) {
      PlanGroup plan = streamPlan(g, layers, s);
      std::string error;
      std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
      ASSERT_TRUE(group) << error;
      std::optional<StreamGroup> stream = StreamGroup::build(g, *group, error);
      ASSERT_TRUE(stream) << error;
      size_t n = layers.size();
      std::vector<int64_t> next(n, 0);
      std::vector<Interval> stripes;
      for (const Stripe &step : stream->stripes()) {
        for (size_t l = 0; l < n; ++l) {
          Interval rows = step.rows[l];
          if (rows.isEmpty())
            continue;
          EXPECT_EQ(rows.lo, next[l]) << layers[l] << " S=" << s;
          EXPECT_LE(rows.size(), s) << layers[l];
          next[l] = rows.hi + 1;
        }
        if (!step.rows[n - 1].isEmpty())
          stripes.push_back(step.rows[n - 1]);
        for (auto [b, buffer] : llvm::enumerate(stream->buffers()))
          EXPECT_LE(step.buffers[b].window.size(), buffer.rows);
      }
      for (size_t l = 0; l < n; ++l)
        EXPECT_EQ(next[l], g.node(*g.lookup(layers[l])).outputShape[1])
            << layers[l];
      EXPECT_EQ(stripes, plan.rowTiles) << "S=" << s;
    }
  }
}

/// Replays the rolling buffers of `stream` step by step as the transform
/// runs them (before its producer runs, a buffer shifts its kept rows up
/// and fills the bottom padding entering it; the producer writes its new
/// rows; then its readers read) and checks that every reader finds, at its
/// read offset, exactly the padded rows of its window: real rows where the
/// producer wrote them, padding elsewhere. Returns the number of reads.
int checkBufferReads(const LayerGraph &g, const StreamGroup &stream,
                     const std::string &what) {
  int reads = 0;
  llvm::ArrayRef<FusedLayer> layers = stream.group().layers();
  for (auto [b, buffer] : llvm::enumerate(stream.buffers())) {
    int64_t height = g.node(layers[buffer.producer].node).outputShape[1];
    int64_t padLow = buffer.rowPadLow;
    // Padded row held by each buffer row; -1 unknown, -2 padding.
    std::vector<int64_t> held(buffer.rows, -1);
    for (int64_t r = 0; r < std::min<int64_t>(padLow, buffer.rows); ++r)
      held[r] = -2;
    for (auto [t, step] : llvm::enumerate(stream.stripes())) {
      const BufferStep &s = step.buffers[b];
      if (s.moves()) {
        if (s.keepFrom + s.keep > buffer.rows) {
          ADD_FAILURE() << what << ": buffer " << b << " overflows";
          return -1;
        }
        std::vector<int64_t> kept(held.begin() + s.keepFrom,
                                  held.begin() + s.keepFrom + s.keep);
        std::copy(kept.begin(), kept.end(), held.begin());
      }
      for (int64_t r = 0; r < s.padRows; ++r)
        held[s.padAt + r] = -2;
      Interval fresh = step.rows[buffer.producer];
      if (!fresh.isEmpty()) {
        if (s.newAt + fresh.size() > buffer.rows) {
          ADD_FAILURE() << what << ": buffer " << b << " overflows";
          return -1;
        }
        for (int64_t r = fresh.lo; r <= fresh.hi; ++r)
          held[s.newAt + r - fresh.lo] = r + padLow;
      }
      for (unsigned k = 0; k <= buffer.skipReaders.size(); ++k) {
        Interval window = s.windowOf(k);
        if (window.isEmpty())
          continue;
        ++reads;
        if (s.readAtOf(k) + window.size() > buffer.rows) {
          ADD_FAILURE() << what << ": buffer " << b << " overflows";
          return -1;
        }
        for (int64_t p = window.lo; p <= window.hi; ++p) {
          bool pad = p < padLow || p >= padLow + height;
          EXPECT_EQ(held[s.readAtOf(k) + p - window.lo], pad ? -2 : p)
              << what << " buffer " << b << " reader " << k << " step " << t;
        }
      }
    }
  }
  return reads;
}

// A MobileNetV2 inverted residual block in one stream group: X =
// relu(1x1 conv), expand 1x1, 3x3 conv (the depthwise conv's window), project
// 1x1, add(X, project). X is read by the expand conv and, one row later (the
// 3x3 window's halo), by the add: one rolling buffer of S + 1 rows that both
// read, so every row is computed once, and every read finds its rows.
// chunk_rows splits a segment through its first layer's window on the
// buffer it reads. A buffer whose readers are all pointwise (x read by a
// standalone activation and, rows later, by the residual add) has no window
// to split: that segment keeps whole steps; the head still runs in pieces.
// (Before, the split read the empty std::optional window: undefined, which
// an optimized build happened to turn into a rejected piece.)
TEST_F(LatencyModelTest, ChunkedSegmentReadingItsBufferPointwiseKeepsSteps) {
  test::GraphBuilder b;
  test::MapValue in = b.input(16, 7, 4);
  test::MapValue a = b.conv("L0:conv", in, 3, 4, 1, 1);
  test::MapValue x =
      b.eltwise("L1:relu", {b.conv("L1:conv", a, 3, 4, 1, 1)}, 1);
  test::MapValue e = b.eltwise("L2:act", {x}, 1);
  test::MapValue d = b.conv("L3:conv", e, 3, 4, 1, 1);
  test::MapValue y = b.eltwise("L4:add", {x, d}, 1);
  const LayerGraph &g = graphOf(b.finish({y}));
  std::vector<std::string> layers = {"L0:conv", "L1:conv", "L1:relu",
                                     "L2:act",  "L3:conv", "L4:add"};
  PlanGroup plan = streamPlan(g, layers, 4);
  plan.chunkRows = 1;
  std::string error;
  std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
  ASSERT_TRUE(group) << error;
  std::optional<StreamGroup> stream = StreamGroup::build(g, *group, error);
  ASSERT_TRUE(stream) << error;
  const unsigned act = 3;
  ASSERT_GE(stream->bufferReadBy(act, 0), 0); // x's buffer, pointwise.
  bool headPieces = false;
  for (const Stripe &step : stream->stripes())
    for (const Stripe &piece : step.pieces) {
      EXPECT_TRUE(piece.rows[act].isEmpty());
      headPieces |= !piece.rows[0].isEmpty();
    }
  EXPECT_TRUE(headPieces);
}

// Upsampling in groups (docs/Fusion.md, "Upsampling in groups"): a 4x4 map
// upsampled x2, concatenated with an 8x8 map and read by a 3x3 conv. A piece
// reads input rows [a / 2, b / 2] for upsampled rows [a, b] and starts
// `phase` = a - 2 * (a / 2) copies into the first; the phase is part of a
// class's static key, so one body has one phase.
TEST_F(LatencyModelTest, UpsamplingPiecesReadTheirInputRowsAtTheirPhase) {
  test::GraphBuilder b;
  test::MapValue small = b.input(4, 4, 2);
  test::MapValue wide = b.input(8, 8, 2);
  test::MapValue up = b.upsample("L0:upsample", small, 2);
  test::MapValue cat = b.concat("L1:concat", {up, wide});
  const LayerGraph &g = graphOf(b.finish({b.conv("L2:conv", cat, 3, 3, 1, 1)}));
  std::vector<std::string> layers = {"L0:upsample", "L1:concat", "L2:conv"};
  std::string error;

  // A 3x2 recompute grid: the conv's halo asks upsampled rows 0-3, 2-6, 5-7
  // and columns 0-4, 3-7.
  PlanGroup grid;
  grid.name = "t";
  grid.layers = layers;
  grid.gridRows = 3;
  grid.gridCols = 2;
  grid.rowTiles = {Interval(0, 2), Interval(3, 5), Interval(6, 7)};
  grid.colTiles = {Interval(0, 3), Interval(4, 7)};
  std::optional<FusionGroup> tiled = FusionGroup::build(g, grid, error);
  ASSERT_TRUE(tiled) << error;
  const TileAxis &rows = tiled->rows(), &cols = tiled->cols();
  std::vector<Interval> wantSpan = {Interval(0, 3), Interval(2, 6),
                                    Interval(5, 7)};
  std::vector<Interval> wantRead = {Interval(0, 1), Interval(1, 3),
                                    Interval(2, 3)};
  std::vector<int64_t> wantPhase = {0, 0, 1};
  for (unsigned t = 0; t < 3; ++t) {
    EXPECT_EQ(rows.span[t][0], wantSpan[t]) << "tile row " << t;
    EXPECT_EQ(rows.read[t][0][0], wantRead[t]) << "tile row " << t;
    EXPECT_EQ(rows.phase[t][0], wantPhase[t]) << "tile row " << t;
    EXPECT_EQ(rows.phase[t][1], 0); // Only the upsampling has a phase.
  }
  EXPECT_EQ(cols.span[1][0], Interval(3, 7));
  EXPECT_EQ(cols.read[1][0][0], Interval(1, 3));
  EXPECT_EQ(cols.phase[0][0], 0);
  EXPECT_EQ(cols.phase[1][0], 1);

  // Streamed in stripes of 3 rows: the concat (the conv's rolling buffer)
  // computes rows 0-2, 3-5, 6-7, and the upsampling, pulled by it, the same.
  PlanGroup plan = streamPlan(g, layers, 3);
  std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
  ASSERT_TRUE(group) << error;
  std::optional<StreamGroup> stream = StreamGroup::build(g, *group, error);
  ASSERT_TRUE(stream) << error;
  std::vector<Interval> gotRows, gotRead;
  std::vector<int64_t> gotPhase;
  for (const Stripe &step : stream->stripes()) {
    if (step.rows[0].isEmpty())
      continue;
    EXPECT_EQ(step.rows[0], step.rows[1]);
    gotRows.push_back(step.rows[0]);
    gotRead.push_back(step.externalRead[0][0]);
    gotPhase.push_back(step.phase[0]);
  }
  EXPECT_EQ(gotRows, (std::vector<Interval>{Interval(0, 2), Interval(3, 5),
                                            Interval(6, 7)}));
  EXPECT_EQ(gotRead, (std::vector<Interval>{Interval(0, 1), Interval(1, 2),
                                            Interval(3, 3)}));
  EXPECT_EQ(gotPhase, (std::vector<int64_t>{0, 1, 0}));
  EXPECT_LT(stream->bufferOf(0), 0); // No buffer: it reads a whole map.
}

// Upsampling by 3, where a piece can start on the third copy of a row
// (phase 2): a 2x9 map upsampled to 6x27, read by a 3x3 conv in 2 row tiles
// and 3 column tiles of 9, which ask columns 0-9, 8-18 and 17-26 of it:
// phases 0, 2 (column 8 is the third copy of input column 2) and 2.
TEST_F(LatencyModelTest, UpsamplingByThreeStartsOnTheThirdCopy) {
  test::GraphBuilder b;
  test::MapValue up = b.upsample("L0:upsample", b.input(2, 9, 2), 3);
  const LayerGraph &g = graphOf(b.finish({b.conv("L1:conv", up, 3, 2, 1, 1)}));
  PlanGroup grid;
  grid.name = "t";
  grid.layers = {"L0:upsample", "L1:conv"};
  grid.gridRows = 2;
  grid.gridCols = 3;
  grid.rowTiles = {Interval(0, 2), Interval(3, 5)};
  grid.colTiles = {Interval(0, 8), Interval(9, 17), Interval(18, 26)};
  std::string error;
  std::optional<FusionGroup> tiled = FusionGroup::build(g, grid, error);
  ASSERT_TRUE(tiled) << error;
  const TileAxis &rows = tiled->rows(), &cols = tiled->cols();
  // Rows 0-3 (phase 0, input rows 0-1) and 2-5 (phase 2, input rows 0-1).
  EXPECT_EQ(rows.span[1][0], Interval(2, 5));
  EXPECT_EQ(rows.read[1][0][0], Interval(0, 1));
  EXPECT_EQ(rows.phase[0][0], 0);
  EXPECT_EQ(rows.phase[1][0], 2);
  std::vector<Interval> wantRead = {Interval(0, 3), Interval(2, 6),
                                    Interval(5, 8)};
  std::vector<int64_t> wantPhase = {0, 2, 2};
  for (unsigned t = 0; t < 3; ++t) {
    EXPECT_EQ(cols.read[t][0][0], wantRead[t]) << "column tile " << t;
    EXPECT_EQ(cols.phase[t][0], wantPhase[t]) << "column tile " << t;
  }
}

// A stream group cannot upsample one of its own layers: that layer would
// step at half its reader's rate. (FusionGroup::build runs the stream
// checks for a stream group; a recompute grid takes the same layers.)
TEST_F(LatencyModelTest, StreamedUpsamplingOfAGroupLayerIsAnError) {
  test::GraphBuilder b;
  test::MapValue small = b.conv("L0:conv", b.input(4, 4, 2), 1, 2, 1, 0);
  test::MapValue up = b.upsample("L1:upsample", small, 2);
  const LayerGraph &g = graphOf(b.finish({b.conv("L2:conv", up, 3, 2, 1, 1)}));
  PlanGroup plan = streamPlan(g, {"L0:conv", "L1:upsample", "L2:conv"}, 4);
  std::string error;
  EXPECT_FALSE(FusionGroup::build(g, plan, error));
  EXPECT_EQ(error, "group 's': layer 'L1:upsample' upsamples 'L0:conv', a "
                   "layer of the group; a stream group upsamples maps from "
                   "outside it, so start the group at the upsampling");
  plan.mode = GroupMode::Recompute;
  plan.stripeRows = 0;
  EXPECT_TRUE(FusionGroup::build(g, plan, error)) << error;
}

// A producer that ran in pieces (chunk_rows) leaves only its last piece's
// tile; a reader whose window is exactly the producer's rows of the step
// must read them from the buffer. (It took the last piece's one-row tile
// for a three-row window: a pool of SqueezeNet's first stream group failed
// to verify.)
TEST_F(LatencyModelTest, ChunkedProducerIsReadFromItsBuffer) {
  // A 3x3 conv read by a 3x3 window of stride 2 with no padding (as in
  // SqueezeNet's stem), which a 1x1 conv pulls one row at a time while the
  // 3x3 conv makes rows for stripes of 2 of the output: in some steps the
  // window is exactly the 3x3 conv's rows.
  test::GraphBuilder b;
  test::MapValue in = b.input(13, 7, 4);
  test::MapValue a = b.conv("L0:conv", in, 3, 4, 1, 1);
  test::MapValue p = b.conv("L1:conv", a, 3, 4, 2, 0);
  test::MapValue q = b.conv("L2:conv", p, 1, 4, 1, 0);
  const LayerGraph &g = graphOf(b.finish({b.conv("L3:conv", q, 3, 4, 1, 1)}));
  PlanGroup plan =
      streamPlan(g, {"L0:conv", "L1:conv", "L2:conv", "L3:conv"}, 2);
  plan.chunkRows = 1;
  std::string error;
  std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
  ASSERT_TRUE(group) << error;
  std::optional<StreamGroup> stream = StreamGroup::build(g, *group, error);
  ASSERT_TRUE(stream) << error;
  int buffer = stream->bufferOf(0);
  ASSERT_GE(buffer, 0);
  int exact = 0;
  for (const Stripe &step : stream->stripes()) {
    if (step.pieces.empty() || step.rows[1].isEmpty())
      continue;
    const BufferStep &read = step.buffers[buffer];
    exact +=
        read.readAt == read.newAt && read.window.size() == step.rows[0].size();
    EXPECT_FALSE(stream->readsFreshTile(step, 1, 0, 0));
  }
  EXPECT_GT(exact, 0) << "no step in which the window is the fresh rows";
  EXPECT_GT(checkBufferReads(g, *stream, "chunked"), 0);
}

// A global average pool's sum at the end of a stream group (Graph/
// StreamGroup.h, "Global reductions"): stripe_rows counts rows of the map it
// reduces. In every step it accumulates exactly its producer's fresh rows
// (no rolling buffer between them), every row once and in order, in
// stripes of S rows; the 3x3 conv before it still finds its rows in its
// rolling buffer.
// Priced, the pool's steps add up to the whole pool's FLOPs.
TEST_F(LatencyModelTest, StreamGeometryGlobalReduction) {
  test::GraphBuilder b;
  test::MapValue x = b.input(9, 7, 4);
  x = b.eltwise("L0:leaky", {b.conv("L0:conv", x, 3, 8, 1, 1)}, 4);
  x = b.eltwise("L1:relu", {b.conv("L1:conv", x, 3, 16, 1, 1)}, 1);
  const LayerGraph &g = graphOf(b.finish({b.globalSumPool("L2:gsum", x)}));
  std::vector<std::string> layers = {"L0:conv", "L0:leaky", "L1:conv",
                                     "L1:relu", "L2:gsum"};
  const unsigned pool = 4, producer = 3;
  TargetProfile p = plainProfile();
  p.layerOverheadUs = p.tileOverheadUs = 0;
  GroupLatency whole = predictGroupLatency(g, group(g, layers), p);
  for (int64_t s : {1, 2, 4, 8}) {
    PlanGroup plan;
    plan.name = "s";
    plan.layers = layers;
    plan.mode = GroupMode::Stream;
    plan.stripeRows = s;
    plan.rowTiles = {Interval(0, 0)};
    plan.colTiles = {Interval(0, 0)};
    std::string error;
    std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
    ASSERT_TRUE(group) << error;
    EXPECT_TRUE(group->isTiled());
    std::optional<StreamGroup> stream = StreamGroup::build(g, *group, error);
    ASSERT_TRUE(stream) << error;
    EXPECT_EQ(stream->reduction(), (int)pool);
    EXPECT_EQ(stream->bufferOf(producer), -1) << "S=" << s;
    std::vector<Interval> accumulated;
    for (const Stripe &step : stream->stripes()) {
      if (step.rows[pool].isEmpty())
        continue;
      EXPECT_EQ(step.rows[pool], step.rows[producer]) << "S=" << s;
      accumulated.push_back(step.rows[pool]);
    }
    EXPECT_EQ(accumulated, stripeSplit(9, s)) << "S=" << s;
    EXPECT_GT(checkBufferReads(g, *stream, "S=" + std::to_string(s)), 0);
    GroupLatency streamed = predictGroupLatency(g, *group, p);
    EXPECT_NEAR(streamed.computeMs, whole.computeMs, 1e-9 * whole.computeMs)
        << "S=" << s;
    EXPECT_EQ(streamed.haloOverhead, 0);
  }
  // Nine rows in one stripe stream nothing.
  PlanGroup plan;
  plan.name = "s";
  plan.layers = layers;
  plan.mode = GroupMode::Stream;
  plan.stripeRows = 9;
  plan.rowTiles = {Interval(0, 0)};
  plan.colTiles = {Interval(0, 0)};
  std::string error;
  EXPECT_FALSE(FusionGroup::build(g, plan, error));
  EXPECT_EQ(error, "group 's': stripe_rows 9 leaves nothing to stream: "
                   "'L2:gsum' reduces 9 rows");
}

/// An inverted residual block on a 13 x `width` x 4 map: X = relu(1x1
/// conv), then a 1x1 expand, a 3x3 conv, a 1x1 project and the add with X.
LayerGraph residualBlock(int64_t width) {
  test::GraphBuilder b;
  test::MapValue x = b.input(13, width, 4);
  test::MapValue X =
      b.eltwise("L0:relu", {b.conv("L0:conv", x, 1, 4, 1, 0)}, 1);
  test::MapValue e = b.conv("L1:conv", X, 1, 8, 1, 0);
  test::MapValue d = b.conv("L2:conv", e, 3, 8, 1, 1);
  test::MapValue p = b.conv("L3:conv", d, 1, 4, 1, 0);
  test::MapValue y = b.eltwise("L4:add", {X, p}, 1);
  return b.finish({y});
}

/// residualBlock's layers, in order.
std::vector<std::string> residualBlockLayers() {
  return {"L0:conv", "L0:relu", "L1:conv", "L2:conv", "L3:conv", "L4:add"};
}

TEST_F(LatencyModelTest, StreamGeometryResidualBlock) {
  const LayerGraph &g = graphOf(residualBlock(7));
  const std::vector<std::string> layers = residualBlockLayers();
  for (int64_t s : {1, 2, 3, 5}) {
    PlanGroup plan = streamPlan(g, layers, s);
    std::string error;
    std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
    ASSERT_TRUE(group) << error;
    std::optional<StreamGroup> stream = StreamGroup::build(g, *group, error);
    ASSERT_TRUE(stream) << error;
    size_t n = layers.size();
    std::vector<int64_t> next(n, 0);
    for (const Stripe &step : stream->stripes())
      for (size_t l = 0; l < n; ++l)
        if (!step.rows[l].isEmpty()) {
          EXPECT_EQ(step.rows[l].lo, next[l]) << layers[l] << " S=" << s;
          next[l] = step.rows[l].hi + 1;
        }
    for (size_t l = 0; l < n; ++l)
      EXPECT_EQ(next[l], 13) << layers[l] << " S=" << s;
    // X (L0:relu, position 1): main reader the expand conv, skip reader the
    // add's operand 0; the 3x3 conv's padded buffer; (with S > 1, the 3x3
    // conv's rows not yet a whole stripe of the project conv's); no other
    // buffer has a skip reader.
    for (const RollingBuffer &buffer : stream->buffers())
      EXPECT_TRUE(buffer.skipReaders.empty() || buffer.producer == 1);
    ASSERT_GE(stream->bufferOf(1), 0) << "S=" << s;
    const RollingBuffer &skip = stream->buffers()[stream->bufferOf(1)];
    EXPECT_EQ(skip.consumer, 2);
    ASSERT_EQ(skip.skipReaders.size(), 1u);
    EXPECT_EQ(skip.skipReaders[0], std::make_pair(5u, 0u));
    EXPECT_EQ(skip.rowPadLow, 0);
    // The add lags X by the 3x3 window's halo (one row) and, since the
    // project conv computes whole stripes of the 3x3 conv, which lags X by
    // that row, by up to S - 1 rows more: S + 1 to 2 S rows, never the
    // whole map.
    EXPECT_GE(skip.rows, s + 1) << "S=" << s;
    EXPECT_LE(skip.rows, std::max<int64_t>(2, 2 * s)) << "S=" << s;
    EXPECT_EQ(stream->bufferReadBy(5, 0), stream->bufferOf(1));
    EXPECT_EQ(stream->readerIndex(5, 0), 1u);
    EXPECT_EQ(stream->bufferReadBy(5, 1), -1); // The project conv's tile.
    EXPECT_GE(stream->bufferOf(2), 0);
    EXPECT_GT(checkBufferReads(g, *stream, "S=" + std::to_string(s)), 0);
  }
  // Chains keep their buffers exact too.
  const LayerGraph &chain =
      graphOf(chainModel(23, 9, 4, {{8, 3, 0}, {8, 1, 0}, {8, 3, 1}}));
  PlanGroup plan = streamPlan(
      chain,
      {"L0:conv", "L0:leaky", "L1:conv", "L1:leaky", "L2:conv", "L2:leaky"}, 2);
  std::string error;
  std::optional<FusionGroup> group = FusionGroup::build(chain, plan, error);
  ASSERT_TRUE(group) << error;
  std::optional<StreamGroup> stream = StreamGroup::build(chain, *group, error);
  ASSERT_TRUE(stream) << error;
  EXPECT_GT(checkBufferReads(chain, *stream, "chain"), 0);
}

/// Two fire modules (SqueezeNet) on a 13 x 9 x 4 map: a 1x1 squeeze + relu
/// read by a 1x1 and a 3x3 expand conv, whose concat the next squeeze
/// reads; the second concat is read by a 3x3 conv.
LayerGraph fireModules() {
  test::GraphBuilder b;
  test::MapValue x = b.input(13, 9, 4);
  test::MapValue s0 =
      b.eltwise("L0:relu", {b.conv("L0:conv", x, 1, 2, 1, 0)}, 1);
  test::MapValue c0 =
      b.concat("L3:concat", {b.conv("L1:conv", s0, 1, 3, 1, 0),
                             b.conv("L2:conv", s0, 3, 3, 1, 1)});
  test::MapValue s1 = b.conv("L4:conv", c0, 1, 2, 1, 0);
  test::MapValue c1 =
      b.concat("L7:concat", {b.conv("L5:conv", s1, 1, 3, 1, 0),
                             b.conv("L6:conv", s1, 3, 3, 1, 1)});
  return b.finish({b.conv("L8:conv", c1, 3, 4, 1, 1)});
}

// Concats (issue 12): a fire module streams with one buffer per squeeze
// (the 3x3 expand's window, which the 1x1 expand reads a row behind the new
// one) and none for the 1x1 expand, which runs in step with the concat
// (pulled) instead of a row ahead; both expands write into the concat's
// destination directly; every row is computed once and every read finds
// its rows.
TEST_F(LatencyModelTest, StreamGeometryFireModules) {
  const LayerGraph &g = graphOf(fireModules());
  const std::vector<std::string> layers = {
      "L0:conv", "L0:relu", "L1:conv", "L2:conv",   "L3:concat",
      "L4:conv", "L5:conv", "L6:conv", "L7:concat", "L8:conv"};
  for (int64_t s : {1, 2, 4}) {
    PlanGroup plan = streamPlan(g, layers, s);
    std::string error;
    std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
    ASSERT_TRUE(group) << error;
    std::optional<StreamGroup> stream = StreamGroup::build(g, *group, error);
    ASSERT_TRUE(stream) << error;
    std::vector<int64_t> next(layers.size(), 0);
    for (const Stripe &step : stream->stripes()) {
      for (size_t l = 0; l < layers.size(); ++l)
        if (!step.rows[l].isEmpty()) {
          EXPECT_EQ(step.rows[l].lo, next[l]) << layers[l] << " S=" << s;
          next[l] = step.rows[l].hi + 1;
        }
      // The 1x1 expands compute the concat's rows, in its step.
      EXPECT_EQ(step.rows[2], step.rows[4]) << "S=" << s;
      EXPECT_EQ(step.rows[6], step.rows[8]) << "S=" << s;
    }
    for (size_t l = 0; l < layers.size(); ++l)
      EXPECT_EQ(next[l], 13) << layers[l] << " S=" << s;
    // Buffers: the squeezes (read by both expands), the last concat (read
    // by the 3x3 conv); the first concat is read pointwise by the second
    // squeeze, in step: a fresh tile.
    EXPECT_GE(stream->bufferOf(1), 0);
    EXPECT_GE(stream->bufferOf(5), 0);
    EXPECT_GE(stream->bufferOf(8), 0);
    EXPECT_EQ(stream->buffers().size(), 3u) << "S=" << s;
    const RollingBuffer &squeeze = stream->buffers()[stream->bufferOf(1)];
    EXPECT_EQ(squeeze.consumer, 3); // The 3x3 expand, whose rows it pads.
    ASSERT_EQ(squeeze.skipReaders.size(), 1u);
    EXPECT_EQ(squeeze.skipReaders[0], std::make_pair(2u, 0u));
    for (unsigned l : {2u, 3u, 6u, 7u}) {
      EXPECT_EQ(stream->bufferOf(l), -1) << layers[l];
      EXPECT_EQ(stream->directConcat(l), l < 4 ? 4 : 8) << layers[l];
    }
    EXPECT_EQ(stream->directConcatChannel(2), 0);
    EXPECT_EQ(stream->directConcatChannel(3), 3);
    EXPECT_EQ(stream->firstDirectOperand(4), 2);
    EXPECT_EQ(stream->directConcat(1), -1);
    EXPECT_GT(checkBufferReads(g, *stream, "S=" + std::to_string(s)), 0);
  }
}

// Hybrid (issue 12): a stream group in column tiles streams every column
// tile top to bottom on its own columns. The rows are those of the
// full-width stream, step by step; every rolling buffer has, per column
// tile, the producer's span there with its reader's column padding (only
// at the image border), and the widest of them as its static width. The add
// reads fewer columns of X's buffer than the expand conv (whose 3x3 reader
// has a column halo), from inside it. Column halos are recomputed and
// priced: more compute than the full-width stream, never fewer rows.
TEST_F(LatencyModelTest, StreamGeometryHybridColumns) {
  const LayerGraph &g = graphOf(residualBlock(11));
  const std::vector<std::string> layers = residualBlockLayers();
  TargetProfile profile = plainProfile();
  for (int64_t s : {1, 2, 3}) {
    std::string what = "S=" + std::to_string(s);
    PlanGroup wholePlan = streamPlan(g, layers, s);
    PlanGroup plan = wholePlan;
    plan.gridCols = 3;
    plan.colTiles = {{0, 3}, {4, 7}, {8, 10}};
    std::string error;
    std::optional<FusionGroup> whole = FusionGroup::build(g, wholePlan, error);
    ASSERT_TRUE(whole) << error;
    std::optional<FusionGroup> group = FusionGroup::build(g, plan, error);
    ASSERT_TRUE(group) << error;
    std::optional<StreamGroup> full = StreamGroup::build(g, *whole, error);
    ASSERT_TRUE(full) << error;
    std::optional<StreamGroup> stream = StreamGroup::build(g, *group, error);
    ASSERT_TRUE(stream) << error;
    ASSERT_EQ(stream->stripes().size(), full->stripes().size()) << what;
    for (auto [a, b] : llvm::zip(stream->stripes(), full->stripes()))
      EXPECT_EQ(a.rows, b.rows) << what;
    ASSERT_EQ(stream->buffers().size(), full->buffers().size()) << what;
    const TileAxis &cols = group->cols();
    for (const RollingBuffer &buffer : stream->buffers()) {
      ASSERT_EQ(buffer.columns.size(), 3u);
      int64_t widest = 0;
      for (unsigned c = 0; c < 3; ++c) {
        const BufferColumns &in = buffer.columns[c];
        EXPECT_EQ(in.cols, in.padLow + cols.span[c][buffer.producer].size() +
                               in.padHigh);
        // Padding only where the column tile meets the image border.
        EXPECT_TRUE(in.padLow == 0 || c == 0) << what;
        EXPECT_TRUE(in.padHigh == 0 || c == 2) << what;
        for (Interval read : in.read)
          EXPECT_TRUE(Interval(0, in.cols - 1).contains(read)) << what;
        widest = std::max(widest, in.cols);
      }
      EXPECT_EQ(buffer.cols, widest) << what;
    }
    // The 3x3 conv's buffer is padded at the two borders.
    ASSERT_GE(stream->bufferOf(2), 0);
    const RollingBuffer &conv = stream->buffers()[stream->bufferOf(2)];
    EXPECT_EQ(conv.columns[0].padLow, 1);
    EXPECT_EQ(conv.columns[2].padHigh, 1);
    // X's buffer: the add (reader 1) reads its own columns, one fewer on
    // each inner side than the expand conv (reader 0) needs.
    ASSERT_GE(stream->bufferOf(1), 0);
    const BufferColumns &mid =
        stream->buffers()[stream->bufferOf(1)].columns[1];
    EXPECT_EQ(mid.read[0], mid.written());
    EXPECT_EQ(mid.read[1], Interval(1, 4));
    EXPECT_GT(checkBufferReads(g, *stream, what), 0);
    GroupLatency hybrid = predictGroupLatency(g, *group, profile);
    GroupLatency streamed = predictGroupLatency(g, *whole, profile);
    EXPECT_GT(hybrid.haloOverhead, 0) << what;
    EXPECT_EQ(streamed.haloOverhead, 0) << what;
    EXPECT_GT(hybrid.computeMs, streamed.computeMs) << what;

    // Concurrent column tiles: two slots take the bands {0} and {1, 2}
    // (CodegenRules.h, slotOfTile) and stream them on two threads with no
    // split step; the slower band sets the time. On one thread the slots
    // run one after another: the serial time.
    plan.slots = 2;
    std::optional<FusionGroup> slotted = FusionGroup::build(g, plan, error);
    ASSERT_TRUE(slotted) << error;
    TargetProfile p = profile;
    p.parallelEfficiency = 0.8;
    p.parallelLaunchUs = 5;
    GroupLatency serial = predictGroupLatency(g, *group, p);
    GroupLatency oneThread =
        predictGroupLatency(g, *slotted, p, ParallelOptions{1, 1});
    EXPECT_NEAR(oneThread.ms, serial.ms, 1e-9 * serial.ms) << what;
    EXPECT_EQ(oneThread.slotThreads, 1u) << what;
    GroupLatency concurrent =
        predictGroupLatency(g, *slotted, p, ParallelOptions{2, 1});
    EXPECT_EQ(concurrent.splitSteps, 0u) << what;
    EXPECT_EQ(concurrent.slots, 2);
    EXPECT_EQ(concurrent.slotThreads, 2u);
    // Bands of one and two of three similar column tiles: about 2/3 of the
    // serial time at efficiency 0.8, never below half of it.
    EXPECT_GT(concurrent.ms, serial.ms / 2 / 0.8) << what;
    EXPECT_LT(concurrent.ms, serial.ms) << what;
    EXPECT_NEAR(concurrent.ms, serial.ms * 2 / 3 / 0.8, 0.15 * serial.ms)
        << what;
  }
}
