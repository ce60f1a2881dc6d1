//===- TileAndVectorizeTest.cpp - Epilogue fusion: rule vs transform ------===//
//
// The cost models and profiling ask CodegenRules.h whether an elementwise
// layer is fused into its producer as an epilogue; mafat-tile-and-vectorize
// decides it again on IR (after fuse-tile, with no layer graph to ask).
// Each case here runs the real tensor codegen pipeline on a small module and
// checks, for every elementwise layer and every blocked layer it reads, that
// the rule's answer on the layer graph and the plan equals what the
// transform did.
//
// What the transform did is read from the locations the ops keep: the
// register-block loops of a fused epilogue are created for the elementwise
// op (its location) and hold the producer's ops (the producer's location).
// Loops that hold a tile body (scf.execute_region) are fuse-tile's, not
// register blocks, and are not looked at.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Dialect/Mafat/MafatAttrs.h"
#include "mafat/Dialect/Mafat/MafatDialect.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Pipelines/Pipelines.h"
#include "mafat/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringSet.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <map>
#include <string>

using namespace mlir;
using namespace mafat;

namespace {

class EpilogueFusionTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    registerAllPasses();
    registerMafatPasses();
    registerMafatPipelines();
  }
  EpilogueFusionTest() {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registry.insert<MafatDialect>();
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// The rule's answer: for every elementwise layer, the producer it fuses
  /// under the module's plan (layer by layer without one), by name.
  std::map<std::string, std::string> ruleAnswer(ModuleOp module) {
    std::map<std::string, std::string> fused;
    func::FuncOp func = *module.getOps<func::FuncOp>().begin();
    FailureOr<IRLayerGraph> built = buildLayerGraph(func);
    EXPECT_TRUE(succeeded(built));
    if (failed(built))
      return fused;
    const LayerGraph *graph = &built->graph;
    auto attr = module->getAttrOfType<PlanAttr>(kPlanAttrName);
    Plan plan = attr ? fromAttr(attr) : layerByLayerPlan(*graph);
    std::string error;
    std::optional<std::vector<FusionGroup>> groups =
        buildPlanGroups(*graph, plan, error);
    EXPECT_TRUE(groups.has_value()) << error;
    if (!groups)
      return fused;
    std::vector<int> groupOf(graph->size(), -1);
    for (auto [g, group] : llvm::enumerate(*groups))
      for (const FusedLayer &layer : group.layers())
        groupOf[layer.node] = g;
    for (const LayerNode &node : graph->nodes()) {
      if (node.kind != LayerKind::Elementwise)
        continue;
      const FusionGroup &own = (*groups)[groupOf[node.id]];
      auto sameScope = [&](unsigned id) {
        int g = groupOf[id];
        if (g < 0)
          return false;
        if (own.isTiled())
          return g == groupOf[node.id];
        return !(*groups)[g].isTiled();
      };
      std::string producer;
      if (std::optional<unsigned> p =
              epilogueProducer(*graph, node.id, sameScope))
        producer = graph->node(*p).name;
      fused[node.name] = producer;
    }
    return fused;
  }

  /// Runs the tensor codegen pipeline and reads, for every elementwise layer
  /// of `rule`, which blocked layer's ops its register-block loops hold.
  std::map<std::string, std::string>
  transformAnswer(ModuleOp module,
                  const std::map<std::string, std::string> &rule,
                  const llvm::StringSet<> &blocked) {
    std::map<std::string, std::string> fused;
    PassManager pm(&context);
    std::string error;
    llvm::raw_string_ostream errorStream(error);
    EXPECT_TRUE(
        succeeded(parsePassPipeline("mafat-tensor-codegen", pm, errorStream)))
        << error;
    if (failed(pm.run(module))) {
      ADD_FAILURE() << "mafat-tensor-codegen failed";
      return fused;
    }
    // MAFAT_TEST_DUMP=1 shows the IR the answer is read from.
    if (std::getenv("MAFAT_TEST_DUMP"))
      module->print(llvm::errs(), OpPrintingFlags().enableDebugInfo());
    for (const auto &entry : rule) {
      const std::string &epilogue = entry.first;
      bool hasLoop = false;
      std::string producer;
      module.walk([&](scf::ForOp loop) {
        if (nameOf(loop) != epilogue)
          return;
        bool holdsBody = false;
        loop.walk([&](scf::ExecuteRegionOp) { holdsBody = true; });
        if (holdsBody)
          return;
        hasLoop = true;
        loop.walk([&](Operation *op) {
          std::string name = nameOf(op);
          if (blocked.contains(name))
            producer = name;
        });
      });
      // Without a loop of its own the answer cannot be read: make the case
      // larger rather than let it pass.
      EXPECT_TRUE(hasLoop) << epilogue << " has no register-block loop";
      fused[epilogue] = producer;
    }
    return fused;
  }

  /// The layer name an op's location carries: a NameLoc, possibly inside a
  /// FusedLoc holding metadata (mafat.parallel on register-block loops).
  static std::string nameOf(Location loc) {
    if (auto name = dyn_cast<NameLoc>(loc))
      return name.getName().str();
    if (auto fused = dyn_cast<FusedLoc>(loc);
        fused && fused.getLocations().size() == 1)
      return nameOf(fused.getLocations().front());
    return "";
  }
  static std::string nameOf(Operation *op) { return nameOf(op->getLoc()); }

  /// Parses `source`, asks the rule and the transform, and checks they agree
  /// and give `expected` (elementwise layer -> fused producer, "" for none).
  void check(llvm::StringRef source,
             const std::map<std::string, std::string> &expected) {
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(source, &context);
    ASSERT_TRUE(module) << "cannot parse the case";
    llvm::StringSet<> blocked;
    {
      func::FuncOp func = *module->getOps<func::FuncOp>().begin();
      FailureOr<IRLayerGraph> built = buildLayerGraph(func);
      ASSERT_TRUE(succeeded(built));
      const LayerGraph *graph = &built->graph;
      for (const LayerNode &node : graph->nodes())
        if (isBlockedKind(node.kind))
          blocked.insert(node.name);
    }
    std::map<std::string, std::string> rule = ruleAnswer(*module);
    std::map<std::string, std::string> transform =
        transformAnswer(*module, rule, blocked);
    EXPECT_EQ(rule, transform) << "the rule (left) and the transform (right) "
                                  "disagree";
    EXPECT_EQ(rule, expected);
  }

  MLIRContext context;
};

// Pieces of the cases' MLIR: maps, 1x1 convs over 16 channels on 8x8 maps
// and elementwise layers, each producing %<res> at loc("<name>").
constexpr llvm::StringLiteral kMaps = R"mlir(
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col2 = affine_map<(d0, d1) -> (d1)>
)mlir";

/// `text` with every `$key` replaced by its value.
std::string
substitute(std::string text,
           std::initializer_list<std::pair<const char *, std::string>> values) {
  for (const auto &[key, value] : values)
    for (size_t at = text.find(key); at != std::string::npos;
         at = text.find(key, at + value.size()))
      text.replace(at, llvm::StringRef(key).size(), value);
  return text;
}

/// $R = 1x1 conv of $IN with filter $W (named $NAME).
std::string conv(llvm::StringRef res, llvm::StringRef in, llvm::StringRef name,
                 llvm::StringRef filter = "w") {
  return substitute(R"mlir(
  %$R_e = tensor.empty() : tensor<1x8x8x16xf32>
  %$R_f = linalg.fill ins(%zero : f32) outs(%$R_e : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %$R = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%$IN, %$W : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%$R_f : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("$NAME")
)mlir",
                    {{"$R", res.str()},
                     {"$IN", in.str()},
                     {"$W", filter.str()},
                     {"$NAME", name.str()}});
}

/// Bias + relu reading `in` through the identity map.
std::string biasRelu(llvm::StringRef res, llvm::StringRef in,
                     llvm::StringRef name) {
  return substitute(
      R"mlir(
  %$R_e = tensor.empty() : tensor<1x8x8x16xf32>
  %$R = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%$IN, %b : tensor<1x8x8x16xf32>, tensor<16xf32>) outs(%$R_e : tensor<1x8x8x16xf32>) {
  ^bb0(%$R_i: f32, %$R_b: f32, %$R_o: f32):
    %$R_s = arith.addf %$R_i, %$R_b : f32
    %$R_r = arith.maximumf %$R_s, %zero : f32
    linalg.yield %$R_r : f32
  } -> tensor<1x8x8x16xf32> loc("$NAME")
)mlir",
      {{"$R", res.str()}, {"$IN", in.str()}, {"$NAME", name.str()}});
}

/// `lhs` + `rhs`, both inputs.
std::string add(llvm::StringRef res, llvm::StringRef lhs, llvm::StringRef rhs,
                llvm::StringRef name) {
  return substitute(R"mlir(
  %$R_e = tensor.empty() : tensor<1x8x8x16xf32>
  %$R = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%$A, %$B : tensor<1x8x8x16xf32>, tensor<1x8x8x16xf32>) outs(%$R_e : tensor<1x8x8x16xf32>) {
  ^bb0(%$R_i: f32, %$R_j: f32, %$R_o: f32):
    %$R_s = arith.addf %$R_i, %$R_j : f32
    linalg.yield %$R_s : f32
  } -> tensor<1x8x8x16xf32> loc("$NAME")
)mlir",
                    {{"$R", res.str()},
                     {"$A", lhs.str()},
                     {"$B", rhs.str()},
                     {"$NAME", name.str()}});
}

/// `lhs` added into `dest`, the generic's init (written over in place).
std::string addInto(llvm::StringRef res, llvm::StringRef lhs,
                    llvm::StringRef dest, llvm::StringRef name) {
  return substitute(R"mlir(
  %$R = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%$A : tensor<1x8x8x16xf32>) outs(%$D : tensor<1x8x8x16xf32>) {
  ^bb0(%$R_i: f32, %$R_o: f32):
    %$R_s = arith.addf %$R_i, %$R_o : f32
    linalg.yield %$R_s : f32
  } -> tensor<1x8x8x16xf32> loc("$NAME")
)mlir",
                    {{"$R", res.str()},
                     {"$A", lhs.str()},
                     {"$D", dest.str()},
                     {"$NAME", name.str()}});
}

/// A module with `plan` (a #mafat.plan attribute or ""), one function taking
/// %x and returning `results`, with `body`.
std::string model(llvm::StringRef body, llvm::StringRef results,
                  unsigned numResults = 1, llvm::StringRef plan = "") {
  std::string types;
  for (unsigned i = 0; i < numResults; ++i)
    types += std::string(i ? ", " : "") + "tensor<1x8x8x16xf32>";
  std::string attrs =
      plan.empty() ? "" : (" attributes {mafat.plan = " + plan + "}").str();
  return (kMaps + "module" + attrs + " {\n" +
          "func.func @f(%x: tensor<1x8x8x16xf32>) -> (" + types + ") {\n" +
          "  %zero = arith.constant 0.0 : f32\n"
          "  %w = arith.constant dense<0.125> : tensor<1x1x16x16xf32>\n"
          "  %w2 = arith.constant dense<0.375> : tensor<1x1x16x16xf32>\n"
          "  %b = arith.constant dense<0.25> : tensor<16xf32>\n" +
          body + "  return " + results + " : " + types + "\n}\n}\n")
      .str();
}

TEST_F(EpilogueFusionTest, ConvBiasRelu) {
  check(model(conv("c", "x", "L0:conv") + biasRelu("r", "c", "L0:relu"), "%r"),
        {{"L0:relu", "L0:conv"}});
}

// (Layers differ throughout: CSE would merge identical ones before the
// transform sees them.)
TEST_F(EpilogueFusionTest, ProducerWithTwoUsers) {
  check(model(conv("c", "x", "L0:conv") + biasRelu("r", "c", "L0:relu") +
                  add("s", "c", "x", "L1:add") + add("a", "r", "s", "L2:add"),
              "%a"),
        {{"L0:relu", ""}, {"L1:add", ""}, {"L2:add", ""}});
}

TEST_F(EpilogueFusionTest, ProducerReadTwice) {
  check(model(conv("c", "x", "L0:conv") + add("a", "c", "c", "L0:add"), "%a"),
        {{"L0:add", ""}});
}

// The drift this test was written for: the memory model fused a producer
// that is also a model output; on IR its result has a second use (the
// return), so the transform does not.
TEST_F(EpilogueFusionTest, ProducerIsModelOutput) {
  check(model(conv("c", "x", "L0:conv") + biasRelu("r", "c", "L0:relu"),
              "%c, %r", 2),
        {{"L0:relu", ""}});
}

// A producer read as the generic's init is not an input the transform fuses
// (the graph lists the init among the operands; earlier copies of the rule
// fused it).
TEST_F(EpilogueFusionTest, ProducerIsInit) {
  check(
      model(conv("c", "x", "L0:conv") + addInto("a", "x", "c", "L0:add"), "%a"),
      {{"L0:add", ""}});
  check(model(conv("c", "x", "L0:conv") + conv("d", "x", "L1:conv", "w2") +
                  addInto("a", "c", "d", "L1:add"),
              "%a"),
        {{"L1:add", "L0:conv"}});
}

// Two blocked inputs: the first fuses, the second is computed on its own.
TEST_F(EpilogueFusionTest, AddOfTwoConvs) {
  check(model(conv("c", "x", "L0:conv") + conv("d", "x", "L1:conv", "w2") +
                  add("a", "c", "d", "L1:add"),
              "%a"),
        {{"L1:add", "L0:conv"}});
}

TEST_F(EpilogueFusionTest, AddAfterConvAndInput) {
  check(model(conv("c", "x", "L0:conv") + add("a", "x", "c", "L0:add"), "%a"),
        {{"L0:add", "L0:conv"}});
}

TEST_F(EpilogueFusionTest, PoolRelu) {
  std::string body = R"mlir(
  %ninf = arith.constant 0xFF800000 : f32
  %win = tensor.empty() : tensor<1x1xf32>
  %p_e = tensor.empty() : tensor<1x8x8x16xf32>
  %p_f = linalg.fill ins(%ninf : f32) outs(%p_e : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %p = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %win : tensor<1x8x8x16xf32>, tensor<1x1xf32>) outs(%p_f : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L0:maxpool")
)mlir";
  check(model(body + biasRelu("r", "p", "L0:relu"), "%r"),
        {{"L0:relu", "L0:maxpool"}});
}

TEST_F(EpilogueFusionTest, DepthwiseBias) {
  std::string body = R"mlir(
  %dw = arith.constant dense<0.5> : tensor<3x3x16xf32>
  %xp = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x16xf32> to tensor<1x10x10x16xf32>
  %d_e = tensor.empty() : tensor<1x8x8x16xf32>
  %d_f = linalg.fill ins(%zero : f32) outs(%d_e : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %d = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%xp, %dw : tensor<1x10x10x16xf32>, tensor<3x3x16xf32>) outs(%d_f : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L0:dwconv")
)mlir";
  check(model(body + biasRelu("r", "d", "L0:relu"), "%r"),
        {{"L0:relu", "L0:dwconv"}});
}

// An elementwise layer after an elementwise layer: nothing to fuse into.
TEST_F(EpilogueFusionTest, EltwiseAfterEltwise) {
  check(model(conv("c", "x", "L0:conv") + biasRelu("r", "c", "L0:relu") +
                  biasRelu("s", "r", "L1:relu"),
              "%s"),
        {{"L0:relu", "L0:conv"}, {"L1:relu", ""}});
}

// Matmul + bias on rank-2 values.
TEST_F(EpilogueFusionTest, MatmulBias) {
  std::string source = (kMaps + R"mlir(
func.func @f(%x: tensor<64x64xf32>) -> tensor<64x32xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.125> : tensor<64x32xf32>
  %b = arith.constant dense<0.25> : tensor<32xf32>
  %m_e = tensor.empty() : tensor<64x32xf32>
  %m_f = linalg.fill ins(%zero : f32) outs(%m_e : tensor<64x32xf32>) -> tensor<64x32xf32>
  %m = linalg.matmul ins(%x, %w : tensor<64x64xf32>, tensor<64x32xf32>) outs(%m_f : tensor<64x32xf32>) -> tensor<64x32xf32> loc("L0:matmul")
  %r_e = tensor.empty() : tensor<64x32xf32>
  %r = linalg.generic {indexing_maps = [#id2, #col2, #id2], iterator_types = ["parallel", "parallel"]}
    ins(%m, %b : tensor<64x32xf32>, tensor<32xf32>) outs(%r_e : tensor<64x32xf32>) {
  ^bb0(%i: f32, %c: f32, %o: f32):
    %s = arith.addf %i, %c : f32
    linalg.yield %s : f32
  } -> tensor<64x32xf32> loc("L0:bias")
  return %r : tensor<64x32xf32>
}
)mlir")
                           .str();
  check(source, {{"L0:bias", "L0:matmul"}});
}

// In a tiled group every conv + relu pair is fused inside the tile bodies.
TEST_F(EpilogueFusionTest, InsideTiledGroup) {
  std::string plan =
      "#mafat.plan<groups = [#mafat.group<name = \"g0\", layers = "
      "[\"L0:conv\", \"L0:relu\", \"L1:conv\", \"L1:relu\"], grid = [2, 1], "
      "row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>]>";
  check(model(conv("c", "x", "L0:conv") + biasRelu("r", "c", "L0:relu") +
                  conv("d", "r", "L1:conv") + biasRelu("s", "d", "L1:relu"),
              "%s", 1, plan),
        {{"L0:relu", "L0:conv"}, {"L1:relu", "L1:conv"}});
}

// Across a tiled group's boundary the consumer reads a slice of a map: the
// conv ends tiled group g0 and its relu runs layer by layer, and the second
// conv runs layer by layer with its relu starting tiled group g1.
TEST_F(EpilogueFusionTest, AcrossTiledBoundaries) {
  std::string plan =
      "#mafat.plan<groups = [#mafat.group<name = \"g0\", layers = "
      "[\"L0:conv\"], grid = [2, 1], "
      "row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>, #mafat.group<name "
      "= \"g1\", layers = "
      "[\"L1:relu\", \"L2:conv\"], grid = [2, 1], "
      "row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>]>";
  check(model(conv("c", "x", "L0:conv") + biasRelu("r", "c", "L0:relu") +
                  conv("d", "r", "L1:conv") + biasRelu("s", "d", "L1:relu") +
                  conv("e", "s", "L2:conv"),
              "%e", 1, plan),
        {{"L0:relu", ""}, {"L1:relu", ""}});
}

// Two untiled groups: fuse-tile leaves their IR alone, so the pair fuses.
TEST_F(EpilogueFusionTest, AcrossUntiledGroups) {
  std::string plan =
      "#mafat.plan<groups = [#mafat.group<name = \"g0\", layers = "
      "[\"L0:conv\"], grid = [1, 1], "
      "row_tiles = [[0, 7]], col_tiles = [[0, 7]]>, #mafat.group<name = "
      "\"g1\", layers = "
      "[\"L0:relu\"], grid = [1, 1], "
      "row_tiles = [[0, 7]], col_tiles = [[0, 7]]>]>";
  check(model(conv("c", "x", "L0:conv") + biasRelu("r", "c", "L0:relu"), "%r",
              1, plan),
        {{"L0:relu", "L0:conv"}});
}

} // namespace
