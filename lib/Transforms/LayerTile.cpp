//===- LayerTile.cpp - One layer cloned onto tile operands ----------------===//

#include "mafat/Transforms/LayerTile.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;

bool mafat::isComputedFromConstants(Value value) {
  Operation *def = value.getDefiningOp();
  if (!def)
    return false;
  if (def->hasTrait<OpTrait::ConstantLike>() || isa<tensor::EmptyOp>(def))
    return true;
  return llvm::all_of(def->getOperands(), isComputedFromConstants);
}

Value mafat::sliceMapPiece(OpBuilder &b, Location loc, Value full,
                           OpFoldResult row, OpFoldResult col, int64_t rows,
                           int64_t cols, bool channelsFirst) {
  auto type = cast<RankedTensorType>(full.getType());
  const unsigned rowDim = channelsFirst ? 2 : 1,
                 channelDim = channelsFirst ? 1 : 3;
  SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes(4, b.getIndexAttr(1));
  offsets[rowDim] = row;
  offsets[rowDim + 1] = col;
  sizes[rowDim] = b.getIndexAttr(rows);
  sizes[rowDim + 1] = b.getIndexAttr(cols);
  sizes[channelDim] = b.getIndexAttr(type.getDimSize(channelDim));
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, full, offsets, sizes, strides);
}

Value mafat::sliceOperandPiece(OpBuilder &b, Location loc, Value full,
                               const LayerOperand &operand, OpFoldResult row,
                               OpFoldResult col, int64_t rows, int64_t cols) {
  return sliceMapPiece(b, loc, full, row, col, rows, cols,
                       operand.access == SpatialAccess::ChannelsFirst);
}

Value mafat::insertMapPiece(OpBuilder &b, Location loc, Value piece, Value into,
                            OpFoldResult row, OpFoldResult col) {
  auto type = cast<RankedTensorType>(piece.getType());
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), row, col,
                                       b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes;
  for (int64_t d : type.getShape())
    sizes.push_back(b.getIndexAttr(d));
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, piece, into, offsets, sizes,
                                       strides);
}

Value mafat::padPiece(OpBuilder &b, Value piece, tensor::PadOp pad,
                      int64_t lowRows, int64_t highRows, int64_t lowCols,
                      int64_t highCols) {
  if (lowRows == 0 && highRows == 0 && lowCols == 0 && highCols == 0)
    return piece;
  auto srcType = cast<RankedTensorType>(piece.getType());
  SmallVector<int64_t> shape(srcType.getShape());
  shape[1] += lowRows + highRows;
  shape[2] += lowCols + highCols;
  auto type = RankedTensorType::get(shape, srcType.getElementType());
  auto newPad = tensor::PadOp::create(
      b, pad.getLoc(), type, piece, ArrayRef<int64_t>{0, lowRows, lowCols, 0},
      ArrayRef<int64_t>{0, highRows, highCols, 0}, ValueRange{}, ValueRange{});
  IRMapping map;
  pad.getRegion().cloneInto(&newPad.getRegion(), map);
  return newPad.getResult();
}

FailureOr<Value> mafat::cloneLayerOnPiece(
    OpBuilder &b, linalg::LinalgOp op, const LayerNode &node,
    const llvm::DenseMap<Value, unsigned> &operandOf,
    const LayerTileSources &sources, function_ref<InFlightDiagnostic()> error) {
  Location loc = op->getLoc();
  IRMapping map;
  for (OpOperand *input : op.getDpsInputOperands()) {
    Value v = input->get();
    if (auto it = operandOf.find(v); it != operandOf.end()) {
      map.map(v, sources.operand(it->second));
      continue;
    }
    // A folded pad in front of a window op.
    if (auto pad = v.getDefiningOp<tensor::PadOp>()) {
      auto it = operandOf.find(pad.getSource());
      if (it != operandOf.end()) {
        unsigned i = it->second;
        map.map(v, sources.padded(i, sources.operand(i), pad));
        continue;
      }
    }
    if (!isComputedFromConstants(v)) {
      error() << "layer '" << node.name
              << "' reads a value that is neither a layer output nor a "
                 "constant; it cannot be split into "
              << sources.noun << "s";
      return failure();
    }
    // Weights, biases and pool windows are used whole; a constant read per
    // position (an average pool's divisor map) is sliced like the piece;
    // anything else would be read at the wrong place by a piece.
    if (!isa<linalg::GenericOp>(op.getOperation()))
      continue;
    AffineMap m = op.getMatchingIndexingMap(input);
    auto vType = cast<RankedTensorType>(v.getType());
    bool spatial = false;
    for (AffineExpr e : m.getResults())
      if (auto d = dyn_cast<AffineDimExpr>(e))
        spatial |= d.getPosition() == 1 || d.getPosition() == 2;
    if (!spatial)
      continue;
    if (!m.isProjectedPermutation() || op.getNumLoops() != 4) {
      error() << "layer '" << node.name << "' reads a constant through a map "
              << sources.noun << "s cannot follow";
      return failure();
    }
    SmallVector<OpFoldResult> offsets, sizes,
        strides(vType.getRank(), b.getIndexAttr(1));
    for (auto [k, e] : llvm::enumerate(m.getResults())) {
      unsigned dim = cast<AffineDimExpr>(e).getPosition();
      if (dim == 1 || dim == 2) {
        offsets.push_back(sources.outputOffset(dim));
        sizes.push_back(b.getIndexAttr(sources.outputShape[dim]));
      } else {
        offsets.push_back(b.getIndexAttr(0));
        sizes.push_back(b.getIndexAttr(vType.getDimSize(k)));
      }
    }
    map.map(v,
            tensor::ExtractSliceOp::create(b, loc, v, offsets, sizes, strides)
                .getResult());
  }
  // The init: only its element type and fill value carry over to the piece,
  // so anything but a (filled) empty tensor would be lost.
  for (OpOperand &init : op.getDpsInitsMutable()) {
    auto fill = init.get().getDefiningOp<linalg::FillOp>();
    Value empty = fill ? fill.getDpsInitOperand(0)->get() : init.get();
    if (!empty.getDefiningOp<tensor::EmptyOp>()) {
      error() << "cannot tile the init of layer '" << node.name << "'";
      return failure();
    }
    Value piece = sources.destination();
    if (!piece) {
      Type elemType = cast<RankedTensorType>(empty.getType()).getElementType();
      piece = tensor::EmptyOp::create(b, empty.getLoc(), sources.outputShape,
                                      elemType);
    }
    if (fill)
      piece = linalg::FillOp::create(b, fill.getLoc(),
                                     fill.getDpsInputOperand(0)->get(), piece)
                  .getResult(0);
    map.map(init.get(), piece);
  }
  Operation *clone = b.clone(*op, map);
  for (auto [res, init] : llvm::zip(
           clone->getResults(), cast<linalg::LinalgOp>(clone).getDpsInits()))
    res.setType(init.getType());
  return clone->getResult(0);
}

FailureOr<Value> mafat::emitUpsamplePiece(
    OpBuilder &b, Operation *op, const LayerNode &node, Value input,
    Value destination, ArrayRef<int64_t> outputShape, int64_t phaseRows,
    int64_t phaseCols, function_ref<InFlightDiagnostic()> error) {
  // The generic whose body computes an element: the op itself, or the
  // broadcast the Darknet form's collapse_shape reshapes.
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
    generic = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
  // One input element in, one output element out, nothing read by index:
  // then the body means the same for every element of any piece.
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 ||
      !generic.getDpsInitOperand(0)->get().getDefiningOp<tensor::EmptyOp>() ||
      !generic.getBody()->getOps<linalg::IndexOp>().empty()) {
    error() << "layer '" << node.name
            << "' upsamples through a body that reads more than its input "
               "element; it cannot be split into pieces, give it its own "
               "group";
    return failure();
  }
  Location loc = op->getLoc();
  Type elemType =
      cast<RankedTensorType>(generic.getResult(0).getType()).getElementType();
  if (!destination)
    destination = tensor::EmptyOp::create(b, loc, outputShape, elemType);
  MLIRContext *ctx = b.getContext();
  AffineExpr n = getAffineDimExpr(0, ctx), y = getAffineDimExpr(1, ctx),
             x = getAffineDimExpr(2, ctx), c = getAffineDimExpr(3, ctx);
  AffineMap read =
      AffineMap::get(4, 0,
                     {n, (y + phaseRows).floorDiv(node.factorRows),
                      (x + phaseCols).floorDiv(node.factorCols), c},
                     ctx);
  AffineMap write = AffineMap::getMultiDimIdentityMap(4, ctx);
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  auto piece = linalg::GenericOp::create(
      b, loc, destination.getType(), ValueRange{input}, ValueRange{destination},
      ArrayRef<AffineMap>{read, write}, iterators);
  IRMapping map;
  generic.getRegion().cloneInto(&piece.getRegion(), map);
  return piece.getResult(0);
}
