//===- FuseTile.cpp - Plans become loops over fused output tiles ----------===//
//
// Rewrites every tiled group of the module's plan into loops over the
// group's output tiles, each tile computing every layer of the group on
// exactly the region its receptive field needs (FusionGroup's geometry).
//
// Why not scf::tileConsumerAndFuseProducersUsingSCF: upstream fusion gives
// border tiles dynamic shapes (clipped halos, tensor.pad with dynamic
// amounts under scf.if), which the register-blocked vectorizer cannot take,
// and it has no model for tensor.concat. Here the tiles are split into
// classes with identical shapes - consecutive grid rows (columns) whose every
// layer has the same extent and padding and whose offsets advance by a
// constant step - and each class becomes an scf.for nest whose body has
// static shapes throughout, with dynamic offsets only. Each layer op is
// cloned onto its tile operands (the ops' own semantics do the rest), so a
// tile computes every output element with exactly the operations, in the
// same order, as the unfused layer: fused and unfused builds agree bit for
// bit.
//
// Buffers a tile body creates, in order, per layer: the padded input tile
// (only where the tile touches the image border), then the layer's output
// tile (except for the last layer, which writes into the group's full output
// map through the loop's iter_args). MemoryModel.cpp predicts exactly this
// list; keep the two in step.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/CostModel/CodegenRules.h"
#include "mafat/CostModel/MemoryModel.h"
#include "mafat/Dialect/Mafat/AttrNames.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Transforms/LayerTile.h"
#include "mafat/Transforms/Parallel.h"
#include "mafat/Transforms/Passes.h"
#include "mafat/Transforms/PlannedModule.h"
#include "mafat/Transforms/StreamGroup.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATFUSETILE
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;
using mafat::FusionGroup;
using mafat::Interval;
using mafat::LayerGraph;
using mafat::LayerNode;
using mafat::TileAxis;

namespace {

class GroupRewriter {
public:
  GroupRewriter(const LayerGraph &graph, const mafat::LayerIRMap &ir,
                const FusionGroup &group,
                DenseMap<unsigned, Value> &currentValue)
      : graph(graph), ir(ir), group(group), currentValue(currentValue) {}

  LogicalResult rewrite();

private:
  /// A tile of the grid: its row and column (r, c), and the loop indices
  /// (rowIv, colIv) of its class, whose first tile is (rowFirst, colFirst).
  /// The geometry is the same for every tile of the class; only the
  /// offsets, computed from the indices, differ.
  struct TileAt {
    unsigned r, c;
    Value rowIv, colIv;
    unsigned rowFirst, colFirst;
  };

  /// Offset of layer l's span (or of its external operand i's read) for the
  /// tile at `iv` in a run starting at tile `first`.
  Value offset(OpBuilder &b, Location loc, const TileAxis &axis, unsigned first,
               Value iv, unsigned l, int operand);
  /// The same along the rows (`row`) or the columns of the tile `at`.
  Value offset(OpBuilder &b, Location loc, const TileAt &at, bool row,
               unsigned l, int operand);
  /// The tile of layer l's operand i: a static slice of the tile of the
  /// layer in this group that produces it (`tiles`, by layer), or a
  /// dynamic-offset slice of a full map.
  Value operandTile(OpBuilder &b, Location loc, const TileAt &at, unsigned l,
                    unsigned i, ArrayRef<Value> tiles);
  /// `tile` padded with `pad`'s value where layer l's tile sticks out of the
  /// image.
  Value padTile(OpBuilder &b, const TileAt &at, unsigned l, Value tile,
                tensor::PadOp pad);
  /// Layer l's op cloned onto its tile, reading the tiles of the layers
  /// before it; the last layer writes into a slice of the output map `acc`.
  FailureOr<Value> emitLayerTile(OpBuilder &b, const TileAt &at, unsigned l,
                                 ArrayRef<Value> tiles, Value acc);
  /// `acc` with the last layer's `tile` inserted at its place.
  Value insertOutputTile(OpBuilder &b, const TileAt &at, Value tile, Value acc);
  /// Every layer of the group on the tile `at`; returns the output map
  /// `acc` with the tile written.
  FailureOr<Value> emitTile(OpBuilder &b, const TileAt &at, Value acc);
  /// One tile of class (rr, cr) at class-local indices (rowIv, colIv) in its
  /// own no-inline region; returns the output map with the tile written.
  Value emitTileBody(OpBuilder &b, Location loc, const mafat::TileRun &rr,
                     const mafat::TileRun &cr, Value rowIv, Value colIv,
                     Value acc, LogicalResult &status);
  /// Every tile class as a rows x cols loop nest, one after another.
  Value emitSerialClasses(OpBuilder &b, Location loc, Value acc,
                          LogicalResult &status);
  /// The concurrent-tiles form: a loop over the plan's slots, each running
  /// its band of the grid (CodegenRules.h, slotBandBegin).
  Value emitSlotLoop(OpBuilder &b, Location loc, Value acc,
                     LogicalResult &status);
  /// The full value a node's consumers read now (a group's loop result once
  /// that group is rewritten).
  Value fullValue(unsigned node) {
    auto it = currentValue.find(node);
    return it != currentValue.end() ? it->second : ir.result(node);
  }
  InFlightDiagnostic error(Operation *op) {
    return op->emitError("mafat-fuse-tile: group '") << group.name() << "': ";
  }

  const LayerGraph &graph;
  const mafat::LayerIRMap &ir;
  const FusionGroup &group;
  DenseMap<unsigned, Value> &currentValue;
};

Value GroupRewriter::offset(OpBuilder &b, Location loc, const TileAxis &axis,
                            unsigned first, Value iv, unsigned l, int operand) {
  auto at = [&](unsigned t) {
    return operand < 0 ? axis.span[t][l].lo : axis.read[t][l][operand].lo;
  };
  int64_t base = at(first);
  int64_t step = first + 1 < axis.size() ? at(first + 1) - base : 0;
  AffineExpr d0 = b.getAffineDimExpr(0);
  return affine::AffineApplyOp::create(
      b, loc, AffineMap::get(1, 0, d0 * step + base), ValueRange{iv});
}

Value GroupRewriter::offset(OpBuilder &b, Location loc, const TileAt &at,
                            bool row, unsigned l, int operand) {
  return row ? offset(b, loc, group.rows(), at.rowFirst, at.rowIv, l, operand)
             : offset(b, loc, group.cols(), at.colFirst, at.colIv, l, operand);
}

Value GroupRewriter::operandTile(OpBuilder &b, Location loc, const TileAt &at,
                                 unsigned l, unsigned i,
                                 ArrayRef<Value> tiles) {
  const TileAxis &rows = group.rows();
  const TileAxis &cols = group.cols();
  Interval readR = rows.read[at.r][l][i], readC = cols.read[at.c][l][i];
  int p = group.layers()[l].operandLayer[i];
  if (p >= 0) {
    Value tile = tiles[p];
    Interval pr = rows.span[at.r][p], pc = cols.span[at.c][p];
    if (readR == pr && readC == pc)
      return tile;
    return mafat::sliceMapPiece(b, loc, tile, b.getIndexAttr(readR.lo - pr.lo),
                                b.getIndexAttr(readC.lo - pc.lo), readR.size(),
                                readC.size());
  }
  Value rowOff = offset(b, loc, at, /*row=*/true, l, i);
  Value colOff = offset(b, loc, at, /*row=*/false, l, i);
  const LayerNode &node = graph.node(group.layers()[l].node);
  return mafat::sliceOperandPiece(b, loc, fullValue(node.operands[i].producer),
                                  node.operands[i], rowOff, colOff,
                                  readR.size(), readC.size());
}

Value GroupRewriter::padTile(OpBuilder &b, const TileAt &at, unsigned l,
                             Value tile, tensor::PadOp pad) {
  const TileAxis &rows = group.rows();
  const TileAxis &cols = group.cols();
  return mafat::padPiece(b, tile, pad, rows.padLow[at.r][l],
                         rows.padHigh[at.r][l], cols.padLow[at.c][l],
                         cols.padHigh[at.c][l]);
}

FailureOr<Value> GroupRewriter::emitLayerTile(OpBuilder &b, const TileAt &at,
                                              unsigned l, ArrayRef<Value> tiles,
                                              Value acc) {
  const LayerNode &node = graph.node(group.layers()[l].node);
  Operation *op = ir.op(node.id);
  Location opLoc = op->getLoc();
  const bool last = l + 1 == group.layers().size();
  Interval spanR = group.rows().span[at.r][l];
  Interval spanC = group.cols().span[at.c][l];
  auto operandTileOf = [&](unsigned i) {
    return operandTile(b, opLoc, at, l, i, tiles);
  };

  SmallVector<int64_t> outShape = {1, spanR.size(), spanC.size(),
                                   node.outputShape[3]};
  // Where the layer's output tile goes: a fresh tile, or for the last layer
  // the group's output map, written in place.
  auto destination = [&]() -> Value {
    if (!last)
      return {};
    Value rowOff = offset(b, opLoc, at, /*row=*/true, l, -1);
    Value colOff = offset(b, opLoc, at, /*row=*/false, l, -1);
    return mafat::sliceMapPiece(b, opLoc, acc, rowOff, colOff, spanR.size(),
                                spanC.size());
  };

  // Operands by value: which operand of the op reads which activation.
  DenseMap<Value, unsigned> operandOf;
  for (auto [i, operand] : llvm::enumerate(node.operands))
    operandOf.try_emplace(fullValue(operand.producer), i);

  Value out;
  if (node.kind == mafat::LayerKind::Upsample) {
    Value input = operandTileOf(0);
    Value dest = destination();
    FailureOr<Value> piece = mafat::emitUpsamplePiece(
        b, op, node, input, dest, outShape, group.rows().phase[at.r][l],
        group.cols().phase[at.c][l], [&] { return error(op); });
    if (failed(piece))
      return failure();
    out = *piece;
  } else if (auto pad = dyn_cast<tensor::PadOp>(op)) {
    // A standalone pad: its tile is the padded operand tile.
    out = padTile(b, at, l, operandTileOf(0), pad);
  } else if (auto concat = dyn_cast<tensor::ConcatOp>(op)) {
    SmallVector<Value> inputs;
    for (Value v : concat.getInputs()) {
      auto it = operandOf.find(v);
      if (it == operandOf.end())
        return error(op) << "concat of a non-activation value";
      inputs.push_back(operandTileOf(it->second));
    }
    out = tensor::ConcatOp::create(b, opLoc, concat.getDim(), inputs);
  } else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    auto padded = [&](unsigned, Value tile, tensor::PadOp pad) {
      return padTile(b, at, l, tile, pad);
    };
    auto outputOffset = [&](unsigned dim) -> OpFoldResult {
      return offset(b, opLoc, at, /*row=*/dim == 1, l, -1);
    };
    mafat::LayerTileSources sources{operandTileOf, padded,   destination,
                                    outputOffset,  outShape, "tile"};
    FailureOr<Value> piece = mafat::cloneLayerOnPiece(
        b, linalgOp, node, operandOf, sources, [&] { return error(op); });
    if (failed(piece))
      return failure();
    out = *piece;
  } else {
    return error(op) << "layer '" << node.name << "' (" << op->getName()
                     << ") cannot be tiled";
  }
  auto outType = cast<RankedTensorType>(out.getType());
  if (outType.getShape() != ArrayRef<int64_t>(outShape))
    return error(op) << "layer '" << node.name << "' tile has type " << outType
                     << ", expected "
                     << RankedTensorType::get(outShape,
                                              outType.getElementType());
  return out;
}

Value GroupRewriter::insertOutputTile(OpBuilder &b, const TileAt &at,
                                      Value tile, Value acc) {
  unsigned last = group.layers().size() - 1;
  Location loc = ir.op(group.outputLayer().node)->getLoc();
  Value rowOff = offset(b, loc, at, /*row=*/true, last, -1);
  Value colOff = offset(b, loc, at, /*row=*/false, last, -1);
  return mafat::insertMapPiece(b, loc, tile, acc, rowOff, colOff);
}

FailureOr<Value> GroupRewriter::emitTile(OpBuilder &b, const TileAt &at,
                                         Value acc) {
  SmallVector<Value> tiles;
  for (unsigned l = 0, e = group.layers().size(); l < e; ++l) {
    FailureOr<Value> tile = emitLayerTile(b, at, l, tiles, acc);
    if (failed(tile))
      return failure();
    tiles.push_back(*tile);
  }
  // The last layer's tile into the group's output map.
  return insertOutputTile(b, at, tiles.back(), acc);
}

Value GroupRewriter::emitTileBody(OpBuilder &b, Location loc,
                                  const mafat::TileRun &rr,
                                  const mafat::TileRun &cr, Value rowIv,
                                  Value colIv, Value acc,
                                  LogicalResult &status) {
  // One region per tile body: the memory planner packs its buffers on
  // their own and the region stays even when a one-tile class's loops fold
  // away (no_inline), so the memory model sees the same structure for every
  // class.
  auto body = scf::ExecuteRegionOp::create(b, loc, TypeRange{acc.getType()});
  body.setNoInline(true);
  Block *block = &body.getRegion().emplaceBlock();
  OpBuilder bb = OpBuilder::atBlockBegin(block);
  TileAt at{rr.first, cr.first, rowIv, colIv, rr.first, cr.first};
  FailureOr<Value> next = emitTile(bb, at, acc);
  if (failed(next)) {
    status = failure();
    next = acc;
  }
  scf::YieldOp::create(bb, loc, *next);
  return body.getResult(0);
}

Value GroupRewriter::emitSerialClasses(OpBuilder &b, Location loc, Value acc,
                                       LogicalResult &status) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  for (const mafat::TileRun &rr : group.runs(group.rows())) {
    for (const mafat::TileRun &cr : group.runs(group.cols())) {
      Value rowCount = arith::ConstantIndexOp::create(b, loc, rr.count);
      Value colCount = arith::ConstantIndexOp::create(b, loc, cr.count);
      auto outer = scf::ForOp::create(
          b, loc, c0, rowCount, c1, ValueRange{acc},
          [&](OpBuilder &ob, Location oloc, Value rowIv, ValueRange oargs) {
            auto inner = scf::ForOp::create(
                ob, oloc, c0, colCount, c1, ValueRange{oargs[0]},
                [&](OpBuilder &ib, Location iloc, Value colIv,
                    ValueRange iargs) {
                  Value next = emitTileBody(ib, iloc, rr, cr, rowIv, colIv,
                                            iargs[0], status);
                  scf::YieldOp::create(ib, iloc, next);
                });
            scf::YieldOp::create(ob, oloc, inner.getResult(0));
          });
      acc = outer.getResult(0);
    }
  }
  return acc;
}

Value GroupRewriter::emitSlotLoop(OpBuilder &b, Location loc, Value acc,
                                  LogicalResult &status) {
  // Concurrent tiles: slot s runs the row-major band of tiles
  // [lo(s), lo(s + 1)) with lo(s) = s * N floordiv S (slotBandBounds). Each
  // class keeps its rows x cols nest; its column loop runs the part of each
  // grid row inside the slot's band (none outside it).
  int64_t slots = group.plan().slots;
  int64_t tiles = group.numTiles();
  int64_t gridCols = group.cols().size();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  MLIRContext *ctx = b.getContext();
  AffineExpr row = getAffineDimExpr(1, ctx);
  return mafat::emitSlotLoop(
      b, loc, slots, acc,
      [&](OpBuilder &sb, Location sloc, Value slotIv, Value cur) {
        for (const mafat::TileRun &rr : group.runs(group.rows())) {
          for (const mafat::TileRun &cr : group.runs(group.cols())) {
            Value rowCount = arith::ConstantIndexOp::create(sb, sloc, rr.count);
            auto outer = scf::ForOp::create(
                sb, sloc, c0, rowCount, c1, ValueRange{cur},
                [&](OpBuilder &ob, Location oloc, Value rowIv,
                    ValueRange oargs) {
                  // The first tile of class row `row` in row-major order.
                  auto [first, last] = mafat::slotBandBounds(
                      ob, oloc, ValueRange{slotIv, rowIv},
                      (row + rr.first) * gridCols + int64_t(cr.first), cr.count,
                      tiles, slots);
                  auto inner = scf::ForOp::create(
                      ob, oloc, first, last, c1, ValueRange{oargs[0]},
                      [&](OpBuilder &ib, Location iloc, Value colIv,
                          ValueRange iargs) {
                        Value next = emitTileBody(ib, iloc, rr, cr, rowIv,
                                                  colIv, iargs[0], status);
                        scf::YieldOp::create(ib, iloc, next);
                      });
                  scf::YieldOp::create(ob, oloc, inner.getResult(0));
                });
            cur = outer.getResult(0);
          }
        }
        return cur;
      });
}

LogicalResult GroupRewriter::rewrite() {
  const LayerNode &outNode = graph.node(group.outputLayer().node);
  Value oldResult = ir.result(outNode.id);
  Operation *anchor = oldResult.getDefiningOp();
  Location loc = anchor->getLoc();
  OpBuilder b(anchor);
  auto type = cast<RankedTensorType>(oldResult.getType());
  // The output map is written tile by tile through slices of this one
  // value; an alloc_tensor (unlike tensor.empty) is never merged by CSE with
  // a tile's init of the same type, which would make them share a buffer.
  Value acc = bufferization::AllocTensorOp::create(b, loc, type, ValueRange{});
  LogicalResult status = success();
  acc = group.plan().slots > 1 ? emitSlotLoop(b, loc, acc, status)
                               : emitSerialClasses(b, loc, acc, status);
  if (failed(status))
    return failure();
  oldResult.replaceAllUsesWith(acc);
  currentValue[group.outputLayer().node] = acc;
  return success();
}

struct MafatFuseTilePass
    : public mafat::impl::MafatFuseTileBase<MafatFuseTilePass> {
  using Base::Base;

  void runOnOperation() override {
    // Without a plan the model runs layer by layer; the prediction is still
    // recorded (below) when there is one model function and its graph can
    // be recognised, so that mafat-plan-memory checks the memory model on
    // every model.
    std::optional<mafat::PlannedModule> planned;
    if (failed(mafat::readPlannedModule(getOperation(), entry,
                                        "mafat-fuse-tile: ", planned)))
      return signalPassFailure();
    if (!planned)
      return;
    func::FuncOp func = planned->entry;
    const LayerGraph &graph = planned->graph;
    std::string error;
    // The workspace this plan will take, for mafat-plan-memory to check
    // against what it really packs.
    mafat::MemoryModelOptions memoryOptions;
    memoryOptions.alignment = alignment;
    if (std::optional<mafat::MemoryPrediction> prediction =
            mafat::predictMemory(graph, planned->plan, memoryOptions, error)) {
      auto i64 = IntegerType::get(&getContext(), 64);
      func->setAttr(mafat::kPredictedWorkspaceBytesAttr,
                    IntegerAttr::get(i64, prediction->workspaceBytes));
    }
    DenseMap<unsigned, Value> currentValue;
    for (const FusionGroup &group : planned->groups) {
      if (!group.isTiled())
        continue;
      if (group.plan().isStream()) {
        if (failed(mafat::rewriteStreamGroup(graph, planned->ir, group,
                                             currentValue)))
          return signalPassFailure();
        continue;
      }
      GroupRewriter rewriter(graph, planned->ir, group, currentValue);
      if (failed(rewriter.rewrite()))
        return signalPassFailure();
    }
    // The group's original ops (and the inits and pads only they used) are
    // dead now.
    // Only the entry block's own ops: erasing one erases what it holds.
    IRRewriter rewriter(&getContext());
    bool changed = true;
    while (changed) {
      changed = false;
      Block &body = func.getBody().front();
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body))) {
        if (!isOpTriviallyDead(&op))
          continue;
        rewriter.eraseOp(&op);
        changed = true;
      }
    }
  }
};

} // namespace
