//===- LayerGraphJson.cpp - The layer graph as JSON -----------------------===//

#include "mafat/Graph/LayerGraphJson.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace mafat {

llvm::json::Object layerGraphToJson(const LayerGraph &graph) {
  auto ints = [](llvm::ArrayRef<int64_t> values) {
    return llvm::json::Array(values);
  };
  llvm::json::Array nodesJson;
  for (const LayerNode &node : graph.nodes()) {
    llvm::json::Array operandsJson;
    for (const LayerOperand &o : node.operands)
      operandsJson.push_back(
          llvm::json::Object{{"producer", (int64_t)o.producer},
                             {"access", stringifySpatialAccess(o.access)},
                             {"shape", ints(o.shape)},
                             {"init", o.init},
                             {"identity_input", o.identityInput}});
    llvm::json::Object json{{"id", (int64_t)node.id},
                            {"name", node.name},
                            {"kind", stringifyLayerKind(node.kind)},
                            {"operands", std::move(operandsJson)},
                            {"output_shape", ints(node.outputShape)},
                            {"output_bytes", node.outputBytes},
                            {"flops", node.flops},
                            {"macs", node.macs},
                            {"weight_bytes", node.weightBytes},
                            {"users", llvm::json::Array(node.users)}};
    if (node.window) {
      const Window1D &r = node.window->rows, &c = node.window->cols;
      json["window"] =
          llvm::json::Object{{"kernel", ints({r.kernel, c.kernel})},
                             {"stride", ints({r.stride, c.stride})},
                             {"dilation", ints({r.dilation, c.dilation})},
                             {"pad", llvm::json::Object{{"top", r.padLow},
                                                        {"bottom", r.padHigh},
                                                        {"left", c.padLow},
                                                        {"right", c.padHigh}}}};
    }
    if (node.kind == LayerKind::Upsample)
      json["factor"] = ints({node.factorRows, node.factorCols});
    if (node.kind == LayerKind::Reorg)
      json["reorg"] = llvm::json::Object{{"stride", node.reorgStride},
                                         {"mode", stringifyReorgMode(node)}};
    if (node.kind == LayerKind::Concat)
      json["concat_dim"] = node.concatDim;
    if (node.kind == LayerKind::Slice)
      json["slice_offsets"] = ints(node.sliceOffsets);
    nodesJson.push_back(std::move(json));
  }
  llvm::json::Array outputsJson;
  for (auto [i, id] : llvm::enumerate(graph.outputs()))
    outputsJson.push_back(llvm::json::Object{{"name", graph.outputNames()[i]},
                                             {"node", (int64_t)id}});
  return llvm::json::Object{
      {"function", graph.functionName()},
      {"flops", graph.totalFlops()},
      {"macs", graph.totalMacs()},
      {"weight_bytes", graph.totalWeightBytes()},
      {"inputs", llvm::json::Array(graph.inputs())},
      {"outputs", std::move(outputsJson)},
      {"order", llvm::json::Array(graph.topologicalOrder())},
      {"nodes", std::move(nodesJson)}};
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

std::optional<LayerKind> parseLayerKind(llvm::StringRef name) {
  for (int k = 0; k <= (int)LayerKind::Reorg; ++k)
    if (stringifyLayerKind((LayerKind)k) == name)
      return (LayerKind)k;
  return std::nullopt;
}

std::optional<SpatialAccess> parseSpatialAccess(llvm::StringRef name) {
  for (int a = 0; a <= (int)SpatialAccess::Whole; ++a)
    if (stringifySpatialAccess((SpatialAccess)a) == name)
      return (SpatialAccess)a;
  return std::nullopt;
}

/// Reads one JSON graph, reporting the first problem by its JSON path.
class GraphReader {
public:
  explicit GraphReader(std::string &error) : error(error) {}

  std::optional<LayerGraph> read(const llvm::json::Value &value);

private:
  bool fail(const llvm::Twine &message) {
    if (error.empty())
      error = message.str();
    return false;
  }
  bool ints(const llvm::json::Object &o, llvm::StringRef key,
            llvm::SmallVectorImpl<int64_t> &out, const llvm::Twine &where);
  bool int64(const llvm::json::Object &o, llvm::StringRef key, int64_t &out,
             const llvm::Twine &where, bool optional = false);
  bool readNode(const llvm::json::Object &o, unsigned id, LayerGraph &graph);

  std::string &error;
};

bool GraphReader::ints(const llvm::json::Object &o, llvm::StringRef key,
                       llvm::SmallVectorImpl<int64_t> &out,
                       const llvm::Twine &where) {
  const llvm::json::Array *array = o.getArray(key);
  if (!array)
    return fail(where + ": \"" + key + "\" is not an array");
  out.clear();
  for (const llvm::json::Value &v : *array) {
    std::optional<int64_t> i = v.getAsInteger();
    if (!i)
      return fail(where + ": \"" + key + "\" holds a non-integer");
    out.push_back(*i);
  }
  return true;
}

bool GraphReader::int64(const llvm::json::Object &o, llvm::StringRef key,
                        int64_t &out, const llvm::Twine &where, bool optional) {
  if (!o.get(key))
    return optional || fail(where + ": \"" + key + "\" is missing");
  std::optional<int64_t> i = o.getInteger(key);
  if (!i)
    return fail(where + ": \"" + key + "\" is not an integer");
  out = *i;
  return true;
}

bool GraphReader::readNode(const llvm::json::Object &o, unsigned id,
                           LayerGraph &graph) {
  std::string where = "nodes[" + std::to_string(id) + "]";
  LayerNode node;
  std::optional<llvm::StringRef> name = o.getString("name");
  std::optional<llvm::StringRef> kindName = o.getString("kind");
  if (!name || !kindName)
    return fail(where + ": \"name\" and \"kind\" must be strings");
  std::optional<LayerKind> kind = parseLayerKind(*kindName);
  if (!kind)
    return fail(where + ": unknown kind \"" + *kindName + "\"");
  if (graph.lookup(*name))
    return fail(where + ": name \"" + *name + "\" is not unique");
  node.name = name->str();
  node.kind = *kind;
  int64_t nodeId = id;
  if (!int64(o, "id", nodeId, where, /*optional=*/true))
    return false;
  if (nodeId != id)
    return fail(where + ": \"id\" is " + llvm::Twine(nodeId) +
                ", not its index");
  llvm::SmallVector<int64_t, 4> shape;
  if (!ints(o, "output_shape", shape, where) ||
      !int64(o, "output_bytes", node.outputBytes, where) ||
      !int64(o, "flops", node.flops, where) ||
      !int64(o, "macs", node.macs, where) ||
      !int64(o, "weight_bytes", node.weightBytes, where))
    return false;
  node.outputShape.assign(shape.begin(), shape.end());

  const llvm::json::Array *operands = o.getArray("operands");
  if (!operands)
    return fail(where + ": \"operands\" is not an array");
  for (auto [i, v] : llvm::enumerate(*operands)) {
    std::string at = where + ".operands[" + std::to_string(i) + "]";
    const llvm::json::Object *oo = v.getAsObject();
    if (!oo)
      return fail(at + ": not an object");
    LayerOperand operand;
    int64_t producer = -1;
    if (!int64(*oo, "producer", producer, at))
      return false;
    if (producer < 0 || producer >= (int64_t)id)
      return fail(at + ": producer " + llvm::Twine(producer) +
                  " is not an earlier node");
    operand.producer = producer;
    std::optional<llvm::StringRef> access = oo->getString("access");
    std::optional<SpatialAccess> parsed =
        access ? parseSpatialAccess(*access) : std::nullopt;
    if (!parsed)
      return fail(at + ": \"access\" is not a known access");
    operand.access = *parsed;
    if (!ints(*oo, "shape", shape, at))
      return false;
    operand.shape.assign(shape.begin(), shape.end());
    operand.init = oo->getBoolean("init").value_or(false);
    operand.identityInput = oo->getBoolean("identity_input").value_or(false);
    node.operands.push_back(std::move(operand));
  }

  if (const llvm::json::Object *w = o.getObject("window")) {
    llvm::SmallVector<int64_t, 2> kernel, stride, dilation;
    const llvm::json::Object *pad = w->getObject("pad");
    if (!pad)
      return fail(where + ".window: \"pad\" is not an object");
    Window2D window;
    if (!ints(*w, "kernel", kernel, where + ".window") ||
        !ints(*w, "stride", stride, where + ".window") ||
        !ints(*w, "dilation", dilation, where + ".window") ||
        !int64(*pad, "top", window.rows.padLow, where + ".window.pad") ||
        !int64(*pad, "bottom", window.rows.padHigh, where + ".window.pad") ||
        !int64(*pad, "left", window.cols.padLow, where + ".window.pad") ||
        !int64(*pad, "right", window.cols.padHigh, where + ".window.pad"))
      return false;
    if (kernel.size() != 2 || stride.size() != 2 || dilation.size() != 2)
      return fail(where + ".window: kernel, stride and dilation are pairs");
    // The windowed operand is the first, in its unpadded shape.
    if (node.operands.empty() || node.operands[0].shape.size() != 4)
      return fail(where + ".window: no rank-4 first operand");
    window.rows.kernel = kernel[0];
    window.cols.kernel = kernel[1];
    window.rows.stride = stride[0];
    window.cols.stride = stride[1];
    window.rows.dilation = dilation[0];
    window.cols.dilation = dilation[1];
    window.rows.inputSize = node.operands[0].shape[1];
    window.cols.inputSize = node.operands[0].shape[2];
    if (!window.rows.isValid() || !window.cols.isValid())
      return fail(where + ".window: invalid window " + window.str());
    node.window = window;
  }
  if (o.get("factor")) {
    if (!ints(o, "factor", shape, where))
      return false;
    if (shape.size() != 2 || shape[0] < 1 || shape[1] < 1)
      return fail(where + ": \"factor\" is not two positive integers");
    node.factorRows = shape[0];
    node.factorCols = shape[1];
  }
  if (const llvm::json::Object *r = o.getObject("reorg")) {
    if (!int64(*r, "stride", node.reorgStride, where + ".reorg"))
      return false;
    std::optional<llvm::StringRef> mode = r->getString("mode");
    if (mode == "space-to-depth")
      node.spaceToDepthOrder = SpaceToDepthOrder::BlockMajor;
    else if (mode == "space-to-depth-channel-major")
      node.spaceToDepthOrder = SpaceToDepthOrder::ChannelMajor;
    else if (mode != "darknet")
      return fail(where + ".reorg: unknown \"mode\"");
  }
  if (!int64(o, "concat_dim", node.concatDim, where, /*optional=*/true))
    return false;
  if (o.get("slice_offsets")) {
    if (!ints(o, "slice_offsets", shape, where))
      return false;
    node.sliceOffsets.assign(shape.begin(), shape.end());
  }
  graph.addNode(std::move(node));
  return true;
}

std::optional<LayerGraph> GraphReader::read(const llvm::json::Value &value) {
  const llvm::json::Object *o = value.getAsObject();
  if (!o) {
    fail("the layer graph is not a JSON object");
    return std::nullopt;
  }
  LayerGraph graph;
  if (std::optional<llvm::StringRef> function = o->getString("function"))
    graph.setFunctionName(function->str());
  const llvm::json::Array *nodes = o->getArray("nodes");
  if (!nodes) {
    fail("\"nodes\" is not an array");
    return std::nullopt;
  }
  for (auto [i, v] : llvm::enumerate(*nodes)) {
    const llvm::json::Object *n = v.getAsObject();
    if (!n) {
      fail("nodes[" + llvm::Twine(i) + "]: not an object");
      return std::nullopt;
    }
    if (!readNode(*n, i, graph))
      return std::nullopt;
  }
  llvm::SmallVector<int64_t> inputs;
  if (!ints(*o, "inputs", inputs, "graph"))
    return std::nullopt;
  if (!llvm::equal(inputs, graph.inputs())) {
    fail("\"inputs\" are not the input nodes in order");
    return std::nullopt;
  }
  const llvm::json::Array *outputs = o->getArray("outputs");
  if (!outputs) {
    fail("\"outputs\" is not an array");
    return std::nullopt;
  }
  for (auto [i, v] : llvm::enumerate(*outputs)) {
    std::string at = "outputs[" + std::to_string(i) + "]";
    const llvm::json::Object *out = v.getAsObject();
    int64_t id = -1;
    std::optional<llvm::StringRef> name =
        out ? out->getString("name") : std::nullopt;
    if (!name) {
      fail(at + ": no \"name\"");
      return std::nullopt;
    }
    if (!int64(*out, "node", id, at))
      return std::nullopt;
    if (id < 0 || id >= (int64_t)graph.size()) {
      fail(at + ": no node " + llvm::Twine(id));
      return std::nullopt;
    }
    graph.addOutput(id, name->str());
  }
  int64_t weightBytes = 0;
  if (!int64(*o, "weight_bytes", weightBytes, "graph"))
    return std::nullopt;
  graph.setTotalWeightBytes(weightBytes);
  graph.finalize();
  return graph;
}

} // namespace

std::optional<LayerGraph> layerGraphFromJson(const llvm::json::Value &json,
                                             std::string &error) {
  error.clear();
  return GraphReader(error).read(json);
}

std::optional<LayerGraph> parseLayerGraphJson(llvm::StringRef text,
                                              std::string &error) {
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(text);
  if (!json) {
    error = "invalid JSON: " + llvm::toString(json.takeError());
    return std::nullopt;
  }
  return layerGraphFromJson(*json, error);
}

} // namespace mafat
