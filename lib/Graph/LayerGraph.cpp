//===- LayerGraph.cpp - The layer graph of a model, as data ---------------===//

#include "mafat/Graph/LayerGraph.h"

#include "llvm/ADT/STLExtras.h"

#include <queue>

namespace mafat {

llvm::StringRef stringifyLayerKind(LayerKind kind) {
  switch (kind) {
  case LayerKind::Input:
    return "input";
  case LayerKind::Conv:
    return "conv";
  case LayerKind::DepthwiseConv:
    return "dwconv";
  case LayerKind::MaxPool:
    return "maxpool";
  case LayerKind::SumPool:
    return "sumpool";
  case LayerKind::Elementwise:
    return "eltwise";
  case LayerKind::Matmul:
    return "matmul";
  case LayerKind::Concat:
    return "concat";
  case LayerKind::Pad:
    return "pad";
  case LayerKind::Slice:
    return "slice";
  case LayerKind::Reshape:
    return "reshape";
  case LayerKind::Transpose:
    return "transpose";
  case LayerKind::Upsample:
    return "upsample";
  case LayerKind::Reorg:
    return "reorg";
  }
  return "?";
}

llvm::StringRef stringifySpatialAccess(SpatialAccess access) {
  switch (access) {
  case SpatialAccess::Pointwise:
    return "pointwise";
  case SpatialAccess::Window:
    return "window";
  case SpatialAccess::Upsample:
    return "upsample";
  case SpatialAccess::SpaceToDepth:
    return "space-to-depth";
  case SpatialAccess::DarknetReorg:
    return "darknet-reorg";
  case SpatialAccess::Slice:
    return "slice";
  case SpatialAccess::ChannelsFirst:
    return "channels-first";
  case SpatialAccess::Whole:
    return "whole";
  }
  return "?";
}

Region spatialExtent(llvm::ArrayRef<int64_t> shape) {
  if (shape.size() == 4)
    return Region::whole(shape[1], shape[2]);
  return Region::whole(1, 1);
}

Region operandExtent(const LayerOperand &operand) {
  if (operand.access == SpatialAccess::ChannelsFirst &&
      operand.shape.size() == 4)
    return Region::whole(operand.shape[2], operand.shape[3]);
  return spatialExtent(operand.shape);
}

Region LayerNode::operandRegion(unsigned i, const Region &out) const {
  const LayerOperand &operand = operands[i];
  Region extent = operandExtent(operand);
  if (out.isEmpty())
    return Region();
  switch (operand.access) {
  case SpatialAccess::Pointwise:
  case SpatialAccess::ChannelsFirst:
    return out.intersect(extent);
  case SpatialAccess::Window:
    return windowInput(*window, out).clipped();
  case SpatialAccess::Upsample:
    return upsampleInput(factorRows, factorCols, out).intersect(extent);
  case SpatialAccess::SpaceToDepth:
    return spaceToDepthInput(reorgStride, out).intersect(extent);
  case SpatialAccess::DarknetReorg: {
    DarknetReorg reorg{operand.shape[1], operand.shape[2], operand.shape[3],
                       reorgStride};
    return reorg.inputHull(out);
  }
  case SpatialAccess::Slice:
    return Region(out.rows.shift(sliceOffsets[1]),
                  out.cols.shift(sliceOffsets[2]))
        .intersect(extent);
  case SpatialAccess::Whole:
    return extent;
  }
  return extent;
}

std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "()";
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + std::to_string(d);
  return s;
}

std::optional<unsigned> LayerGraph::lookup(llvm::StringRef name) const {
  auto it = nameToNode.find(name);
  if (it == nameToNode.end())
    return std::nullopt;
  return it->second;
}

std::vector<unsigned> LayerGraph::topologicalOrder() const {
  // `users` lists each consumer once, so indegrees count distinct
  // producers, not operands.
  std::vector<unsigned> indegree(nodeList.size(), 0), order;
  for (const LayerNode &node : nodeList)
    for (unsigned user : node.users)
      ++indegree[user];
  std::priority_queue<unsigned, std::vector<unsigned>, std::greater<unsigned>>
      ready;
  for (const LayerNode &node : nodeList)
    if (indegree[node.id] == 0)
      ready.push(node.id);
  while (!ready.empty()) {
    unsigned id = ready.top();
    ready.pop();
    order.push_back(id);
    for (unsigned user : nodeList[id].users)
      if (--indegree[user] == 0)
        ready.push(user);
  }
  return order;
}

int64_t LayerGraph::totalFlops() const {
  int64_t total = 0;
  for (const LayerNode &node : nodeList)
    total += node.flops;
  return total;
}

int64_t LayerGraph::totalMacs() const {
  int64_t total = 0;
  for (const LayerNode &node : nodeList)
    total += node.macs;
  return total;
}

LayerNode &LayerGraph::addNode(LayerNode node) {
  node.id = nodeList.size();
  nameToNode[node.name] = node.id;
  if (node.kind == LayerKind::Input)
    inputIds.push_back(node.id);
  nodeList.push_back(std::move(node));
  return nodeList.back();
}

void LayerGraph::addOutput(unsigned id, std::string name) {
  outputIds.push_back(id);
  outputNameList.push_back(std::move(name));
}

void LayerGraph::finalize() {
  for (LayerNode &node : nodeList)
    node.users.clear();
  // Ids increase, so each list comes out sorted; an operand read twice
  // makes one user.
  for (const LayerNode &node : nodeList)
    for (const LayerOperand &operand : node.operands) {
      auto &users = nodeList[operand.producer].users;
      if (users.empty() || users.back() != node.id)
        users.push_back(node.id);
    }
}

llvm::StringRef stringifyReorgMode(const LayerNode &node) {
  if (!node.spaceToDepthOrder)
    return "darknet";
  if (*node.spaceToDepthOrder == SpaceToDepthOrder::BlockMajor)
    return "space-to-depth";
  return "space-to-depth-channel-major";
}

void LayerGraph::print(llvm::raw_ostream &os) const {
  os << "layer-graph @" << funcName << ": " << nodeList.size() << " nodes, "
     << totalFlops() << " flops, " << totalWeightBytes() << " weight bytes\n";
  for (const LayerNode &node : nodeList) {
    os << "  #" << node.id << " \"" << node.name << "\" "
       << stringifyLayerKind(node.kind);
    if (node.kind != LayerKind::Input) {
      os << " in=[";
      llvm::interleave(
          node.operands, os,
          [&](const LayerOperand &o) { os << formatShape(o.shape); }, ", ");
      os << "]";
    }
    os << " out=" << formatShape(node.outputShape);
    if (node.kind == LayerKind::Input) {
      os << "\n";
      continue;
    }
    os << " flops=" << node.flops << " weights=" << node.weightBytes;
    if (node.window) {
      const Window1D &r = node.window->rows, &c = node.window->cols;
      os << " window={k=" << r.kernel << "x" << c.kernel << " s=" << r.stride
         << "x" << c.stride << " d=" << r.dilation << "x" << c.dilation
         << " pad=t" << r.padLow << ",b" << r.padHigh << ",l" << c.padLow
         << ",r" << c.padHigh << "}";
    }
    if (node.kind == LayerKind::Upsample)
      os << " factor=" << node.factorRows << "x" << node.factorCols;
    if (node.kind == LayerKind::Reorg)
      os << " stride=" << node.reorgStride
         << " mode=" << stringifyReorgMode(node);
    if (node.kind == LayerKind::Concat)
      os << " dim=" << node.concatDim;
    if (node.kind == LayerKind::Slice) {
      os << " offsets=";
      llvm::interleave(node.sliceOffsets, os, ",");
    }
    os << " operands=[";
    llvm::interleave(
        node.operands, os,
        [&](const LayerOperand &o) {
          os << "\"" << nodeList[o.producer].name
             << "\":" << stringifySpatialAccess(o.access);
        },
        ", ");
    os << "]\n";
  }
  os << "  outputs:";
  for (auto [i, id] : llvm::enumerate(outputIds))
    os << " \"" << outputNameList[i] << "\"=\"" << nodeList[id].name << "\"";
  os << "\n  order:";
  for (unsigned id : topologicalOrder())
    os << " " << id;
  os << "\n";
}

} // namespace mafat
