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
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

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

/// Builds the packed copy of `nb` filter blocks of an HWCF constant, from
/// filter f0 on: [nb][C/cb][KH][KW][cb][tf], or [nb][KH][KW][C][tf] when
/// cb == C (the packed type's rank says which).
Attribute packFilter(ArrayRef<float> w, ArrayRef<int64_t> shape, int64_t f0,
                     int64_t nb, int64_t tf, int64_t cb,
                     RankedTensorType packedType) {
  int64_t kh = shape[0], kw = shape[1], c = shape[2], f = shape[3];
  std::vector<float> packed(nb * tf * kh * kw * c);
  int64_t i = 0;
  for (int64_t fb = 0; fb < nb; ++fb)
    for (int64_t cblk = 0; cblk < c / cb; ++cblk)
      for (int64_t a = 0; a < kh * kw; ++a)
        for (int64_t ci = cblk * cb; ci < (cblk + 1) * cb; ++ci)
          for (int64_t j = 0; j < tf; ++j)
            packed[i++] = w[(a * c + ci) * f + f0 + fb * tf + j];
  // Large filters stay blobs, as the importers emit them.
  if (packed.size() * sizeof(float) > (64u << 10))
    return DenseF32ResourceElementsAttr::get(
        packedType, "mafat_packed_filter",
        HeapAsmResourceBlob::allocateAndCopyInferAlign(
            ArrayRef<float>(packed)));
  return DenseElementsAttr::get(packedType, ArrayRef<float>(packed));
}

/// (offset - first) floordiv size as an index value: the pack block a block
/// of filters starts in (first is 0 unless offset is a constant).
OpFoldResult blockIndex(RewriterBase &rewriter, Location loc,
                        OpFoldResult offset, int64_t first, int64_t size) {
  if (std::optional<int64_t> c = getConstantIntValue(offset))
    return rewriter.getIndexAttr((*c - first) / size);
  assert(first == 0 && "a loop's block indexes a pack from filter 0");
  return arith::DivUIOp::create(
             rewriter, loc, cast<Value>(offset),
             arith::ConstantIndexOp::create(rewriter, loc, size))
      .getResult();
}

/// (offset - first) mod size: where a block of fewer than `size` filters
/// starts inside its pack block (0 when blocks and packs are as wide).
OpFoldResult innerIndex(RewriterBase &rewriter, Location loc,
                        OpFoldResult offset, int64_t first, int64_t size) {
  if (std::optional<int64_t> c = getConstantIntValue(offset))
    return rewriter.getIndexAttr((*c - first) % size);
  assert(first == 0 && "a loop's block indexes a pack from filter 0");
  return arith::RemUIOp::create(
             rewriter, loc, cast<Value>(offset),
             arith::ConstantIndexOp::create(rewriter, loc, size))
      .getResult();
}

/// Whether `op` and everything that reads it, transitively, could be
/// erased: side-effect free, and no result reaches a live op or a
/// terminator.
bool isDead(Operation *op) {
  // A terminator hands its operands on (an scf.yield to its loop's results).
  if (op->hasTrait<OpTrait::IsTerminator>() || !isMemoryEffectFree(op))
    return false;
  return llvm::all_of(op->getUsers(),
                      [](Operation *user) { return isDead(user); });
}

/// The channel block of a filter-block slice whose every user is a
/// channel-block slice [0, 0, c, 0][KH, KW, cb, tf] (the cache level of a
/// deep conv, RegisterBlock.h), or nullopt.
std::optional<int64_t> channelBlockOf(tensor::ExtractSliceOp slice) {
  auto type = cast<RankedTensorType>(slice.getType());
  if (type.getRank() != 4 || slice->use_empty())
    return std::nullopt;
  std::optional<int64_t> cb;
  for (Operation *user : slice->getUsers()) {
    auto inner = dyn_cast<tensor::ExtractSliceOp>(user);
    if (!inner || inner.getSource() != slice.getResult() ||
        !inner.hasUnitStride() ||
        cast<RankedTensorType>(inner.getType()).getRank() != 4)
      return std::nullopt;
    SmallVector<OpFoldResult> offsets = inner.getMixedOffsets();
    std::optional<SmallVector<int64_t>> sizes =
        getConstantIntValues(inner.getMixedSizes());
    if (!sizes || (*sizes)[0] != type.getDimSize(0) ||
        (*sizes)[1] != type.getDimSize(1) ||
        (*sizes)[3] != type.getDimSize(3) || !isZeroInteger(offsets[0]) ||
        !isZeroInteger(offsets[1]) || !isZeroInteger(offsets[3]))
      return std::nullopt;
    int64_t size = (*sizes)[2];
    if ((cb && *cb != size) || size >= type.getDimSize(2) ||
        type.getDimSize(2) % size != 0 || !isMultipleOf(offsets[2], size))
      return std::nullopt;
    cb = size;
  }
  return cb;
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
      return user == slice.getOperation() ||
             isa<linalg::Conv2DNhwcHwcfOp>(user);
    });
    if (!feedsConv || !isFilter)
      return;
    std::optional<int64_t> tf = getConstantIntValue(slice.getMixedSizes()[3]);
    int64_t f = type.getDimSize(3);
    // A loop's blocks must start at multiples of tf to index a pack; a
    // constant-offset block can always have a pack of its own.
    OpFoldResult offset = slice.getMixedOffsets()[3];
    if (!tf || *tf >= f ||
        (!getConstantIntValue(offset) && !isMultipleOf(offset, *tf)))
      return;
    slices.push_back(slice);
  });
  // A constant that something else still reads whole (a conv whose one
  // filter block is all of F, a slice that is not a filter block) stays in
  // the binary: packing its other blocks would hold the weights twice.
  // (Ops left dead by tiling until the next canonicalization, such as the
  // untiled conv and its epilogue, read nothing.) Checked once per constant.
  llvm::DenseSet<Operation *> packable;
  for (tensor::ExtractSliceOp slice : slices)
    packable.insert(slice);
  llvm::DenseMap<Operation *, bool> packsWhole;
  for (tensor::ExtractSliceOp slice : slices) {
    Operation *cst = slice.getSource().getDefiningOp();
    if (!packsWhole.count(cst))
      packsWhole[cst] = llvm::all_of(cst->getUsers(), [&](Operation *user) {
        return packable.count(user) || isDead(user);
      });
  }
  llvm::erase_if(slices, [&](tensor::ExtractSliceOp slice) {
    return !packsWhole.lookup(slice.getSource().getDefiningOp());
  });

  // Loop blocks first: a constant-offset block (a peeled remainder, an
  // unrolled block) then reads the loop's pack if it lies inside it.
  SmallVector<tensor::ExtractSliceOp> ordered;
  for (bool constantOffset : {false, true})
    for (tensor::ExtractSliceOp slice : slices)
      if (getConstantIntValue(slice.getMixedOffsets()[3]).has_value() ==
          constantOffset)
        ordered.push_back(slice);

  // A cache-blocked conv reads its filter block one channel block at a
  // time: each channel block is made contiguous too, so the weights, streamed
  // from memory once per inference, arrive as one sequential run instead of
  // KH*KW strided pieces (resnet18's deep convs waited on them).
  auto channelBlock = [](tensor::ExtractSliceOp slice) {
    return channelBlockOf(slice).value_or(slice.getSourceType().getDimSize(2));
  };
  // One pack width per (constant, channel block). The same conv tiled two
  // ways (the column tiles of a hybrid stream group, a rematerialized copy in
  // another group) gets register blocks of different widths; each width
  // packed on its own would copy the weights once per width (24.6 MB more on
  // yolov3-tiny's smallest plan). A block of tf filters reads a pack of a
  // wider multiple of tf in place, as a strided slice, if the wider loop's
  // whole blocks cover the narrower loop's.
  DenseMap<std::pair<Operation *, int64_t>, SmallVector<int64_t>> loopWidths;
  for (tensor::ExtractSliceOp slice : ordered)
    if (!getConstantIntValue(slice.getMixedOffsets()[3]))
      loopWidths[{slice.getSource().getDefiningOp(), channelBlock(slice)}]
          .push_back(*getConstantIntValue(slice.getMixedSizes()[3]));
  auto packWidth = [&](Operation *cst, int64_t cb, int64_t tf, int64_t f) {
    auto it = loopWidths.find({cst, cb});
    if (it == loopWidths.end())
      return tf;
    int64_t widest = *llvm::max_element(it->second);
    bool shares = llvm::all_of(it->second, [&](int64_t w) {
      return widest % w == 0 && f / w * w == f / widest * widest;
    });
    return shares ? widest : tf;
  };

  // One packed copy per (constant, pack width, channel block, first
  // filter). A loop's blocks are packed from filter 0, as many whole blocks
  // as F holds: its in-bounds slices lie inside them. A constant-offset
  // block outside every such pack gets a pack of its own, so that a
  // remainder of 8 filters does not copy the whole filter 8 wide.
  DenseMap<std::tuple<Operation *, int64_t, int64_t, int64_t>, Value> packedOf;
  for (tensor::ExtractSliceOp slice : ordered) {
    auto cst = slice.getSource().getDefiningOp<arith::ConstantOp>();
    auto type = cast<RankedTensorType>(slice.getSourceType());
    int64_t tf = *getConstantIntValue(slice.getMixedSizes()[3]);
    ArrayRef<int64_t> shape = type.getShape();
    int64_t cb = channelBlock(slice);
    bool channelBlocked = cb < shape[2];
    std::optional<int64_t> constOffset =
        getConstantIntValue(slice.getMixedOffsets()[3]);
    int64_t width = packWidth(cst, cb, tf, shape[3]);
    int64_t first = 0, blocks = shape[3] / width;
    if (constOffset && (*constOffset % width + tf > width ||
                        *constOffset + tf > blocks * width ||
                        !packedOf.count({cst, width, cb, 0}))) {
      first = *constOffset;
      blocks = 1;
      width = tf;
    }
    Value &packed = packedOf[{cst, width, cb, first}];
    if (!packed) {
      SmallVector<float> storage;
      std::optional<ArrayRef<float>> data =
          constantData(cst.getValue(), storage);
      if (!data)
        continue;
      SmallVector<int64_t> packedShape =
          channelBlocked
              ? SmallVector<int64_t>{blocks, shape[2] / cb, shape[0], shape[1],
                                     cb,     width}
              : SmallVector<int64_t>{blocks, shape[0], shape[1], shape[2],
                                     width};
      auto packedType =
          RankedTensorType::get(packedShape, type.getElementType());
      rewriter.setInsertionPoint(cst);
      packed = arith::ConstantOp::create(
          rewriter, cst.getLoc(), packedType,
          cast<TypedAttr>(
              packFilter(*data, shape, first, blocks, width, cb, packedType)));
    }
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
    SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
    if (channelBlocked) {
      // Each channel-block slice reads packed[f/tf][c/cb]; the filter-block
      // slice dies with them.
      for (Operation *user : llvm::make_early_inc_range(slice->getUsers())) {
        auto inner = cast<tensor::ExtractSliceOp>(user);
        rewriter.setInsertionPoint(inner);
        Location loc = inner.getLoc();
        SmallVector<OpFoldResult> newOffsets(6, rewriter.getIndexAttr(0));
        newOffsets[0] = blockIndex(rewriter, loc, offsets[3], first, width);
        newOffsets[1] =
            blockIndex(rewriter, loc, inner.getMixedOffsets()[2], 0, cb);
        if (width != tf)
          newOffsets[5] = innerIndex(rewriter, loc, offsets[3], first, width);
        SmallVector<OpFoldResult> newSizes{
            rewriter.getIndexAttr(1),        rewriter.getIndexAttr(1),
            rewriter.getIndexAttr(shape[0]), rewriter.getIndexAttr(shape[1]),
            rewriter.getIndexAttr(cb),       rewriter.getIndexAttr(tf)};
        SmallVector<OpFoldResult> strides(6, rewriter.getIndexAttr(1));
        auto replacement = tensor::ExtractSliceOp::create(
            rewriter, loc, inner.getType(), packed, newOffsets, newSizes,
            strides);
        rewriter.replaceOp(inner, replacement.getResult());
      }
      rewriter.eraseOp(slice);
      continue;
    }
    rewriter.setInsertionPoint(slice);
    Location loc = slice.getLoc();
    OpFoldResult block = blockIndex(rewriter, loc, offsets[3], first, width);
    OpFoldResult within =
        width == tf ? OpFoldResult(rewriter.getIndexAttr(0))
                    : innerIndex(rewriter, loc, offsets[3], first, width);
    SmallVector<OpFoldResult> newOffsets{block, offsets[0], offsets[1],
                                         offsets[2], within};
    SmallVector<OpFoldResult> newSizes{rewriter.getIndexAttr(1), sizes[0],
                                       sizes[1], sizes[2], sizes[3]};
    SmallVector<OpFoldResult> strides(5, rewriter.getIndexAttr(1));
    auto replacement = tensor::ExtractSliceOp::create(
        rewriter, loc, slice.getType(), packed, newOffsets, newSizes, strides);
    rewriter.replaceOp(slice, replacement.getResult());
  }
}

} // namespace mafat
