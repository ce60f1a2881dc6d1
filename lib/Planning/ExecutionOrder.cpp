//===- ExecutionOrder.cpp - Layer order, live maps ------------------------===//

#include "mafat/Planning/ExecutionOrder.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>

using namespace mafat;

namespace {

/// The workspace only holds maps the model owns: inputs and outputs belong
/// to the caller.
uint64_t workspaceMapBytes(const LayerGraph &graph, unsigned id) {
  const LayerNode &node = graph.node(id);
  if (node.kind == LayerKind::Input || llvm::is_contained(graph.outputs(), id))
    return 0;
  return node.outputBytes;
}

/// Greedy memory-aware list schedule (see chooseExecutionOrder).
std::vector<unsigned> greedyOrder(const LayerGraph &graph) {
  unsigned n = graph.size();
  std::vector<unsigned> pendingOperands(n, 0), unreadUsers(n, 0);
  for (const LayerNode &node : graph.nodes()) {
    // Operands may repeat; count distinct producers.
    llvm::SmallVector<unsigned, 4> producers;
    for (const LayerOperand &op : node.operands)
      if (!llvm::is_contained(producers, op.producer))
        producers.push_back(op.producer);
    pendingOperands[node.id] = producers.size();
    unreadUsers[node.id] = node.users.size();
  }
  std::vector<bool> ready(n, false), done(n, false);
  auto finish = [&](unsigned id) {
    done[id] = true;
    for (unsigned user : graph.node(id).users)
      if (--pendingOperands[user] == 0)
        ready[user] = true;
  };
  for (unsigned id : graph.inputs())
    finish(id);
  std::vector<unsigned> order;
  unsigned last = ~0u;
  while (true) {
    int best = -1;
    int64_t bestDelta = 0;
    bool bestContinues = false;
    // A chain goes on while it has one reader: running anything in between
    // only keeps its map live longer (and splits conv + epilogue).
    if (last != ~0u && graph.node(last).users.size() == 1) {
      unsigned next = graph.node(last).users.front();
      if (ready[next] && !done[next])
        best = next;
    }
    bool forced = best >= 0;
    for (unsigned id = 0; id < n && !forced; ++id) {
      if (!ready[id] || done[id])
        continue;
      const LayerNode &node = graph.node(id);
      int64_t delta = workspaceMapBytes(graph, id);
      llvm::SmallVector<unsigned, 4> seen;
      for (const LayerOperand &op : node.operands) {
        if (llvm::is_contained(seen, op.producer))
          continue;
        seen.push_back(op.producer);
        if (unreadUsers[op.producer] == 1)
          delta -= workspaceMapBytes(graph, op.producer);
      }
      bool continues = last != ~0u &&
                       llvm::any_of(node.operands, [&](const LayerOperand &o) {
                         return o.producer == last;
                       });
      if (best < 0 || delta < bestDelta ||
          (delta == bestDelta && continues && !bestContinues)) {
        best = id;
        bestDelta = delta;
        bestContinues = continues;
      }
    }
    if (best < 0)
      break;
    llvm::SmallVector<unsigned, 4> seen;
    for (const LayerOperand &op : graph.node(best).operands)
      if (!llvm::is_contained(seen, op.producer)) {
        seen.push_back(op.producer);
        --unreadUsers[op.producer];
      }
    order.push_back(best);
    finish(best);
    last = best;
  }
  return order;
}

std::pair<uint64_t, uint64_t> orderScore(const LayerGraph &graph,
                                         llvm::ArrayRef<unsigned> order) {
  uint64_t sum = 0, max = 0;
  for (uint64_t b : bytesAcrossCuts(graph, order)) {
    sum += b;
    max = std::max(max, b);
  }
  return {sum, max};
}

} // namespace

std::vector<unsigned> mafat::programOrder(const LayerGraph &graph) {
  std::vector<unsigned> order;
  for (unsigned id : graph.topologicalOrder())
    if (graph.node(id).kind != LayerKind::Input)
      order.push_back(id);
  return order;
}

//===----------------------------------------------------------------------===//
// Liveness
//===----------------------------------------------------------------------===//

MapLiveness::MapLiveness(const LayerGraph &graph,
                         llvm::ArrayRef<llvm::SmallVector<unsigned, 1>> steps) {
  std::vector<int> stepOf(graph.size(), -1);
  for (auto [s, nodes] : llvm::enumerate(steps))
    for (unsigned id : nodes)
      stepOf[id] = s;
  lastReadStep.assign(graph.size(), -1);
  for (const LayerNode &node : graph.nodes())
    for (unsigned user : node.users)
      lastReadStep[node.id] = std::max(lastReadStep[node.id], stepOf[user]);
  unsigned n = steps.size();
  liveAt.assign(n + 1, {});
  for (unsigned begin = 0; begin <= n; ++begin)
    for (unsigned s = 0; s < begin; ++s)
      for (unsigned id : steps[s])
        if (lastReadStep[id] >= (int)begin)
          liveAt[begin].push_back(id);
}

MapLiveness MapLiveness::ofOrder(const LayerGraph &graph,
                                 llvm::ArrayRef<unsigned> order) {
  std::vector<llvm::SmallVector<unsigned, 1>> steps;
  for (unsigned id : order)
    steps.push_back({id});
  return MapLiveness(graph, steps);
}

MapLiveness MapLiveness::ofGroups(const LayerGraph &graph,
                                  llvm::ArrayRef<FusionGroup> groups) {
  std::vector<llvm::SmallVector<unsigned, 1>> steps(groups.size());
  for (auto [k, group] : llvm::enumerate(groups))
    for (const FusedLayer &layer : group.layers())
      steps[k].push_back(layer.node);
  return MapLiveness(graph, steps);
}

std::vector<unsigned> MapLiveness::consumed(unsigned begin,
                                            unsigned end) const {
  std::vector<unsigned> result;
  for (unsigned id : liveAt[begin])
    if (lastReadStep[id] < (int)end)
      result.push_back(id);
  return result;
}

//===----------------------------------------------------------------------===//
// Execution order
//===----------------------------------------------------------------------===//

std::vector<uint64_t> mafat::bytesAcrossCuts(const LayerGraph &graph,
                                             llvm::ArrayRef<unsigned> order) {
  MapLiveness liveness = MapLiveness::ofOrder(graph, order);
  std::vector<uint64_t> across(order.size() + 1, 0);
  for (unsigned p = 0; p <= order.size(); ++p)
    for (unsigned id : liveness.live(p))
      across[p] += workspaceMapBytes(graph, id);
  return across;
}

std::vector<std::vector<unsigned>>
mafat::candidateOrders(const LayerGraph &graph) {
  std::vector<unsigned> own = programOrder(graph);
  std::vector<unsigned> greedy = greedyOrder(graph);
  if (greedy.size() != own.size() || greedy == own)
    return {own};
  return {own, greedy};
}

std::vector<unsigned> mafat::chooseExecutionOrder(const LayerGraph &graph) {
  std::vector<unsigned> own = programOrder(graph);
  std::vector<unsigned> greedy = greedyOrder(graph);
  if (greedy.size() != own.size())
    return own;
  return orderScore(graph, greedy) < orderScore(graph, own) ? greedy : own;
}
