//===- LayerGraphJson.h - The layer graph as JSON ---------------*- C++ -*-===//
//
// The layer graph for tools outside the compiler (mafat-calibrate) that read
// it instead of parsing LayerGraph::print's text, and read back: the unit
// tests of the cost models and the search build their graphs from it without
// MLIR. Declared apart from LayerGraph.h so the graph's many includers do not
// pull in JSON.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_GRAPH_LAYERGRAPHJSON_H
#define MAFAT_GRAPH_LAYERGRAPHJSON_H

#include "mafat/Graph/LayerGraph.h"

#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace mafat {

/// `graph` as {"function", "flops", "macs", "weight_bytes", "inputs",
/// "outputs": [{"name", "node"}], "order", "nodes"}, each node {"id",
/// "name", "kind", "operands": [{"producer", "access", "shape", "init",
/// "identity_input"}], "output_shape", "output_bytes", "flops", "macs",
/// "weight_bytes", "users"} plus, where print shows them, "window"
/// ({"kernel", "stride", "dilation": [rows, cols], "pad": {"top", "bottom",
/// "left", "right"}}), "factor", "reorg" ({"stride", "mode"}), "concat_dim"
/// and "slice_offsets". Kinds, accesses and modes are spelled as in print.
/// docs/Passes.md lists the keys.
llvm::json::Object layerGraphToJson(const LayerGraph &graph);

/// The graph layerGraphToJson wrote ("order", "users", the nodes' "id" and
/// the totals other than "weight_bytes" are derived again, not read). A
/// window's unpadded input size is its first operand's shape. On a malformed
/// graph, std::nullopt and `error` says where.
std::optional<LayerGraph> layerGraphFromJson(const llvm::json::Value &json,
                                             std::string &error);
/// layerGraphFromJson of a JSON text.
std::optional<LayerGraph> parseLayerGraphJson(llvm::StringRef text,
                                              std::string &error);

} // namespace mafat

#endif // MAFAT_GRAPH_LAYERGRAPHJSON_H
