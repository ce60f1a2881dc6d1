//===- FusionGroup.cpp - What each tile of a fusion group computes --------===//

#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/StreamGroup.h"

#include "llvm/ADT/DenseMap.h"

using namespace mafat;

bool mafat::isFusableKind(LayerKind kind) {
  switch (kind) {
  case LayerKind::Conv:
  case LayerKind::DepthwiseConv:
  case LayerKind::MaxPool:
  case LayerKind::SumPool:
  case LayerKind::Elementwise:
  case LayerKind::Concat:
  case LayerKind::Pad:
  case LayerKind::Upsample:
  case LayerKind::Transpose:
    return true;
  default:
    return false;
  }
}

bool mafat::isLayoutTranspose(const LayerNode &node) {
  return node.kind == LayerKind::Transpose && node.operands.size() == 1 &&
         node.operands[0].access == SpatialAccess::ChannelsFirst;
}

bool mafat::upsamplesByCopy(const LayerNode &node) {
  return node.kind == LayerKind::Upsample && node.operands.size() == 1 &&
         node.weightBytes == 0;
}

bool mafat::isFusableLayer(const LayerNode &node) {
  return isFusableKind(node.kind) &&
         (node.kind != LayerKind::Transpose || isLayoutTranspose(node));
}

std::string mafat::whyNotTileable(const LayerNode &node) {
  if (!isFusableLayer(node))
    return "layer '" + node.name + "' (" + stringifyLayerKind(node.kind).str() +
           ") cannot be tiled; give it a 1x1 grid or its own group";
  if (node.outputShape.size() != 4 || node.outputShape[0] != 1)
    return "layer '" + node.name + "' is not an NHWC map of batch 1";
  if (node.kind == LayerKind::Upsample && !upsamplesByCopy(node))
    return "layer '" + node.name +
           "' upsamples with constants or an init it reads and cannot be "
           "tiled; give it a 1x1 grid or its own group";
  if (node.kind == LayerKind::Concat && node.concatDim != 3)
    return "layer '" + node.name +
           "' concatenates along a spatial dimension and cannot be tiled";
  for (const LayerOperand &operand : node.operands)
    if (operand.access != SpatialAccess::Pointwise &&
        operand.access != SpatialAccess::Window &&
        operand.access != SpatialAccess::Upsample &&
        (operand.access != SpatialAccess::ChannelsFirst ||
         !isLayoutTranspose(node)))
      return "layer '" + node.name + "' reads an operand as '" +
             stringifySpatialAccess(operand.access).str() +
             "', which cannot be tiled";
  return "";
}

namespace {

/// Back-projects one axis. `rowsAxis` selects which side of the regions the
/// axis is; the other side is taken whole, which is harmless because no
/// fusable op mixes the two.
std::string projectAxis(const LayerGraph &graph,
                        llvm::ArrayRef<FusedLayer> layers, bool rowsAxis,
                        TileAxis &axis) {
  unsigned n = layers.size();
  unsigned tiles = axis.tiles.size();
  axis.span.assign(tiles, std::vector<Interval>(n));
  axis.padLow.assign(tiles, std::vector<int64_t>(n, 0));
  axis.padHigh.assign(tiles, std::vector<int64_t>(n, 0));
  axis.read.assign(tiles, std::vector<llvm::SmallVector<Interval, 2>>(n));
  axis.phase.assign(tiles, std::vector<int64_t>(n, 0));
  auto along = [&](const Region &r) { return rowsAxis ? r.rows : r.cols; };
  for (unsigned t = 0; t < tiles; ++t) {
    axis.span[t][n - 1] = axis.tiles[t];
    for (int l = n - 1; l >= 0; --l) {
      const LayerNode &node = graph.node(layers[l].node);
      Interval span = axis.span[t][l];
      if (span.isEmpty())
        return "layer '" + node.name +
               "' computes nothing for a tile (its consumers in the group "
               "read none of it)";
      Region whole = spatialExtent(node.outputShape);
      Region out =
          rowsAxis ? Region(span, whole.cols) : Region(whole.rows, span);
      for (unsigned i = 0; i < node.operands.size(); ++i) {
        Interval read = along(node.operandRegion(i, out));
        axis.read[t][l].push_back(read);
        int p = layers[l].operandLayer[i];
        if (p >= 0)
          axis.span[t][p] = axis.span[t][p].hull(read);
      }
      if (node.kind == LayerKind::Upsample)
        axis.phase[t][l] =
            upsamplePhase(rowsAxis ? node.factorRows : node.factorCols, span);
      if (node.window && !node.operands.empty() &&
          node.operands[0].access == SpatialAccess::Window) {
        WindowInput in =
            windowInput(rowsAxis ? node.window->rows : node.window->cols, span);
        axis.padLow[t][l] = in.padLow;
        axis.padHigh[t][l] = in.padHigh;
      }
    }
  }
  return "";
}

} // namespace

std::optional<FusionGroup> FusionGroup::build(const LayerGraph &graph,
                                              const PlanGroup &group,
                                              std::string &error) {
  auto fail = [&](const std::string &msg) -> std::optional<FusionGroup> {
    error = "group '" + group.name + "': " + msg;
    return std::nullopt;
  };
  if (group.layers.empty())
    return fail("has no layers");
  FusionGroup fg;
  fg.planGroup = group;
  llvm::DenseMap<unsigned, int> position;
  for (const std::string &name : group.layers) {
    std::optional<unsigned> id = graph.lookup(name);
    if (!id)
      return fail("unknown layer '" + name + "'");
    if (graph.node(*id).kind == LayerKind::Input)
      return fail("'" + name + "' is a model input, not a layer");
    if (!position.try_emplace(*id, (int)fg.layerList.size()).second)
      return fail("layer '" + name + "' is listed twice");
    FusedLayer layer;
    layer.node = *id;
    fg.layerList.push_back(layer);
  }
  // Operand producers; the order must be an execution order.
  for (auto [l, layer] : llvm::enumerate(fg.layerList)) {
    const LayerNode &node = graph.node(layer.node);
    for (const LayerOperand &operand : node.operands) {
      auto it = position.find(operand.producer);
      int p = it == position.end() ? -1 : it->second;
      if (p >= (int)l)
        return fail("layer '" + node.name + "' is listed before its operand '" +
                    graph.node(operand.producer).name + "'");
      layer.operandLayer.push_back(p);
    }
  }
  // Only the last layer may be read outside the group: anything else would
  // need its full map as well as its tiles.
  llvm::DenseMap<unsigned, bool> isGraphOutput;
  for (unsigned id : graph.outputs())
    isGraphOutput[id] = true;
  unsigned n = fg.layerList.size();
  for (auto [l, layer] : llvm::enumerate(fg.layerList)) {
    const LayerNode &node = graph.node(layer.node);
    bool external = isGraphOutput.count(layer.node) != 0;
    for (unsigned user : node.users)
      if (!position.count(user))
        external = true;
    layer.isOutput = external;
    if (external && l + 1 != n)
      return fail("layer '" + node.name +
                  "' is read outside the group but is not its last layer; "
                  "end the group there");
  }
  // Connected: every layer but the last feeds a later layer of the group.
  for (unsigned l = 0; l + 1 < n; ++l) {
    const LayerNode &node = graph.node(fg.layerList[l].node);
    if (!llvm::any_of(node.users,
                      [&](unsigned u) { return position.count(u) != 0; }))
      return fail("layer '" + node.name +
                  "' feeds no later layer of the group (groups must be "
                  "connected and end in one layer)");
  }
  const LayerNode &out = graph.node(fg.layerList.back().node);
  Region extent = spatialExtent(out.outputShape);
  if (group.rowTiles.size() != (size_t)group.gridRows ||
      group.colTiles.size() != (size_t)group.gridCols)
    return fail("tiles are not assigned (expected " +
                std::to_string(group.gridRows) + " row and " +
                std::to_string(group.gridCols) + " column tiles)");
  bool tiled = group.isTiled();
  if (tiled) {
    if (out.outputShape.size() != 4)
      return fail("output layer '" + out.name +
                  "' has no spatial extent to tile; use a 1x1 grid");
    for (const FusedLayer &layer : fg.layerList)
      if (std::string why = whyNotTileable(graph.node(layer.node));
          !why.empty())
        return fail(why);
  }
  // A layout transpose's NCHW operand comes from outside the group: every
  // layer of a group computes NHWC pieces, which it cannot slice.
  if (tiled || group.isStream())
    for (const FusedLayer &layer : fg.layerList) {
      const LayerNode &node = graph.node(layer.node);
      for (auto [i, operand] : llvm::enumerate(node.operands))
        if (operand.access == SpatialAccess::ChannelsFirst &&
            layer.operandLayer[i] >= 0)
          return fail("layer '" + node.name + "' transposes '" +
                      graph.node(operand.producer).name +
                      "', a layer of the group, from NCHW; a group computes "
                      "NHWC maps, so start the group at the transpose");
    }
  auto checkCover = [&](const std::vector<Interval> &tiles, int64_t size,
                        const char *what) -> std::string {
    int64_t next = 0;
    for (Interval t : tiles) {
      if (t.isEmpty() || t.lo != next)
        return std::string(what) + " tiles are not contiguous from 0";
      next = t.hi + 1;
    }
    if (next != size)
      return std::string(what) + " tiles end at " + std::to_string(next - 1) +
             " but layer '" + out.name + "' has " + std::to_string(size) + " " +
             what;
    return "";
  };
  if (std::string e = checkCover(group.rowTiles, extent.rows.size(), "rows");
      !e.empty())
    return fail(e);
  if (std::string e = checkCover(group.colTiles, extent.cols.size(), "columns");
      !e.empty())
    return fail(e);
  fg.rowAxis.tiles = group.rowTiles;
  fg.colAxis.tiles = group.colTiles;
  if (std::string e = projectAxis(graph, fg.layerList, true, fg.rowAxis);
      !e.empty())
    return fail(e);
  if (std::string e = projectAxis(graph, fg.layerList, false, fg.colAxis);
      !e.empty())
    return fail(e);
  if (group.isStream())
    if (std::string e = checkStreamable(graph, fg); !e.empty())
      return fail(e);
  return fg;
}

int64_t FusionGroup::computedArea(unsigned l) const {
  // A stream group computes every row once.
  if (planGroup.isStream()) {
    int64_t colsSum = 0;
    for (unsigned c = 0; c < colAxis.size(); ++c)
      colsSum += colAxis.span[c][l].size();
    int64_t rowsSum = 0;
    if (rowAxis.size())
      rowsSum = rowAxis.span.back()[l].hi + 1 - rowAxis.span.front()[l].lo;
    return rowsSum * colsSum;
  }
  int64_t rowsSum = 0, colsSum = 0;
  for (unsigned r = 0; r < rowAxis.size(); ++r)
    rowsSum += rowAxis.span[r][l].size();
  for (unsigned c = 0; c < colAxis.size(); ++c)
    colsSum += colAxis.span[c][l].size();
  return rowsSum * colsSum;
}

double FusionGroup::computedFlops(const LayerGraph &graph) const {
  double total = 0;
  for (auto [l, layer] : llvm::enumerate(layerList)) {
    const LayerNode &node = graph.node(layer.node);
    int64_t area = spatialExtent(node.outputShape).size();
    total += area ? (double)node.flops * computedArea(l) / area : node.flops;
  }
  return total;
}

double FusionGroup::haloOverhead(const LayerGraph &graph) const {
  double base = 0;
  for (const FusedLayer &layer : layerList)
    base += graph.node(layer.node).flops;
  return base > 0 ? computedFlops(graph) / base - 1.0 : 0.0;
}

Plan mafat::layerByLayerPlan(const LayerGraph &graph) {
  Plan plan;
  for (unsigned id : graph.topologicalOrder()) {
    const LayerNode &node = graph.node(id);
    if (node.kind == LayerKind::Input)
      continue;
    PlanGroup group;
    group.name = node.name;
    group.layers = {node.name};
    plan.groups.push_back(group);
  }
  return plan;
}

std::optional<std::vector<FusionGroup>>
mafat::buildPlanGroups(const LayerGraph &graph, const Plan &plan,
                       std::string &error) {
  // Which group each node is in; uncovered layers get their own group.
  std::vector<int> groupOf(graph.size(), -1);
  std::vector<PlanGroup> groups = plan.groups;
  for (auto [g, group] : llvm::enumerate(groups))
    for (const std::string &name : group.layers)
      if (std::optional<unsigned> id = graph.lookup(name)) {
        if (groupOf[*id] >= 0) {
          error = "group '" + group.name + "': layer '" + name +
                  "' is already in group '" + groups[groupOf[*id]].name + "'";
          return std::nullopt;
        }
        groupOf[*id] = g;
      }
  for (unsigned id : graph.topologicalOrder()) {
    const LayerNode &node = graph.node(id);
    if (node.kind == LayerKind::Input || groupOf[id] >= 0)
      continue;
    PlanGroup group;
    group.name = node.name;
    group.layers = {node.name};
    groupOf[id] = groups.size();
    groups.push_back(group);
  }
  Plan full;
  full.groups = std::move(groups);
  assignMissingTiles(full,
                     [&](llvm::StringRef name) -> std::optional<LayerExtent> {
                       std::optional<unsigned> id = graph.lookup(name);
                       if (!id)
                         return std::nullopt;
                       Region r = spatialExtent(graph.node(*id).outputShape);
                       return LayerExtent{r.rows.size(), r.cols.size()};
                     });
  std::vector<FusionGroup> built;
  for (const PlanGroup &group : full.groups) {
    std::optional<FusionGroup> fg = FusionGroup::build(graph, group, error);
    if (!fg)
      return std::nullopt;
    built.push_back(std::move(*fg));
  }
  // A group's external operands are outputs of other groups (build() allows
  // no other reads from outside), which come earlier in a topological order:
  // ordering groups by their output layers respects the data flow.
  std::vector<unsigned> rank(graph.size());
  for (auto [i, id] : llvm::enumerate(graph.topologicalOrder()))
    rank[id] = i;
  llvm::stable_sort(built, [&](const FusionGroup &a, const FusionGroup &b) {
    return rank[a.outputLayer().node] < rank[b.outputLayer().node];
  });
  return built;
}

namespace {

/// Everything about tile t along an axis that must be equal for two tiles to
/// share a static-shaped body.
std::vector<int64_t> staticKey(llvm::ArrayRef<FusedLayer> layers,
                               const TileAxis &axis, unsigned t) {
  std::vector<int64_t> key;
  for (auto [l, layer] : llvm::enumerate(layers)) {
    key.push_back(axis.span[t][l].size());
    key.push_back(axis.padLow[t][l]);
    key.push_back(axis.padHigh[t][l]);
    key.push_back(axis.phase[t][l]);
    for (auto [i, read] : llvm::enumerate(axis.read[t][l])) {
      key.push_back(read.size());
      int p = layer.operandLayer[i];
      key.push_back(p >= 0 ? read.lo - axis.span[t][p].lo : 0);
    }
  }
  return key;
}

/// Every offset of tile t that the body takes as a value: each layer's span
/// and each read of a map from outside the group.
std::vector<int64_t> dynamicOffsets(llvm::ArrayRef<FusedLayer> layers,
                                    const TileAxis &axis, unsigned t) {
  std::vector<int64_t> offsets;
  for (auto [l, layer] : llvm::enumerate(layers)) {
    offsets.push_back(axis.span[t][l].lo);
    for (auto [i, read] : llvm::enumerate(axis.read[t][l]))
      offsets.push_back(layer.operandLayer[i] < 0 ? read.lo : 0);
  }
  return offsets;
}

} // namespace

std::vector<TileRun> FusionGroup::runs(const TileAxis &axis) const {
  std::vector<TileRun> runs;
  unsigned n = axis.size(), t = 0;
  while (t < n) {
    TileRun run{t, 1};
    std::vector<int64_t> key = staticKey(layerList, axis, t);
    std::vector<int64_t> first = dynamicOffsets(layerList, axis, t), step;
    while (t + run.count < n) {
      unsigned next = t + run.count;
      if (staticKey(layerList, axis, next) != key)
        break;
      std::vector<int64_t> offs = dynamicOffsets(layerList, axis, next);
      if (run.count == 1) {
        step.resize(offs.size());
        for (size_t k = 0; k < offs.size(); ++k)
          step[k] = offs[k] - first[k];
      } else {
        bool linear = true;
        for (size_t k = 0; k < offs.size() && linear; ++k)
          linear = offs[k] == first[k] + (int64_t)run.count * step[k];
        if (!linear)
          break;
      }
      ++run.count;
    }
    runs.push_back(run);
    t += run.count;
  }
  return runs;
}
