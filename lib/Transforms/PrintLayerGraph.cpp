//===- PrintLayerGraph.cpp - Print the layer graph of each function -------===//
//
// Makes the layer-graph analysis visible to lit tests and to users who want
// to see what the planner will work with (names, FLOPs, weights, windows).
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
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
    llvm::outs() << text;
    llvm::outs().flush();
    markAllAnalysesPreserved();
  }
};

} // namespace
