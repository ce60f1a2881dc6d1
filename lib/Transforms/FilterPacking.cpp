//===- FilterPacking.cpp - Contiguous filter blocks for conv tiles --------===//

#include "mafat/Transforms/FilterPacking.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace mafat {
namespace {

/// The f32 values of a constant, dense or in a resource blob.
std::optional<ArrayRef<float>> constantData(Attribute attr,
                                            SmallVector<float> &storage) {
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (!dense.getElementType().isF32())
      return std::nullopt;
    storage.assign(dense.getValues<float>().begin(),
                   dense.getValues<float>().end());
    return ArrayRef<float>(storage);
  }
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(attr))
    return resource.tryGetAsArrayRef();
  return std::nullopt;
}

/// True if `v` is always a multiple of `tf`: a constant multiple, or the
/// induction variable of a loop from a multiple of tf by a multiple of tf.
bool isMultipleOf(OpFoldResult v, int64_t tf) {
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return *c % tf == 0;
  auto arg = dyn_cast<BlockArgument>(cast<Value>(v));
  if (!arg)
    return false;
  auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp());
  if (!loop || loop.getInductionVar() != arg)
    return false;
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  return lb && step && *lb % tf == 0 && *step % tf == 0;
}

/// Builds the packed [F/tf][KH][KW][C][tf] copy of an HWCF constant.
Attribute packFilter(ArrayRef<float> w, ArrayRef<int64_t> shape, int64_t tf,
                     RankedTensorType packedType) {
  int64_t kh = shape[0], kw = shape[1], c = shape[2], f = shape[3];
  std::vector<float> packed(w.size());
  int64_t i = 0;
  for (int64_t fb = 0; fb < f / tf; ++fb)
    for (int64_t a = 0; a < kh * kw * c; ++a)
      for (int64_t j = 0; j < tf; ++j)
        packed[i++] = w[a * f + fb * tf + j];
  // Large filters stay blobs, as the importers emit them.
  if (packed.size() * sizeof(float) > (64u << 10))
    return DenseF32ResourceElementsAttr::get(
        packedType, "mafat_packed_filter",
        HeapAsmResourceBlob::allocateAndCopyInferAlign(
            ArrayRef<float>(packed)));
  return DenseElementsAttr::get(packedType, ArrayRef<float>(packed));
}

} // namespace

void packConvFilterSlices(func::FuncOp func, RewriterBase &rewriter) {
  SmallVector<tensor::ExtractSliceOp> slices;
  func.walk([&](tensor::ExtractSliceOp slice) {
    auto cst = slice.getSource().getDefiningOp<arith::ConstantOp>();
    auto type = dyn_cast<RankedTensorType>(slice.getSourceType());
    if (!cst || !type || type.getRank() != 4 || !type.hasStaticShape() ||
        !type.getElementType().isF32() || !slice.hasUnitStride())
      return;
    // Only filter operands of HWCF convolutions.
    bool feedsConv = llvm::any_of(slice->getUsers(), [](Operation *user) {
      return isa<linalg::Conv2DNhwcHwcfOp, tensor::ExtractSliceOp>(user);
    });
    bool isFilter = llvm::any_of(cst->getUsers(), [&](Operation *user) {
      return user == slice.getOperation() || isa<linalg::Conv2DNhwcHwcfOp>(user);
    });
    if (!feedsConv || !isFilter)
      return;
    std::optional<int64_t> tf = getConstantIntValue(slice.getMixedSizes()[3]);
    int64_t f = type.getDimSize(3);
    if (!tf || *tf >= f || f % *tf != 0 ||
        !isMultipleOf(slice.getMixedOffsets()[3], *tf))
      return;
    slices.push_back(slice);
  });

  DenseMap<std::pair<Operation *, int64_t>, Value> packedOf;
  for (tensor::ExtractSliceOp slice : slices) {
    auto cst = slice.getSource().getDefiningOp<arith::ConstantOp>();
    auto type = cast<RankedTensorType>(slice.getSourceType());
    int64_t tf = *getConstantIntValue(slice.getMixedSizes()[3]);
    ArrayRef<int64_t> shape = type.getShape();
    Value &packed = packedOf[{cst, tf}];
    if (!packed) {
      SmallVector<float> storage;
      std::optional<ArrayRef<float>> data = constantData(cst.getValue(), storage);
      if (!data)
        continue;
      auto packedType = RankedTensorType::get(
          {shape[3] / tf, shape[0], shape[1], shape[2], tf},
          type.getElementType());
      rewriter.setInsertionPoint(cst);
      packed = arith::ConstantOp::create(
          rewriter, cst.getLoc(), packedType,
          cast<TypedAttr>(packFilter(*data, shape, tf, packedType)));
    }
    rewriter.setInsertionPoint(slice);
    Location loc = slice.getLoc();
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
    SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
    OpFoldResult block;
    if (std::optional<int64_t> c = getConstantIntValue(offsets[3]))
      block = rewriter.getIndexAttr(*c / tf);
    else
      block = arith::DivUIOp::create(
                  rewriter, loc, cast<Value>(offsets[3]),
                  arith::ConstantIndexOp::create(rewriter, loc, tf))
                  .getResult();
    SmallVector<OpFoldResult> newOffsets{block, offsets[0], offsets[1],
                                         offsets[2], rewriter.getIndexAttr(0)};
    SmallVector<OpFoldResult> newSizes{rewriter.getIndexAttr(1), sizes[0],
                                       sizes[1], sizes[2], sizes[3]};
    SmallVector<OpFoldResult> strides(5, rewriter.getIndexAttr(1));
    auto replacement = tensor::ExtractSliceOp::create(
        rewriter, loc, slice.getType(), packed, newOffsets, newSizes, strides);
    rewriter.replaceOp(slice, replacement.getResult());
  }
}

} // namespace mafat
