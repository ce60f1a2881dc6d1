//===- LayerGraphTest.cpp - The layer graph as data -----------------------===//
//
// Building a graph without IR (users, lookup, the order), its JSON round
// trip and the reader's error paths. That the graph buildLayerGraph
// recognises in IR is what it should be is the lit suite's
// (test/Analysis, mafat-print-layer-graph).
//
//===----------------------------------------------------------------------===//

#include "mafat/Graph/LayerGraph.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraphJson.h"

#include "Graph/GraphBuilder.h"

#include "gtest/gtest.h"

#include <optional>
#include <string>

using namespace mafat;

namespace {

/// input -> 3x3 conv (pad 1) -> relu, a 1x1 conv of the input, their sum
/// (reading the 1x1 conv twice: one edge, two operands), a pool of the sum
/// and one of the relu, concatenated; the sum's pool is a second output.
LayerGraph branchGraph() {
  test::GraphBuilder b("branch");
  test::MapValue x = b.input(8, 8, 4);
  test::MapValue c = b.conv("L0:conv", x, 3, 8, 1, 1);
  test::MapValue r = b.eltwise("L0:relu", {c}, 2, 32);
  test::MapValue s = b.conv("L1:conv", x, 1, 8, 1, 0);
  test::MapValue a = b.eltwise("L2:add", {r, s, s}, 2);
  test::MapValue p = b.maxpool("L3:maxpool", a);
  test::MapValue q = b.maxpool("L4:maxpool", r);
  test::MapValue cat = b.concat("L5:concat", {p, q});
  return b.finish({cat, p});
}

std::string jsonText(const LayerGraph &graph) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(layerGraphToJson(graph));
  return text;
}

std::string printed(const LayerGraph &graph) {
  std::string text;
  llvm::raw_string_ostream os(text);
  graph.print(os);
  return text;
}

TEST(LayerGraph, FinalizeDerivesUsers) {
  LayerGraph g = branchGraph();
  ASSERT_EQ(g.size(), 8u);
  EXPECT_EQ(g.inputs().size(), 1u);
  unsigned input = g.inputs()[0];
  EXPECT_EQ(g.node(input).users,
            (llvm::SmallVector<unsigned, 2>{*g.lookup("L0:conv"),
                                            *g.lookup("L1:conv")}));
  // L2:add reads L1:conv twice: one user.
  EXPECT_EQ(g.node(*g.lookup("L1:conv")).users,
            (llvm::SmallVector<unsigned, 2>{*g.lookup("L2:add")}));
  EXPECT_EQ(g.node(*g.lookup("L0:relu")).users,
            (llvm::SmallVector<unsigned, 2>{*g.lookup("L2:add"),
                                            *g.lookup("L4:maxpool")}));
  EXPECT_EQ(g.outputs().size(), 2u);
  EXPECT_EQ(g.outputNames()[1], "output1");
  EXPECT_EQ(g.functionName(), "branch");
  EXPECT_EQ(g.topologicalOrder(),
            (std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(g.totalWeightBytes(), 3 * 3 * 4 * 8 * 4 + 32 + 4 * 8 * 4);
  EXPECT_FALSE(g.lookup("L9:none"));
}

/// The layout transpose of an NCHW input (1x3x6x4, channels first) to NHWC:
/// a piece reads the rows and columns it writes, clipped at the NCHW map's
/// last two dimensions; other transposes read their operand whole and stay
/// out of tiled groups.
TEST(LayerGraph, ChannelsFirstOperandHasItsRowsAndColumnsLast) {
  LayerNode node;
  node.kind = LayerKind::Transpose;
  node.name = "image.to_nhwc";
  node.outputShape = {1, 6, 4, 3};
  LayerOperand in;
  in.access = SpatialAccess::ChannelsFirst;
  in.shape = {1, 3, 6, 4};
  node.operands.push_back(in);

  EXPECT_EQ(operandExtent(node.operands[0]), Region::whole(6, 4));
  // Rows 2-5 and columns 1-5 (past the edge): columns clipped at 3, the
  // NCHW map's last column, not at the channel count.
  EXPECT_EQ(node.operandRegion(0, Region(Interval(2, 5), Interval(1, 5))),
            Region(Interval(2, 5), Interval(1, 3)));
  EXPECT_TRUE(isLayoutTranspose(node));
  EXPECT_EQ(whyNotTileable(node), "");

  node.operands[0].access = SpatialAccess::Whole;
  EXPECT_FALSE(isLayoutTranspose(node));
  EXPECT_EQ(whyNotTileable(node),
            "layer 'image.to_nhwc' (transpose) cannot be tiled; give it a 1x1 "
            "grid or its own group");
}

TEST(LayerGraph, JsonRoundTrip) {
  LayerGraph g = branchGraph();
  std::string text = jsonText(g);
  std::string error;
  std::optional<LayerGraph> back = parseLayerGraphJson(text, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(jsonText(*back), text);
  EXPECT_EQ(printed(*back), printed(g));
  // What JSON does not spell out is derived again: the window's input size.
  const LayerNode &conv = back->node(*back->lookup("L0:conv"));
  ASSERT_TRUE(conv.window);
  EXPECT_EQ(conv.window->rows.inputSize, 8);
  EXPECT_EQ(conv.window->cols.padHigh, 1);
  EXPECT_EQ(back->totalWeightBytes(), g.totalWeightBytes());
}

/// A node named `name` of `kind` reading `operand` (none for an input),
/// writing an f32 map of `shape`.
LayerNode makeNode(std::string name, LayerKind kind,
                   std::optional<LayerOperand> operand,
                   llvm::SmallVector<int64_t, 4> shape) {
  LayerNode node;
  node.name = std::move(name);
  node.kind = kind;
  if (operand)
    node.operands.push_back(*operand);
  node.outputBytes = 4;
  for (int64_t d : shape)
    node.outputBytes *= d;
  node.outputShape = std::move(shape);
  return node;
}

TEST(LayerGraph, JsonKeepsKindSpecificFields) {
  LayerGraph g;
  g.setFunctionName("f");
  g.addNode(makeNode("x", LayerKind::Input, std::nullopt, {1, 4, 4, 8}));
  LayerNode reorg =
      makeNode("r", LayerKind::Reorg,
               LayerOperand{0, SpatialAccess::SpaceToDepth, {1, 4, 4, 8}},
               {1, 2, 2, 32});
  reorg.reorgStride = 2;
  reorg.spaceToDepthOrder = SpaceToDepthOrder::ChannelMajor;
  g.addNode(reorg);
  LayerNode up = makeNode(
      "u", LayerKind::Upsample,
      LayerOperand{1, SpatialAccess::Upsample, {1, 2, 2, 32}}, {1, 4, 6, 32});
  up.factorRows = 2;
  up.factorCols = 3;
  up.flops = 768;
  g.addNode(up);
  LayerNode slice = makeNode(
      "s", LayerKind::Slice,
      LayerOperand{2, SpatialAccess::Slice, {1, 4, 6, 32}}, {1, 2, 2, 32});
  slice.sliceOffsets = {0, 1, 1, 0};
  g.addNode(slice);
  // An NCHW input and its layout transpose to NHWC.
  g.addNode(makeNode("image", LayerKind::Input, std::nullopt, {1, 3, 6, 4}));
  g.addNode(
      makeNode("image.to_nhwc", LayerKind::Transpose,
               LayerOperand{4, SpatialAccess::ChannelsFirst, {1, 3, 6, 4}},
               {1, 6, 4, 3}));
  g.addOutput(3, "y");
  g.addOutput(5, "t");
  g.finalize();

  std::string error;
  std::optional<LayerGraph> back = parseLayerGraphJson(jsonText(g), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(jsonText(*back), jsonText(g));
  EXPECT_EQ(back->node(1).spaceToDepthOrder, SpaceToDepthOrder::ChannelMajor);
  EXPECT_EQ(back->node(2).factorCols, 3);
  EXPECT_EQ(back->node(3).sliceOffsets,
            (llvm::SmallVector<int64_t, 4>{0, 1, 1, 0}));
  EXPECT_EQ(back->outputNames()[0], "y");
  EXPECT_EQ(back->node(5).operands[0].access, SpatialAccess::ChannelsFirst);
  EXPECT_TRUE(isLayoutTranspose(back->node(5)));
}

/// The reader's message for `text`, "" if it reads.
std::string readError(const std::string &text) {
  std::string error;
  std::optional<LayerGraph> g = parseLayerGraphJson(text, error);
  EXPECT_EQ(!g, !error.empty());
  return error;
}

/// The branch graph's JSON with `from` replaced by `to` (once).
std::string edited(const std::string &from, const std::string &to) {
  std::string text = jsonText(branchGraph());
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  return text;
}

TEST(LayerGraph, JsonErrors) {
  EXPECT_EQ(readError(jsonText(branchGraph())), "");
  EXPECT_NE(readError("{").find("invalid JSON"), std::string::npos);
  EXPECT_EQ(readError("[]"), "the layer graph is not a JSON object");
  EXPECT_EQ(readError("{}"), "\"nodes\" is not an array");
  EXPECT_EQ(readError(edited("\"kind\":\"conv\"", "\"kind\":\"fft\"")),
            "nodes[1]: unknown kind \"fft\"");
  EXPECT_EQ(readError(edited("\"producer\":0", "\"producer\":7")),
            "nodes[1].operands[0]: producer 7 is not an earlier node");
  EXPECT_EQ(readError(edited("\"access\":\"window\"", "\"access\":\"any\"")),
            "nodes[1].operands[0]: \"access\" is not a known access");
  EXPECT_EQ(readError(edited("\"name\":\"L0:relu\"", "\"name\":\"L0:conv\"")),
            "nodes[2]: name \"L0:conv\" is not unique");
  EXPECT_EQ(readError(edited("\"id\":1", "\"id\":5")),
            "nodes[1]: \"id\" is 5, not its index");
  EXPECT_EQ(readError(edited("\"output_bytes\":",
                             "\"output_bytes\":\"many\",\"x\":")),
            "nodes[0]: \"output_bytes\" is not an integer");
  EXPECT_EQ(readError(edited("\"kernel\":[3,3]", "\"kernel\":[3]")),
            "nodes[1].window: kernel, stride and dilation are pairs");
  Window2D bad{Window1D{0, 1, 1, 1, 1, 8}, Window1D{3, 1, 1, 1, 1, 8}};
  EXPECT_EQ(readError(edited("\"kernel\":[3,3]", "\"kernel\":[0,3]")),
            "nodes[1].window: invalid window " + bad.str());
  EXPECT_EQ(readError(edited("\"inputs\":[0]", "\"inputs\":[1]")),
            "\"inputs\" are not the input nodes in order");
  EXPECT_EQ(readError(edited("\"node\":7", "\"node\":8")),
            "outputs[0]: no node 8");
}

} // namespace
