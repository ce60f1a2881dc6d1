//===- Plan.h - Fusion groups and tile grids as plain data ------*- C++ -*-===//
//
// A plan splits a model's layer graph into fusion groups and gives each group
// an output tile grid. It is data that several parties read and write: the
// search produces it, a user may write it by hand as JSON, it travels in the
// IR as #mafat.plan (mafat/Dialect/Mafat/MafatAttrs.h), and the memory
// predictor and the fuse-tile transform consume it. This header is the
// IR-independent form all of them share, with the checks and the JSON
// reader/writer, so that every entry point accepts and rejects the same plans
// with the same messages. It knows nothing of MLIR: the layer graph enters
// only as a lookup of each layer's output extent.
//
// The tile boundaries are part of the plan, not recomputed by each consumer,
// so the predictor and the transform cannot disagree about them; the search
// and hand-written plans without explicit tiles get balanced splits
// (assignBalancedTiles) before the plan is validated and attached.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_PLAN_PLAN_H
#define MAFAT_PLAN_PLAN_H

#include "mafat/Geometry/ReceptiveField.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mafat {

/// How a tiled group treats the overlap of neighbouring tiles' receptive
/// fields.
enum class GroupMode {
  /// Every tile recomputes its halo (the default; any grid).
  Recompute,
  /// The output is produced in full-width stripes of `stripeRows` rows, top
  /// to bottom; each intermediate map keeps the rows its consumer's window
  /// still needs in a rolling buffer carried from stripe to stripe, so
  /// nothing is recomputed (docs/Fusion.md, "Streaming"). The row tiles are
  /// the stripes. With several column tiles (hybrid), the stripes stream
  /// down each column tile in turn, its column halo recomputed.
  Stream,
};

/// "recompute" / "stream".
llvm::StringRef stringifyGroupMode(GroupMode mode);
std::optional<GroupMode> parseGroupMode(llvm::StringRef text);

/// One fusion group: layers that run tile by tile together.
struct PlanGroup {
  /// Unique within the plan ("g0", "g1", ...); reports refer to it.
  std::string name;
  /// Layer names as the layer graph spells them ("L3:conv"), in execution
  /// order. The last one is the group's output layer: the tiles partition
  /// its output.
  std::vector<std::string> layers;
  /// Tiles over the output layer's rows (H) and columns (W); 1x1 is plain
  /// layer-by-layer execution.
  int64_t gridRows = 1;
  int64_t gridCols = 1;
  /// Closed intervals of output rows / columns, one per grid row / column,
  /// contiguous from 0 to the last row / column. Empty means "not assigned
  /// yet" (a JSON plan may leave them out); assignMissingTiles fills them.
  std::vector<Interval> rowTiles;
  std::vector<Interval> colTiles;
  /// Concurrent tiles: how many tiles of the group may run at once, each in
  /// its own slot of tile buffers (the workspace holds `slots` copies of the
  /// tile working set). 1 runs the tiles one after another; at most the
  /// number of tiles and kMaxSlots. A stream group's slots run its column
  /// tiles (hybrid), each with its own rolling buffers, so it has at most
  /// one per column tile. Slot s runs a row-major band of the tiles
  /// (CodegenRules.h, slotBandBegin).
  int64_t slots = 1;
  /// Stream groups: the row tiles are stripes of `stripeRows` output rows
  /// (the last one may be shorter). 0 for recompute groups.
  GroupMode mode = GroupMode::Recompute;
  int64_t stripeRows = 0;
  /// Stream groups: every segment (the layers up to the writer of a rolling
  /// buffer, after the writer of the one before) runs each step in pieces
  /// of `chunkRows` rows of its last layer, written one after another into
  /// that buffer, so only one piece's tiles are live at once (docs/Fusion.md,
  /// "Chunked segments"). 0 runs a segment's rows of a step at once.
  int64_t chunkRows = 0;

  bool isStream() const { return mode == GroupMode::Stream; }
  /// Whether the group runs in pieces: more than one tile, or streamed (a
  /// stream group ending in a global reduction has one output tile).
  bool isTiled() const { return gridRows * gridCols > 1 || isStream(); }

  bool operator==(const PlanGroup &other) const {
    return name == other.name && layers == other.layers &&
           gridRows == other.gridRows && gridCols == other.gridCols &&
           rowTiles == other.rowTiles && colTiles == other.colTiles &&
           slots == other.slots && mode == other.mode &&
           stripeRows == other.stripeRows && chunkRows == other.chunkRows;
  }
  bool operator!=(const PlanGroup &other) const { return !(*this == other); }
};

/// Most slots a group may ask for (runtime.h's MAFAT_MAX_THREADS: more
/// slots than threads only cost memory).
constexpr int64_t kMaxSlots = 256;

/// Fusion groups in execution order.
struct Plan {
  std::vector<PlanGroup> groups;
  /// Maps recomputed for their late readers instead of being kept
  /// (mafat/Graph/Rematerialization.h), by layer name, in the order
  /// mafat-plan applies them. The groups name the copies ("L8:conv.remat").
  /// mafat-plan rewrites the IR before it attaches the plan, so #mafat.plan
  /// does not carry this list: the copies are in the IR.
  std::vector<std::string> rematerialize;

  bool operator==(const Plan &other) const {
    return groups == other.groups && rematerialize == other.rematerialize;
  }
  bool operator!=(const Plan &other) const { return !(*this == other); }
};

/// The spatial output extent of a layer: rows (H) x columns (W) of its NHWC
/// result; 1 x 1 for results of another rank (spatialExtent in LayerGraph.h
/// gives exactly this).
struct LayerExtent {
  int64_t rows = 0;
  int64_t cols = 0;
};

/// A layer's output extent by name, or std::nullopt for an unknown layer.
/// With a LayerGraph `g`:
///   [&](llvm::StringRef name) -> std::optional<LayerExtent> {
///     auto id = g.lookup(name);
///     if (!id) return std::nullopt;
///     Region r = spatialExtent(g.node(*id).outputShape);
///     return LayerExtent{r.rows.size(), r.cols.size()};
///   }
using ExtentLookup =
    llvm::function_ref<std::optional<LayerExtent>(llvm::StringRef layer)>;

//===----------------------------------------------------------------------===//
// Tiles
//===----------------------------------------------------------------------===//

/// Sets both tile lists of `group` to balanced splits (balancedSplit: the
/// first extent % grid tiles one element longer, none empty) of an output of
/// outRows x outCols. Returns "" on success, or a message naming the group if
/// the grid is below 1x1 or larger than the output, in which case `group` is
/// left unchanged.
std::string assignBalancedTiles(PlanGroup &group, int64_t outRows,
                                int64_t outCols);

/// Stripes of `stripeRows` rows over `extent` rows, the last one shorter if
/// `stripeRows` does not divide `extent`; empty unless 1 <= stripeRows.
std::vector<Interval> stripeSplit(int64_t extent, int64_t stripeRows);

/// Gives every group whose row (column) tiles are empty a balanced split of
/// its output layer's rows (columns); a stream group's row tiles are its
/// stripes (stripeSplit). Groups it cannot split (unknown output
/// layer, grid out of range) are left as they are for validatePlan to
/// report, so errors come from one place.
void assignMissingTiles(Plan &plan, ExtentLookup lookup);

//===----------------------------------------------------------------------===//
// Checks
//===----------------------------------------------------------------------===//

/// What can be checked without the layer graph, "" if nothing is wrong:
/// names non-empty, group names unique, every group has layers, layer names
/// unique across the whole plan (a layer runs in exactly one group), grid at
/// least 1x1, slots from 1 to the grid's tile count (and kMaxSlots), and
/// tiles - where present - one per grid row (column),
/// non-empty and contiguous from 0. With `requireTiles`, missing tiles are
/// an error too. Messages start with "group '<name>': ". The attribute
/// verifiers run this, so IR plans and JSON plans fail alike.
std::string checkPlanStructure(const Plan &plan, bool requireTiles);

/// checkPlanStructure for a plan of one group.
std::string checkGroupStructure(const PlanGroup &group, bool requireTiles);

/// Everything checkPlanStructure(plan, /*requireTiles=*/true) checks, plus,
/// against the layer graph: every layer exists, the grid fits the output
/// layer's extent, and the last row (column) tile ends at its last row
/// (column). Returns "" or the first problem, naming the group and layer.
/// Connectivity and convexity of groups and coverage of the whole graph
/// need the graph's edges; the planner checks those where it has them.
std::string validatePlan(const Plan &plan, ExtentLookup lookup);

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//
//
// The plan file (--plan=FILE.json) is
//
//   {
//     "rematerialize": ["L8:leaky"],
//     "groups": [
//       {
//         "name": "g0",
//         "layers": ["L0:conv", "L1:maxpool"],
//         "grid": [2, 3],
//         "row_tiles": [[0, 3], [4, 6]],
//         "col_tiles": [[0, 2], [3, 4], [5, 6]],
//         "slots": 2
//       },
//       {
//         "name": "g1",
//         "layers": ["L2:conv", "L3:conv"],
//         "grid": [4, 1],
//         "mode": "stream",
//         "stripe_rows": 2
//       },
//       ...
//     ]
//   }
//
// "rematerialize" is optional (written only when not empty): layers whose
// map is recomputed for its late readers, applied before the groups are
// checked, so the groups may name the copies.
// "groups" and, per group, "layers" and "grid" are required. "name"
// defaults to "g<index>", "slots" to 1 (and is written only when above 1).
// "row_tiles" / "col_tiles" may be left out (or be
// []), in which case assignMissingTiles gives balanced splits once the layer
// extents are known; written plans always list them. Unknown keys are errors,
// so a misspelt "row_tile" cannot silently turn into balanced tiles.
// "mode" is "recompute" (the default, then left out when written) or
// "stream", which needs "stripe_rows"; a stream group's grid has one row
// per stripe, and its row tiles, if given, are the stripes; more than one
// column (hybrid) streams each column tile top to bottom in turn.

/// The plan as JSON in the schema above (groups and fields in that order,
/// two-space indentation, one line per field). Empty tile lists are left out.
std::string planToJson(const Plan &plan);

/// Parses a plan and checks its structure (checkPlanStructure without
/// requiring tiles). On failure returns std::nullopt and sets `error` to a
/// message that starts with the JSON path of the problem, e.g.
/// "groups[1].grid: expected [rows, cols] with positive integers".
std::optional<Plan> planFromJson(llvm::StringRef text, std::string &error);

} // namespace mafat

#endif // MAFAT_PLAN_PLAN_H
