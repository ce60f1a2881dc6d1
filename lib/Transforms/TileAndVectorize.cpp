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

#include "mafat/Transforms/Passes.h"
#include "mafat/Transforms/RegisterBlock.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
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

/// Tiles `op` to its register block: parallel dims first, fusing the fill
/// that initialises its accumulator, then the reduction dims of the tiled op.
LogicalResult tileToRegisterBlock(RewriterBase &rewriter, linalg::LinalgOp op,
                                  const mafat::RegisterBlock &block) {
  MLIRContext *ctx = op->getContext();
  Operation *tiled = op;
  if (!isTilingNoop(op, block.parallel)) {
    scf::SCFTilingOptions tiling;
    tiling.setTileSizes(asIndexAttrs(ctx, block.parallel));
    if (!block.interchange.empty())
      tiling.setInterchange(block.interchange);
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tiling);
    // Fuse only the accumulator's fill: fusing pads or earlier layers here
    // would recompute them per register block (that is fuse-tile's job, at
    // cache-sized tiles).
    options.setFusionControlFn(
        [](tensor::ExtractSliceOp, OpResult producer, bool isDestination)
            -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          if (isDestination && isa<linalg::FillOp>(producer.getOwner()))
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          return std::nullopt;
        });
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTileAndFuseResult> result =
        scf::tileConsumerAndFuseProducersUsingSCF(
            rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(result))
      return op->emitError("mafat: failed to tile to the register block");
    for (OpResult res : op->getResults())
      if (Value repl = result->replacements.lookup(res))
        rewriter.replaceAllUsesWith(res, repl);
    tiled = result->tiledAndFusedOps.front();
  }
  if (llvm::all_of(block.reduction, [](int64_t s) { return s == 0; }))
    return success();
  auto tiledLinalg = cast<linalg::LinalgOp>(tiled);
  if (isTilingNoop(tiledLinalg, block.reduction))
    return success();
  scf::SCFTilingOptions reduction;
  reduction.setTileSizes(asIndexAttrs(ctx, block.reduction));
  rewriter.setInsertionPoint(tiled);
  FailureOr<scf::SCFTilingResult> result = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(tiled), reduction);
  if (failed(result))
    return tiled->emitError("mafat: failed to tile the reduction loops");
  rewriter.replaceOp(tiled, result->replacements);
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
}

struct MafatTileAndVectorizePass
    : public mafat::impl::MafatTileAndVectorizeBase<
          MafatTileAndVectorizePass> {
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
    func.walk([&](linalg::LinalgOp op) {
      if (!op.hasPureTensorSemantics())
        return;
      // Fills feeding a blocked op are fused into its tile loop instead.
      if (isa<linalg::FillOp>(op) &&
          llvm::all_of(op->getUsers(), [](Operation *user) {
            return isa<linalg::Conv2DNhwcHwcfOp,
                       linalg::DepthwiseConv2DNhwcHwcOp,
                       linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp,
                       linalg::MatmulOp>(user);
          }))
        return;
      ops.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::LinalgOp op : ops) {
      std::optional<mafat::RegisterBlock> block =
          mafat::chooseRegisterBlock(op, target);
      if (!block)
        continue;
      if (failed(tileToRegisterBlock(rewriter, op, *block)))
        return signalPassFailure();
    }

    // 2. Windows of size 1 after tiling: 2-D convs and pools become 1-D.
    {
      RewritePatternSet patterns(ctx);
      linalg::populateDecomposeConvolutionPatterns(patterns);
      tensor::ExtractSliceOp::getCanonicalizationPatterns(patterns, ctx);
      tensor::InsertSliceOp::getCanonicalizationPatterns(patterns, ctx);
      linalg::FillOp::getCanonicalizationPatterns(patterns, ctx);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // 3. Vectorize every static linalg op the vectorizer accepts; the rest
    // (and anything left dynamic) is lowered to loops later.
    SmallVector<linalg::LinalgOp> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && !op.hasDynamicShape())
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates) {
      if (failed(linalg::vectorizeOpPrecondition(op)))
        continue;
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::VectorizationResult> result =
          linalg::vectorize(rewriter, op);
      if (failed(result))
        continue;
      rewriter.replaceOp(op, result->replacements);
    }
    {
      RewritePatternSet patterns(ctx);
      populateVectorCleanupPatterns(patterns);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // 4. Keep accumulators in registers across the reduction loops:
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
  }
};

} // namespace
