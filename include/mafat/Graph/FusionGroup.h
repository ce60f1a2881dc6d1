//===- FusionGroup.h - What each tile of a fusion group computes -*- C++
//-*-===//
//
// The geometry of one fusion group of a plan: for every output tile, the
// region of every layer of the group that the tile computes (back-projected
// through the group with the receptive-field algebra) and the padding its
// window layers see at the borders of the image. The fuse-tile transform
// emits exactly this, and the memory and latency models price exactly this,
// so it is computed in one place.
//
// Rows and columns are independent (every fusable op maps rows to rows and
// columns to columns), so the geometry is kept per axis: a tile (r, c)
// computes rows `rows.span[r][l]` x columns `cols.span[c][l]` of layer l.
//
// Fusable layers: conv, depthwise conv, max/sum pool (padding folded), a
// standalone spatial pad, elementwise generics (bias, activations,
// residual adds), channel concats and nearest upsampling. A group whose
// grid is 1x1 may hold any layer: it runs layer by layer.
//
// Upsampling by f maps output rows [a, b] to input rows [a / f, b / f]
// (rounded down): a tile's span need not start at a multiple of f, so it
// starts `phase` = a - f * (a / f) copies into its first input row. The
// transform writes that phase into the tile's indexing map, so it is part
// of what a static-shaped body fixes (TileRun).
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_GRAPH_FUSIONGROUP_H
#define MAFAT_GRAPH_FUSIONGROUP_H

#include "mafat/Graph/LayerGraph.h"
#include "mafat/Plan/Plan.h"

#include <string>
#include <vector>

namespace mafat {

/// One layer of a group, in execution order.
struct FusedLayer {
  unsigned node = 0; ///< LayerGraph node id.
  /// Per activation operand of the node: the position in FusionGroup::layers
  /// of its producer, or -1 if it comes from outside the group (a model
  /// input or a map an earlier group materialised).
  llvm::SmallVector<int, 2> operandLayer;
  /// Read by a layer outside the group or returned by the model: its full
  /// map is materialised. Only the last layer may be (checked by build()).
  bool isOutput = false;
};

/// The tiling along one axis (rows or columns) of a group.
struct TileAxis {
  /// Tile intervals of the output layer along this axis (the plan's).
  std::vector<Interval> tiles;
  /// span[t][l]: the interval of layer l's output that tile t computes:
  /// the hull of what its consumers in the group read (for the output layer,
  /// the tile itself).
  std::vector<std::vector<Interval>> span;
  /// For window layers (operand 0 read through LayerNode::window): the
  /// padding tile t's input needs below index 0 / past the last index.
  /// Zero for other layers.
  std::vector<std::vector<int64_t>> padLow, padHigh;
  /// read[t][l][i]: the interval of operand i of layer l that tile t reads
  /// (in the operand's own coordinates, clipped to it).
  std::vector<std::vector<llvm::SmallVector<Interval, 2>>> read;
  /// For upsampling layers: how many output rows (columns) of its first
  /// input row lie before tile t's span, span.lo - factor * read.lo. Zero
  /// for other layers.
  std::vector<std::vector<int64_t>> phase;

  unsigned size() const { return tiles.size(); }
};

/// Consecutive tiles along one axis that share one static-shaped body: every
/// layer has the same span size, padding, upsampling phase and relative read
/// offsets, and the absolute offsets advance by a constant step from tile
/// `first` on. The
/// tile classes of a group are row runs x column runs, in that order; the
/// transform emits one body per class and the memory model packs one arena
/// per class, so both take them from here.
struct TileRun {
  unsigned first = 0;
  unsigned count = 0;
};

/// A group of a plan, checked against the graph and back-projected.
class FusionGroup {
public:
  /// Checks that `group` can be fused on `graph` and computes its geometry.
  /// Fails (returning std::nullopt and setting `error` to a message naming
  /// the group and the layer) if a layer is unknown, the tiles are not set
  /// or do not cover the output layer, the group is not connected, a layer
  /// other than the last is read outside the group, or - for grids other
  /// than 1x1 - a layer cannot be tiled (kind, rank, non-channel concat).
  static std::optional<FusionGroup>
  build(const LayerGraph &graph, const PlanGroup &group, std::string &error);

  const PlanGroup &plan() const { return planGroup; }
  llvm::StringRef name() const { return planGroup.name; }
  llvm::ArrayRef<FusedLayer> layers() const { return layerList; }
  const FusedLayer &outputLayer() const { return layerList.back(); }
  const TileAxis &rows() const { return rowAxis; }
  const TileAxis &cols() const { return colAxis; }
  bool isTiled() const { return planGroup.isTiled(); }
  unsigned numTiles() const { return rowAxis.size() * colAxis.size(); }

  /// The region of layer l tile (r, c) computes.
  Region computed(unsigned r, unsigned c, unsigned l) const {
    return Region(rowAxis.span[r][l], colAxis.span[c][l]);
  }
  /// Positions (rows x cols) of layer l computed over all tiles; equal to
  /// the layer's output area without halos, larger with them.
  int64_t computedArea(unsigned l) const;
  /// Maximal runs of tiles along an axis (rows() or cols()) sharing a body.
  std::vector<TileRun> runs(const TileAxis &axis) const;

  /// FLOPs of the group over all tiles, halos included (each layer's FLOPs
  /// scaled by computedArea / its output area).
  double computedFlops(const LayerGraph &graph) const;
  /// computedFlops / FLOPs of the group's layers run once, minus 1.
  double haloOverhead(const LayerGraph &graph) const;

private:
  PlanGroup planGroup;
  std::vector<FusedLayer> layerList;
  TileAxis rowAxis, colAxis;
};

/// Whether layers of this kind can sit in a tiled (grid > 1x1) group; of
/// the transposes only layout transposes can (isFusableLayer).
bool isFusableKind(LayerKind kind);

/// Whether `node`'s kind can sit in a tiled group: a fusable kind, and for a
/// transpose, a layout transpose (isLayoutTranspose).
bool isFusableLayer(const LayerNode &node);

/// Why `node` cannot sit in a tiled group (its kind, rank, a spatial concat,
/// an operand read other than pointwise, through a window, upsampled or,
/// by a layout transpose, channels first, an upsampling that reads more
/// than its map), naming the layer; "" if it can. FusionGroup::build's
/// rule, which the search checks up front.
std::string whyNotTileable(const LayerNode &node);

/// Whether upsampling layer `node` reads nothing but the map it upsamples
/// (no constants, no init that is another map), which is what a piece of it
/// computes (Transforms/LayerTile.h, emitUpsamplePiece). Other upsampling
/// layers run in their own groups.
bool upsamplesByCopy(const LayerNode &node);

/// Whether transpose `node` is the layout transpose of an NCHW map to NHWC
/// (SpatialAccess::ChannelsFirst), the one transpose a group takes, as a
/// layer whose operand comes from outside the group: a piece of it
/// transposes the rows and columns its readers take, so an ONNX model's
/// NCHW input is never held transposed whole. Other transposes run in their
/// own groups.
bool isLayoutTranspose(const LayerNode &node);

/// The groups of `plan` over the whole graph, in execution order: layers the
/// plan does not mention run layer by layer, each in a 1x1 group named after
/// the layer; groups run in the order of their output layers. Missing tiles
/// get balanced splits. Fails with the first group's error, or if the order
/// of the groups cannot respect the data flow.
std::optional<std::vector<FusionGroup>>
buildPlanGroups(const LayerGraph &graph, const Plan &plan, std::string &error);

/// A plan that runs every layer of `graph` in its own 1x1 group (the
/// unfused build, `--plan=none`).
Plan layerByLayerPlan(const LayerGraph &graph);

} // namespace mafat

#endif // MAFAT_GRAPH_FUSIONGROUP_H
