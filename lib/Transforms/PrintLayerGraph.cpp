//===- PrintLayerGraph.cpp - Print the layer graph of each function -------===//
//
// Makes the layer-graph analysis visible to lit tests and to users who want
// to see what the planner will work with (names, FLOPs, weights, windows),
// and the epilogues register blocking fuses when the model runs layer by
// layer (CodegenRules.h), for tools that price layers themselves
// (mafat-calibrate) instead of restating the rule.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Transforms/Passes.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATPRINTLAYERGRAPH
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

struct MafatPrintLayerGraphPass
    : public mafat::impl::MafatPrintLayerGraphBase<MafatPrintLayerGraphPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return markAllAnalysesPreserved();
    FailureOr<mafat::LayerGraph> graph = mafat::LayerGraph::build(func);
    if (failed(graph))
      return signalPassFailure();
    // Functions run in parallel: print each graph in one write so lines of
    // different graphs never interleave.
    std::string text;
    llvm::raw_string_ostream os(text);
    graph->print(os);
    os << "  epilogues:";
    for (const mafat::LayerNode &node : graph->nodes())
      if (std::optional<unsigned> producer = mafat::epilogueProducer(
              *graph, node.id, [](unsigned) { return true; }))
        os << " \"" << graph->node(*producer).name << "\"->\"" << node.name
           << "\"";
    os << "\n";
    llvm::outs() << text;
    llvm::outs().flush();
    markAllAnalysesPreserved();
  }
};

} // namespace
