//===- Rematerialization.cpp - Recompute a map for its late reader -------===//

#include "mafat/Graph/Rematerialization.h"

#include "mafat/Graph/FusionGroup.h"

#include "llvm/ADT/STLExtras.h"

using namespace mafat;

namespace {

/// Layers whose copy is the same ops on one input map: the kinds a fusion
/// group takes (FusionGroup.h), but the concat, which joins maps, and
/// upsampling, whose Darknet form (a broadcast and a collapse_shape) the
/// rewrite does not clone, and the layout transpose: its copy would hold the
/// whole transposed map, which a group reading the NCHW map never holds.
bool isRecomputable(LayerKind kind) {
  return isFusableKind(kind) && kind != LayerKind::Concat &&
         kind != LayerKind::Upsample && kind != LayerKind::Transpose;
}

} // namespace

std::optional<unsigned> mafat::onlyInputMap(const LayerNode &node) {
  std::optional<unsigned> input;
  for (const LayerOperand &operand : node.operands) {
    if (input && *input != operand.producer)
      return std::nullopt;
    input = operand.producer;
  }
  return input;
}

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
  if (llvm::is_contained(graph.outputs(), node)) {
    why = "'" + target.name +
          "' is a model output, which the caller's buffer holds anyway";
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
    std::optional<unsigned> input = onlyInputMap(layer);
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
    if (std::optional<Rematerialization> r =
            findRematerialization(graph, node.id, why))
      candidates.push_back(std::move(*r));
  return candidates;
}
