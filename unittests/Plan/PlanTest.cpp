//===- PlanTest.cpp - Plans: tiles, checks, JSON --------------------------===//
//
// The plan is the contract between the search, hand-written files, the IR
// and the fuse-tile transform, so every way in is pinned here: balanced
// tiles, each check of validatePlan, the JSON text the writer produces and
// every error the reader can give (by JSON path). The round trip through
// #mafat.plan is unittests/Dialect/PlanAttrTest.cpp, so this test links no
// MLIR.
//
//===----------------------------------------------------------------------===//

#include "mafat/Plan/Plan.h"
#include "Plan/PlanFixtures.h"

#include "gtest/gtest.h"

#include <map>

using namespace mafat;
using namespace mafat::fixtures;

namespace {

std::vector<int64_t> sizes(const std::vector<Interval> &tiles) {
  std::vector<int64_t> result;
  for (Interval tile : tiles)
    result.push_back(tile.size());
  return result;
}

/// A chain L0:conv (8x8) -> L1:maxpool (4x4) -> L2:conv (4x4) -> L3:conv
/// (2x3), as a layer graph would report it.
const std::map<std::string, LayerExtent> &extents() {
  static const std::map<std::string, LayerExtent> table = {
      {"L0:conv", {8, 8}},
      {"L1:maxpool", {4, 4}},
      {"L2:conv", {4, 4}},
      {"L3:conv", {2, 3}},
  };
  return table;
}

std::optional<LayerExtent> lookup(llvm::StringRef name) {
  auto it = extents().find(name.str());
  if (it == extents().end())
    return std::nullopt;
  return it->second;
}

std::string validate(const Plan &plan) { return validatePlan(plan, lookup); }

//===----------------------------------------------------------------------===//
// Balanced tiles
//===----------------------------------------------------------------------===//

TEST(BalancedTiles, FirstRemainderTilesGetOneMore) {
  PlanGroup g = group("g0", {"L0"}, 5, 4, {}, {});
  ASSERT_EQ(assignBalancedTiles(g, 608, 13), "");
  EXPECT_EQ(sizes(g.rowTiles), (std::vector<int64_t>{122, 122, 122, 121, 121}));
  EXPECT_EQ(sizes(g.colTiles), (std::vector<int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(g.rowTiles.front(), Interval(0, 121));
  EXPECT_EQ(g.rowTiles[3], Interval(366, 486));
  EXPECT_EQ(g.rowTiles.back(), Interval(487, 607));
  EXPECT_EQ(g.colTiles.back(), Interval(10, 12));
  // What the tiles partition is exactly what tileGrid says.
  std::vector<Region> grid = tileGrid(608, 13, 5, 4);
  ASSERT_EQ(grid.size(), 20u);
  for (size_t i = 0; i < 5; ++i)
    for (size_t j = 0; j < 4; ++j)
      EXPECT_EQ(grid[i * 4 + j], Region(g.rowTiles[i], g.colTiles[j]));
}

TEST(BalancedTiles, OneTilePerElementAndWholeMap) {
  PlanGroup g = group("g0", {"L0"}, 3, 1, {}, {});
  ASSERT_EQ(assignBalancedTiles(g, 3, 7), "");
  EXPECT_EQ(g.rowTiles, (std::vector<Interval>{{0, 0}, {1, 1}, {2, 2}}));
  EXPECT_EQ(g.colTiles, (std::vector<Interval>{{0, 6}}));
}

TEST(BalancedTiles, GridLargerThanExtentLeavesGroupAlone) {
  PlanGroup g = group("g0", {"L0"}, 5, 1, {{0, 9}}, {{0, 9}});
  PlanGroup before = g;
  EXPECT_EQ(assignBalancedTiles(g, 4, 10),
            "group 'g0': grid 5x1 has more rows than the 4 output rows");
  EXPECT_EQ(g, before);
  g.gridRows = 1;
  g.gridCols = 11;
  EXPECT_EQ(assignBalancedTiles(g, 4, 10),
            "group 'g0': grid 1x11 has more columns than the 10 output "
            "columns");
  g.gridCols = 0;
  EXPECT_EQ(assignBalancedTiles(g, 4, 10),
            "group 'g0': grid 1x0 must be at least 1x1");
}

TEST(BalancedTiles, AssignMissingTilesFillsOnlyWhatIsMissing) {
  Plan plan;
  plan.groups.push_back(group("g0", {"L0:conv", "L1:maxpool"}, 3, 2, {}, {}));
  plan.groups.push_back(group("g1", {"L2:conv"}, 2, 1, {{0, 0}, {1, 3}}, {}));
  plan.groups.push_back(group("g2", {"L9:nope"}, 1, 1, {}, {}));
  plan.groups.push_back(group("g3", {"L3:conv"}, 3, 1, {}, {}));
  assignMissingTiles(plan, lookup);
  EXPECT_EQ(plan.groups[0].rowTiles,
            (std::vector<Interval>{{0, 1}, {2, 2}, {3, 3}}));
  EXPECT_EQ(plan.groups[0].colTiles, (std::vector<Interval>{{0, 1}, {2, 3}}));
  // Explicit tiles stay, even uneven ones.
  EXPECT_EQ(plan.groups[1].rowTiles, (std::vector<Interval>{{0, 0}, {1, 3}}));
  EXPECT_EQ(plan.groups[1].colTiles, (std::vector<Interval>{{0, 3}}));
  // Unknown layer and a grid too large: left for validatePlan to report.
  EXPECT_TRUE(plan.groups[2].rowTiles.empty());
  EXPECT_TRUE(plan.groups[3].rowTiles.empty());
  EXPECT_EQ(plan.groups[3].colTiles, (std::vector<Interval>{{0, 2}}));
  EXPECT_EQ(validate(plan), "group 'g2': unknown layer 'L9:nope'");
  plan.groups.erase(plan.groups.begin() + 2);
  EXPECT_EQ(validate(plan), "group 'g3': grid 3x1 has more rows than the 2 "
                            "output rows of 'L3:conv'");
}

//===----------------------------------------------------------------------===//
// validatePlan
//===----------------------------------------------------------------------===//

TEST(ValidatePlan, AcceptsValidPlans) {
  EXPECT_EQ(validate(validPlan()), "");
  EXPECT_EQ(validate(Plan()), "");
  EXPECT_EQ(checkPlanStructure(validPlan(), /*requireTiles=*/true), "");
}

TEST(ValidatePlan, UnknownLayer) {
  Plan plan = validPlan();
  plan.groups[1].layers[0] = "L2:cnov";
  EXPECT_EQ(validate(plan), "group 'g1': unknown layer 'L2:cnov'");
}

TEST(ValidatePlan, DuplicateLayer) {
  Plan plan = validPlan();
  plan.groups[1].layers[0] = "L1:maxpool";
  EXPECT_EQ(validate(plan),
            "group 'g1': layer 'L1:maxpool' is also in group 'g0'");
  plan = validPlan();
  plan.groups[0].layers[1] = "L0:conv";
  EXPECT_EQ(validate(plan), "group 'g0': layer 'L0:conv' is listed twice");
}

TEST(ValidatePlan, NamesAndEmptyGroups) {
  Plan plan = validPlan();
  plan.groups[1].name = "g0";
  EXPECT_EQ(validate(plan),
            "group 'g0': group name 'g0' is also used by groups[0]");
  plan = validPlan();
  plan.groups[1].name = "";
  EXPECT_EQ(validate(plan), "group #1: group name is empty");
  plan = validPlan();
  plan.groups[1].layers.clear();
  EXPECT_EQ(validate(plan), "group 'g1': group has no layers");
  plan = validPlan();
  plan.groups[1].layers[1] = "";
  EXPECT_EQ(validate(plan), "group 'g1': layer name is empty");
}

TEST(ValidatePlan, GridLargerThanExtent) {
  Plan plan = validPlan();
  plan.groups[1].gridRows = 3;
  plan.groups[1].rowTiles = {{0, 0}, {1, 1}, {2, 2}};
  EXPECT_EQ(validate(plan), "group 'g1': grid 3x3 has more rows than the 2 "
                            "output rows of 'L3:conv'");
  plan = validPlan();
  plan.groups[0].gridCols = 5;
  plan.groups[0].colTiles = {{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}};
  EXPECT_EQ(validate(plan), "group 'g0': grid 2x5 has more columns than the "
                            "4 output columns of 'L1:maxpool'");
  plan = validPlan();
  plan.groups[0].gridRows = 0;
  EXPECT_EQ(validate(plan), "group 'g0': grid 0x2 must be at least 1x1");
}

TEST(ValidatePlan, TileGapsOverlapsAndEnds) {
  Plan plan = validPlan();
  plan.groups[0].rowTiles = {{0, 0}, {2, 3}};
  EXPECT_EQ(validate(plan),
            "group 'g0': gap between row tiles [0, 0] and [2, 3]");
  plan.groups[0].rowTiles = {{0, 2}, {2, 3}};
  EXPECT_EQ(validate(plan), "group 'g0': row tiles [0, 2] and [2, 3] overlap");
  plan.groups[0].rowTiles = {{1, 1}, {2, 3}};
  EXPECT_EQ(validate(plan),
            "group 'g0': first row tile [1, 1] does not start at 0");
  plan.groups[0].rowTiles = {{0, 1}, {2, 1}};
  EXPECT_EQ(validate(plan), "group 'g0': row tile [2, 1] is empty");
  plan.groups[0].rowTiles = {{0, 3}};
  EXPECT_EQ(validate(plan), "group 'g0': 1 row tile for a grid of 2 rows");
  plan.groups[0].rowTiles = {{0, 1}, {2, 2}};
  EXPECT_EQ(validate(plan),
            "group 'g0': row tiles end at 2 but 'L1:maxpool' has 4 output "
            "rows (the last tile must end at 3)");
  plan.groups[0].rowTiles = {{0, 1}, {2, 4}};
  EXPECT_EQ(validate(plan),
            "group 'g0': row tiles end at 4 but 'L1:maxpool' has 4 output "
            "rows (the last tile must end at 3)");
  plan = validPlan();
  plan.groups[1].colTiles = {{0, 0}, {2, 2}, {3, 3}};
  EXPECT_EQ(validate(plan),
            "group 'g1': gap between column tiles [0, 0] and [2, 2]");
  plan.groups[1].colTiles = {{0, 0}, {1, 2}};
  EXPECT_EQ(validate(plan),
            "group 'g1': 2 column tiles for a grid of 3 columns");
}

TEST(ValidatePlan, MissingTiles) {
  Plan plan = validPlan();
  plan.groups[1].colTiles.clear();
  EXPECT_EQ(validate(plan), "group 'g1': column tiles are missing");
  EXPECT_EQ(checkPlanStructure(plan, /*requireTiles=*/false), "");
  EXPECT_EQ(checkPlanStructure(plan, /*requireTiles=*/true),
            "group 'g1': column tiles are missing");
  assignMissingTiles(plan, lookup);
  EXPECT_EQ(plan, validPlan());
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

TEST(PlanJson, WritesTheDocumentedSchema) {
  EXPECT_EQ(planToJson(validPlan()), R"({
  "groups": [
    {
      "name": "g0",
      "layers": ["L0:conv", "L1:maxpool"],
      "grid": [2, 2],
      "row_tiles": [[0, 1], [2, 3]],
      "col_tiles": [[0, 1], [2, 3]]
    },
    {
      "name": "g1",
      "layers": ["L2:conv", "L3:conv"],
      "grid": [1, 3],
      "row_tiles": [[0, 1]],
      "col_tiles": [[0, 0], [1, 1], [2, 2]]
    }
  ]
}
)");
  EXPECT_EQ(planToJson(Plan()), "{\n  \"groups\": []\n}\n");
}

TEST(PlanJson, RoundTrip) {
  Plan slotted = validPlan();
  slotted.groups[0].slots = 3;
  for (Plan plan : {validPlan(), Plan(), slotted}) {
    std::string error;
    std::optional<Plan> back = planFromJson(planToJson(plan), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(error, "");
    EXPECT_EQ(*back, plan);
  }
  // Names needing escapes, and tiles left out, survive too.
  Plan plan;
  plan.groups.push_back(
      group("a \"quoted\" \\ name", {"conv/1:x", "tab\there"}, 2, 1, {}, {}));
  std::string error;
  std::optional<Plan> back = planFromJson(planToJson(plan), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, plan);
  EXPECT_EQ(planToJson(plan).find("row_tiles"), std::string::npos);
}

TEST(PlanJson, DefaultsAndOptionalTiles) {
  std::string error;
  std::optional<Plan> plan = planFromJson(R"({"groups": [
      {"layers": ["L0:conv", "L1:maxpool"], "grid": [3, 2]},
      {"layers": ["L2:conv"], "grid": [1, 1], "row_tiles": [],
       "col_tiles": [[0, 3]]}]})",
                                          error);
  ASSERT_TRUE(plan) << error;
  EXPECT_EQ(plan->groups[0].name, "g0");
  EXPECT_EQ(plan->groups[1].name, "g1");
  EXPECT_TRUE(plan->groups[0].rowTiles.empty());
  EXPECT_TRUE(plan->groups[1].rowTiles.empty());
  EXPECT_EQ(plan->groups[1].colTiles, (std::vector<Interval>{{0, 3}}));
  EXPECT_EQ(validate(*plan), "group 'g0': row tiles are missing");
  assignMissingTiles(*plan, lookup);
  EXPECT_EQ(validate(*plan), "");
  EXPECT_EQ(plan->groups[0].rowTiles,
            (std::vector<Interval>{{0, 1}, {2, 2}, {3, 3}}));
}

struct JsonErrorCase {
  const char *text;
  const char *error;
};

/// `g` wrapped as the only group of a plan.
std::string one(const std::string &g) { return "{\"groups\": [" + g + "]}"; }

TEST(PlanJson, EveryErrorNamesItsPath) {
  const std::string ok = R"("name": "g", "layers": ["a"], "grid": [1, 1])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      // Document shape.
      {"[]", "expected a JSON object {\"groups\": [...]} at the top level"},
      {R"({"groups": [], "version": 1})",
       "version: unknown key (a plan has \"groups\" and \"rematerialize\")"},
      {"{}", "groups: missing (expected an array of groups)"},
      {R"({"groups": {}})", "groups: expected an array of groups"},
      {one("3"), "groups[0]: expected an object with name, layers, grid, "
                 "row_tiles, col_tiles, slots, mode, stripe_rows, chunk_rows"},
      {one("{" + ok + R"(, "row_tile": [[0, 0]], "col": 1})"),
       "groups[0].col: unknown key (a group has name, layers, grid, "
       "row_tiles, col_tiles, slots, mode, stripe_rows, chunk_rows)"},
      {one("{" + ok + R"(, "slots": 0})"),
       "groups[0].slots: expected a positive integer"},
      {one("{" + ok + R"(, "slots": "2"})"),
       "groups[0].slots: expected a positive integer"},
      {one("{" + ok + R"(, "slots": 2})"),
       "groups[0].slots: slots must be from 1 to the group's tile count 1 "
       "(at most 256), got 2"},
      // name
      {one(R"({"name": 1, "layers": ["a"], "grid": [1, 1]})"),
       "groups[0].name: expected a string"},
      // layers
      {one(R"({"grid": [1, 1]})"),
       "groups[0].layers: missing (expected an array of layer names)"},
      {one(R"({"layers": "a", "grid": [1, 1]})"),
       "groups[0].layers: expected an array of layer names"},
      {one(R"({"layers": ["a", 2], "grid": [1, 1]})"),
       "groups[0].layers[1]: expected a layer name string"},
      // grid
      {one(R"({"layers": ["a"]})"),
       "groups[0].grid: missing (expected [rows, cols] with positive "
       "integers)"},
      {one(R"({"layers": ["a"], "grid": 2})"),
       "groups[0].grid: expected [rows, cols] with positive integers"},
      {one(R"({"layers": ["a"], "grid": [2]})"),
       "groups[0].grid: expected [rows, cols] with positive integers"},
      {one(R"({"layers": ["a"], "grid": [2, 1, 1]})"),
       "groups[0].grid: expected [rows, cols] with positive integers"},
      {one(R"({"layers": ["a"], "grid": [2, 0]})"),
       "groups[0].grid: expected [rows, cols] with positive integers"},
      {one(R"({"layers": ["a"], "grid": [-1, 2]})"),
       "groups[0].grid: expected [rows, cols] with positive integers"},
      {one(R"({"layers": ["a"], "grid": [1.5, 2]})"),
       "groups[0].grid: expected [rows, cols] with positive integers"},
      {one(R"({"layers": ["a"], "grid": ["1", 2]})"),
       "groups[0].grid: expected [rows, cols] with positive integers"},
      // tiles
      {one("{" + ok + R"(, "row_tiles": {}})"),
       "groups[0].row_tiles: expected an array of [lo, hi]"},
      {one("{" + ok + R"(, "col_tiles": 5})"),
       "groups[0].col_tiles: expected an array of [lo, hi]"},
      {one("{" + ok + R"(, "row_tiles": [0, 3]})"),
       "groups[0].row_tiles[0]: expected [lo, hi] with integers"},
      {one("{" + ok + R"(, "col_tiles": [[0, 3, 4]]})"),
       "groups[0].col_tiles[0]: expected [lo, hi] with integers"},
      {one("{" + ok + R"(, "col_tiles": [[0, "3"]]})"),
       "groups[0].col_tiles[0]: expected [lo, hi] with integers"},
      // Structure, by path.
      {one(R"({"name": "", "layers": ["a"], "grid": [1, 1]})"),
       "groups[0].name: group name is empty"},
      {one(R"({"layers": [], "grid": [1, 1]})"),
       "groups[0].layers: group has no layers"},
      {one(R"({"layers": ["a", ""], "grid": [1, 1]})"),
       "groups[0].layers[1]: layer name is empty"},
      {one(R"({"layers": ["a", "b", "a"], "grid": [1, 1]})"),
       "groups[0].layers[2]: layer 'a' is listed twice"},
      {R"({"groups": [{"layers": ["a"], "grid": [1, 1]},
                      {"layers": ["b", "a"], "grid": [1, 1]}]})",
       "groups[1].layers[1]: layer 'a' is also in group 'g0'"},
      {R"({"groups": [{"name": "x", "layers": ["a"], "grid": [1, 1]},
                      {"name": "x", "layers": ["b"], "grid": [1, 1]}]})",
       "groups[1].name: group name 'x' is also used by groups[0]"},
      {one("{" + ok + R"(, "row_tiles": [[0, 1], [2, 3]]})"),
       "groups[0].row_tiles: 2 row tiles for a grid of 1 row"},
      {one(R"({"layers": ["a"], "grid": [3, 1],
              "row_tiles": [[0, 1], [3, 4], [5, 6]]})"),
       "groups[0].row_tiles[1]: gap between row tiles [0, 1] and [3, 4]"},
      {one(R"({"layers": ["a"], "grid": [1, 2],
              "col_tiles": [[0, 4], [3, 6]]})"),
       "groups[0].col_tiles[1]: column tiles [0, 4] and [3, 6] overlap"},
      {one(R"({"layers": ["a"], "grid": [1, 2],
              "col_tiles": [[0, 4], [6, 5]]})"),
       "groups[0].col_tiles[1]: column tile [6, 5] is empty"},
      {one("{" + ok + R"(, "row_tiles": [[2, 5]]})"),
       "groups[0].row_tiles[0]: first row tile [2, 5] does not start at 0"},
  };
  for (const auto &[text, expected] : cases) {
    std::string error;
    std::optional<Plan> plan = planFromJson(text, error);
    EXPECT_FALSE(plan) << text;
    EXPECT_EQ(error, expected) << text;
  }
}

TEST(PlanJson, SyntaxErrors) {
  std::string error;
  EXPECT_FALSE(planFromJson("{\"groups\": [", error));
  EXPECT_EQ(error.rfind("invalid JSON: ", 0), 0u) << error;
  EXPECT_FALSE(planFromJson("", error));
  EXPECT_EQ(error.rfind("invalid JSON: ", 0), 0u) << error;
}

} // namespace

//===----------------------------------------------------------------------===//
// Stream groups
//===----------------------------------------------------------------------===//

TEST(StreamPlan, StripesAreAssignedAndValidated) {
  EXPECT_EQ(stripeSplit(8, 3), (std::vector<Interval>{{0, 2}, {3, 5}, {6, 7}}));
  EXPECT_EQ(stripeSplit(6, 3), (std::vector<Interval>{{0, 2}, {3, 5}}));
  EXPECT_TRUE(stripeSplit(6, 0).empty());
  Plan plan;
  plan.groups.push_back(streamGroup());
  assignMissingTiles(plan, lookup);
  EXPECT_EQ(plan.groups[0].rowTiles,
            (std::vector<Interval>{{0, 2}, {3, 5}, {6, 7}}));
  EXPECT_EQ(plan.groups[0].colTiles, (std::vector<Interval>{{0, 7}}));
  EXPECT_EQ(validate(plan), "");
}

TEST(StreamPlan, Errors) {
  auto check = [](PlanGroup g, bool assign = true) {
    Plan plan;
    plan.groups.push_back(std::move(g));
    if (assign)
      assignMissingTiles(plan, lookup);
    return validate(plan);
  };
  PlanGroup g = streamGroup();
  g.stripeRows = 0;
  EXPECT_EQ(check(g),
            "group 's': a stream group needs stripe_rows >= 1, got 0");
  // Concurrent tiles need independent tiles; stripes read what the one
  // before left in the rolling buffers, column tiles (hybrid) do not.
  g = streamGroup();
  g.slots = 2;
  EXPECT_EQ(check(g), "group 's': a stream group runs its stripes in order "
                      "and its column tiles at once: slots must be from 1 to "
                      "its 1 column tile(s), got 2");
  g.gridCols = 2;
  EXPECT_EQ(check(g), "");
  g.gridCols = 3;
  g.slots = 4;
  EXPECT_EQ(check(g), "group 's': a stream group runs its stripes in order "
                      "and its column tiles at once: slots must be from 1 to "
                      "its 3 column tile(s), got 4");
  // Column tiles (hybrid) are fine; their tiles must still cover the
  // columns.
  g = streamGroup();
  g.gridCols = 2;
  EXPECT_EQ(check(g), "");
  g.colTiles = {{0, 3}, {5, 7}};
  EXPECT_EQ(check(g, /*assign=*/false),
            "group 's': gap between column tiles [0, 3] and [5, 7]");
  // One stripe of a layer with several rows: the stripes do not match the
  // grid. (A one-row output, a global reduction, streams in stripes of its
  // input's rows: FusionGroup::build checks those.)
  g = streamGroup();
  g.gridRows = 1;
  EXPECT_EQ(check(g), "group 's': stripe_rows 3 cuts the 8 output rows of "
                      "'L0:conv' into 3 stripes, but the grid has 1 rows");
  g = streamGroup();
  g.gridRows = 4;
  EXPECT_EQ(check(g), "group 's': stripe_rows 3 cuts the 8 output rows of "
                      "'L0:conv' into 3 stripes, but the grid has 4 rows");
  g = streamGroup();
  g.stripeRows = 8;
  g.gridRows = 2;
  EXPECT_EQ(check(g), "group 's': stripe_rows 8 leaves nothing to stream: "
                      "'L0:conv' has 8 output rows");
  g = streamGroup();
  g.rowTiles = {{0, 3}, {4, 5}, {6, 7}};
  g.colTiles = {{0, 7}};
  EXPECT_EQ(check(g, false),
            "group 's': stripe [0, 3] has 4 rows; a stream group's stripes "
            "have stripe_rows = 3 rows (only the last may be shorter)");
  g = group("r", {"L0:conv"}, 2, 1, {}, {});
  g.stripeRows = 4;
  EXPECT_EQ(check(g), "group 'r': stripe_rows is only meaningful for a stream "
                      "group (mode is recompute)");
  g = group("r", {"L0:conv"}, 2, 1, {}, {});
  g.chunkRows = 1;
  EXPECT_EQ(check(g), "group 'r': chunk_rows is only meaningful for a stream "
                      "group (mode is recompute)");
  g = streamGroup();
  g.chunkRows = -1;
  EXPECT_EQ(check(g), "group 's': chunk_rows must be >= 1 (0 or absent: no "
                      "pieces), got -1");
}

TEST(StreamPlan, JsonRoundTripAndErrors) {
  Plan plan = validPlan();
  plan.groups.push_back(streamGroup());
  plan.groups.back().layers = {"L4:conv"};
  plan.groups.back().rowTiles = {{0, 2}, {3, 5}, {6, 7}};
  std::string json = planToJson(plan);
  EXPECT_NE(json.find("\"mode\": \"stream\",\n      \"stripe_rows\": 3"),
            std::string::npos)
      << json;
  // Recompute groups leave the mode out.
  EXPECT_EQ(planToJson(validPlan()).find("mode"), std::string::npos);
  std::string error;
  std::optional<Plan> back = planFromJson(json, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, plan);
  // Chunked heads: written only when set, read back.
  EXPECT_EQ(json.find("chunk_rows"), std::string::npos);
  plan.groups.back().chunkRows = 2;
  json = planToJson(plan);
  EXPECT_NE(json.find("\"stripe_rows\": 3,\n      \"chunk_rows\": 2"),
            std::string::npos)
      << json;
  back = planFromJson(json, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, plan);

  auto parse = [](const char *text) {
    std::string error;
    EXPECT_FALSE(planFromJson(text, error));
    return error;
  };
  EXPECT_EQ(parse(R"({"groups": [{"layers": ["a"], "grid": [2, 1],
                    "mode": "rolling"}]})"),
            "groups[0].mode: expected \"recompute\" or \"stream\"");
  EXPECT_EQ(parse(R"({"groups": [{"layers": ["a"], "grid": [2, 1],
                    "mode": "stream", "stripe_rows": "4"}]})"),
            "groups[0].stripe_rows: expected an integer");
  EXPECT_EQ(parse(R"({"groups": [{"layers": ["a"], "grid": [2, 1],
                    "mode": "stream", "stripe_rows": 4, "chunk_rows": "1"}]})"),
            "groups[0].chunk_rows: expected an integer");
  EXPECT_EQ(parse(R"({"groups": [{"layers": ["a"], "grid": [2, 1],
                    "mode": "stream"}]})"),
            "groups[0].stripe_rows: a stream group needs stripe_rows >= 1, "
            "got 0");
}

TEST(PlanJson, Rematerialize) {
  Plan plan = validPlan();
  // Left out when empty.
  EXPECT_EQ(planToJson(plan).find("rematerialize"), std::string::npos);
  plan.rematerialize = {"L8:leaky", "L2:relu"};
  std::string json = planToJson(plan);
  EXPECT_EQ(json.rfind("{\n  \"rematerialize\": [\"L8:leaky\", \"L2:relu\"],\n"
                       "  \"groups\": [",
                       0),
            0u)
      << json;
  std::string error;
  std::optional<Plan> back = planFromJson(json, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, plan);
  // Part of the plan's identity.
  EXPECT_NE(*back, validPlan());

  auto parse = [](const char *text) {
    std::string error;
    EXPECT_FALSE(planFromJson(text, error));
    return error;
  };
  EXPECT_EQ(parse(R"({"rematerialize": "L8:leaky", "groups": []})"),
            "rematerialize: expected an array of layer names");
  EXPECT_EQ(parse(R"({"rematerialize": ["L8:leaky", 3], "groups": []})"),
            "rematerialize[1]: expected a layer name");
  EXPECT_EQ(parse(R"({"rematerialize": [""], "groups": []})"),
            "rematerialize[0]: expected a layer name");
  EXPECT_EQ(parse(R"({"rematerialize": ["a", "a"], "groups": []})"),
            "rematerialize[1]: 'a' is listed twice");
}
