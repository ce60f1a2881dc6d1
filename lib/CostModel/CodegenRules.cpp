//===- CodegenRules.cpp - What codegen will do, asked by the models -------===//

#include "mafat/CostModel/CodegenRules.h"

#include "mafat/Graph/LayerGraph.h"

#include "llvm/ADT/STLExtras.h"

using namespace mafat;

bool mafat::isBlockedKind(LayerKind kind) {
  return kind == LayerKind::Conv || kind == LayerKind::DepthwiseConv ||
         kind == LayerKind::MaxPool || kind == LayerKind::SumPool ||
         kind == LayerKind::Matmul;
}

std::optional<unsigned> mafat::epilogueProducer(const LayerGraph &graph,
                                                unsigned epilogue,
                                                SameScopeFn sameScope) {
  const LayerNode &node = graph.node(epilogue);
  if (node.kind != LayerKind::Elementwise)
    return std::nullopt;
  for (const LayerOperand &operand : node.operands) {
    const LayerNode &producer = graph.node(operand.producer);
    // In IR terms: the producer's result has exactly one use, this input.
    // The graph lists users once and leaves out the function's return.
    if (!operand.identityInput || !isBlockedKind(producer.kind) ||
        producer.users.size() != 1 ||
        llvm::is_contained(graph.outputs(), producer.id) ||
        llvm::count_if(node.operands,
                       [&](const LayerOperand &o) {
                         return o.producer == producer.id;
                       }) != 1 ||
        !sameScope(producer.id))
      continue;
    return producer.id;
  }
  return std::nullopt;
}

std::optional<unsigned> mafat::fusedEpilogue(const LayerGraph &graph,
                                             unsigned producer,
                                             SameScopeFn sameScope) {
  const LayerNode &p = graph.node(producer);
  if (!isBlockedKind(p.kind) || p.users.size() != 1 ||
      !sameScope(p.users.front()))
    return std::nullopt;
  unsigned epilogue = p.users.front();
  if (epilogueProducer(graph, epilogue, sameScope) != producer)
    return std::nullopt;
  return epilogue;
}
