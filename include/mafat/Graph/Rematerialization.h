//===- Rematerialization.h - Recompute a map for a late reader --*- C++ -*-===//
//
// A map read twice, once right away and once much later (YOLOv3's route
// source: layer 8's 26x26x256 map, read by the trunk and, twelve layers on,
// by the concat), stays live across everything between its readers. When a
// smaller map feeds it (layer 7's 26x26x128), keeping that one instead and
// recomputing the short chain from it for the late reader trades a few
// FLOPs for the difference in bytes: Checkmate-style rematerialization, at
// the granularity of mafat's layers. docs/Fusion.md, "Rematerialization".
//
// This header is the rule on the layer graph (which maps qualify and what
// is recomputed); mafat/Transforms/Rematerialize.h clones the IR, and
// mafat-plan decides, by searching with and without it under the budget.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_GRAPH_REMATERIALIZATION_H
#define MAFAT_GRAPH_REMATERIALIZATION_H

#include "mafat/Graph/LayerGraph.h"

#include <optional>
#include <string>
#include <vector>

namespace mafat {

/// Longest chain of layers recomputed for one map. Longer chains are the
/// halo recompute of a fused group, which the plan search already prices.
constexpr unsigned kMaxRematerializedChain = 3;

/// What rematerializing one map means on the graph.
struct Rematerialization {
  /// The map no longer kept for its late readers.
  unsigned node = 0;
  /// The layers recomputed, producer first, ending at `node`: each reads
  /// one map, the one before it (or `source`), and every one but `node`
  /// has no other reader.
  std::vector<unsigned> chain;
  /// The smaller map kept instead: the input of chain.front().
  unsigned source = 0;
  /// Readers of `node` other than the first in program order: they read
  /// the copy.
  std::vector<unsigned> lateUsers;
  /// FLOPs added (the chain's).
  int64_t extraFlops = 0;
};

/// The rematerialization of `node`, or std::nullopt with `why` set (the
/// reason, for a plan that asks for it): the node must have two or more
/// readers and not be a model output; walking back from it through layers
/// of one input map (an init that is a map counts as a second one)
/// (convs, depthwise convs, pools, elementwise layers, pads), each with no
/// other reader, at most kMaxRematerializedChain layers, reaches a map
/// smaller than the node's.
std::optional<Rematerialization>
findRematerialization(const LayerGraph &graph, unsigned node, std::string &why);

/// Every node findRematerialization accepts, by increasing id.
std::vector<Rematerialization>
rematerializationCandidates(const LayerGraph &graph);

/// The one map `node` reads, if it reads exactly one. A map it writes over
/// (an init that is another layer's result) counts: a copy would keep it
/// live too.
std::optional<unsigned> onlyInputMap(const LayerNode &node);

/// The name mafat gives the copy of layer `name` ("L8:conv" ->
/// "L8:conv.remat").
std::string rematerializedName(llvm::StringRef name);

/// The inverse: the original's name if `name` is a copy's, else
/// std::nullopt.
std::optional<llvm::StringRef> rematerializedOriginal(llvm::StringRef name);

} // namespace mafat

#endif // MAFAT_GRAPH_REMATERIALIZATION_H
