//===- PrintLayerGraph.cpp - Print the layer graph of each function -------===//
//
// Makes the layer-graph analysis visible to lit tests and to users who want
// to see what the planner will work with (names, FLOPs, weights, windows),
// and the epilogues register blocking fuses when the model runs layer by
// layer (CodegenRules.h), so tools outside the compiler need not restate
// the rule. format=json writes the same graph as JSON, so those tools need
// not parse the text: mafat-calibrate hands it to mafat-predict, the latency
// model on the graph JSON.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Graph/LayerGraphJson.h"
#include "mafat/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATPRINTLAYERGRAPH
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

struct MafatPrintLayerGraphPass
    : public mafat::impl::MafatPrintLayerGraphBase<MafatPrintLayerGraphPass> {
  using MafatPrintLayerGraphBase::MafatPrintLayerGraphBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (format != "text" && format != "json") {
      func.emitError() << "mafat-print-layer-graph: format must be 'text' or "
                          "'json', got '"
                       << format << "'";
      return signalPassFailure();
    }
    if (func.isExternal())
      return markAllAnalysesPreserved();
    FailureOr<mafat::IRLayerGraph> built = mafat::buildLayerGraph(func);
    if (failed(built))
      return signalPassFailure();
    const mafat::LayerGraph &graph = built->graph;
    // Functions run in parallel: print each graph in one write so lines of
    // different graphs never interleave.
    std::string text;
    llvm::raw_string_ostream os(text);
    if (format == "json")
      printJson(graph, os);
    else
      printText(graph, os);
    llvm::outs() << text;
    llvm::outs().flush();
    markAllAnalysesPreserved();
  }

private:
  /// The producer each node is fused into as an epilogue when the model
  /// runs layer by layer (no tiled group: every node in the same scope).
  static std::optional<unsigned> epilogueOf(const mafat::LayerGraph &graph,
                                            unsigned node) {
    return mafat::epilogueProducer(graph, node, [](unsigned) { return true; });
  }

  static void printText(const mafat::LayerGraph &graph, llvm::raw_ostream &os) {
    graph.print(os);
    os << "  epilogues:";
    for (const mafat::LayerNode &node : graph.nodes())
      if (std::optional<unsigned> producer = epilogueOf(graph, node.id))
        os << " \"" << graph.node(*producer).name << "\"->\"" << node.name
           << "\"";
    os << "\n";
  }

  /// layerGraphToJson with each node's "epilogue_of" (the producer id or
  /// null), one pretty-printed object per function.
  static void printJson(const mafat::LayerGraph &graph, llvm::raw_ostream &os) {
    llvm::json::Object json = mafat::layerGraphToJson(graph);
    llvm::json::Array &nodes = *json.getArray("nodes");
    for (const mafat::LayerNode &node : graph.nodes()) {
      std::optional<unsigned> producer = epilogueOf(graph, node.id);
      (*nodes[node.id].getAsObject())["epilogue_of"] =
          producer ? llvm::json::Value((int64_t)*producer) : nullptr;
    }
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(json))) << "\n";
  }
};

} // namespace
