//===- Plan.cpp - Fusion groups and tile grids as plain data --------------===//
//
// Every check finds a Problem (which group, which field, what is wrong) and
// only the caller decides how to name the place: "group 'g1'" for plans in the
// IR or in memory, "groups[1].row_tiles[2]" for a JSON file, where the user
// needs the path to find the line. The wording of the problem itself is
// shared, so the same mistake reads the same everywhere.
//
//===----------------------------------------------------------------------===//

#include "mafat/Plan/Plan.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mafat;

namespace {

/// One thing wrong with a plan.
struct Problem {
  size_t group = 0;
  /// JSON field path inside the group ("grid", "row_tiles[2]"); empty for
  /// the group as a whole.
  std::string field;
  std::string text;
};

Problem problem(size_t group, std::string field, std::string text) {
  return Problem{group, std::move(field), std::move(text)};
}

std::string indexed(llvm::StringRef field, size_t index) {
  return (field + "[" + llvm::Twine(index) + "]").str();
}

/// "group 'g1': <text>", for plans outside a JSON file.
std::string describe(const Plan &plan, const Problem &p) {
  const std::string &name = plan.groups[p.group].name;
  std::string where = name.empty() ? "group #" + std::to_string(p.group)
                                   : "group '" + name + "'";
  return where + ": " + p.text;
}

/// "groups[1].row_tiles[2]: <text>", for a JSON file.
std::string describeJson(const Problem &p) {
  std::string path = indexed("groups", p.group);
  if (!p.field.empty())
    path += "." + p.field;
  return path + ": " + p.text;
}

/// Tiles of one dimension: one per grid row (column), non-empty, contiguous
/// from 0. `dim` is "row" or "col", `grid` the grid's size in it.
std::optional<Problem> checkTiles(size_t g, llvm::StringRef dim,
                                  const std::vector<Interval> &tiles,
                                  int64_t grid, bool requireTiles) {
  std::string field = (dim + "_tiles").str();
  std::string noun = dim == "row" ? "row" : "column";
  std::string tile = noun + " tile";
  if (tiles.empty()) {
    if (requireTiles)
      return problem(g, field, noun + " tiles are missing");
    return std::nullopt;
  }
  if (static_cast<int64_t>(tiles.size()) != grid)
    return problem(g, field,
                   std::to_string(tiles.size()) + " " + tile +
                       (tiles.size() == 1 ? "" : "s") + " for a grid of " +
                       std::to_string(grid) + " " + noun +
                       (grid == 1 ? "" : "s"));
  for (size_t k = 0; k < tiles.size(); ++k) {
    Interval cur = tiles[k];
    std::string here = indexed(field, k);
    // Interval::str prints every empty interval as "[]"; show the bounds.
    if (cur.isEmpty())
      return problem(g, here,
                     tile + " [" + std::to_string(cur.lo) + ", " +
                         std::to_string(cur.hi) + "] is empty");
    if (k == 0) {
      if (cur.lo != 0)
        return problem(g, here,
                       "first " + tile + " " + cur.str() +
                           " does not start at 0");
      continue;
    }
    // By induction prev.lo >= 0 and prev.hi >= prev.lo, so cur.lo - prev.hi
    // cannot overflow once cur.lo > prev.hi.
    Interval prev = tiles[k - 1];
    if (cur.lo <= prev.hi)
      return problem(
          g, here, tile + "s " + prev.str() + " and " + cur.str() + " overlap");
    if (cur.lo - prev.hi != 1)
      return problem(g, here,
                     "gap between " + tile + "s " + prev.str() + " and " +
                         cur.str());
  }
  return std::nullopt;
}

/// A stream group's own rules: stripes of stripe_rows rows (the last may be
/// shorter). Any number of column tiles (hybrid: the stripes stream down
/// each column tile in turn). That there are at least two stripes needs the
/// output layer's extent (checkExtent).
std::optional<Problem> checkStreamStructure(size_t g, const PlanGroup &group) {
  if (!group.isStream()) {
    if (group.stripeRows != 0)
      return problem(g, "stripe_rows",
                     "stripe_rows is only meaningful for a stream group "
                     "(mode is recompute)");
    if (group.chunkRows != 0)
      return problem(g, "chunk_rows",
                     "chunk_rows is only meaningful for a stream group "
                     "(mode is recompute)");
    return std::nullopt;
  }
  if (group.chunkRows < 0)
    return problem(g, "chunk_rows",
                   "chunk_rows must be >= 1 (0 or absent: no pieces), got " +
                       std::to_string(group.chunkRows));
  if (group.stripeRows < 1)
    return problem(g, "stripe_rows",
                   "a stream group needs stripe_rows >= 1, got " +
                       std::to_string(group.stripeRows));
  // Each stripe needs the rows the one before it left in the rolling
  // buffers, so the stripes run in order; only whole column tiles (hybrid),
  // each with its own buffers, run at once.
  if (group.slots > group.gridCols)
    return problem(g, "slots",
                   "a stream group runs its stripes in order and its column "
                   "tiles at once: slots must be from 1 to its " +
                       std::to_string(group.gridCols) +
                       " column tile(s), got " + std::to_string(group.slots));
  for (size_t k = 0; k < group.rowTiles.size(); ++k) {
    int64_t size = group.rowTiles[k].size();
    bool lastTile = k + 1 == group.rowTiles.size();
    if (size > group.stripeRows || (!lastTile && size != group.stripeRows))
      return problem(g, indexed("row_tiles", k),
                     "stripe " + group.rowTiles[k].str() + " has " +
                         std::to_string(size) +
                         " rows; a stream group's stripes have stripe_rows " +
                         "= " + std::to_string(group.stripeRows) +
                         " rows (only the last may be shorter)");
  }
  return std::nullopt;
}

/// The first problem of group `g` on its own.
std::optional<Problem> checkGroup(size_t g, const PlanGroup &group,
                                  bool requireTiles) {
  if (group.name.empty())
    return problem(g, "name", "group name is empty");
  if (group.layers.empty())
    return problem(g, "layers", "group has no layers");
  llvm::StringSet<> seen;
  for (size_t j = 0; j < group.layers.size(); ++j) {
    const std::string &layer = group.layers[j];
    if (layer.empty())
      return problem(g, indexed("layers", j), "layer name is empty");
    if (!seen.insert(layer).second)
      return problem(g, indexed("layers", j),
                     "layer '" + layer + "' is listed twice");
  }
  if (group.gridRows < 1 || group.gridCols < 1)
    return problem(g, "grid",
                   "grid " + std::to_string(group.gridRows) + "x" +
                       std::to_string(group.gridCols) +
                       " must be at least 1x1");
  int64_t tiles = group.gridRows * group.gridCols;
  if (group.slots < 1 || group.slots > std::min(tiles, kMaxSlots))
    return problem(g, "slots",
                   "slots must be from 1 to the group's tile count " +
                       std::to_string(tiles) + " (at most " +
                       std::to_string(kMaxSlots) + "), got " +
                       std::to_string(group.slots));
  if (auto p =
          checkTiles(g, "row", group.rowTiles, group.gridRows, requireTiles))
    return p;
  if (auto p =
          checkTiles(g, "col", group.colTiles, group.gridCols, requireTiles))
    return p;
  return checkStreamStructure(g, group);
}

/// The first problem of the plan that needs no layer graph.
std::optional<Problem> checkStructure(const Plan &plan, bool requireTiles) {
  llvm::StringMap<size_t> groupOf, layerGroup;
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    const PlanGroup &group = plan.groups[g];
    if (auto p = checkGroup(g, group, requireTiles))
      return p;
    auto [it, inserted] = groupOf.try_emplace(group.name, g);
    if (!inserted)
      return problem(g, "name",
                     "group name '" + group.name + "' is also used by " +
                         indexed("groups", it->second));
    for (size_t j = 0; j < group.layers.size(); ++j) {
      auto [lit, fresh] = layerGroup.try_emplace(group.layers[j], g);
      if (!fresh)
        return problem(g, indexed("layers", j),
                       "layer '" + group.layers[j] + "' is also in group '" +
                           plan.groups[lit->second].name + "'");
    }
  }
  return std::nullopt;
}

/// The extent checks of one dimension (`dim` "row" or "col") of group `g`,
/// whose output layer has `extent` rows (columns): the grid fits, the tiles
/// are there and the last one ends at the last row (column).
std::optional<Problem> checkExtent(size_t g, const PlanGroup &group,
                                   llvm::StringRef dim, int64_t extent) {
  bool isRow = dim == "row";
  const std::vector<Interval> &tiles = isRow ? group.rowTiles : group.colTiles;
  int64_t grid = isRow ? group.gridRows : group.gridCols;
  std::string noun = isRow ? "row" : "column";
  const std::string &layer = group.layers.back();
  // An output of one row is a global reduction streamed in stripes of its
  // input's rows (one output tile): FusionGroup::build checks stripe_rows
  // against those, knowing the layer.
  if (isRow && group.isStream() && extent > 1) {
    if (group.stripeRows >= extent)
      return problem(g, "stripe_rows",
                     "stripe_rows " + std::to_string(group.stripeRows) +
                         " leaves nothing to stream: '" + layer + "' has " +
                         std::to_string(extent) + " output rows");
    int64_t stripes = (extent + group.stripeRows - 1) / group.stripeRows;
    if (grid != stripes)
      return problem(
          g, "grid",
          "stripe_rows " + std::to_string(group.stripeRows) + " cuts the " +
              std::to_string(extent) + " output rows of '" + layer + "' into " +
              std::to_string(stripes) + " stripes, but the grid has " +
              std::to_string(grid) + " rows");
  }
  if (grid > extent)
    return problem(g, "grid",
                   "grid " + std::to_string(group.gridRows) + "x" +
                       std::to_string(group.gridCols) + " has more " + noun +
                       "s than the " + std::to_string(extent) + " output " +
                       noun + "s of '" + layer + "'");
  std::string field = (dim + "_tiles").str();
  if (tiles.empty())
    return problem(g, field, noun + " tiles are missing");
  int64_t end = tiles.back().hi;
  if (end != extent - 1)
    return problem(g, indexed(field, tiles.size() - 1),
                   noun + " tiles end at " + std::to_string(end) + " but '" +
                       layer + "' has " + std::to_string(extent) + " output " +
                       noun + "s (the last tile must end at " +
                       std::to_string(extent - 1) + ")");
  return std::nullopt;
}

/// Structure first (tiles optional, so that a grid too large for the layer
/// is reported as such rather than as tiles assignMissingTiles could not
/// fill), then each group against the layer extents.
std::optional<Problem> checkAgainstGraph(const Plan &plan,
                                         ExtentLookup lookup) {
  if (auto p = checkStructure(plan, /*requireTiles=*/false))
    return p;
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    const PlanGroup &group = plan.groups[g];
    std::optional<LayerExtent> extent;
    for (size_t j = 0; j < group.layers.size(); ++j) {
      extent = lookup(group.layers[j]);
      if (!extent)
        return problem(g, indexed("layers", j),
                       "unknown layer '" + group.layers[j] + "'");
    }
    // `extent` is now the output layer's (the last one looked up).
    if (auto p = checkExtent(g, group, "row", extent->rows))
      return p;
    if (auto p = checkExtent(g, group, "col", extent->cols))
      return p;
  }
  return std::nullopt;
}

} // namespace

//===----------------------------------------------------------------------===//
// Tiles
//===----------------------------------------------------------------------===//

std::string mafat::assignBalancedTiles(PlanGroup &group, int64_t outRows,
                                       int64_t outCols) {
  std::string where = "group '" + group.name + "': ";
  std::string grid = "grid " + std::to_string(group.gridRows) + "x" +
                     std::to_string(group.gridCols);
  if (group.gridRows < 1 || group.gridCols < 1)
    return where + grid + " must be at least 1x1";
  // balancedSplit returns nothing when parts > extent; say which side.
  std::vector<Interval> rows = balancedSplit(outRows, group.gridRows);
  if (rows.empty())
    return where + grid + " has more rows than the " + std::to_string(outRows) +
           " output rows";
  std::vector<Interval> cols = balancedSplit(outCols, group.gridCols);
  if (cols.empty())
    return where + grid + " has more columns than the " +
           std::to_string(outCols) + " output columns";
  group.rowTiles = std::move(rows);
  group.colTiles = std::move(cols);
  return "";
}

llvm::StringRef mafat::stringifyGroupMode(GroupMode mode) {
  return mode == GroupMode::Stream ? "stream" : "recompute";
}

std::optional<GroupMode> mafat::parseGroupMode(llvm::StringRef text) {
  if (text == "recompute")
    return GroupMode::Recompute;
  if (text == "stream")
    return GroupMode::Stream;
  return std::nullopt;
}

std::vector<Interval> mafat::stripeSplit(int64_t extent, int64_t stripeRows) {
  std::vector<Interval> stripes;
  if (stripeRows < 1)
    return stripes;
  for (int64_t lo = 0; lo < extent; lo += stripeRows)
    stripes.push_back(Interval(lo, std::min(extent, lo + stripeRows) - 1));
  return stripes;
}

void mafat::assignMissingTiles(Plan &plan, ExtentLookup lookup) {
  for (PlanGroup &group : plan.groups) {
    if (group.layers.empty())
      continue;
    std::optional<LayerExtent> extent = lookup(group.layers.back());
    if (!extent)
      continue;
    if (group.rowTiles.empty()) {
      // Stripes only when their count matches the grid; validatePlan names
      // the mismatch otherwise.
      if (!group.isStream())
        group.rowTiles = balancedSplit(extent->rows, group.gridRows);
      else if (group.stripeRows >= 1 &&
               group.gridRows ==
                   (extent->rows + group.stripeRows - 1) / group.stripeRows)
        group.rowTiles = stripeSplit(extent->rows, group.stripeRows);
    }
    if (group.colTiles.empty())
      group.colTiles = balancedSplit(extent->cols, group.gridCols);
  }
}

//===----------------------------------------------------------------------===//
// Checks
//===----------------------------------------------------------------------===//

std::string mafat::checkPlanStructure(const Plan &plan, bool requireTiles) {
  if (auto p = checkStructure(plan, requireTiles))
    return describe(plan, *p);
  return "";
}

std::string mafat::checkGroupStructure(const PlanGroup &group,
                                       bool requireTiles) {
  Plan single;
  single.groups.push_back(group);
  return checkPlanStructure(single, requireTiles);
}

std::string mafat::validatePlan(const Plan &plan, ExtentLookup lookup) {
  if (auto p = checkAgainstGraph(plan, lookup))
    return describe(plan, *p);
  return "";
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

namespace {

/// A JSON string literal. Names come from users and importers; invalid
/// UTF-8 is replaced rather than asserted on.
std::string quote(llvm::StringRef s) {
  std::string text = s.str();
  if (!llvm::json::isUTF8(text))
    text = llvm::json::fixUTF8(text);
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::json::Value(std::move(text));
  return out;
}

void writeTiles(llvm::raw_ostream &os, llvm::StringRef key,
                const std::vector<Interval> &tiles) {
  os << ",\n      \"" << key << "\": [";
  for (size_t k = 0; k < tiles.size(); ++k)
    os << (k ? ", " : "") << "[" << tiles[k].lo << ", " << tiles[k].hi << "]";
  os << "]";
}

const char *const kGroupKeys =
    "name, layers, grid, row_tiles, col_tiles, slots, mode, stripe_rows, "
    "chunk_rows";

/// Reads one group. Returns the error message, "" on success.
std::string readGroup(const llvm::json::Value &value, size_t g,
                      PlanGroup &group) {
  std::string path = indexed("groups", g);
  const llvm::json::Object *obj = value.getAsObject();
  if (!obj)
    return path + ": expected an object with " + kGroupKeys;

  // Unknown keys, smallest first so the message does not depend on hash
  // order.
  std::vector<std::string> unknown;
  for (const auto &entry : *obj) {
    llvm::StringRef key = entry.first;
    if (key != "name" && key != "layers" && key != "grid" &&
        key != "row_tiles" && key != "col_tiles" && key != "slots" &&
        key != "mode" && key != "stripe_rows" && key != "chunk_rows")
      unknown.push_back(key.str());
  }
  if (!unknown.empty())
    return path + "." + *std::min_element(unknown.begin(), unknown.end()) +
           ": unknown key (a group has " + kGroupKeys + ")";

  if (const llvm::json::Value *name = obj->get("name")) {
    std::optional<llvm::StringRef> s = name->getAsString();
    if (!s)
      return path + ".name: expected a string";
    group.name = s->str();
  } else {
    group.name = "g" + std::to_string(g);
  }

  const llvm::json::Value *layers = obj->get("layers");
  if (!layers)
    return path + ".layers: missing (expected an array of layer names)";
  const llvm::json::Array *layerArray = layers->getAsArray();
  if (!layerArray)
    return path + ".layers: expected an array of layer names";
  for (size_t j = 0; j < layerArray->size(); ++j) {
    std::optional<llvm::StringRef> s = (*layerArray)[j].getAsString();
    if (!s)
      return indexed(path + ".layers", j) + ": expected a layer name string";
    group.layers.push_back(s->str());
  }

  const char *gridShape = "expected [rows, cols] with positive integers";
  const llvm::json::Value *grid = obj->get("grid");
  if (!grid)
    return path + ".grid: missing (" + gridShape + ")";
  const llvm::json::Array *gridArray = grid->getAsArray();
  if (!gridArray || gridArray->size() != 2)
    return path + ".grid: " + gridShape;
  std::optional<int64_t> rows = (*gridArray)[0].getAsInteger();
  std::optional<int64_t> cols = (*gridArray)[1].getAsInteger();
  if (!rows || !cols || *rows < 1 || *cols < 1)
    return path + ".grid: " + gridShape;
  group.gridRows = *rows;
  group.gridCols = *cols;

  for (llvm::StringRef key : {"row_tiles", "col_tiles"}) {
    std::vector<Interval> &tiles =
        key == "row_tiles" ? group.rowTiles : group.colTiles;
    const llvm::json::Value *list = obj->get(key);
    if (!list)
      continue;
    const llvm::json::Array *array = list->getAsArray();
    if (!array)
      return path + "." + key.str() + ": expected an array of [lo, hi]";
    for (size_t k = 0; k < array->size(); ++k) {
      const llvm::json::Array *pair = (*array)[k].getAsArray();
      std::optional<int64_t> lo, hi;
      if (pair && pair->size() == 2) {
        lo = (*pair)[0].getAsInteger();
        hi = (*pair)[1].getAsInteger();
      }
      if (!lo || !hi)
        return indexed(path + "." + key.str(), k) +
               ": expected [lo, hi] with integers";
      tiles.push_back(Interval(*lo, *hi));
    }
  }

  if (const llvm::json::Value *slots = obj->get("slots")) {
    std::optional<int64_t> n = slots->getAsInteger();
    if (!n || *n < 1)
      return path + ".slots: expected a positive integer";
    group.slots = *n;
  }
  if (const llvm::json::Value *mode = obj->get("mode")) {
    std::optional<llvm::StringRef> s = mode->getAsString();
    std::optional<GroupMode> parsed;
    if (s)
      parsed = parseGroupMode(*s);
    if (!parsed)
      return path + ".mode: expected \"recompute\" or \"stream\"";
    group.mode = *parsed;
  }
  if (const llvm::json::Value *stripe = obj->get("stripe_rows")) {
    std::optional<int64_t> rows = stripe->getAsInteger();
    if (!rows)
      return path + ".stripe_rows: expected an integer";
    group.stripeRows = *rows;
  }
  if (const llvm::json::Value *chunk = obj->get("chunk_rows")) {
    std::optional<int64_t> rows = chunk->getAsInteger();
    if (!rows)
      return path + ".chunk_rows: expected an integer";
    group.chunkRows = *rows;
  }
  return "";
}

} // namespace

std::string mafat::planToJson(const Plan &plan) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "{\n";
  if (!plan.rematerialize.empty()) {
    os << "  \"rematerialize\": [";
    for (size_t i = 0; i < plan.rematerialize.size(); ++i)
      os << (i ? ", " : "") << quote(plan.rematerialize[i]);
    os << "],\n";
  }
  os << "  \"groups\": [";
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    const PlanGroup &group = plan.groups[g];
    os << (g ? ",\n" : "\n") << "    {\n";
    os << "      \"name\": " << quote(group.name) << ",\n";
    os << "      \"layers\": [";
    for (size_t j = 0; j < group.layers.size(); ++j)
      os << (j ? ", " : "") << quote(group.layers[j]);
    os << "],\n";
    os << "      \"grid\": [" << group.gridRows << ", " << group.gridCols
       << "]";
    if (!group.rowTiles.empty())
      writeTiles(os, "row_tiles", group.rowTiles);
    if (!group.colTiles.empty())
      writeTiles(os, "col_tiles", group.colTiles);
    if (group.slots != 1)
      os << ",\n      \"slots\": " << group.slots;
    if (group.isStream())
      os << ",\n      \"mode\": \"stream\",\n      \"stripe_rows\": "
         << group.stripeRows;
    if (group.chunkRows != 0)
      os << ",\n      \"chunk_rows\": " << group.chunkRows;
    os << "\n    }";
  }
  os << (plan.groups.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return out;
}

std::optional<Plan> mafat::planFromJson(llvm::StringRef text,
                                        std::string &error) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed) {
    error = "invalid JSON: " + llvm::toString(parsed.takeError());
    return std::nullopt;
  }
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root) {
    error = "expected a JSON object {\"groups\": [...]} at the top level";
    return std::nullopt;
  }
  std::vector<std::string> unknown;
  for (const auto &entry : *root)
    if (llvm::StringRef(entry.first) != "groups" &&
        llvm::StringRef(entry.first) != "rematerialize")
      unknown.push_back(llvm::StringRef(entry.first).str());
  if (!unknown.empty()) {
    error = *std::min_element(unknown.begin(), unknown.end()) +
            ": unknown key (a plan has \"groups\" and \"rematerialize\")";
    return std::nullopt;
  }
  const llvm::json::Value *groups = root->get("groups");
  if (!groups) {
    error = "groups: missing (expected an array of groups)";
    return std::nullopt;
  }
  const llvm::json::Array *groupArray = groups->getAsArray();
  if (!groupArray) {
    error = "groups: expected an array of groups";
    return std::nullopt;
  }

  Plan plan;
  if (const llvm::json::Value *remat = root->get("rematerialize")) {
    const llvm::json::Array *names = remat->getAsArray();
    if (!names) {
      error = "rematerialize: expected an array of layer names";
      return std::nullopt;
    }
    for (size_t i = 0; i < names->size(); ++i) {
      std::optional<llvm::StringRef> name = (*names)[i].getAsString();
      if (!name || name->empty()) {
        error = indexed("rematerialize", i) + ": expected a layer name";
        return std::nullopt;
      }
      if (llvm::is_contained(plan.rematerialize, *name)) {
        error = indexed("rematerialize", i) + ": '" + name->str() +
                "' is listed twice";
        return std::nullopt;
      }
      plan.rematerialize.push_back(name->str());
    }
  }
  for (size_t g = 0; g < groupArray->size(); ++g) {
    PlanGroup group;
    error = readGroup((*groupArray)[g], g, group);
    if (!error.empty())
      return std::nullopt;
    plan.groups.push_back(std::move(group));
  }
  if (auto p = checkStructure(plan, /*requireTiles=*/false)) {
    error = describeJson(*p);
    return std::nullopt;
  }
  error.clear();
  return plan;
}
