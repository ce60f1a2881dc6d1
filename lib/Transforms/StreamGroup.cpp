//===- StreamGroup.cpp - A stream group becomes stripe loops --------------===//
//
// The geometry is Graph/StreamGroup.h's. Emitted IR, per stream group:
//
//   %acc = bufferization.alloc_tensor()            the group's output map
//   %w_b = linalg.fill(pad_b, alloc_tensor())      one per rolling buffer
//   per stripe class: scf.for iter_args(%acc, %w_0, ...) {
//     scf.execute_region no_inline {               one stripe, static shapes
//       per layer l:
//         if l writes rolling buffer b (before l runs):
//           shift: kept rows [keepFrom, +keep) -> [0, keep), through a
//                  copy that mafat-lower-copies makes in place after
//                  bufferization
//           fill the rows of bottom padding entering the window
//         l on its operands: a slice of a rolling buffer (already padded),
//           the producer's fresh tile, or a slice of a map from outside the
//           group (padded where it sticks out of the image); its init: a
//           slice of its rolling buffer, of %acc (last layer) or a fresh
//           tile, written in place
//     }
//   }
//
// With several column tiles (hybrid), the buffers are allocated (not filled)
// at the top and every column class (FusionGroup::runs of the columns)
// becomes
//
//   scf.for iter_args(%acc, %w_0, ...) {           one column tile
//     scf.execute_region no_inline {               its own arena, always
//       %w_b = linalg.fill(pad_b, %w_b)            fresh padding per tile
//       the stripe loops above, on the column tile's columns
//     }
//   }
//
// With slots (concurrent column tiles, the plan's `slots` > 1), those
// column loops run inside a slot loop that carries only the output map:
//
//   scf.for %s iter_args(%acc) {                   {mafat.slots}: a forall
//     %w_b = bufferization.alloc_tensor()          the slot's own buffers
//     per column class: scf.for over its tiles in the slot's band { ... }
//   }
//
// A global reduction at the end (StreamGroup::reduction) fills %acc with the
// pool's init value before the loops; per step its pooling op, with a window
// of the step's rows x the full width, reads the producer's fresh tile and
// accumulates into %acc (loop-carried), allocating nothing.
//
// The buffers a stripe body allocates, in order, per layer: the padded input
// tile of an external window operand, the fresh output tile
// (none for rolling-buffer writers, fused producers and the last layer). A
// layer writing into a concat directly (StreamGroup::directConcat) has no
// tile: the first of them allocates the concat's fresh tile, if it has one.
// MemoryModel.cpp predicts exactly this list; keep the two in step.
//
//===----------------------------------------------------------------------===//

#include "mafat/Transforms/StreamGroup.h"
#include "mafat/Transforms/LayerTile.h"
#include "mafat/Transforms/Parallel.h"

#include "mafat/Dialect/Mafat/AttrNames.h"
#include "mafat/Graph/StreamGroup.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mafat;

namespace {

/// `count` iterations over `state`, each running `body` in its own
/// no-inline scf.execute_region (the memory planner packs a region's
/// buffers on their own). `body` updates the values in place; the loop's
/// results become the new `state`.
LogicalResult
emitRegionLoop(OpBuilder &b, Location loc, Value lower, Value upper,
               SmallVectorImpl<Value> &state,
               function_ref<LogicalResult(OpBuilder &, Location, Value,
                                          SmallVectorImpl<Value> &)>
                   body) {
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Type> types;
  for (Value v : state)
    types.push_back(v.getType());
  LogicalResult status = success();
  auto loop = scf::ForOp::create(
      b, loc, lower, upper, c1, state,
      [&](OpBuilder &lb, Location lloc, Value iv, ValueRange args) {
        auto region = scf::ExecuteRegionOp::create(lb, lloc, types);
        region.setNoInline(true);
        OpBuilder bb =
            OpBuilder::atBlockBegin(&region.getRegion().emplaceBlock());
        SmallVector<Value> inner(args.begin(), args.end());
        if (failed(body(bb, lloc, iv, inner))) {
          status = failure();
          inner.assign(args.begin(), args.end());
        }
        scf::YieldOp::create(bb, lloc, inner);
        scf::YieldOp::create(lb, lloc, region.getResults());
      });
  if (failed(status))
    return failure();
  state.assign(loop.getResults().begin(), loop.getResults().end());
  return success();
}

LogicalResult
emitRegionLoop(OpBuilder &b, Location loc, int64_t count,
               SmallVectorImpl<Value> &state,
               function_ref<LogicalResult(OpBuilder &, Location, Value,
                                          SmallVectorImpl<Value> &)>
                   body) {
  return emitRegionLoop(b, loc, arith::ConstantIndexOp::create(b, loc, 0),
                        arith::ConstantIndexOp::create(b, loc, count), state,
                        body);
}

/// Offsets of a concat operand's channels, from `channel` on, in the
/// concat's rank-4 destination.
SmallVector<OpFoldResult> channelOffsets(OpBuilder &b, int64_t channel) {
  return {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(0),
          b.getIndexAttr(channel)};
}

/// The slice of `shape` at `channel` of `from`: an operand's channels of
/// the concat's destination.
Value sliceChannels(OpBuilder &b, Location loc, Value from,
                    ArrayRef<int64_t> shape, int64_t channel) {
  return tensor::ExtractSliceOp::create(
      b, loc, from, channelOffsets(b, channel),
      getAsIndexOpFoldResult(b.getContext(), shape),
      SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
}

/// `tile` inserted into `into` at `channel`.
Value insertChannels(OpBuilder &b, Location loc, Value tile, Value into,
                     int64_t channel) {
  return tensor::InsertSliceOp::create(
      b, loc, tile, into, channelOffsets(b, channel),
      getAsIndexOpFoldResult(b.getContext(),
                             cast<RankedTensorType>(tile.getType()).getShape()),
      SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
}

class StreamRewriter {
public:
  StreamRewriter(const LayerGraph &graph, const LayerIRMap &ir,
                 const FusionGroup &group, const StreamGroup &stream,
                 DenseMap<unsigned, Value> &currentValue)
      : graph(graph), ir(ir), group(group), stream(stream),
        currentValue(currentValue) {}

  LogicalResult rewrite();

private:
  /// The column classes' loops of a hybrid group over `state` (output map,
  /// buffers...): all column tiles, or with `slotIv` those of that slot.
  LogicalResult emitColumnLoops(OpBuilder &b, Location loc, Value slotIv,
                                SmallVectorImpl<Value> &state);
  /// The concurrent form of a hybrid group: a slot loop whose body
  /// allocates its own buffers (`allocBuffers`) and runs its column tiles;
  /// `state` is the output map in and out.
  LogicalResult emitSlotLoop(
      OpBuilder &b, Location loc, SmallVectorImpl<Value> &state,
      function_ref<void(OpBuilder &, SmallVectorImpl<Value> &)> allocBuffers);
  /// The stripe loops of column class `colRun` (its tile at `colIv`, null
  /// for a single column tile) over `state`.
  LogicalResult emitStripeLoops(OpBuilder &b, Location loc,
                                SmallVectorImpl<Value> &state);
  /// base + colIv * step of `at(c)` over the column class, c a column tile.
  OpFoldResult colOffset(OpBuilder &b, Location loc,
                         llvm::function_ref<int64_t(unsigned)> at) {
    int64_t base = at(colRun.first);
    if (!colIv)
      return b.getIndexAttr(base);
    int64_t step = colRun.count > 1 ? at(colRun.first + 1) - base : 0;
    AffineExpr d0 = b.getAffineDimExpr(0);
    return affine::AffineApplyOp::create(b, loc,
                                         AffineMap::get(1, 0, d0 * step + base),
                                         ValueRange{colIv})
        .getResult();
  }
  /// One stripe of class `run` at loop index `iv`; `state` is (acc,
  /// buffers...) in and out.
  LogicalResult emitStripe(OpBuilder &b, StripeRun run, Value iv,
                           SmallVectorImpl<Value> &state);
  /// The geometry a layer runs in: a step, or a piece of a chunked segment.
  using Pick = llvm::function_ref<const Stripe &(const Stripe &)>;
  /// Layer `l` in `pick` of the stripe class; `tiles` holds the fresh tiles.
  LogicalResult emitLayer(OpBuilder &b, StripeRun run, Value iv, unsigned l,
                          Pick pick, SmallVectorImpl<Value> &tiles,
                          SmallVectorImpl<Value> &state);
  /// One step of the group's global reduction `l`: its pooling op with a
  /// window of `rows` x the full width over the producer's fresh tile,
  /// accumulating into the output map state[0].
  LogicalResult emitReduction(OpBuilder &b, unsigned l, Interval rows,
                              ArrayRef<Value> tiles,
                              SmallVectorImpl<Value> &state);
  /// Where layer `l`'s rows of `pick` go, written in place: a slice of its
  /// rolling buffer or of the output map, or a fresh tile.
  Value ownDestination(OpBuilder &b, StripeRun run, Value iv, unsigned l,
                       Pick pick, SmallVectorImpl<Value> &state);
  /// The shift and the bottom padding of the rolling buffer `l` writes in
  /// `stripe`, if any.
  void makeRoom(OpBuilder &b, unsigned l, const Stripe &stripe,
                SmallVectorImpl<Value> &state);
  /// base + iv * step of `at(stripe)` over the run.
  Value offset(OpBuilder &b, Location loc, StripeRun run, Value iv,
               llvm::function_ref<int64_t(const Stripe &)> at) {
    int64_t base = at(stream.stripes()[run.first]);
    int64_t step =
        run.count > 1 ? at(stream.stripes()[run.first + 1]) - base : 0;
    AffineExpr d0 = b.getAffineDimExpr(0);
    return affine::AffineApplyOp::create(
        b, loc, AffineMap::get(1, 0, d0 * step + base), ValueRange{iv});
  }
  Value fullValue(unsigned node) {
    auto it = currentValue.find(node);
    return it != currentValue.end() ? it->second : ir.result(node);
  }
  InFlightDiagnostic error(Operation *op) {
    return op->emitError("mafat-fuse-tile: group '") << group.name() << "': ";
  }

  const LayerGraph &graph;
  const LayerIRMap &ir;
  const FusionGroup &group;
  const StreamGroup &stream;
  DenseMap<unsigned, Value> &currentValue;
  /// The column class being emitted and its induction variable (null when
  /// the group has one column tile): column tile colRun.first's geometry
  /// is the class's static shape.
  TileRun colRun{0, 1};
  Value colIv;
  /// Inserts the tiles of `buffer` still pending (in the order they were
  /// computed) into its state value.
  void flush(OpBuilder &b, int buffer, SmallVectorImpl<Value> &state);

  /// Per rolling buffer: the consumer's padding value and its type.
  SmallVector<Value> padValues;
  SmallVector<RankedTensorType> bufferTypes;
  /// Per rolling buffer: tiles written in place into a slice of it whose
  /// insert_slice is deferred (tile, buffer row, location). The insert is
  /// emitted just before the buffer is next read through a slice, or at
  /// the end of the stripe, so that every fresh-tile reader of the
  /// producer (a 1x1 conv in step with it) runs first: otherwise
  /// bufferization sees the buffer written while the tile, a view of it,
  /// is still to be read, and copies the tile (which the memory model does
  /// not count).
  SmallVector<SmallVector<std::tuple<Value, int64_t, Location>, 2>> pending;
  /// Per concat layer, in the stripe being emitted: its destination once
  /// the first layer writing into it directly has run
  /// (StreamGroup::directConcat), with their channels written.
  SmallVector<Value> concatDest;
};

void StreamRewriter::flush(OpBuilder &b, int buffer,
                           SmallVectorImpl<Value> &state) {
  for (auto [tile, row, loc] : pending[buffer])
    state[1 + buffer] = mafat::insertMapPiece(
        b, loc, tile, state[1 + buffer], b.getIndexAttr(row),
        b.getIndexAttr(stream.buffers()[buffer].columns[colRun.first].padLow));
  pending[buffer].clear();
}

LogicalResult StreamRewriter::emitStripe(OpBuilder &b, StripeRun run, Value iv,
                                         SmallVectorImpl<Value> &state) {
  const Stripe &stripe = stream.stripes()[run.first];
  unsigned last = group.layers().size() - 1;
  SmallVector<Value> tiles(group.layers().size());
  concatDest.assign(group.layers().size(), Value());
  auto whole = [](const Stripe &s) -> const Stripe & { return s; };
  unsigned l = 0;
  for (unsigned index = 0, e = stream.segments().size(); index < e; ++index) {
    const Segment &segment = stream.segments()[index];
    for (; l < segment.first; ++l)
      if (failed(emitLayer(b, run, iv, l, whole, tiles, state)))
        return failure();
    bool chunked = llvm::any_of(stripe.pieces, [&](const Stripe &piece) {
      return piece.segment == (int)index;
    });
    if (!chunked)
      continue;
    // A chunked segment: its buffer makes room once, then the pieces run
    // one after another, each writing its rows below the previous piece's.
    makeRoom(b, segment.last, stripe, state);
    for (unsigned k = 0; k < stripe.pieces.size(); ++k) {
      if (stripe.pieces[k].segment != (int)index)
        continue;
      auto piece = [k](const Stripe &s) -> const Stripe & {
        return s.pieces[k];
      };
      for (unsigned m = segment.first; m <= segment.last; ++m)
        if (failed(emitLayer(b, run, iv, m, piece, tiles, state)))
          return failure();
    }
    l = segment.last + 1;
  }
  for (; l <= last; ++l)
    if (failed(emitLayer(b, run, iv, l, whole, tiles, state)))
      return failure();
  for (unsigned buffer = 0, e = pending.size(); buffer < e; ++buffer)
    flush(b, buffer, state);
  return success();
}

void StreamRewriter::makeRoom(OpBuilder &b, unsigned l, const Stripe &stripe,
                              SmallVectorImpl<Value> &state) {
  int written = stream.bufferOf(l);
  if (written < 0)
    return;
  Location loc = ir.op(group.layers()[l].node)->getLoc();
  flush(b, written, state);
  const BufferStep &step = stripe.buffers[written];
  int64_t cols = stream.buffers()[written].columns[colRun.first].cols;
  Value &w = state[1 + written];
  if (step.moves()) {
    // Through a temporary, which one-shot bufferization would insert for an
    // insert_slice of a slice of the same tensor anyway (it cannot tell that
    // rows of one buffer do not overlap); written out, bufferization keeps
    // every buffer in place around it (left implicit, a hybrid residual
    // buffer was copied whole). mafat-lower-copies then moves the rows in
    // place and drops the temporary (foldCopyThroughTemporary).
    Value kept = mafat::sliceMapPiece(b, loc, w, b.getIndexAttr(step.keepFrom),
                                      b.getIndexAttr(0), step.keep, cols);
    auto keptType = cast<RankedTensorType>(kept.getType());
    Value tmp = tensor::EmptyOp::create(b, loc, keptType.getShape(),
                                        keptType.getElementType());
    auto copy = linalg::CopyOp::create(b, loc, kept, tmp);
    copy->setAttr(kCopyOnBuffersAttr, b.getUnitAttr());
    w = mafat::insertMapPiece(b, loc, copy.getResult(0), w, b.getIndexAttr(0),
                              b.getIndexAttr(0));
  }
  if (step.padRows > 0) {
    Value rows = mafat::sliceMapPiece(b, loc, w, b.getIndexAttr(step.padAt),
                                      b.getIndexAttr(0), step.padRows, cols);
    Value filled =
        linalg::FillOp::create(b, loc, padValues[written], rows).getResult(0);
    w = mafat::insertMapPiece(b, loc, filled, w, b.getIndexAttr(step.padAt),
                              b.getIndexAttr(0));
  }
}

LogicalResult StreamRewriter::emitLayer(OpBuilder &b, StripeRun run, Value iv,
                                        unsigned l, Pick pick,
                                        SmallVectorImpl<Value> &tiles,
                                        SmallVectorImpl<Value> &state) {
  const Stripe &stripe = pick(stream.stripes()[run.first]);
  const TileAxis &cols = group.cols();
  llvm::ArrayRef<FusedLayer> layers = group.layers();
  unsigned last = layers.size() - 1;
  const FusedLayer &layer = layers[l];
  const LayerNode &node = graph.node(layer.node);
  Operation *op = ir.op(layer.node);
  Location loc = op->getLoc();
  int written = stream.bufferOf(l);
  // The rolling buffer this layer writes: make room before it runs (for a
  // concat, before the first layer writing into it directly).
  bool roomMade = stream.firstDirectOperand(l) >= 0 && concatDest[l];
  if (!roomMade)
    makeRoom(b, l, stripe, state);
  Interval rows = stripe.rows[l];
  if (rows.isEmpty())
    return success();
  if ((int)l == stream.reduction())
    return emitReduction(b, l, rows, tiles, state);
  unsigned c = colRun.first;
  Interval spanC = cols.span[c][l];

  // Operand i: its window of the producer's rolling buffer (padded already;
  // a skip reader reads its real rows and columns in it), the producer's
  // fresh tile, or a slice of a map from outside the group.
  auto operandTile = [&](unsigned i) -> Value {
    int p = layer.operandLayer[i];
    if (p >= 0) {
      int read = stream.bufferReadBy(l, i);
      if (read < 0 || stream.readsFreshTile(stripe, l, i, c))
        return tiles[p];
      flush(b, read, state);
      unsigned k = stream.readerIndex(l, i);
      const BufferStep &step = stripe.buffers[read];
      Interval readC = stream.buffers()[read].columns[c].read[k];
      return mafat::sliceMapPiece(
          b, loc, state[1 + read], b.getIndexAttr(step.readAtOf(k)),
          b.getIndexAttr(readC.lo), step.windowOf(k).size(), readC.size());
    }
    Interval readR = stripe.externalRead[l][i];
    Interval readC = cols.read[c][l][i];
    Value rowOff = offset(b, loc, run, iv, [&](const Stripe &s) {
      return pick(s).externalRead[l][i].lo;
    });
    OpFoldResult colOff =
        colOffset(b, loc, [&](unsigned t) { return cols.read[t][l][i].lo; });
    return mafat::sliceOperandPiece(
        b, loc, fullValue(node.operands[i].producer), node.operands[i], rowOff,
        colOff, readR.size(), readC.size());
  };
  auto padTile = [&](unsigned i, Value tile, tensor::PadOp pad) -> Value {
    return mafat::padPiece(b, tile, pad, stripe.externalPadLow[l][i],
                           stripe.externalPadHigh[l][i], cols.padLow[c][l],
                           cols.padHigh[c][l]);
  };
  // Where the output goes: a slice of the rolling buffer or of the output
  // map, or a fresh tile; the layer writes it in place.
  SmallVector<int64_t> outShape = {1, rows.size(), spanC.size(),
                                   node.outputShape[3]};
  auto outputColOffset = [&]() {
    return colOffset(b, loc, [&](unsigned t) { return cols.span[t][l].lo; });
  };
  int into = stream.directConcat(l);
  auto destination = [&]() -> Value {
    if (into < 0)
      return ownDestination(b, run, iv, l, pick, state);
    // This layer's channels of the concat's destination.
    Value &dest = concatDest[into];
    if (!dest) {
      makeRoom(b, into, stripe, state);
      dest = ownDestination(b, run, iv, into, pick, state);
    }
    return sliceChannels(b, loc, dest, outShape, stream.directConcatChannel(l));
  };

  DenseMap<Value, unsigned> operandOf;
  for (auto [i, operand] : llvm::enumerate(node.operands))
    operandOf.try_emplace(fullValue(operand.producer), i);
  Value out;
  if (node.kind == mafat::LayerKind::Upsample) {
    Value input = operandTile(0);
    Value dest = destination();
    FailureOr<Value> piece = mafat::emitUpsamplePiece(
        b, op, node, input, dest, outShape, stripe.phase[l], cols.phase[c][l],
        [&] { return error(op); });
    if (failed(piece))
      return failure();
    out = *piece;
  } else if (auto concat = dyn_cast<tensor::ConcatOp>(op)) {
    // Each operand's rows go into their channels of the destination (a
    // fresh tile, the rolling buffer or the output map) in place;
    // tensor.concat would build its result in a buffer of its own first.
    out = concatDest[l] ? concatDest[l] : destination();
    int64_t channel = 0;
    for (Value v : concat.getInputs()) {
      auto it = operandOf.find(v);
      if (it == operandOf.end())
        return error(op) << "layer '" << node.name
                         << "' concatenates a value that is not a layer";
      if (stream.writesInPlace(l, it->second)) {
        // Written into its channels already.
        channel += cast<RankedTensorType>(v.getType()).getDimSize(3);
        continue;
      }
      Value tile = operandTile(it->second);
      out = insertChannels(b, loc, tile, out, channel);
      channel += cast<RankedTensorType>(tile.getType()).getDimSize(3);
    }
  } else {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp)
      return error(op) << "layer '" << node.name << "' (" << op->getName()
                       << ") cannot be streamed";
    // A rolling buffer holds the padded window already.
    auto padded = [&](unsigned i, Value tile, tensor::PadOp pad) {
      bool inBuffer = layer.operandLayer[i] >= 0 &&
                      stream.bufferReadBy(l, i) >= 0 &&
                      !stream.readsFreshTile(stripe, l, i, c);
      return inBuffer ? tile : padTile(i, tile, pad);
    };
    auto outputOffset = [&](unsigned dim) -> OpFoldResult {
      if (dim == 2)
        return outputColOffset();
      return offset(b, loc, run, iv,
                    [&](const Stripe &s) { return pick(s).rows[l].lo; });
    };
    mafat::LayerTileSources sources{operandTile,  padded,   destination,
                                    outputOffset, outShape, "stripe"};
    FailureOr<Value> piece = mafat::cloneLayerOnPiece(
        b, linalgOp, node, operandOf, sources, [&] { return error(op); });
    if (failed(piece))
      return failure();
    out = *piece;
  }
  auto outType = cast<RankedTensorType>(out.getType());
  if (outType.getShape() != ArrayRef<int64_t>(outShape))
    return error(op) << "layer '" << node.name << "' stripe has type "
                     << outType;
  tiles[l] = out;
  if (into >= 0)
    concatDest[into] = insertChannels(b, loc, out, concatDest[into],
                                      stream.directConcatChannel(l));
  if (written >= 0)
    pending[written].push_back({out, stripe.buffers[written].newAt, loc});
  if (l == last) {
    Value rowOff = offset(b, loc, run, iv,
                          [&](const Stripe &s) { return pick(s).rows[l].lo; });
    state[0] =
        mafat::insertMapPiece(b, loc, out, state[0], rowOff, outputColOffset());
  }
  return success();
}

Value StreamRewriter::ownDestination(OpBuilder &b, StripeRun run, Value iv,
                                     unsigned l, Pick pick,
                                     SmallVectorImpl<Value> &state) {
  const Stripe &stripe = pick(stream.stripes()[run.first]);
  const TileAxis &cols = group.cols();
  unsigned c = colRun.first;
  const LayerNode &node = graph.node(group.layers()[l].node);
  Operation *op = ir.op(node.id);
  Location loc = op->getLoc();
  Interval rows = stripe.rows[l];
  Interval spanC = cols.span[c][l];
  int written = stream.bufferOf(l);
  if (l + 1 == group.layers().size()) {
    Value rowOff = offset(b, loc, run, iv,
                          [&](const Stripe &s) { return pick(s).rows[l].lo; });
    OpFoldResult colOff =
        colOffset(b, loc, [&](unsigned t) { return cols.span[t][l].lo; });
    return mafat::sliceMapPiece(b, loc, state[0], rowOff, colOff, rows.size(),
                                spanC.size());
  }
  // A fresh tile: alloc_tensor, not tensor.empty, so that CSE cannot
  // merge the tiles (and then their fills) of two layers with the same
  // tile shape (a 1x1 expand conv and the depthwise conv after it): the
  // merged fill would stay where the first layer runs and keep the second
  // layer's tile live across the shift of the buffer between them.
  if (written < 0) {
    auto elemType =
        cast<RankedTensorType>(op->getResult(0).getType()).getElementType();
    SmallVector<int64_t> shape = {1, rows.size(), spanC.size(),
                                  node.outputShape[3]};
    return bufferization::AllocTensorOp::create(
        b, loc, RankedTensorType::get(shape, elemType), ValueRange{});
  }
  const BufferStep &step = stripe.buffers[written];
  return mafat::sliceMapPiece(
      b, loc, state[1 + written], b.getIndexAttr(step.newAt),
      b.getIndexAttr(stream.buffers()[written].columns[c].padLow), rows.size(),
      spanC.size());
}

LogicalResult StreamRewriter::emitReduction(OpBuilder &b, unsigned l,
                                            Interval rows,
                                            ArrayRef<Value> tiles,
                                            SmallVectorImpl<Value> &state) {
  const FusedLayer &layer = group.layers()[l];
  const LayerNode &node = graph.node(layer.node);
  Operation *op = ir.op(layer.node);
  auto pool = cast<linalg::LinalgOp>(op);
  // The pool reads its producer's map whole (no pad: the window covers it)
  // and a shape-only window tensor, which gets the step's rows.
  Value input = pool.getDpsInputOperand(0)->get();
  Value window = pool.getDpsInputOperand(1)->get();
  if (input != fullValue(node.operands[0].producer) ||
      !window.getDefiningOp<tensor::EmptyOp>())
    return error(op) << "layer '" << node.name
                     << "' is not a pool of its producer's map over a "
                        "tensor.empty window; it cannot be accumulated "
                        "stripe by stripe";
  auto windowType = cast<RankedTensorType>(window.getType());
  IRMapping map;
  map.map(input, tiles[layer.operandLayer[0]]);
  map.map(window, tensor::EmptyOp::create(
                      b, op->getLoc(), {rows.size(), windowType.getDimSize(1)},
                      windowType.getElementType()));
  // The accumulator: filled once before the stripe loops, carried across.
  map.map(pool.getDpsInitOperand(0)->get(), state[0]);
  state[0] = b.clone(*op, map)->getResult(0);
  return success();
}

LogicalResult StreamRewriter::emitStripeLoops(OpBuilder &b, Location loc,
                                              SmallVectorImpl<Value> &state) {
  // One region per stripe body, packed on its own by the memory planner,
  // kept when a one-stripe class's loop folds away.
  for (StripeRun run : stream.runs())
    if (failed(emitRegionLoop(b, loc, run.count, state,
                              [&](OpBuilder &bb, Location, Value iv,
                                  SmallVectorImpl<Value> &inner) {
                                return emitStripe(bb, run, iv, inner);
                              })))
      return failure();
  return success();
}

LogicalResult StreamRewriter::emitColumnLoops(OpBuilder &b, Location loc,
                                              Value slotIv,
                                              SmallVectorImpl<Value> &state) {
  // One region per column tile, so that the memory planner packs its
  // stripe bodies on their own whether or not a one-tile class's loop
  // folds away. In a slot, each class's loop runs the column tiles of the
  // slot's band (slotBandBounds), none outside it.
  const int64_t columns = group.cols().size();
  const int64_t slots = group.plan().slots;
  for (TileRun run : group.runs(group.cols())) {
    Value lower, upper;
    if (slotIv) {
      std::tie(lower, upper) = mafat::slotBandBounds(
          b, loc, ValueRange{slotIv},
          getAffineConstantExpr(run.first, b.getContext()), run.count, columns,
          slots);
    } else {
      lower = arith::ConstantIndexOp::create(b, loc, 0);
      upper = arith::ConstantIndexOp::create(b, loc, run.count);
    }
    if (failed(emitRegionLoop(b, loc, lower, upper, state,
                              [&](OpBuilder &bb, Location lloc, Value iv,
                                  SmallVectorImpl<Value> &inner) {
                                // Each column tile fills the padding again: it
                                // differs between tiles.
                                for (unsigned k = 0; k < padValues.size(); ++k)
                                  inner[1 + k] =
                                      linalg::FillOp::create(
                                          bb, lloc, padValues[k], inner[1 + k])
                                          .getResult(0);
                                colRun = run;
                                colIv = iv;
                                return emitStripeLoops(bb, lloc, inner);
                              })))
      return failure();
  }
  return success();
}

LogicalResult StreamRewriter::emitSlotLoop(
    OpBuilder &b, Location loc, SmallVectorImpl<Value> &state,
    function_ref<void(OpBuilder &, SmallVectorImpl<Value> &)> allocBuffers) {
  // Concurrent column tiles: each slot streams its band of column tiles
  // with rolling buffers of its own, allocated in the slot's body
  // (mafat-plan-memory gives every slot a copy). Only the output map is
  // carried, and the slots write disjoint columns of it.
  LogicalResult status = success();
  Value acc = mafat::emitSlotLoop(
      b, loc, group.plan().slots, state[0],
      [&](OpBuilder &sb, Location sloc, Value slotIv, Value map) {
        SmallVector<Value> inner{map};
        allocBuffers(sb, inner);
        if (failed(emitColumnLoops(sb, sloc, slotIv, inner)))
          status = failure();
        return inner[0];
      });
  if (failed(status))
    return failure();
  state.assign({acc});
  return success();
}

LogicalResult StreamRewriter::rewrite() {
  const LayerNode &outNode = graph.node(group.outputLayer().node);
  Value oldResult = ir.result(outNode.id);
  Operation *anchor = oldResult.getDefiningOp();
  Location loc = anchor->getLoc();
  OpBuilder b(anchor);
  auto type = cast<RankedTensorType>(oldResult.getType());
  bool hybrid = group.cols().size() > 1;
  // alloc_tensor, not tensor.empty: CSE must not merge the output map or a
  // rolling buffer with anything else.
  SmallVector<Value> state;
  state.push_back(
      bufferization::AllocTensorOp::create(b, loc, type, ValueRange{}));
  // A global reduction accumulates into the output map: it starts from the
  // pool's init value, once, before the stripes.
  if (int r = stream.reduction(); r >= 0) {
    Operation *pool = ir.op(group.layers()[r].node);
    auto fill = cast<linalg::LinalgOp>(pool)
                    .getDpsInitOperand(0)
                    ->get()
                    .getDefiningOp<linalg::FillOp>();
    if (!fill)
      return error(pool) << "the init of '"
                         << graph.node(group.layers()[r].node).name
                         << "' is not a linalg.fill; a streamed reduction "
                            "starts from its fill value";
    state[0] = linalg::FillOp::create(b, loc, fill.getDpsInputOperand(0)->get(),
                                      state[0])
                   .getResult(0);
  }
  for (const RollingBuffer &buffer : stream.buffers()) {
    Operation *reader = ir.op(group.layers()[buffer.consumer].node);
    Type elemType =
        cast<RankedTensorType>(
            ir.result(group.layers()[buffer.producer].node).getType())
            .getElementType();
    // A fresh constant at the anchor: the pad's own value may live in its
    // region. A buffer whose main reader is pointwise (an add, a concat)
    // has no padding.
    TypedAttr padAttr = b.getZeroAttr(elemType);
    bool windowed =
        readsThroughWindow(graph.node(group.layers()[buffer.consumer].node),
                           buffer.consumerOperand);
    auto linalgReader = dyn_cast<linalg::LinalgOp>(reader);
    if (auto pad = windowed && linalgReader
                       ? linalgReader.getDpsInputOperand(0)
                             ->get()
                             .getDefiningOp<tensor::PadOp>()
                       : tensor::PadOp()) {
      Value value = pad.getConstantPaddingValue();
      if (!value || !matchPattern(value, m_Constant(&padAttr)))
        return error(reader)
               << "the padding of '"
               << graph.node(group.layers()[buffer.consumer].node).name
               << "' is not a constant";
    }
    padValues.push_back(arith::ConstantOp::create(b, loc, padAttr));
    pending.emplace_back();
    bufferTypes.push_back(RankedTensorType::get(
        {1, buffer.rows, buffer.cols, buffer.channels}, elemType));
  }
  auto allocBuffers = [&](OpBuilder &ab, SmallVectorImpl<Value> &into) {
    for (RankedTensorType bufferType : bufferTypes)
      into.push_back(bufferization::AllocTensorOp::create(ab, loc, bufferType,
                                                          ValueRange{}));
  };
  if (!hybrid) {
    // Column padding and the first stripe's top padding stay in place for
    // good: shifts move whole rows, producers write inside the columns.
    for (auto [bufferType, padValue] : llvm::zip(bufferTypes, padValues))
      state.push_back(
          linalg::FillOp::create(b, loc, padValue,
                                 bufferization::AllocTensorOp::create(
                                     b, loc, bufferType, ValueRange{})
                                     .getResult())
              .getResult(0));
    if (failed(emitStripeLoops(b, loc, state)))
      return failure();
  } else if (group.plan().slots == 1) {
    allocBuffers(b, state);
    if (failed(emitColumnLoops(b, loc, Value(), state)))
      return failure();
  } else if (failed(emitSlotLoop(b, loc, state, allocBuffers))) {
    return failure();
  }
  oldResult.replaceAllUsesWith(state[0]);
  currentValue[group.outputLayer().node] = state[0];
  return success();
}

} // namespace

LogicalResult
mafat::rewriteStreamGroup(const LayerGraph &graph, const LayerIRMap &ir,
                          const FusionGroup &group,
                          DenseMap<unsigned, Value> &currentValue) {
  std::string message;
  std::optional<StreamGroup> stream = StreamGroup::build(graph, group, message);
  if (!stream)
    return ir.op(group.outputLayer().node)->emitError("mafat-fuse-tile: ")
           << message;
  StreamRewriter rewriter(graph, ir, group, *stream, currentValue);
  return rewriter.rewrite();
}
