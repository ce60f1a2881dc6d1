//===- TileAndVectorize.cpp - Register-block and vectorize every layer ----===//
//
// Upstream machinery does the work (TilingInterface tiling with producer
// fusion, the 2-D -> 1-D window decomposition, the linalg vectorizer and
// loop-invariant subset hoisting); this pass only decides, per op and per
// target, the register block (RegisterBlock.cpp) and strings the steps
// together in the order measured to reach FMA peak: a transform-dialect
// script cannot take per-op tile sizes computed from shapes.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Dialect/Mafat/AttrNames.h"
#include "mafat/Transforms/FilterPacking.h"
#include "mafat/Transforms/Parallel.h"
#include "mafat/Transforms/Passes.h"
#include "mafat/Transforms/RegisterBlock.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATTILEANDVECTORIZE
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

/// Largest iteration space vectorized as one op: a register block (inside
/// the tile loops; a 1x1 conv block is 4 x 64 x 16 = 4096), or a small
/// untiled op. Untiled transposes of a few thousand elements became vectors
/// whose lowering took LLVM minutes (48x48x3: 55 s); they go to loops.
constexpr int64_t kMaxVectorizedIterations = 8192;
constexpr int64_t kMaxUntiledVectorizedIterations = 256;

SmallVector<OpFoldResult> asIndexAttrs(MLIRContext *ctx,
                                       ArrayRef<int64_t> sizes) {
  return llvm::map_to_vector(sizes, [&](int64_t s) -> OpFoldResult {
    return IntegerAttr::get(IndexType::get(ctx), s);
  });
}

bool isTilingNoop(linalg::LinalgOp op, ArrayRef<int64_t> sizes) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (auto [size, range] : llvm::zip(sizes, ranges))
    if (size != 0 && size != range)
      return false;
  return true;
}

/// Tiles `op` (no fusion) and replaces it; returns the tiled op, or `op`
/// itself when the sizes leave nothing to tile.
FailureOr<Operation *> tileLoops(RewriterBase &rewriter, Operation *op,
                                 ArrayRef<int64_t> sizes,
                                 ArrayRef<int64_t> interchange = {}) {
  auto linalgOp = cast<linalg::LinalgOp>(op);
  if (llvm::all_of(sizes, [](int64_t s) { return s == 0; }) ||
      isTilingNoop(linalgOp, sizes))
    return op;
  scf::SCFTilingOptions options;
  options.setTileSizes(asIndexAttrs(op->getContext(), sizes));
  if (!interchange.empty())
    options.setInterchange(interchange);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> result =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(op), options);
  if (failed(result))
    return op->emitError("mafat: failed to tile to the register block");
  rewriter.replaceOp(op, result->replacements);
  return result->tiledOps.back();
}

// Defined below, next to their other users.
bool isBlockedProducer(Operation *op);
FailureOr<scf::SCFTileAndFuseResult>
tileAndFuse(RewriterBase &rewriter, Operation *consumer,
            ArrayRef<int64_t> sizes, ArrayRef<int64_t> interchange,
            llvm::function_ref<bool(Operation *)> fuse);

/// The fills among the ops a tile-and-fuse produced, taken before tiling
/// further erases some of the others.
SmallVector<linalg::FillOp> fusedFills(ArrayRef<Operation *> ops) {
  SmallVector<linalg::FillOp> fills;
  for (Operation *fused : ops)
    if (auto fill = dyn_cast<linalg::FillOp>(fused))
      fills.push_back(fill);
  return fills;
}

/// Tiling a reduction dim alone slices the accumulator whole: an extract
/// and an insert of the full tensor. Folds both around `op`, so the tiling
/// that follows sees the fill that produces the accumulator and fuses it.
void foldIdentitySlices(RewriterBase &rewriter, linalg::LinalgOp op) {
  auto isIdentity = [](OffsetSizeAndStrideOpInterface slice,
                       RankedTensorType source, RankedTensorType result) {
    return source == result && source.hasStaticShape() &&
           areAllConstantIntValue(slice.getMixedOffsets(), 0) &&
           areAllConstantIntValue(slice.getMixedStrides(), 1);
  };
  for (OpOperand &init : op.getDpsInitsMutable())
    if (auto slice = init.get().getDefiningOp<tensor::ExtractSliceOp>())
      if (isIdentity(slice, slice.getSourceType(), slice.getType())) {
        rewriter.modifyOpInPlace(op, [&] { init.set(slice.getSource()); });
        if (slice->use_empty())
          rewriter.eraseOp(slice);
      }
  for (OpResult result : op->getResults())
    for (Operation *user : llvm::make_early_inc_range(result.getUsers()))
      if (auto insert = dyn_cast<tensor::InsertSliceOp>(user))
        if (insert.getSource() == result &&
            isIdentity(insert, insert.getSourceType(), insert.getType()))
          rewriter.replaceOp(insert, result);
}

/// Tiles an op whose outermost (cache or register) parallel tiling is done:
/// the cache-level channel blocks if any, then the register block, then the
/// window and channel reductions.
///
/// When the accumulator starts from a fill (the filter-level tile of a
/// cache-blocked conv), the first channel block is peeled and the fill fused
/// into its register blocks: they start from zero in registers instead of
/// zeroing the whole filter block in memory and reading it back. Each output
/// element still sums the channel blocks in the same order, from the same
/// zero.
LogicalResult tileInside(RewriterBase &rewriter, Operation *op,
                         const mafat::RegisterBlock &block) {
  FailureOr<Operation *> tiled = op;
  if (!block.cacheReduction.empty()) {
    auto linalgOp = cast<linalg::LinalgOp>(op);
    bool fromFill =
        linalgOp.getNumDpsInits() == 1 &&
        linalgOp.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
    tiled = tileLoops(rewriter, op, block.cacheReduction);
    if (failed(tiled))
      return failure();
    // `op` is erased when it was tiled: compare pointers only.
    auto loop = dyn_cast<scf::ForOp>((*tiled)->getParentOp());
    scf::ForOp first;
    if (fromFill && *tiled != op && loop &&
        succeeded(scf::peelForLoopFirstIteration(rewriter, loop, first)) &&
        first != loop) {
      linalg::LinalgOp firstOp;
      for (Operation &nested : first.getBody()->getOperations())
        if (isBlockedProducer(&nested))
          firstOp = cast<linalg::LinalgOp>(&nested);
      if (firstOp && succeeded(first.promoteIfSingleIteration(rewriter))) {
        foldIdentitySlices(rewriter, firstOp);
        FailureOr<scf::SCFTileAndFuseResult> fused = tileAndFuse(
            rewriter, firstOp, block.parallel, block.interchange,
            [](Operation *producer) { return isa<linalg::FillOp>(producer); });
        if (failed(fused))
          return failure();
        // The untiled first block is dead now: erase it, so that the
        // cache-level fill is too (blockCacheLevelFills).
        rewriter.eraseOp(firstOp);
        if (failed(tileLoops(rewriter, fused->tiledAndFusedOps.front(),
                             block.reduction)))
          return failure();
      }
    }
    tiled = tileLoops(rewriter, *tiled, block.parallel, block.interchange);
  }
  if (succeeded(tiled))
    tiled = tileLoops(rewriter, *tiled, block.reduction);
  return failure(failed(tiled));
}

/// Tiles `consumer` with `sizes` (loop order `interchange`), fusing the
/// producers `fuse` accepts into the tile loop, and replaces its uses.
FailureOr<scf::SCFTileAndFuseResult>
tileAndFuse(RewriterBase &rewriter, Operation *consumer,
            ArrayRef<int64_t> sizes, ArrayRef<int64_t> interchange,
            llvm::function_ref<bool(Operation *)> fuse) {
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(asIndexAttrs(consumer->getContext(), sizes));
  if (!interchange.empty())
    tiling.setInterchange(interchange);
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling);
  options.setFusionControlFn(
      [fuse](tensor::ExtractSliceOp, OpResult producer, bool)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (fuse(producer.getOwner()))
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        return std::nullopt;
      });
  rewriter.setInsertionPoint(consumer);
  FailureOr<scf::SCFTileAndFuseResult> result =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(consumer), options);
  if (failed(result))
    return consumer->emitError("mafat: failed to tile to the register block");
  for (OpResult res : consumer->getResults())
    if (Value repl = result->replacements.lookup(res))
      rewriter.replaceAllUsesWith(res, repl);
  return result;
}

LogicalResult blockCacheLevelFills(RewriterBase &rewriter,
                                   ArrayRef<linalg::FillOp> fills,
                                   const mafat::VectorTarget &target);

/// Tiles `op` to its register block: parallel dims first, fusing the fill
/// that initialises its accumulator, then the reduction dims of the tiled op.
LogicalResult tileToRegisterBlock(RewriterBase &rewriter, linalg::LinalgOp op,
                                  const mafat::RegisterBlock &block,
                                  const mafat::VectorTarget &target) {
  MLIRContext *ctx = op->getContext();
  Operation *tiled = op;
  if (op.hasPureBufferSemantics()) {
    // Copies and fills left by bufferization (tensor.pad): no producer to
    // fuse on buffers, the tiles write through subviews in place.
    if (isTilingNoop(op, block.parallel))
      return success();
    scf::SCFTilingOptions tiling;
    tiling.setTileSizes(asIndexAttrs(ctx, block.parallel));
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> result =
        scf::tileUsingSCF(rewriter, cast<TilingInterface>(*op), tiling);
    if (failed(result))
      return op->emitError("mafat: failed to tile to the register block");
    mafat::markParallelLoop(result->loops, mafat::parallelMarkOf(op));
    rewriter.eraseOp(op);
    return success();
  }
  // With cache blocking, the fill is fused at the outer (filter) level.
  ArrayRef<int64_t> outer =
      block.cacheParallel.empty() ? block.parallel : block.cacheParallel;
  if (!isTilingNoop(op, outer)) {
    mafat::ParallelMark work = mafat::parallelMarkOf(op);
    // Fuse only the accumulator's fill: fusing pads or earlier layers here
    // would recompute them per register block (that is fuse-tile's job, at
    // cache-sized tiles).
    FailureOr<scf::SCFTileAndFuseResult> result = tileAndFuse(
        rewriter, op, outer, block.interchange,
        [](Operation *producer) { return isa<linalg::FillOp>(producer); });
    if (failed(result))
      return failure();
    mafat::markParallelLoop(result->loops, work);
    tiled = result->tiledAndFusedOps.front();
    if (block.cacheParallel.empty())
      return tileInside(rewriter, tiled, block);
    SmallVector<linalg::FillOp> fills =
        fusedFills(result->tiledAndFusedOps.getArrayRef());
    if (failed(tileInside(rewriter, tiled, block)))
      return failure();
    return blockCacheLevelFills(rewriter, fills, target);
  }
  return tileInside(rewriter, tiled, block);
}

/// Ops whose register block is a tile of an NHWC (or MxN) output: the
/// blocked kinds of CodegenRules.h.
bool isBlockedProducer(Operation *op) {
  std::optional<mafat::LayerKind> kind = mafat::namedLayerKind(op);
  return kind && mafat::isBlockedKind(*kind);
}

/// The blocked op an elementwise epilogue (bias, activation, batch-norm)
/// is fused with: the first input the generic reads through the identity
/// map whose producer is blocked and has no other use. Null otherwise.
///
/// This is mafat::epilogueProducer (CodegenRules.h), which the cost models
/// and profiling ask, on IR: the graph rule's "no other reader (layer,
/// second operand, model output)" is the one use here, and its scope (both
/// untiled, or both in one tile body) is what fuse-tile leaves: a layer read
/// across a tiled group's boundary is a slice of a map, not a LinalgOp. The
/// IR is no longer a canonical function here, so there is no graph to ask;
/// unittests/Transforms/TileAndVectorizeTest.cpp checks that both agree.
linalg::LinalgOp epilogueProducer(linalg::GenericOp generic) {
  if (!generic.hasPureTensorSemantics() ||
      generic.getNumLoops() != generic.getNumParallelLoops() ||
      generic.getNumDpsInits() != 1 ||
      !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
           .isIdentity())
    return nullptr;
  for (OpOperand *input : generic.getDpsInputOperands()) {
    auto producer = input->get().getDefiningOp<linalg::LinalgOp>();
    if (!producer || !isBlockedProducer(producer) ||
        !producer->getResult(0).hasOneUse() ||
        !generic.getMatchingIndexingMap(input).isIdentity())
      continue;
    return producer;
  }
  return nullptr;
}

/// Moves the ops of `point`'s block that compute `value` and come after
/// `point` to just before it (pure index arithmetic and slices here).
void hoistDefinitionBefore(RewriterBase &rewriter, Value value,
                           Operation *point) {
  Operation *def = value.getDefiningOp();
  if (!def || def->getBlock() != point->getBlock() ||
      def->isBeforeInBlock(point))
    return;
  for (Value operand : def->getOperands())
    hoistDefinitionBefore(rewriter, operand, point);
  rewriter.moveOpBefore(def, point);
}

/// In a fused epilogue tile (`ops` = tiled epilogue first, then the fused
/// producer and fill), makes the fill write the epilogue's destination slice
/// and the epilogue write its producer's result in place.
void accumulateInDestination(RewriterBase &rewriter,
                             llvm::ArrayRef<Operation *> ops) {
  if (ops.empty())
    return;
  auto epilogue = dyn_cast<linalg::GenericOp>(ops.front());
  if (!epilogue || epilogue.getNumDpsInits() != 1)
    return;
  OpOperand *init = epilogue.getDpsInitOperand(0);
  if (epilogue.payloadUsesValueFromOperand(init))
    return;
  for (OpOperand *input : epilogue.getDpsInputOperands()) {
    auto producer = input->get().getDefiningOp<linalg::LinalgOp>();
    if (!producer || !isBlockedProducer(producer) ||
        producer->getNumResults() != 1 ||
        !llvm::is_contained(ops, producer.getOperation()))
      continue;
    auto fill =
        producer.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
    if (!fill || !fill->hasOneUse() ||
        fill.getDpsInitOperand(0)->get().getType() != init->get().getType())
      return;
    Operation *slice = init->get().getDefiningOp();
    if (slice && !isPure(slice))
      return;
    hoistDefinitionBefore(rewriter, init->get(), fill);
    rewriter.modifyOpInPlace(
        fill, [&] { fill.getDpsInitOperand(0)->set(init->get()); });
    rewriter.modifyOpInPlace(epilogue,
                             [&] { init->set(producer->getResult(0)); });
    return;
  }
}

/// Register-blocks the accumulator fills fused at the cache level that the
/// first channel block did not absorb (tileInside): there a fill covers a
/// whole filter block (rows x columns x 64 filters, strided
/// by the layer's filter count), which nothing else tiles, and LLVM lowered
/// it to 8-wide scatters across the columns (5% of a 3x3 128->256 conv at
/// 52x52 with a bias and leaky ReLU).
LogicalResult blockCacheLevelFills(RewriterBase &rewriter,
                                   ArrayRef<linalg::FillOp> fills,
                                   const mafat::VectorTarget &target) {
  for (linalg::FillOp fill : fills) {
    // Fused into the register blocks of the first channel block.
    if (fill->use_empty()) {
      rewriter.eraseOp(fill);
      continue;
    }
    std::optional<mafat::RegisterBlock> own =
        mafat::chooseRegisterBlock(fill, target);
    if (own && failed(tileToRegisterBlock(rewriter, fill, *own, target)))
      return failure();
  }
  return success();
}

/// Tiles an elementwise epilogue with its producer's register block and
/// fuses the producer (and the fill of its accumulator) into the tile loop,
/// so the bias and activation are applied while the block is hot. Each
/// output element still sees the same operations in the same order.
LogicalResult fuseEpilogue(RewriterBase &rewriter, linalg::GenericOp generic,
                           linalg::LinalgOp producer,
                           const mafat::RegisterBlock &block,
                           const mafat::VectorTarget &target) {
  // The producer's parallel loops are its output dims, in order, and the
  // epilogue's loops are the same dims (identity maps).
  unsigned rank = generic.getNumLoops();
  ArrayRef<int64_t> outer =
      block.cacheParallel.empty() ? block.parallel : block.cacheParallel;
  SmallVector<int64_t> sizes(outer.begin(), outer.begin() + rank);
  SmallVector<int64_t> order;
  if (!block.interchange.empty())
    order.assign(block.interchange.begin(), block.interchange.begin() + rank);
  // The producer's accumulator fill comes along through the producer's
  // init slice.
  Operation *producerOp = producer;
  mafat::ParallelMark work = mafat::parallelMarkOf(producer);
  FailureOr<scf::SCFTileAndFuseResult> result =
      tileAndFuse(rewriter, generic, sizes, order, [producerOp](Operation *op) {
        return op == producerOp || isa<linalg::FillOp>(op);
      });
  if (failed(result))
    return failure();
  mafat::markParallelLoop(result->loops, work);
  // The fused fill would initialise a fresh tile-sized tensor: a scratch
  // buffer per block in the workspace, written and read back. Accumulate in
  // the epilogue's destination tile instead and apply the epilogue in place
  // (its payload does not read its init), so the only buffers a layer needs
  // are its operands and its output - what the memory model predicts.
  accumulateInDestination(rewriter, result->tiledAndFusedOps.getArrayRef());
  // tileInside erases the producer tile it tiles: take what is needed after
  // it first.
  auto tiledEpilogue = cast<linalg::LinalgOp>(result->tiledAndFusedOps.front());
  SmallVector<linalg::FillOp> fills =
      fusedFills(result->tiledAndFusedOps.getArrayRef());
  SmallVector<Operation *> producers = llvm::to_vector(
      llvm::make_filter_range(result->tiledAndFusedOps, isBlockedProducer));
  // Now the fused producer tile: tile what is left inside.
  for (Operation *producerTile : producers)
    if (failed(tileInside(rewriter, producerTile, block)))
      return failure();
  // At the cache level the epilogue tile is a whole filter block: give it
  // its own register block, and the fill as well unless the first channel
  // block took it.
  if (!block.cacheParallel.empty()) {
    if (failed(blockCacheLevelFills(rewriter, fills, target)))
      return failure();
    if (std::optional<mafat::RegisterBlock> own =
            mafat::chooseRegisterBlock(tiledEpilogue, target))
      return tileToRegisterBlock(rewriter, tiledEpilogue, *own, target);
  }
  return success();
}

/// The clean-up patterns upstream's vectorize_children_and_apply_patterns
/// runs after vectorizing: fold slices into transfers and canonicalise them
/// so that accumulators become loop-invariant subsets.
void populateVectorCleanupPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
  vector::populateVectorReductionToContractPatterns(patterns);
  vector::populateSinkVectorOpsPatterns(patterns);
  vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
  vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
  vector::populateVectorStepLoweringPatterns(patterns);
  tensor::ExtractSliceOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::InsertSliceOp::getCanonicalizationPatterns(patterns, ctx);
  scf::ForOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::EmptyOp::getCanonicalizationPatterns(patterns, ctx);
  // Peeling leaves static -> dynamic -> static cast pairs on the values a
  // reduction loop yields (a fused epilogue's accumulator); they hide the
  // matching transfer_read/transfer_write pair from the hoisting of step 6,
  // which then left the accumulators in memory (a 3x3 conv with a bias +
  // activation epilogue ran 1.45x slower than without).
  tensor::CastOp::getCanonicalizationPatterns(patterns, ctx);
}

/// The value a loop-carried tensor started from: through the init args of
/// the scf.for nest it is an iteration argument of.
Value loopCarriedRoot(Value value) {
  while (auto arg = dyn_cast<BlockArgument>(value)) {
    auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp());
    if (!loop || arg.getArgNumber() == 0)
      break;
    value = loop.getInitArgs()[arg.getArgNumber() - 1];
  }
  return value;
}

/// An elementwise tile that reads slice S of value B and writes the same
/// slice of the loop-carried copy of B (an epilogue updating its producer's
/// result in place, tiled a second time at register level) reads the
/// carried slice instead. Each tile reads the elements it then overwrites and
/// no other tile touches them, so the values are the same; but reading the
/// outer B after the loop started writing its buffer would make
/// bufferization copy the whole block.
void readUpdatedSlicesInPlace(func::FuncOp func, RewriterBase &rewriter) {
  func.walk([&](linalg::GenericOp generic) {
    if (!generic.hasPureTensorSemantics() || generic.getNumDpsInits() != 1 ||
        generic.getNumLoops() != generic.getNumParallelLoops())
      return;
    OpOperand *init = generic.getDpsInitOperand(0);
    auto out = init->get().getDefiningOp<tensor::ExtractSliceOp>();
    if (!out || !generic.getMatchingIndexingMap(init).isIdentity())
      return;
    Value root = loopCarriedRoot(out.getSource());
    if (root == out.getSource())
      return;
    for (OpOperand *input : generic.getDpsInputOperands()) {
      auto in = input->get().getDefiningOp<tensor::ExtractSliceOp>();
      if (!in || in.getSource() != root ||
          !generic.getMatchingIndexingMap(input).isIdentity() ||
          !in.isSameAs(out,
                       [](OpFoldResult a, OpFoldResult b) { return a == b; }))
        continue;
      rewriter.modifyOpInPlace(generic, [&] { input->set(out.getResult()); });
    }
  });
}

/// Marks every arith.maximumf / minimumf `nsz`: max(-0, +0) may be either
/// zero. IEEE's -0 < +0 order costs a sign test and two blends per vector
/// on x86 (llvm.maximum without nsz); a 3x3 max pool over 112x112x64 ran
/// 20% faster without it. NaNs still propagate (no `nnan`): a NaN from a
/// bad read still reaches the output (test/tools/valgrind_models.py relies
/// on it). Every build marks the same ops; only the sign of a zero result
/// may differ between code paths.
void relaxSignedZeros(func::FuncOp func) {
  func.walk([](Operation *op) {
    if (!isa<arith::MaximumFOp, arith::MinimumFOp>(op))
      return;
    auto fastMath = cast<arith::ArithFastMathInterface>(op);
    arith::FastMathFlags flags = arith::FastMathFlags::none;
    if (arith::FastMathFlagsAttr attr = fastMath.getFastMathFlagsAttr())
      flags = attr.getValue();
    op->setAttr(fastMath.getFastMathAttrName(),
                arith::FastMathFlagsAttr::get(
                    op->getContext(), flags | arith::FastMathFlags::nsz));
  });
}

struct MafatTileAndVectorizePass
    : public mafat::impl::MafatTileAndVectorizeBase<MafatTileAndVectorizePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    if (vectorBits < 32 || vectorBits % 32) {
      func.emitError("mafat-tile-and-vectorize: vector-bits must be a "
                     "positive multiple of 32, got ")
          << vectorBits.getValue();
      return signalPassFailure();
    }
    mafat::VectorTarget target{vectorBits / 32, numVectorRegisters};

    // 1. Register-block every layer op. Collect first: tiling rewrites IR.
    SmallVector<linalg::LinalgOp> ops;
    // On tensors every layer op; on buffers (a second run after
    // bufferization) the elementwise copies and fills tensor.pad leaves.
    auto isElementwise = [](linalg::LinalgOp op) {
      return op.getNumLoops() == op.getNumParallelLoops();
    };
    // A copy marked for the buffer level is folded there first
    // (mafat-lower-copies), then blocked as a buffer copy.
    auto isCandidate = [&](linalg::LinalgOp op) {
      return (op.hasPureTensorSemantics() &&
              !op->hasAttr(mafat::kCopyOnBuffersAttr)) ||
             (op.hasPureBufferSemantics() && isElementwise(op));
    };
    func.walk([&](linalg::LinalgOp op) {
      if (!isCandidate(op))
        return;
      // Fills feeding a blocked op are fused into its tile loop instead.
      if (isa<linalg::FillOp>(op) &&
          llvm::all_of(op->getUsers(), isBlockedProducer))
        return;
      ops.push_back(op);
    });
    IRRewriter rewriter(ctx);
    // Epilogues first: their producer is tiled as part of the fusion.
    llvm::SmallPtrSet<Operation *, 16> fused;
    for (linalg::LinalgOp op : ops) {
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      linalg::LinalgOp producer =
          generic ? epilogueProducer(generic) : linalg::LinalgOp();
      if (!producer)
        continue;
      std::optional<mafat::RegisterBlock> block =
          mafat::chooseRegisterBlock(producer, target);
      if (!block)
        continue;
      if (failed(fuseEpilogue(rewriter, generic, producer, *block, target)))
        return signalPassFailure();
      fused.insert(generic);
      fused.insert(producer);
    }
    for (linalg::LinalgOp op : ops) {
      if (fused.contains(op))
        continue;
      std::optional<mafat::RegisterBlock> block =
          mafat::chooseRegisterBlock(op, target);
      if (!block)
        continue;
      if (failed(tileToRegisterBlock(rewriter, op, *block, target)))
        return signalPassFailure();
    }

    // Filter blocks of wide convs become contiguous (FilterPacking.h).
    mafat::packConvFilterSlices(func, rewriter);

    readUpdatedSlicesInPlace(func, rewriter);

    // 2. Blocks that do not divide their loop leave one partial tile: peel
    // it into its own loop so that both bodies have static shapes and
    // vectorize (the same operations per element, so results do not change).
    SmallVector<scf::ForOp> uneven;
    func.walk([&](scf::ForOp loop) {
      std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
      std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound());
      std::optional<int64_t> step = getConstantIntValue(loop.getStep());
      if (lb && ub && step && *step > 0 && (*ub - *lb) % *step != 0)
        uneven.push_back(loop);
    });
    for (scf::ForOp loop : uneven) {
      scf::ForOp partial;
      rewriter.setInsertionPoint(loop);
      (void)scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial);
    }

    // 3. Every canonicalization, so that the constant sizes peeling leaves
    // fold into static slice and op shapes (through tensor.cast). The
    // filter loops peeled (1000 filters = 31 x 32 + 8) now have static
    // blocks too: pack them as well.
    auto canonicalize = [&](bool decomposeConvs) {
      RewritePatternSet patterns(ctx);
      for (Dialect *dialect : ctx->getLoadedDialects())
        dialect->getCanonicalizationPatterns(patterns);
      for (RegisteredOperationName op : ctx->getRegisteredOperations())
        op.getCanonicalizationPatterns(patterns, ctx);
      if (decomposeConvs)
        linalg::populateDecomposeConvolutionPatterns(patterns);
      return applyPatternsGreedily(func, std::move(patterns));
    };
    if (failed(canonicalize(/*decomposeConvs=*/false)))
      return signalPassFailure();
    mafat::packConvFilterSlices(func, rewriter);

    // 4. Windows of size 1 after tiling: 2-D convs and pools become 1-D.
    if (failed(canonicalize(/*decomposeConvs=*/true)))
      return signalPassFailure();

    // 5. Vectorize every static linalg op the vectorizer accepts; the rest
    // (and anything left dynamic) is lowered to loops later.
    SmallVector<linalg::LinalgOp> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (isCandidate(op) && !op.hasDynamicShape())
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates) {
      // Untiled leftovers would become one giant vector that the lowering
      // fully unrolls; they go to loops instead.
      int64_t iterations = 1;
      for (int64_t range : op.getStaticLoopRanges())
        iterations *= range;
      // A fused tile body (mafat-fuse-tile) is a tile too: an op that fits
      // one register block there is not tiled again, and must still get the
      // same vector code (FMAs) as its blocks in the unfused build.
      bool inTile = op->getParentOfType<scf::ForOp>() != nullptr ||
                    op->getParentOfType<scf::ExecuteRegionOp>() != nullptr;
      if (iterations >
          (inTile ? kMaxVectorizedIterations : kMaxUntiledVectorizedIterations))
        continue;
      if (failed(linalg::vectorizeOpPrecondition(op)))
        continue;
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::VectorizationResult> result =
          linalg::vectorize(rewriter, op);
      if (failed(result))
        continue;
      if (op->getNumResults() == 0)
        rewriter.eraseOp(op);
      else
        rewriter.replaceOp(op, result->replacements);
    }
    {
      RewritePatternSet patterns(ctx);
      populateVectorCleanupPatterns(patterns);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // 6. Keep accumulators in registers across the reduction loops:
    // hoist matching transfer_read/transfer_write pairs, innermost first.
    // Collected post-order (inner loops first); hoisting replaces only the
    // loop it is given, so the outer loops collected stay valid.
    SmallVector<scf::ForOp> loops;
    func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      (void)hoistLoopInvariantSubsets(rewriter, loop);
    {
      RewritePatternSet patterns(ctx);
      populateVectorCleanupPatterns(patterns);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // 7. Max and min may return either zero of -0 and +0.
    if (anySignedZero)
      relaxSignedZeros(func);
  }
};

} // namespace
