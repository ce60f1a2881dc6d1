//===- LayerGraph.cpp - The layer graph of a model in canonical form ------===//
//
// Three passes over the function body (one block, ops in program order, so
// program order is a topological order of the SSA graph):
//   1. which values are static: computed from constants alone (weights,
//      accumulator fills, TOSA's broadcast bias). They are folded into the
//      layer that reads them and never become edges;
//   2. which multi-op idioms form one layer (a pad feeding window ops, reorg
//      chains, broadcast upsampling, insert_slice concatenations). Their ops
//      are marked absorbed and the layer is keyed by its last op, so that
//      node ids follow the program order of each layer's result;
//   3. one node per remaining non-static op, with operands, shapes, FLOPs,
//      weights and spatial access.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/Dialect/Mafat/AttrNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <queue>

using namespace mlir;

namespace mafat {

std::optional<LayerKind> namedLayerKind(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::optional<LayerKind>>(op)
      .Case<linalg::Conv2DNhwcHwcfOp>([](auto) { return LayerKind::Conv; })
      .Case<linalg::DepthwiseConv2DNhwcHwcOp>(
          [](auto) { return LayerKind::DepthwiseConv; })
      .Case<linalg::PoolingNhwcMaxOp>([](auto) { return LayerKind::MaxPool; })
      .Case<linalg::PoolingNhwcSumOp>([](auto) { return LayerKind::SumPool; })
      .Case<linalg::MatmulOp>([](auto) { return LayerKind::Matmul; })
      .Default([](Operation *) { return std::nullopt; });
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// The first NameLoc in `loc`, looking through fused and call-site locations.
std::optional<std::string> findName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location child : fused.getLocations())
      if (auto found = findName(child))
        return found;
  }
  if (auto site = dyn_cast<CallSiteLoc>(loc))
    return findName(site.getCallee());
  return std::nullopt;
}

int64_t product(llvm::ArrayRef<int64_t> values) {
  int64_t p = 1;
  for (int64_t v : values)
    p *= v;
  return p;
}

/// Bytes of a statically shaped tensor, 0 for anything else.
int64_t tensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape() ||
      !tensor.getElementType().isIntOrFloat())
    return 0;
  return product(tensor.getShape()) *
         ((tensor.getElementType().getIntOrFloatBitWidth() + 7) / 8);
}

llvm::SmallVector<int64_t, 4> shapeOf(Value value) {
  auto tensor = cast<RankedTensorType>(value.getType());
  return llvm::SmallVector<int64_t, 4>(tensor.getShape());
}

/// Operands plus values used inside the op's regions but defined outside
/// (a pad's yielded scalar, constants captured by a generic body).
llvm::SmallVector<Value> allOperands(Operation *op) {
  llvm::SmallVector<Value> values(op->getOperands());
  if (op->getNumRegions()) {
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(op->getRegions(), above);
    values.append(above.begin(), above.end());
  }
  return values;
}

/// A linalg.generic that only permutes its one input: all-parallel, identity
/// output map, a non-identity permutation as input map, and a body that
/// yields the input element. The Darknet importer writes transposes this way
/// (they vectorize better than linalg.transpose).
bool isPermutationGeneric(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
           .isIdentity())
    return false;
  AffineMap map = generic.getMatchingIndexingMap(generic.getDpsInputOperand(0));
  if (!map.isPermutation() || map.isIdentity())
    return false;
  Block *body = generic.getBody();
  Operation *yield = body->getTerminator();
  return body->getOperations().size() == 1 && yield->getNumOperands() == 1 &&
         yield->getOperand(0) == body->getArgument(0);
}

/// Ops that only move elements: transposes (linalg.transpose or a
/// permutation generic) and reshapes.
bool isDataMovement(Operation *op) {
  return isa<linalg::TransposeOp, tensor::CollapseShapeOp,
             tensor::ExpandShapeOp>(op) ||
         isPermutationGeneric(op);
}

/// The value a transpose or reshape moves.
Value movedValue(Operation *op) {
  if (auto t = dyn_cast<linalg::TransposeOp>(op))
    return t.getInput();
  if (auto c = dyn_cast<tensor::CollapseShapeOp>(op))
    return c.getSrc();
  if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
    return e.getSrc();
  return cast<linalg::GenericOp>(op).getDpsInputOperand(0)->get();
}

/// For a transpose, which result dimension indexes each input dimension
/// (input index[k] = result index[dims[k]]); empty for reshapes.
llvm::SmallVector<int64_t, 6> transposeSourceDims(Operation *op) {
  llvm::SmallVector<int64_t, 6> dims;
  if (auto t = dyn_cast<linalg::TransposeOp>(op)) {
    // Result dimension i is input dimension perm[i].
    llvm::ArrayRef<int64_t> perm = t.getPermutation();
    dims.resize(perm.size());
    for (size_t i = 0; i < perm.size(); ++i)
      dims[perm[i]] = i;
  } else if (auto g = dyn_cast<linalg::GenericOp>(op)) {
    AffineMap map = g.getMatchingIndexingMap(g.getDpsInputOperand(0));
    for (unsigned k = 0; k < map.getNumResults(); ++k)
      dims.push_back(map.getDimPosition(k));
  }
  return dims;
}

bool isStaticShaped(Value value) {
  auto tensor = dyn_cast<RankedTensorType>(value.getType());
  return tensor && tensor.hasStaticShape();
}

/// `expr` is `d<dim>`, or `d<dim> floordiv c` (then *factor = c).
bool matchFloorDiv(AffineExpr expr, unsigned dim, int64_t *factor) {
  if (auto d = dyn_cast<AffineDimExpr>(expr)) {
    *factor = 1;
    return d.getPosition() == dim;
  }
  auto bin = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!bin || bin.getKind() != AffineExprKind::FloorDiv)
    return false;
  auto d = dyn_cast<AffineDimExpr>(bin.getLHS());
  auto c = dyn_cast<AffineConstantExpr>(bin.getRHS());
  if (!d || !c || d.getPosition() != dim || c.getValue() < 1)
    return false;
  *factor = c.getValue();
  return true;
}

bool isDim(AffineExpr expr, unsigned dim) {
  auto d = dyn_cast<AffineDimExpr>(expr);
  return d && d.getPosition() == dim;
}

/// Arith/math ops per output element of a generic (its FLOPs per element).
int64_t bodyOps(linalg::GenericOp generic) {
  int64_t n = 0;
  for (Operation &op : generic.getBody()->getOperations())
    if (!isa<linalg::YieldOp, linalg::IndexOp, arith::ConstantOp>(op))
      ++n;
  return n;
}

} // namespace

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

namespace {

/// Bytes of a static shaped type, or nullopt if it overflows int64.
std::optional<int64_t> checkedBytes(ShapedType type) {
  int64_t elements = 1;
  for (int64_t d : type.getShape())
    if (d < 0 || llvm::MulOverflow(elements, d, elements))
      return std::nullopt;
  int64_t width = 4;
  if (type.getElementType().isIntOrFloat())
    width = (type.getElementType().getIntOrFloatBitWidth() + 7) / 8;
  int64_t bytes;
  if (llvm::MulOverflow(elements, width, bytes))
    return std::nullopt;
  return bytes;
}

/// Ok if `type` is not a static shaped type or takes at most kMaxTensorBytes.
LogicalResult checkTensorSize(Operation *op, Type type, llvm::StringRef what) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasStaticShape())
    return success();
  std::optional<int64_t> bytes = checkedBytes(shaped);
  if (bytes && *bytes <= kMaxTensorBytes)
    return success();
  InFlightDiagnostic diag = op->emitError() << what << " (" << type << ") ";
  if (bytes)
    diag << "takes " << *bytes << " bytes";
  else
    diag << "takes more than 2^63 bytes";
  return diag << ", more than mafat's limit of " << kMaxTensorBytes
              << " bytes per tensor (docs/Hardening.md)";
}

/// The values [lo, hi] an affine expression takes over the loop box
/// [0, ranges[d] - 1]; nullopt where it cannot be bounded (a symbol, a
/// division or modulo by a non-positive constant, an overflow).
struct Range {
  int64_t lo, hi;
};
std::optional<Range> exprRange(AffineExpr expr, ArrayRef<int64_t> ranges) {
  if (auto d = dyn_cast<AffineDimExpr>(expr)) {
    if (d.getPosition() >= ranges.size())
      return std::nullopt;
    return Range{0, ranges[d.getPosition()] - 1};
  }
  if (auto c = dyn_cast<AffineConstantExpr>(expr))
    return Range{c.getValue(), c.getValue()};
  auto bin = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!bin)
    return std::nullopt;
  std::optional<Range> l = exprRange(bin.getLHS(), ranges);
  std::optional<Range> r = exprRange(bin.getRHS(), ranges);
  if (!l || !r)
    return std::nullopt;
  switch (bin.getKind()) {
  case AffineExprKind::Add: {
    Range out;
    if (llvm::AddOverflow(l->lo, r->lo, out.lo) ||
        llvm::AddOverflow(l->hi, r->hi, out.hi))
      return std::nullopt;
    return out;
  }
  case AffineExprKind::Mul: {
    int64_t p[4];
    if (llvm::MulOverflow(l->lo, r->lo, p[0]) ||
        llvm::MulOverflow(l->lo, r->hi, p[1]) ||
        llvm::MulOverflow(l->hi, r->lo, p[2]) ||
        llvm::MulOverflow(l->hi, r->hi, p[3]))
      return std::nullopt;
    return Range{*std::min_element(p, p + 4), *std::max_element(p, p + 4)};
  }
  case AffineExprKind::FloorDiv:
  case AffineExprKind::CeilDiv:
  case AffineExprKind::Mod: {
    // Affine maps only divide by constants; a non-positive one is no
    // indexing mafat can bound.
    if (r->lo != r->hi || r->lo < 1)
      return std::nullopt;
    int64_t c = r->lo;
    if (bin.getKind() == AffineExprKind::Mod)
      return l->lo >= 0 && l->hi < c ? *l : Range{0, c - 1};
    bool ceil = bin.getKind() == AffineExprKind::CeilDiv;
    auto div = [&](int64_t a) {
      return ceil ? llvm::divideCeilSigned(a, c)
                  : llvm::divideFloorSigned(a, c);
    };
    return Range{div(l->lo), div(l->hi)};
  }
  default:
    return std::nullopt;
  }
}

std::string listStr(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (auto [i, v] : llvm::enumerate(values))
    s += (i ? ", " : "") + std::to_string(v);
  return s + "]";
}

/// Strides, dilations and window size of a conv, depthwise conv or pool.
/// Each window dimension d of the image (H, W) is read at
/// o * stride + k * dilation for o < out, k < kernel.
template <typename OpTy>
LogicalResult verifyWindowOp(OpTy op, int64_t kh, int64_t kw) {
  SmallVector<int64_t> strides(op.getStrides().template getValues<int64_t>());
  SmallVector<int64_t> dilations(
      op.getDilations().template getValues<int64_t>());
  if (strides.size() != 2 ||
      llvm::any_of(strides, [](int64_t s) { return s < 1; }))
    return op.emitError() << "strides must be two values >= 1, got "
                          << listStr(strides);
  if (dilations.size() != 2 ||
      llvm::any_of(dilations, [](int64_t d) { return d < 1; }))
    return op.emitError() << "dilations must be two values >= 1, got "
                          << listStr(dilations);
  auto image = dyn_cast<RankedTensorType>(op.getInputs()[0].getType());
  auto result = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!image || !result || !image.hasStaticShape() ||
      !result.hasStaticShape() || image.getRank() != 4 || result.getRank() != 4)
    return success(); // the layer graph says what is wrong with it
  int64_t kernel[2] = {kh, kw};
  const char *dimName[2] = {"rows", "columns"};
  for (int i = 0; i < 2; ++i) {
    int64_t in = image.getShape()[1 + i], out = result.getShape()[1 + i];
    if (kernel[i] < 1 || out < 1)
      continue; // nothing is read
    // (kernel - 1) * dilation + 1, saturating: the tensor sizes are capped,
    // so anything past int64 is larger than the input anyway.
    int64_t extent;
    if (llvm::MulOverflow(kernel[i] - 1, dilations[i], extent) || extent >= in)
      return op.emitError() << "window of " << kernel[i] << " " << dimName[i]
                            << " at dilation " << dilations[i]
                            << " is larger than the (padded) input's " << in
                            << " " << dimName[i];
    int64_t fit = (in - extent - 1) / strides[i] + 1;
    if (out > fit)
      return op.emitError()
             << "result has " << out << " " << dimName[i] << ", but only "
             << fit << " windows (kernel " << kernel[i] << ", stride "
             << strides[i] << ", dilation " << dilations[i]
             << ") fit the (padded) input's " << in << " " << dimName[i];
  }
  return success();
}

/// Every indexing map of a linalg op, over its loop ranges, stays inside
/// its operand. Upstream's verifier only evaluates the first and the last
/// iteration, which a negative dilation or a decreasing map slips through.
LogicalResult verifyLinalgBounds(linalg::LinalgOp op) {
  if (llvm::any_of(op->getOperandTypes(), [](Type t) {
        auto shaped = dyn_cast<ShapedType>(t);
        return shaped && !shaped.hasStaticShape();
      }))
    return success();
  if (!op.getShapesToLoopsMap())
    return op.emitError() << "loop ranges cannot be inferred from the "
                             "operand shapes";
  SmallVector<int64_t, 4> ranges = op.getStaticLoopRanges();
  int64_t iterations = 1;
  for (int64_t r : ranges) {
    if (r == 0)
      return success(); // reads nothing
    if (r < 0 || llvm::MulOverflow(iterations, r, iterations) ||
        iterations > kMaxOpIterations)
      return op.emitError()
             << "more than " << kMaxOpIterations << " loop iterations (loop "
             << "ranges " << listStr(ranges)
             << "), mafat's limit per op (docs/Hardening.md)";
  }
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    if (!type)
      continue;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    for (auto [k, expr] : llvm::enumerate(map.getResults())) {
      std::optional<Range> r = exprRange(expr, ranges);
      std::string text;
      llvm::raw_string_ostream os(text);
      os << expr;
      if (!r)
        return op.emitError() << "cannot bound the indices of operand #"
                              << operand.getOperandNumber() << " dimension "
                              << k << " (" << text << ")";
      int64_t size = type.getShape()[k];
      if (r->lo < 0 || r->hi >= size)
        return op.emitError()
               << "reads operand #" << operand.getOperandNumber()
               << " dimension " << k << " (" << text << ") at indices " << r->lo
               << ".." << r->hi << ", outside its size " << size;
    }
  }
  return success();
}

LogicalResult verifyPad(tensor::PadOp pad) {
  SmallVector<int64_t> low, high;
  for (auto [values, mixed] : {std::make_pair(&low, pad.getMixedLowPad()),
                               std::make_pair(&high, pad.getMixedHighPad())}) {
    for (OpFoldResult ofr : mixed) {
      std::optional<int64_t> v = getConstantIntValue(ofr);
      if (!v)
        return pad.emitError() << "padding must be constant";
      values->push_back(*v);
    }
  }
  if (llvm::any_of(low, [](int64_t v) { return v < 0; }) ||
      llvm::any_of(high, [](int64_t v) { return v < 0; }))
    return pad.emitError() << "padding must be non-negative, got low "
                           << listStr(low) << " high " << listStr(high);
  return success();
}

/// Arguments, results and the sum of the constants of a function.
LogicalResult verifyFunc(func::FuncOp func) {
  for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
    if (failed(checkTensorSize(func, type, "argument #" + std::to_string(i))))
      return failure();
  for (auto [i, type] : llvm::enumerate(func.getResultTypes()))
    if (failed(checkTensorSize(func, type, "result #" + std::to_string(i))))
      return failure();
  int64_t weights = 0;
  bool overflow = false;
  func.walk([&](arith::ConstantOp c) {
    auto shaped = dyn_cast<ShapedType>(c.getType());
    if (!shaped || !shaped.hasStaticShape())
      return;
    std::optional<int64_t> bytes = checkedBytes(shaped);
    if (!bytes || llvm::AddOverflow(weights, *bytes, weights))
      overflow = true;
  });
  if (overflow || weights > kMaxWeightBytes) {
    InFlightDiagnostic diag = func.emitError() << "the constants (weights) ";
    if (overflow)
      diag << "take more than 2^63 bytes";
    else
      diag << "take " << weights << " bytes";
    return diag << ", more than mafat's limit of " << kMaxWeightBytes
                << " bytes (docs/Hardening.md)";
  }
  return success();
}

} // namespace

LogicalResult verifyLayerOp(Operation *op) {
  if (auto func = dyn_cast<func::FuncOp>(op))
    return verifyFunc(func);
  for (auto [i, type] : llvm::enumerate(op->getResultTypes()))
    if (failed(checkTensorSize(op, type, "result #" + std::to_string(i))))
      return failure();
  auto filterDims = [](Value v, int64_t &kh, int64_t &kw, int first) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.getRank() < first + 2)
      return false;
    kh = type.getShape()[first];
    kw = type.getShape()[first + 1];
    return true;
  };
  int64_t kh = 0, kw = 0;
  LogicalResult window =
      TypeSwitch<Operation *, LogicalResult>(op)
          .Case<linalg::Conv2DNhwcHwcfOp, linalg::DepthwiseConv2DNhwcHwcOp,
                linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp>(
              [&](auto w) {
                if (!filterDims(w.getInputs()[1], kh, kw, 0))
                  return success();
                return verifyWindowOp(w, kh, kw);
              })
          .Case<linalg::Conv2DNhwcFhwcOp>([&](auto w) {
            if (!filterDims(w.getInputs()[1], kh, kw, 1))
              return success();
            return verifyWindowOp(w, kh, kw);
          })
          .Case<tensor::PadOp>([](auto pad) { return verifyPad(pad); })
          .Default([](Operation *) { return success(); });
  if (failed(window))
    return failure();
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return verifyLinalgBounds(linalgOp);
  return success();
}

//===----------------------------------------------------------------------===//
// The builder
//===----------------------------------------------------------------------===//

/// A layer made of several ops, recognised in pass 2 and built when pass 3
/// reaches its last op.
struct Composite {
  LayerKind kind;
  llvm::SmallVector<Operation *> ops; ///< Program order; ops.back() is last.
  llvm::SmallVector<Value> sources;   ///< Operands, in order.
  SpatialAccess access = SpatialAccess::Whole;
  int64_t stride = 0;                     ///< Reorg.
  std::optional<SpaceToDepthOrder> order; ///< Reorg as space-to-depth.
  int64_t factorRows = 1, factorCols = 1; ///< Upsample.
  int64_t concatDim = -1;                 ///< Concat.
};

class LayerGraphBuilder {
public:
  LayerGraphBuilder(func::FuncOp func, LayerGraph &graph, LayerIRMap &ir)
      : func(func), graph(graph), ir(ir) {}

  LogicalResult build();

private:
  // Pass 1.
  void computeStatic(Block &body);
  bool isStatic(Value value);
  // Pass 2.
  void recognisePad(tensor::PadOp pad);
  void recogniseReorg(Operation *first);
  void recogniseUpsample(linalg::GenericOp generic);
  void recogniseInsertConcat(tensor::InsertSliceOp first);
  // Pass 3.
  LayerNode &addNode(LayerKind kind, Operation *nameOp, Value result);
  void addOperand(LayerNode &node, Value value, SpatialAccess access,
                  std::optional<llvm::SmallVector<int64_t, 4>> shape = {});
  /// addOperand for the destination of a linalg op (read pointwise).
  void addInit(LayerNode &node, Value value);
  void finishNode(LayerNode &node);
  LogicalResult buildComposite(const Composite &c);
  /// Dispatches a single-op layer to the builder of its op family.
  LogicalResult buildOp(Operation *op);
  template <typename OpTy> LogicalResult buildWindowOp(OpTy op, LayerKind kind);
  LogicalResult buildGeneric(linalg::GenericOp generic);
  LogicalResult buildMatmul(linalg::MatmulOp matmul);
  LogicalResult buildConcat(tensor::ConcatOp concat);
  LogicalResult buildPad(tensor::PadOp pad);
  LogicalResult buildSlice(tensor::ExtractSliceOp slice);
  LogicalResult buildDataMovement(Operation *op);
  LogicalResult error(Operation *op, const llvm::Twine &message);

  func::FuncOp func;
  LayerGraph &graph;
  LayerIRMap &ir;
  /// Constants some node reads, each counted once into weightTotal.
  llvm::DenseSet<Operation *> countedConstants;
  int64_t weightTotal = 0;
  llvm::DenseSet<Operation *> staticOps;
  llvm::DenseSet<Operation *> absorbed;
  llvm::DenseMap<Operation *, Composite> composites; // keyed by last op
  llvm::StringMap<unsigned> nameCount;
  /// Ops already reported: uses of their results are not reported again.
  llvm::DenseSet<Operation *> failedOps;
  bool anyError = false;
};

LogicalResult LayerGraphBuilder::error(Operation *op,
                                       const llvm::Twine &message) {
  op->emitError() << "layer graph: " << message;
  anyError = true;
  failedOps.insert(op);
  return failure();
}

void LayerGraphBuilder::computeStatic(Block &body) {
  for (Operation &op : body) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      continue;
    if (llvm::all_of(allOperands(&op), [&](Value v) { return isStatic(v); }))
      staticOps.insert(&op);
  }
}

bool LayerGraphBuilder::isStatic(Value value) {
  Operation *def = value.getDefiningOp();
  // Function arguments are activations. Values from outside the function
  // (none in canonical form) count as static: they are no edge either.
  if (!def)
    return !isa<BlockArgument>(value) ||
           cast<BlockArgument>(value).getOwner()->getParentOp() != func;
  return staticOps.contains(def) || def->getParentOp() != func.getOperation();
}

//===----------------------------------------------------------------------===//
// Pass 2: multi-op layers
//===----------------------------------------------------------------------===//

/// A pad whose every user is a conv, depthwise conv or pool reading it as
/// the image becomes those ops' padding. A pad used in any other way (or
/// padding batch or channels) stays a layer of its own.
void LayerGraphBuilder::recognisePad(tensor::PadOp pad) {
  if (!isStaticShaped(pad.getSource()) || !isStaticShaped(pad.getResult()) ||
      !pad.getConstantPaddingValue())
    return;
  llvm::ArrayRef<int64_t> low = pad.getStaticLow(), high = pad.getStaticHigh();
  if (low.size() != 4 || llvm::is_contained(low, ShapedType::kDynamic) ||
      llvm::is_contained(high, ShapedType::kDynamic) || low[0] || low[3] ||
      high[0] || high[3])
    return;
  if (pad.getResult().use_empty())
    return;
  for (OpOperand &use : pad.getResult().getUses()) {
    Operation *user = use.getOwner();
    if (!isa<linalg::Conv2DNhwcHwcfOp, linalg::DepthwiseConv2DNhwcHwcOp,
             linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp>(user) ||
        use.getOperandNumber() != 0)
      return;
  }
  absorbed.insert(pad);
}

/// A chain of transposes and reshapes from a rank-4 map to a rank-4 map is
/// a reorg if it moves every element where Darknet's reorg or a
/// space-to-depth would. The check composes the chain's index maps and
/// compares every element, so it does not depend on how an importer spells
/// the chain (Darknet's goes through rank 1 and rank 5).
void LayerGraphBuilder::recogniseReorg(Operation *first) {
  Value source = movedValue(first);
  if (!isStaticShaped(source) ||
      cast<RankedTensorType>(source.getType()).getRank() != 4)
    return;
  llvm::SmallVector<Operation *> chain{first};
  for (Operation *cur = first; cur->getResult(0).hasOneUse();) {
    Operation *user = *cur->getResult(0).getUsers().begin();
    if (!isDataMovement(user) || movedValue(user) != cur->getResult(0) ||
        absorbed.contains(user) || !isStaticShaped(user->getResult(0)))
      break;
    chain.push_back(user);
    cur = user;
  }
  llvm::SmallVector<int64_t, 4> in = shapeOf(source);
  if (in[0] != 1)
    return;
  // Longest prefix that is a reorg (a single op never is one).
  for (size_t len = chain.size(); len >= 2; --len) {
    Value result = chain[len - 1]->getResult(0);
    if (cast<RankedTensorType>(result.getType()).getRank() != 4)
      continue;
    llvm::SmallVector<int64_t, 4> out = shapeOf(result);
    if (out[0] != 1 || out[1] <= 0 || in[1] % out[1] != 0)
      continue;
    int64_t s = in[1] / out[1];
    if (s < 2 || in[2] != out[2] * s || out[3] != in[3] * s * s)
      continue;

    bool darknet = in[3] % (s * s) == 0, blockMajor = true, channelMajor = true;
    DarknetReorg reorg{in[1], in[2], in[3], s};
    for (int64_t flat = 0, n = product(out);
         flat < n && (darknet || blockMajor || channelMajor); ++flat) {
      // Where the chain reads output element `flat` from: walk it backwards;
      // reshapes keep row-major flat indices, transposes permute them.
      int64_t src = flat;
      for (size_t j = len; j-- > 0;) {
        llvm::SmallVector<int64_t, 6> dims = transposeSourceDims(chain[j]);
        if (dims.empty())
          continue;
        llvm::SmallVector<int64_t, 6> outShape =
                                          shapeOf(chain[j]->getResult(0)),
                                      inShape = shapeOf(movedValue(chain[j]));
        llvm::SmallVector<int64_t, 6> outIdx(outShape.size());
        for (size_t d = outShape.size(); d-- > 0;) {
          outIdx[d] = src % outShape[d];
          src /= outShape[d];
        }
        src = 0;
        for (size_t d = 0; d < inShape.size(); ++d)
          src = src * inShape[d] + outIdx[dims[d]];
      }
      Element o{flat / out[3] / out[2], flat / out[3] % out[2], flat % out[3]};
      auto flatOf = [&](Element e) {
        return (e.y * in[2] + e.x) * in[3] + e.c;
      };
      if (darknet && flatOf(reorg.source(o)) != src)
        darknet = false;
      if (blockMajor && flatOf(spaceToDepthSource(
                            s, in[3], o, SpaceToDepthOrder::BlockMajor)) != src)
        blockMajor = false;
      if (channelMajor &&
          flatOf(spaceToDepthSource(s, in[3], o,
                                    SpaceToDepthOrder::ChannelMajor)) != src)
        channelMajor = false;
    }
    if (!darknet && !blockMajor && !channelMajor)
      continue;

    Composite c;
    c.kind = LayerKind::Reorg;
    c.ops.assign(chain.begin(), chain.begin() + len);
    c.sources.push_back(source);
    c.stride = s;
    // A space-to-depth is the more specific (exact) description when both
    // match, which happens only for a single channel group.
    if (blockMajor || channelMajor) {
      c.access = SpatialAccess::SpaceToDepth;
      c.order = blockMajor ? SpaceToDepthOrder::BlockMajor
                           : SpaceToDepthOrder::ChannelMajor;
    } else {
      c.access = SpatialAccess::DarknetReorg;
    }
    for (size_t j = 0; j + 1 < len; ++j)
      absorbed.insert(chain[j]);
    composites[chain[len - 1]] = std::move(c);
    return;
  }
}

/// The Darknet importer's default upsampling: a rank-6 broadcast generic
/// (1, h, s, w, s, c) reading input (d0, d1, d3, d5), then a collapse_shape
/// [[0], [1, 2], [3, 4], [5]].
void LayerGraphBuilder::recogniseUpsample(linalg::GenericOp generic) {
  if (generic.getNumDpsInits() != 1 || generic.getNumResults() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      generic.getNumLoops() != 6)
    return;
  Value result = generic->getResult(0);
  if (!result.hasOneUse() || !isStaticShaped(result))
    return;
  auto collapse = dyn_cast<tensor::CollapseShapeOp>(*result.getUsers().begin());
  if (!collapse)
    return;
  llvm::SmallVector<ReassociationIndices, 4> groups =
      collapse.getReassociationIndices();
  if (groups.size() != 4 || groups[0] != ReassociationIndices{0} ||
      groups[1] != ReassociationIndices{1, 2} ||
      groups[2] != ReassociationIndices{3, 4} ||
      groups[3] != ReassociationIndices{5})
    return;
  if (!generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
           .isIdentity())
    return;
  Value input;
  for (OpOperand *operand : generic.getDpsInputOperands()) {
    if (isStatic(operand->get()))
      continue;
    if (input)
      return; // two activations: not an upsample
    AffineMap map = generic.getMatchingIndexingMap(operand);
    if (map.getNumResults() != 4 || !isDim(map.getResult(0), 0) ||
        !isDim(map.getResult(1), 1) || !isDim(map.getResult(2), 3) ||
        !isDim(map.getResult(3), 5))
      return;
    input = operand->get();
  }
  if (!input || !isStaticShaped(input))
    return;
  llvm::SmallVector<int64_t, 4> in = shapeOf(input);
  llvm::SmallVector<int64_t, 6> out = shapeOf(result);
  if (out[0] != in[0] || out[1] != in[1] || out[3] != in[2] || out[5] != in[3])
    return;
  Composite c;
  c.kind = LayerKind::Upsample;
  c.ops = {generic, collapse};
  c.sources.push_back(input);
  c.access = SpatialAccess::Upsample;
  c.factorRows = out[2];
  c.factorCols = out[4];
  absorbed.insert(generic);
  composites[collapse] = std::move(c);
}

/// tensor.insert_slice ops filling a tensor.empty slice by slice along one
/// dimension, each result feeding only the next insert: a concatenation.
void LayerGraphBuilder::recogniseInsertConcat(tensor::InsertSliceOp first) {
  llvm::SmallVector<tensor::InsertSliceOp> chain{first};
  for (Operation *cur = first; cur->getResult(0).hasOneUse();) {
    auto next =
        dyn_cast<tensor::InsertSliceOp>(*cur->getResult(0).getUsers().begin());
    if (!next || next.getDest() != cur->getResult(0))
      break;
    chain.push_back(next);
    cur = next;
  }
  auto destType = dyn_cast<RankedTensorType>(first.getDest().getType());
  if (!destType || !destType.hasStaticShape())
    return;
  llvm::ArrayRef<int64_t> dest = destType.getShape();
  int64_t rank = dest.size();
  // The one dimension along which the slices differ (the last if they all
  // cover the whole tensor).
  int64_t dim = -1;
  for (tensor::InsertSliceOp insert : chain) {
    llvm::ArrayRef<int64_t> offsets = insert.getStaticOffsets(),
                            sizes = insert.getStaticSizes(),
                            strides = insert.getStaticStrides();
    if (insert.getSourceType().getRank() != rank ||
        llvm::is_contained(offsets, ShapedType::kDynamic) ||
        llvm::is_contained(sizes, ShapedType::kDynamic) ||
        llvm::any_of(strides, [](int64_t s) { return s != 1; }))
      return;
    for (int64_t d = 0; d < rank; ++d) {
      if (offsets[d] == 0 && sizes[d] == dest[d])
        continue;
      if (dim != -1 && dim != d)
        return;
      dim = d;
    }
  }
  if (dim == -1)
    dim = rank - 1;
  // Sorted by offset, the slices must tile [0, dest[dim]) exactly.
  llvm::SmallVector<std::pair<int64_t, Value>> pieces;
  for (tensor::InsertSliceOp insert : chain)
    pieces.push_back({insert.getStaticOffsets()[dim], insert.getSource()});
  // Equal offsets overlap, which the tiling check below rejects.
  llvm::sort(pieces, [](auto &a, auto &b) { return a.first < b.first; });
  int64_t next = 0;
  for (auto &[offset, value] : pieces) {
    if (offset != next)
      return;
    next += cast<RankedTensorType>(value.getType()).getShape()[dim];
  }
  if (next != dest[dim])
    return;
  Composite c;
  c.kind = LayerKind::Concat;
  for (tensor::InsertSliceOp insert : chain)
    c.ops.push_back(insert);
  for (auto &piece : pieces)
    c.sources.push_back(piece.second);
  c.concatDim = dim;
  c.access = (rank == 4 && dim != 1 && dim != 2) ? SpatialAccess::Pointwise
                                                 : SpatialAccess::Whole;
  for (size_t j = 0; j + 1 < chain.size(); ++j)
    absorbed.insert(chain[j]);
  composites[chain.back()] = std::move(c);
}

//===----------------------------------------------------------------------===//
// Pass 3: nodes
//===----------------------------------------------------------------------===//

LayerNode &LayerGraphBuilder::addNode(LayerKind kind, Operation *nameOp,
                                      Value result) {
  LayerNode node;
  node.id = graph.size();
  node.kind = kind;
  std::optional<std::string> name =
      nameOp ? findName(nameOp->getLoc()) : std::nullopt;
  std::string base = name ? *name
                          : (nameOp ? nameOp->getName().getStringRef().str()
                                    : std::string("node")) +
                                "#" + std::to_string(node.id);
  unsigned count = ++nameCount[base];
  node.name = count == 1 ? base : base + "#" + std::to_string(count);
  // A generated suffix could collide with a real name; keep counting.
  while (graph.lookup(node.name))
    node.name = base + "#" + std::to_string(++nameCount[base]);
  if (isStaticShaped(result)) {
    node.outputShape = shapeOf(result);
    node.outputBytes = tensorBytes(result.getType());
  }
  ir.ops.push_back(nameOp);
  ir.folded.emplace_back();
  ir.results.push_back(result);
  ir.valueToNode[result] = node.id;
  return graph.addNode(std::move(node));
}

void LayerGraphBuilder::addOperand(
    LayerNode &node, Value value, SpatialAccess access,
    std::optional<llvm::SmallVector<int64_t, 4>> shape) {
  if (isStatic(value))
    return;
  auto it = ir.valueToNode.find(value);
  if (it == ir.valueToNode.end() && failedOps.contains(value.getDefiningOp()))
    return;
  if (it == ir.valueToNode.end()) {
    // Only an op absorbed into another layer can produce a value without a
    // node; reading it from elsewhere means the idiom was misrecognised.
    Operation *user = ir.ops[node.id] ? ir.ops[node.id] : func.getOperation();
    (void)error(user, "operand produced by an op outside the layer graph");
    return;
  }
  LayerOperand operand;
  operand.producer = it->second;
  operand.access = access;
  operand.shape = shape ? *shape : shapeOf(value);
  node.operands.push_back(std::move(operand));
}

void LayerGraphBuilder::addInit(LayerNode &node, Value value) {
  size_t before = node.operands.size();
  addOperand(node, value, SpatialAccess::Pointwise);
  if (node.operands.size() > before)
    node.operands.back().init = true;
}

/// Weight bytes from the constants the node's ops read (through static ops
/// such as a transposed filter or a broadcast bias), and users of producers.
void LayerGraphBuilder::finishNode(LayerNode &node) {
  llvm::SetVector<Operation *> constants;
  llvm::SmallVector<Value> worklist;
  llvm::DenseSet<Operation *> seen;
  auto visitOp = [&](Operation *op) {
    for (Value v : allOperands(op))
      if (isStatic(v))
        worklist.push_back(v);
  };
  if (Operation *op = ir.ops[node.id])
    visitOp(op);
  for (Operation *op : ir.folded[node.id])
    visitOp(op);
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || !seen.insert(def).second)
      continue;
    if (isa<arith::ConstantOp>(def) && tensorBytes(def->getResult(0).getType()))
      constants.insert(def);
    visitOp(def);
  }
  node.weightBytes = 0;
  for (Operation *c : constants) {
    int64_t bytes = tensorBytes(c->getResult(0).getType());
    node.weightBytes += bytes;
    // A constant shared by two layers counts once in the graph's total.
    if (countedConstants.insert(c).second)
      weightTotal += bytes;
  }
}

LogicalResult LayerGraphBuilder::buildComposite(const Composite &c) {
  Operation *nameOp = c.ops.front();
  for (Operation *op : c.ops)
    if (findName(op->getLoc())) {
      nameOp = op;
      break;
    }
  LayerNode &node = addNode(c.kind, nameOp, c.ops.back()->getResult(0));
  for (Operation *op : c.ops)
    if (op != nameOp)
      ir.folded[node.id].push_back(op);
  for (Value source : c.sources)
    addOperand(node, source, c.access);
  node.reorgStride = c.stride;
  node.spaceToDepthOrder = c.order;
  node.factorRows = c.factorRows;
  node.factorCols = c.factorCols;
  node.concatDim = c.concatDim;
  if (c.kind == LayerKind::Upsample)
    node.flops =
        product(node.outputShape) * bodyOps(cast<linalg::GenericOp>(c.ops[0]));
  finishNode(node);
  return success();
}

/// Convs and pools: the window's extent is the first two dimensions of the
/// filter (HWCF, HWC) or of the pool's window operand.
template <typename OpTy>
LogicalResult LayerGraphBuilder::buildWindowOp(OpTy op, LayerKind kind) {
  llvm::SmallVector<int64_t, 4> filter = shapeOf(op.getInputs()[1]);
  int64_t kh = filter[0], kw = filter[1];
  Value image = op.getInputs()[0];
  Value result = op->getResult(0);
  if (cast<ShapedType>(image.getType()).getRank() != 4 ||
      cast<ShapedType>(result.getType()).getRank() != 4)
    return error(op, "window op on a non-rank-4 tensor");
  llvm::SmallVector<int64_t> strides(
      op.getStrides().template getValues<int64_t>());
  llvm::SmallVector<int64_t> dilations(
      op.getDilations().template getValues<int64_t>());
  Window2D window;
  window.rows = Window1D{kh, strides[0], dilations[0], 0, 0, 0};
  window.cols = Window1D{kw, strides[1], dilations[1], 0, 0, 0};
  tensor::PadOp pad = image.getDefiningOp<tensor::PadOp>();
  if (pad && absorbed.contains(pad)) {
    window.rows.padLow = pad.getStaticLow()[1];
    window.rows.padHigh = pad.getStaticHigh()[1];
    window.cols.padLow = pad.getStaticLow()[2];
    window.cols.padHigh = pad.getStaticHigh()[2];
    image = pad.getSource();
  } else {
    pad = nullptr;
  }
  llvm::SmallVector<int64_t, 4> in = shapeOf(image), out = shapeOf(result);
  window.rows.inputSize = in[1];
  window.cols.inputSize = in[2];
  if (!window.rows.isValid() || !window.cols.isValid() ||
      out[1] > window.rows.outputSize() || out[2] > window.cols.outputSize())
    return error(op, "window (" + window.str() + ") does not produce the " +
                         formatShape(out) + " result from its " +
                         formatShape(in) + " input");

  LayerNode &node = addNode(kind, op, result);
  if (pad)
    ir.folded[node.id].push_back(pad);
  node.window = window;
  addOperand(node, image, SpatialAccess::Window, in);
  // A filter computed at run time, or an accumulator that is an activation
  // (a residual fused into the conv's init), is an edge too.
  for (Value v : llvm::drop_begin(op.getInputs()))
    addOperand(node, v, SpatialAccess::Whole);
  for (Value v : op.getOutputs())
    addInit(node, v);
  int64_t iterations =
      product(cast<linalg::LinalgOp>(op.getOperation()).getStaticLoopRanges());
  if (kind == LayerKind::Conv || kind == LayerKind::DepthwiseConv) {
    node.macs = iterations;
    node.flops = 2 * iterations;
  } else {
    node.flops = iterations;
  }
  finishNode(node);
  return success();
}

LogicalResult LayerGraphBuilder::buildGeneric(linalg::GenericOp generic) {
  if (generic.getNumParallelLoops() != generic.getNumLoops())
    return error(generic, "linalg.generic with reduction iterators is not a "
                          "layer (only all-parallel elementwise generics and "
                          "nearest upsampling are)");
  if (generic.getNumDpsInits() != 1 || generic.getNumResults() != 1)
    return error(generic, "linalg.generic with " +
                              llvm::Twine(generic.getNumResults()) +
                              " results is not a layer");
  OpOperand *init = generic.getDpsInitOperand(0);
  if (!generic.getMatchingIndexingMap(init).isIdentity())
    return error(generic, "linalg.generic whose output map is not the "
                          "identity is not elementwise");
  Value result = generic->getResult(0);
  llvm::SmallVector<int64_t, 4> out = shapeOf(result);
  int64_t rank = out.size();

  // Nearest upsampling: one activation read through
  // (d0, d1 floordiv s, d2 floordiv t, d3).
  llvm::SmallVector<OpOperand *> activations;
  for (OpOperand *operand : generic.getDpsInputOperands())
    if (!isStatic(operand->get()))
      activations.push_back(operand);
  if (activations.size() == 1 && rank == 4) {
    AffineMap map = generic.getMatchingIndexingMap(activations[0]);
    int64_t fr = 1, fc = 1;
    if (map.getNumResults() == 4 && isDim(map.getResult(0), 0) &&
        matchFloorDiv(map.getResult(1), 1, &fr) &&
        matchFloorDiv(map.getResult(2), 2, &fc) && isDim(map.getResult(3), 3) &&
        (fr > 1 || fc > 1)) {
      LayerNode &node = addNode(LayerKind::Upsample, generic, result);
      node.factorRows = fr;
      node.factorCols = fc;
      addOperand(node, activations[0]->get(), SpatialAccess::Upsample);
      addInit(node, init->get());
      node.flops = product(out) * bodyOps(generic);
      finishNode(node);
      return success();
    }
  }

  for (OpOperand *operand : activations) {
    AffineMap map = generic.getMatchingIndexingMap(operand);
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/true)) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << map;
      return error(generic, "linalg.generic reads operand #" +
                                llvm::Twine(operand->getOperandNumber()) +
                                " through " + text +
                                ", which is neither elementwise nor a "
                                "nearest upsampling");
    }
  }
  LayerNode &node = addNode(LayerKind::Elementwise, generic, result);
  for (OpOperand *operand : activations) {
    AffineMap map = generic.getMatchingIndexingMap(operand);
    llvm::SmallVector<int64_t, 4> shape = shapeOf(operand->get());
    // Rows and columns pass straight through if the operand has them at
    // the output's size; anything broadcast along them is read whole.
    bool pointwise = map.isIdentity();
    if (rank == 4 && shape.size() == 4)
      pointwise = isDim(map.getResult(1), 1) && isDim(map.getResult(2), 2) &&
                  shape[1] == out[1] && shape[2] == out[2];
    size_t before = node.operands.size();
    addOperand(node, operand->get(),
               pointwise ? SpatialAccess::Pointwise : SpatialAccess::Whole);
    if (node.operands.size() > before)
      node.operands.back().identityInput = map.isIdentity();
  }
  addInit(node, init->get());
  node.flops = product(out) * bodyOps(generic);
  finishNode(node);
  return success();
}

LogicalResult LayerGraphBuilder::buildOp(Operation *op) {
  for (Value result : op->getResults())
    if (!isStaticShaped(result))
      return error(op, "result of '" + op->getName().getStringRef() +
                           "' is not a statically shaped tensor");
  return TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](linalg::Conv2DNhwcHwcfOp conv) {
        return buildWindowOp(conv, LayerKind::Conv);
      })
      .Case([&](linalg::DepthwiseConv2DNhwcHwcOp dw) {
        return buildWindowOp(dw, LayerKind::DepthwiseConv);
      })
      .Case([&](linalg::PoolingNhwcMaxOp pool) {
        return buildWindowOp(pool, LayerKind::MaxPool);
      })
      .Case([&](linalg::PoolingNhwcSumOp pool) {
        return buildWindowOp(pool, LayerKind::SumPool);
      })
      .Case([&](linalg::GenericOp generic) {
        // The Darknet importer writes transposes as permutation generics.
        return isPermutationGeneric(generic) ? buildDataMovement(generic)
                                             : buildGeneric(generic);
      })
      .Case([&](linalg::MatmulOp matmul) { return buildMatmul(matmul); })
      .Case([&](tensor::ConcatOp concat) { return buildConcat(concat); })
      .Case([&](tensor::PadOp pad) { return buildPad(pad); })
      .Case([&](tensor::ExtractSliceOp slice) { return buildSlice(slice); })
      .Case<linalg::TransposeOp, tensor::CollapseShapeOp,
            tensor::ExpandShapeOp>(
          [&](Operation *move) { return buildDataMovement(move); })
      .Case([&](tensor::InsertSliceOp insert) {
        return error(insert, "tensor.insert_slice that is not part of a "
                             "concatenation (inserts tiling one dimension of "
                             "a tensor.empty)");
      })
      .Default([&](Operation *other) {
        return error(other, "unsupported op '" +
                                other->getName().getStringRef() +
                                "' (see docs/CanonicalForm.md for the layer "
                                "ops)");
      });
}

LogicalResult LayerGraphBuilder::buildMatmul(linalg::MatmulOp matmul) {
  LayerNode &node = addNode(LayerKind::Matmul, matmul, matmul->getResult(0));
  for (Value v : matmul.getInputs())
    addOperand(node, v, SpatialAccess::Whole);
  for (Value v : matmul.getOutputs())
    addInit(node, v);
  node.macs = product(
      cast<linalg::LinalgOp>(matmul.getOperation()).getStaticLoopRanges());
  node.flops = 2 * node.macs;
  finishNode(node);
  return success();
}

/// A concat along batch or channels reads its operands pointwise; along rows
/// or columns, or of a value that is not NHWC, whole.
LogicalResult LayerGraphBuilder::buildConcat(tensor::ConcatOp concat) {
  int64_t dim = concat.getDim();
  int64_t rank = concat.getResultType().getRank();
  LayerNode &node = addNode(LayerKind::Concat, concat, concat.getResult());
  node.concatDim = dim;
  for (Value v : concat.getInputs())
    addOperand(node, v,
               rank == 4 && dim != 1 && dim != 2 ? SpatialAccess::Pointwise
                                                 : SpatialAccess::Whole);
  finishNode(node);
  return success();
}

/// A pad recognisePad did not fold into a window op.
LogicalResult LayerGraphBuilder::buildPad(tensor::PadOp pad) {
  llvm::ArrayRef<int64_t> low = pad.getStaticLow(), high = pad.getStaticHigh();
  if (llvm::is_contained(low, ShapedType::kDynamic) ||
      llvm::is_contained(high, ShapedType::kDynamic))
    return error(pad, "tensor.pad with dynamic padding");
  LayerNode &node = addNode(LayerKind::Pad, pad, pad.getResult());
  llvm::SmallVector<int64_t, 4> in = shapeOf(pad.getSource());
  bool spatial = in.size() == 4 && !low[0] && !low[3] && !high[0] && !high[3];
  if (spatial) {
    // A pad is the window of kernel 1: output row o reads row o - low.
    node.window = Window2D{Window1D{1, 1, 1, low[1], high[1], in[1]},
                           Window1D{1, 1, 1, low[2], high[2], in[2]}};
  }
  addOperand(node, pad.getSource(),
             spatial ? SpatialAccess::Window : SpatialAccess::Whole);
  finishNode(node);
  return success();
}

LogicalResult LayerGraphBuilder::buildSlice(tensor::ExtractSliceOp slice) {
  llvm::ArrayRef<int64_t> offsets = slice.getStaticOffsets(),
                          strides = slice.getStaticStrides();
  if (llvm::is_contained(offsets, ShapedType::kDynamic) ||
      llvm::is_contained(strides, ShapedType::kDynamic))
    return error(slice, "tensor.extract_slice with dynamic offsets or strides");
  LayerNode &node = addNode(LayerKind::Slice, slice, slice.getResult());
  node.sliceOffsets.assign(offsets.begin(), offsets.end());
  bool shifted = slice.getSourceType().getRank() == 4 &&
                 slice.getResultType().getRank() == 4 &&
                 llvm::all_of(strides, [](int64_t s) { return s == 1; });
  addOperand(node, slice.getSource(),
             shifted ? SpatialAccess::Slice : SpatialAccess::Whole);
  finishNode(node);
  return success();
}

/// A transpose or reshape that is not part of a reorg (isDataMovement). The
/// layout transpose of an NCHW map to NHWC (an ONNX model's input) reads the
/// rows and columns it writes, so groups can take it as their first layer
/// and never hold the transposed map whole; any other reads its operand
/// whole.
LogicalResult LayerGraphBuilder::buildDataMovement(Operation *op) {
  bool reshape = isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op);
  LayerNode &node = addNode(reshape ? LayerKind::Reshape : LayerKind::Transpose,
                            op, op->getResult(0));
  // Input dimension k is result dimension dims[k]: N, C, H, W -> 0, 3, 1, 2.
  static constexpr int64_t kNchwToNhwc[] = {0, 3, 1, 2};
  bool toNhwc = !reshape && llvm::ArrayRef<int64_t>(transposeSourceDims(op)) ==
                                llvm::ArrayRef<int64_t>(kNchwToNhwc);
  addOperand(node, movedValue(op),
             toNhwc ? SpatialAccess::ChannelsFirst : SpatialAccess::Whole);
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
    for (Value init : dps.getDpsInits())
      addOperand(node, init, SpatialAccess::Whole);
  finishNode(node);
  return success();
}

LogicalResult LayerGraphBuilder::build() {
  graph.setFunctionName(func.getSymName().str());
  if (!func.getBody().hasOneBlock())
    return error(func, "function body must be a single block");
  Block &body = func.getBody().front();
  // Attribute values and sizes nothing below could honour (a negative
  // dilation, a read outside a buffer, an overflowing size) stop the build
  // before any figure is computed from them.
  bool invalid = failed(verifyLayerOp(func));
  for (Operation &op : body)
    invalid |= failed(verifyLayerOp(&op));
  if (invalid)
    return failure();
  computeStatic(body);

  for (Operation &op : body) {
    if (staticOps.contains(&op) || op.hasTrait<OpTrait::IsTerminator>())
      continue;
    if (auto pad = dyn_cast<tensor::PadOp>(op))
      recognisePad(pad);
    else if (isDataMovement(&op) && !absorbed.contains(&op) &&
             !composites.count(&op))
      recogniseReorg(&op);
    else if (auto generic = dyn_cast<linalg::GenericOp>(op))
      recogniseUpsample(generic);
    else if (auto insert = dyn_cast<tensor::InsertSliceOp>(op);
             insert && isStatic(insert.getDest()))
      recogniseInsertConcat(insert);
  }

  auto inputNames = func->getAttrOfType<ArrayAttr>(mafat::kInputNamesAttr);
  for (BlockArgument arg : body.getArguments()) {
    if (!isStaticShaped(arg))
      return error(func, "argument #" + llvm::Twine(arg.getArgNumber()) +
                             " is not a statically shaped tensor");
    LayerNode node;
    node.kind = LayerKind::Input;
    StringAttr given;
    if (inputNames && arg.getArgNumber() < inputNames.size())
      given = dyn_cast<StringAttr>(inputNames[arg.getArgNumber()]);
    node.name =
        given ? given.str() : "input" + std::to_string(arg.getArgNumber());
    node.outputShape = shapeOf(arg);
    node.outputBytes = tensorBytes(arg.getType());
    ++nameCount[node.name];
    ir.ops.push_back(nullptr);
    ir.folded.emplace_back();
    ir.results.push_back(arg);
    ir.valueToNode[arg] = graph.size();
    graph.addNode(std::move(node));
  }

  auto outputNames = func->getAttrOfType<ArrayAttr>(mafat::kOutputNamesAttr);
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        std::optional<unsigned> id = ir.producerOf(value);
        if (!id && failedOps.contains(value.getDefiningOp()))
          continue;
        if (!id) {
          (void)error(ret, "result #" + llvm::Twine(i) +
                               " is not produced by a layer");
          continue;
        }
        StringAttr given;
        if (outputNames && i < outputNames.size())
          given = dyn_cast<StringAttr>(outputNames[i]);
        graph.addOutput(*id,
                        given ? given.str() : "output" + std::to_string(i));
      }
      continue;
    }
    if (staticOps.contains(&op) || absorbed.contains(&op))
      continue;
    if (auto it = composites.find(&op); it != composites.end())
      (void)buildComposite(it->second);
    else
      (void)buildOp(&op);
  }
  graph.setTotalWeightBytes(weightTotal);
  graph.finalize();
  return failure(anyError);
}

//===----------------------------------------------------------------------===//
// LayerGraph
//===----------------------------------------------------------------------===//

FailureOr<IRLayerGraph> buildLayerGraph(func::FuncOp func) {
  IRLayerGraph built;
  LayerGraphBuilder builder(func, built.graph, built.ir);
  if (failed(builder.build()))
    return failure();
  return built;
}

std::optional<unsigned> LayerIRMap::producerOf(Value value) const {
  auto it = valueToNode.find(value);
  if (it == valueToNode.end())
    return std::nullopt;
  return it->second;
}

} // namespace mafat
