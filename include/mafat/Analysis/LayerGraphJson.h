//===- LayerGraphJson.h - The layer graph as JSON ---------------*- C++ -*-===//
//
// The layer graph for tools outside the compiler (mafat-calibrate) that read
// it instead of parsing LayerGraph::print's text. Declared apart from
// LayerGraph.h so the graph's many includers do not pull in JSON; defined
// next to print in LayerGraph.cpp so the two name things alike.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_ANALYSIS_LAYERGRAPHJSON_H
#define MAFAT_ANALYSIS_LAYERGRAPHJSON_H

#include "mafat/Analysis/LayerGraph.h"

#include "llvm/Support/JSON.h"

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

} // namespace mafat

#endif // MAFAT_ANALYSIS_LAYERGRAPHJSON_H
