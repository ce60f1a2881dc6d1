//===- ParallelMarks.cpp - Which loops of a layer may be split ------------===//
//
// mafat-tile-and-vectorize knows which loops walk a layer's output blocks;
// it marks them here, and mafat-parallelize reads the marks. The marks live
// in the loops' locations (fused-loc metadata), not in attributes: the
// canonicalizations and bufferization between the two passes rebuild loops
// (new iter_args, memref results) and keep only their location.
//
//===----------------------------------------------------------------------===//

#include "mafat/Transforms/Parallel.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"

using namespace mlir;

static int64_t bytesOf(Value value) {
  auto type = dyn_cast<ShapedType>(value.getType());
  if (!type || !type.hasStaticShape())
    return 0;
  return type.getNumElements() * type.getElementTypeBitWidth() / 8;
}

mafat::ParallelMark mafat::parallelMarkOf(linalg::LinalgOp op) {
  ParallelMark mark;
  // Copies and fills (tensor.pad's, on buffers) split by rows too: their
  // rows are the ones the thread's next layer reads.
  mark.work = 1;
  for (int64_t range : op.getStaticLoopRanges())
    mark.work *= ShapedType::isDynamic(range) ? 1 : range;
  // Ops tiled (n, f, oh, ow) by chooseRegisterBlock; the weights are
  // operand 1 of a conv (none for a pool).
  if (isa<linalg::Conv2DNhwcHwcfOp, linalg::DepthwiseConv2DNhwcHwcOp,
          linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp>(op)) {
    int64_t weights =
        isa<linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp>(op)
            ? 0
            : bytesOf(op->getOperand(1));
    mark.rowsFirst = weights <= bytesOf(op->getOperand(0));
  }
  return mark;
}

static bool runsMoreThanOnce(LoopLikeOpInterface loop) {
  std::optional<APInt> trips = loop.getStaticTripCount();
  return !trips || trips->getSExtValue() > 1;
}

static void addMark(Operation *loop, DictionaryAttr mark) {
  loop->setLoc(FusedLoc::get(loop->getContext(), {loop->getLoc()}, mark));
}

void mafat::markParallelLoop(ArrayRef<LoopLikeOpInterface> loops,
                             ParallelMark mark) {
  // Loops of one iteration (the batch dim) fold away: the outermost other
  // one is the layer's split loop.
  auto it = llvm::find_if(loops, runsMoreThanOnce);
  if (it == loops.end())
    return;
  Operation *loop = *it;
  MLIRContext *ctx = loop->getContext();
  auto next = std::find_if(std::next(it), loops.end(), runsMoreThanOnce);
  // Rows first only where the loops are (n, f, oh, ow) and f is the split
  // loop; when f has one block the split loop is already the rows.
  bool rowsFirst =
      mark.rowsFirst && it - loops.begin() == 1 && next - loops.begin() == 2;
  SmallVector<NamedAttribute> entries{
      NamedAttribute(StringAttr::get(ctx, kParallelLoopAttr),
                     IntegerAttr::get(IntegerType::get(ctx, 64), mark.work))};
  if (rowsFirst)
    entries.push_back(NamedAttribute(
        StringAttr::get(ctx, kParallelRowsFirstAttr), UnitAttr::get(ctx)));
  addMark(loop, DictionaryAttr::get(ctx, entries));
  // The next output-block loop: mafat-parallelize may fold it into the split
  // loop when that one has too few iterations to balance the threads, or
  // split it instead (rows first).
  if (next != loops.end())
    addMark(
        *next,
        DictionaryAttr::get(
            ctx, {NamedAttribute(StringAttr::get(ctx, kParallelInnerLoopAttr),
                                 UnitAttr::get(ctx))}));
}

static DictionaryAttr markOf(Operation *loop) {
  auto fused = dyn_cast<FusedLoc>(loop->getLoc());
  return fused ? dyn_cast_or_null<DictionaryAttr>(fused.getMetadata())
               : DictionaryAttr();
}

std::optional<int64_t> mafat::parallelLoopWork(Operation *loop) {
  DictionaryAttr mark = markOf(loop);
  auto work = mark ? mark.getAs<IntegerAttr>(kParallelLoopAttr) : nullptr;
  if (!work)
    return std::nullopt;
  return work.getInt();
}

bool mafat::prefersRowSplit(Operation *loop) {
  DictionaryAttr mark = markOf(loop);
  return mark && mark.contains(kParallelRowsFirstAttr);
}

bool mafat::isParallelInnerLoop(Operation *loop) {
  DictionaryAttr mark = markOf(loop);
  return mark && mark.contains(kParallelInnerLoopAttr);
}

void mafat::clearParallelLoopMark(Operation *loop) {
  if (!markOf(loop))
    return;
  ArrayRef<Location> inner = cast<FusedLoc>(loop->getLoc()).getLocations();
  loop->setLoc(inner.size() == 1 ? inner.front()
                                 : FusedLoc::get(loop->getContext(), inner));
}

void mafat::markSlotLoop(Operation *loop, int64_t slots) {
  MLIRContext *ctx = loop->getContext();
  addMark(loop,
          DictionaryAttr::get(
              ctx, {NamedAttribute(
                       StringAttr::get(ctx, kSlotLoopAttr),
                       IntegerAttr::get(IntegerType::get(ctx, 64), slots))}));
}

std::optional<int64_t> mafat::slotLoopCount(Operation *loop) {
  DictionaryAttr mark = markOf(loop);
  auto slots = mark ? mark.getAs<IntegerAttr>(kSlotLoopAttr) : nullptr;
  if (!slots)
    return std::nullopt;
  return slots.getInt();
}

Value mafat::emitSlotLoop(
    OpBuilder &b, Location loc, int64_t slots, Value acc,
    function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = arith::ConstantIndexOp::create(b, loc, slots);
  auto slotLoop = scf::ForOp::create(
      b, loc, c0, count, c1, ValueRange{acc},
      [&](OpBuilder &sb, Location sloc, Value slotIv, ValueRange args) {
        scf::YieldOp::create(sb, sloc, body(sb, sloc, slotIv, args[0]));
      });
  markSlotLoop(slotLoop, slots);
  return slotLoop.getResult(0);
}

std::pair<Value, Value> mafat::slotBandBounds(OpBuilder &b, Location loc,
                                              ValueRange dims, AffineExpr first,
                                              int64_t count, int64_t tiles,
                                              int64_t slots) {
  MLIRContext *ctx = b.getContext();
  AffineExpr slot = getAffineDimExpr(0, ctx);
  unsigned n = dims.size();
  AffineMap lower = AffineMap::get(
      n, 0,
      {getAffineConstantExpr(0, ctx), (slot * tiles).floorDiv(slots) - first},
      ctx);
  AffineMap upper =
      AffineMap::get(n, 0,
                     {getAffineConstantExpr(count, ctx),
                      ((slot + 1) * tiles).floorDiv(slots) - first},
                     ctx);
  Value from = affine::AffineMaxOp::create(b, loc, lower, dims);
  Value to = affine::AffineMinOp::create(b, loc, upper, dims);
  return {from, to};
}
