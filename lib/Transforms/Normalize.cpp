//===- Normalize.cpp - Bring a model into mafat's canonical form ----------===//
//
// The canonical form (docs/CanonicalForm.md) is the one shape the analysis
// and transforms match on, whatever produced the model (TOSA, the importers,
// a hand-written file). Anything outside it is rejected here with a
// diagnostic at the offending op, so later passes never see it.
//
//===----------------------------------------------------------------------===//

#include "mafat/Transforms/Passes.h"

#include "mafat/Analysis/LayerGraph.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATNORMALIZE
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

/// The ops a canonical model may contain. Whole dialects whose every op is
/// elementwise scalar math are accepted; structured ops are listed one by one
/// because the analysis must know each one's access pattern.
bool isSupportedOp(Operation *op) {
  StringRef dialect = op->getDialect() ? op->getDialect()->getNamespace() : "";
  if (dialect == "arith" || dialect == "math")
    return true;
  return isa<func::FuncOp, func::ReturnOp, ModuleOp, tensor::EmptyOp,
             tensor::PadOp, tensor::YieldOp, tensor::ExtractSliceOp,
             tensor::InsertSliceOp, tensor::ConcatOp, tensor::CollapseShapeOp,
             tensor::ExpandShapeOp, linalg::Conv2DNhwcHwcfOp,
             linalg::Conv2DNhwcFhwcOp, linalg::DepthwiseConv2DNhwcHwcOp,
             linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp,
             linalg::GenericOp, linalg::FillOp, linalg::MatmulOp,
             linalg::TransposeOp, linalg::YieldOp, linalg::IndexOp>(op);
}

/// Short kind used in generated layer names.
StringRef layerKind(Operation *op) {
  return TypeSwitch<Operation *, StringRef>(op)
      .Case<linalg::Conv2DNhwcHwcfOp>([](auto) { return "conv"; })
      .Case<linalg::DepthwiseConv2DNhwcHwcOp>([](auto) { return "dwconv"; })
      .Case<linalg::PoolingNhwcMaxOp>([](auto) { return "maxpool"; })
      .Case<linalg::PoolingNhwcSumOp>([](auto) { return "sumpool"; })
      .Case<linalg::MatmulOp>([](auto) { return "matmul"; })
      .Case<tensor::ConcatOp>([](auto) { return "concat"; })
      .Case<tensor::PadOp>([](auto) { return "pad"; })
      .Case<linalg::FillOp>([](auto) { return "fill"; })
      .Case<linalg::TransposeOp>([](auto) { return "transpose"; })
      .Case<linalg::GenericOp>([](auto) { return "eltwise"; })
      .Default([](Operation *) { return ""; });
}

/// Ops that start a new layer when mafat has to invent names.
bool isAnchor(Operation *op) {
  return isa<linalg::Conv2DNhwcHwcfOp, linalg::DepthwiseConv2DNhwcHwcOp,
             linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp,
             linalg::MatmulOp, tensor::ConcatOp>(op);
}

bool hasName(Location loc) {
  if (isa<NameLoc>(loc))
    return true;
  if (auto fused = dyn_cast<FusedLoc>(loc))
    return llvm::any_of(fused.getLocations(), hasName);
  return false;
}

/// Rejects what the rest of mafat cannot compile. Emits one diagnostic per
/// offending op and returns failure if there was any.
LogicalResult verifyCanonicalTypes(ModuleOp module) {
  bool failed = false;
  // One diagnostic per op: the first offending type says enough.
  auto checkType = [&](Operation *op, Type type, StringRef what) -> bool {
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped)
      return true;
    if (!shaped.hasStaticShape()) {
      op->emitError() << "mafat requires static shapes, but " << what
                      << " has type " << type;
      return failed = true, false;
    }
    if (!shaped.getElementType().isF32()) {
      op->emitError() << "mafat supports f32 tensors only, but " << what
                      << " has type " << type;
      return failed = true, false;
    }
    return true;
  };
  // Pre-order, so that skipping an unsupported op skips its body too.
  module->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (!isSupportedOp(op)) {
      op->emitError() << "unsupported op '" << op->getName()
                      << "' in a mafat model (see docs/CanonicalForm.md for "
                         "the supported set)";
      failed = true;
      return WalkResult::skip();
    }
    SmallVector<std::pair<Type, std::string>> types;
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
        types.push_back({type, ("argument #" + Twine(i)).str()});
      for (auto [i, type] : llvm::enumerate(func.getResultTypes()))
        types.push_back({type, ("result #" + Twine(i)).str()});
    } else {
      for (auto [i, type] : llvm::enumerate(op->getResultTypes()))
        types.push_back({type, ("result #" + Twine(i)).str()});
    }
    bool typesOk = llvm::all_of(types, [&](auto &typeAndWhat) {
      return checkType(op, typeAndWhat.first, typeAndWhat.second);
    });
    // Attribute values and sizes (shared with the layer graph, so mafat-opt
    // and mafat-compile reject the same models with the same diagnostic).
    if (typesOk && mlir::failed(mafat::verifyLayerOp(op)))
      failed = true;
    return WalkResult::advance();
  });
  return failure(failed);
}

/// Permutes a constant filter from FHWC to HWCF at compile time.
DenseElementsAttr transposeFhwcToHwcf(DenseElementsAttr filter) {
  auto type = cast<RankedTensorType>(filter.getType());
  ArrayRef<int64_t> s = type.getShape(); // F, H, W, C
  int64_t f = s[0], h = s[1], w = s[2], c = s[3];
  SmallVector<float> src(filter.getValues<float>());
  SmallVector<float> dst(src.size());
  for (int64_t fi = 0; fi < f; ++fi)
    for (int64_t hi = 0; hi < h; ++hi)
      for (int64_t wi = 0; wi < w; ++wi)
        for (int64_t ci = 0; ci < c; ++ci)
          dst[((hi * w + wi) * c + ci) * f + fi] =
              src[((fi * h + hi) * w + wi) * c + ci];
  auto newType = RankedTensorType::get({h, w, c, f}, type.getElementType());
  return DenseElementsAttr::get(newType, ArrayRef<float>(dst));
}

/// TOSA lowers conv2d to the FHWC filter layout; the canonical form is HWCF
/// (the layout the register-blocked kernels want: F innermost). A constant
/// filter is transposed at compile time; anything else gets a
/// linalg.transpose, which is still canonical.
void rewriteFhwcConv(linalg::Conv2DNhwcFhwcOp conv) {
  IRRewriter rewriter(conv);
  Value filter = conv.getInputs()[1];
  auto fType = cast<RankedTensorType>(filter.getType());
  ArrayRef<int64_t> s = fType.getShape();
  auto hwcfType =
      RankedTensorType::get({s[1], s[2], s[3], s[0]}, fType.getElementType());
  Value newFilter;
  DenseElementsAttr dense;
  if (matchPattern(filter, m_Constant(&dense)) && !dense.isSplat()) {
    newFilter = arith::ConstantOp::create(rewriter, filter.getLoc(), hwcfType,
                                          transposeFhwcToHwcf(dense));
  } else if (dense && dense.isSplat()) {
    newFilter = arith::ConstantOp::create(rewriter, filter.getLoc(), hwcfType,
                                          dense.resizeSplat(hwcfType));
  } else {
    Value init = tensor::EmptyOp::create(rewriter, conv.getLoc(),
                                         hwcfType.getShape(),
                                         hwcfType.getElementType());
    newFilter = linalg::TransposeOp::create(rewriter, conv.getLoc(), filter,
                                            init, ArrayRef<int64_t>{1, 2, 3, 0})
                    ->getResult(0);
  }
  auto newConv = linalg::Conv2DNhwcHwcfOp::create(
      rewriter, conv.getLoc(), conv.getResultTypes(),
      ValueRange{conv.getInputs()[0], newFilter}, conv.getOutputs(),
      conv.getStrides(), conv.getDilations());
  rewriter.replaceOp(conv, newConv->getResults());
  // The FHWC constant is dead now; do not carry its bytes into the binary.
  if (Operation *def = filter.getDefiningOp(); def && def->use_empty() &&
                                               isa<arith::ConstantOp>(def))
    rewriter.eraseOp(def);
}

/// Gives every layer op without a name a stable `L<i>:<kind>` name, the
/// index shared by one layer's ops as the importers would name them. Anchors
/// (convs, pools, matmuls, concats) get indices in program order; a pad or
/// fill takes the index of the anchor that consumes it; any other op takes
/// the index of the anchor producing one of its operands, else of the anchor
/// consuming it (TOSA's bias broadcast that initialises a conv), else a new
/// index after the anchors'.
void nameLayers(func::FuncOp func) {
  llvm::DenseMap<Operation *, unsigned> index;
  unsigned next = 0;
  func.walk([&](Operation *op) {
    if (isAnchor(op))
      index[op] = next++;
  });
  auto fromUsers = [&](Operation *op) -> std::optional<unsigned> {
    for (Operation *user : op->getUsers())
      if (auto it = index.find(user); it != index.end())
        return it->second;
    return std::nullopt;
  };
  auto fromOperands = [&](Operation *op) -> std::optional<unsigned> {
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        if (auto it = index.find(def); it != index.end())
          return it->second;
    return std::nullopt;
  };
  auto indexOf = [&](Operation *op) -> unsigned {
    if (auto it = index.find(op); it != index.end())
      return it->second;
    std::optional<unsigned> i;
    if (isa<tensor::PadOp, linalg::FillOp>(op))
      i = fromUsers(op);
    else if (!(i = fromOperands(op)))
      i = fromUsers(op);
    return i ? *i : next++;
  };
  func.walk([&](Operation *op) {
    StringRef kind = layerKind(op);
    if (kind.empty() || hasName(op->getLoc()))
      return;
    unsigned i = indexOf(op);
    index[op] = i;
    std::string name = ("L" + Twine(i) + ":" + kind).str();
    op->setLoc(NameLoc::get(StringAttr::get(op->getContext(), name),
                            op->getLoc()));
  });
}

struct MafatNormalizePass
    : public mafat::impl::MafatNormalizeBase<MafatNormalizePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(verifyCanonicalTypes(module)))
      return signalPassFailure();
    SmallVector<linalg::Conv2DNhwcFhwcOp> fhwc;
    module.walk([&](linalg::Conv2DNhwcFhwcOp op) { fhwc.push_back(op); });
    for (auto conv : fhwc)
      rewriteFhwcConv(conv);
    module.walk([](func::FuncOp func) { nameLayers(func); });
  }
};

} // namespace
