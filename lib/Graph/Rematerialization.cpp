//===- Rematerialization.cpp - Recompute a long-lived map for its late reader //

#include "mafat/Graph/Rematerialization.h"

#include "llvm/ADT/STLExtras.h"

using namespace mafat;

namespace {

/// Layers whose copy is the same ops on the same kind of input: one input
/// map, no state, no reshaping of the graph around them.
bool isRecomputable(LayerKind kind) {
  switch (kind) {
  case LayerKind::Conv:
  case LayerKind::DepthwiseConv:
  case LayerKind::MaxPool:
  case LayerKind::SumPool:
  case LayerKind::Elementwise:
  case LayerKind::Pad:
    return true;
  default:
    return false;
  }
}

/// The one map `node` reads (its init aside), if it reads exactly one.
std::optional<unsigned> onlyInput(const LayerNode &node) {
  std::optional<unsigned> input;
  for (const LayerOperand &operand : node.operands) {
    if (operand.init)
      continue;
    if (input && *input != operand.producer)
      return std::nullopt;
    input = operand.producer;
  }
  return input;
}

} // namespace

/// What a copy's name adds to its original's.
static constexpr llvm::StringLiteral kCopySuffix = ".remat";

std::string mafat::rematerializedName(llvm::StringRef name) {
  return name.str() + kCopySuffix.str();
}

std::optional<llvm::StringRef>
mafat::rematerializedOriginal(llvm::StringRef name) {
  if (!name.ends_with(kCopySuffix))
    return std::nullopt;
  return name.drop_back(kCopySuffix.size());
}

std::optional<Rematerialization>
mafat::findRematerialization(const LayerGraph &graph, unsigned node,
                             std::string &why) {
  const LayerNode &target = graph.node(node);
  if (target.users.size() < 2) {
    why = "'" + target.name + "' has " + std::to_string(target.users.size()) +
          " reader(s); only a map read twice or more is kept for a later "
          "reader";
    return std::nullopt;
  }
  Rematerialization r;
  r.node = node;
  r.lateUsers.assign(target.users.begin() + 1, target.users.end());
  unsigned current = node;
  while (true) {
    const LayerNode &layer = graph.node(current);
    if (!isRecomputable(layer.kind)) {
      why = "'" + layer.name + "' is a " +
            stringifyLayerKind(layer.kind).str() +
            " layer; only convs, pools, elementwise layers and pads are "
            "recomputed";
      return std::nullopt;
    }
    std::optional<unsigned> input = onlyInput(layer);
    if (!input) {
      why = "'" + layer.name + "' reads more than one map";
      return std::nullopt;
    }
    r.chain.insert(r.chain.begin(), current);
    r.extraFlops += layer.flops;
    const LayerNode &producer = graph.node(*input);
    if (producer.outputBytes < target.outputBytes) {
      r.source = *input;
      return r;
    }
    if (producer.kind == LayerKind::Input || producer.users.size() != 1 ||
        r.chain.size() == kMaxRematerializedChain) {
      why = "no map smaller than '" + target.name + "' (" +
            std::to_string(target.outputBytes) + " bytes) is within " +
            std::to_string(kMaxRematerializedChain) +
            " single-reader layers before it";
      return std::nullopt;
    }
    current = *input;
  }
}

std::vector<Rematerialization>
mafat::rematerializationCandidates(const LayerGraph &graph) {
  std::vector<Rematerialization> candidates;
  std::string why;
  for (const LayerNode &node : graph.nodes())
    if (node.kind != LayerKind::Input && node.users.size() >= 2)
      if (std::optional<Rematerialization> r =
              findRematerialization(graph, node.id, why))
        candidates.push_back(std::move(*r));
  return candidates;
}
