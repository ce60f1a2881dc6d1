//===- Parallelize.cpp - Split marked layer loops across threads ----------===//
//
// The split-steps parallel form. The loops to split are chosen where the
// knowledge is (mafat-tile-and-vectorize knows which loop walks a layer's
// output blocks); this pass only weighs them and rewrites scf.for into
// scf.forall, the upstream op for "iterations may run in any order", which
// mafat-opt prints and the outlining pass consumes.
//
//===----------------------------------------------------------------------===//

#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Transforms/Parallel.h"
#include "mafat/Transforms/Passes.h"
#include "mafat/runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATPARALLELIZE
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

/// A loop whose iterations may run concurrently without slots: no loop-
/// carried value and no buffer allocated per iteration (the memory planner
/// would give it one place, shared by every thread).
bool isSplittable(scf::ForOp loop) {
  if (loop.getNumRegionIterArgs() != 0)
    return false;
  WalkResult allocates = loop.walk([](Operation *op) {
    return isa<memref::AllocOp, memref::AllocaOp>(op) ? WalkResult::interrupt()
                                                      : WalkResult::advance();
  });
  return !allocates.wasInterrupted();
}

/// A split loop needs this many iterations per thread to balance: with 3
/// iterations on 2 threads one thread idles a third of the time.
constexpr int64_t kMinIterationsPerThread = 4;

/// The marked inner output-block loop of `loop` if the two are perfectly
/// nested and its bounds do not depend on `loop`; null otherwise.
scf::ForOp perfectInnerLoop(scf::ForOp loop) {
  Block *body = loop.getBody();
  if (body->getOperations().size() != 2)
    return nullptr;
  auto inner = dyn_cast<scf::ForOp>(body->front());
  if (!inner || !mafat::isParallelInnerLoop(inner) ||
      inner.getNumRegionIterArgs() != 0 || !inner.getStaticTripCount())
    return nullptr;
  for (Value bound :
       {inner.getLowerBound(), inner.getUpperBound(), inner.getStep()})
    if (!loop.isDefinedOutsideOfLoop(bound))
      return nullptr;
  return inner;
}

/// Interchanges two perfectly nested loops with invariant bounds: their
/// bounds and induction variables trade places. Both walk output blocks, so
/// every block is computed as before, in another order.
void interchange(scf::ForOp outer, scf::ForOp inner) {
  Value lb = outer.getLowerBound(), ub = outer.getUpperBound(),
        step = outer.getStep();
  outer.setLowerBound(inner.getLowerBound());
  outer.setUpperBound(inner.getUpperBound());
  outer.setStep(inner.getStep());
  inner.setLowerBound(lb);
  inner.setUpperBound(ub);
  inner.setStep(step);
  Value a = outer.getInductionVar(), b = inner.getInductionVar();
  SmallVector<OpOperand *> usesOfA, usesOfB;
  for (OpOperand &use : a.getUses())
    usesOfA.push_back(&use);
  for (OpOperand &use : b.getUses())
    usesOfB.push_back(&use);
  for (OpOperand *use : usesOfA)
    use->set(b);
  for (OpOperand *use : usesOfB)
    use->set(a);
}

/// Arranges a split loop and its inner output-block loop: rows outside
/// when the layer prefers a row split (ParallelMark::rowsFirst), and the
/// two folded into one loop (upstream coalesceLoops) when the split loop has
/// too few iterations for `threads` - e.g. 3 filter blocks x 14 rows become
/// 42 iterations. The iterations are the same blocks, so the outputs do not
/// change.
void arrangeSplitLoop(RewriterBase &rewriter, scf::ForOp loop, bool rowsFirst,
                      unsigned threads) {
  scf::ForOp inner = perfectInnerLoop(loop);
  if (!inner)
    return;
  // The index arithmetic coalescing creates takes the inner loop's location.
  mafat::clearParallelLoopMark(inner);
  if (rowsFirst)
    interchange(loop, inner);
  std::optional<APInt> trips = loop.getStaticTripCount();
  if (!trips || trips->getSExtValue() >= kMinIterationsPerThread * threads)
    return;
  SmallVector<scf::ForOp> nest{loop, inner};
  (void)coalesceLoops(rewriter, nest);
}

/// Replaces `loop` by an scf.forall with the same bounds and body.
void convertToForall(RewriterBase &rewriter, scf::ForOp loop) {
  rewriter.setInsertionPoint(loop);
  auto forall = scf::ForallOp::create(
      rewriter, loop.getLoc(), ArrayRef<OpFoldResult>{loop.getLowerBound()},
      ArrayRef<OpFoldResult>{loop.getUpperBound()},
      ArrayRef<OpFoldResult>{loop.getStep()}, ValueRange{},
      /*mapping=*/std::nullopt);
  Block *body = loop.getBody();
  rewriter.eraseOp(body->getTerminator());
  Block *target = forall.getBody();
  rewriter.inlineBlockBefore(body, target->getTerminator(),
                             target->getArguments());
  rewriter.eraseOp(loop);
}

/// Splits a layout transpose that runs on its own (a model's NCHW <->
/// NHWC conversion at its edges: in the function body, not in a tile) by
/// its rows, one index per iteration: thread t then takes rows
/// [n t / T, n (t + 1) / T) (the pool's contiguous ranges), the band its
/// slot or rows-first split step writes or reads in the layers next to it.
/// Serial, the input transpose of YOLOv2 at 416x416 took 0.09 ms on one thread
/// and 0.25 ms with a second thread having written the buffer it overwrites.
/// The transposes stay linalg ops (lowered to loops later) on subviews, so the
/// copy is element for element the same.
void splitTranspose(RewriterBase &rewriter, linalg::TransposeOp op,
                    unsigned threads) {
  ArrayRef<int64_t> perm = op.getPermutation();
  ArrayRef<int64_t> inShape =
      cast<MemRefType>(op.getInput().getType()).getShape();
  ArrayRef<int64_t> shape = cast<MemRefType>(op.getInit().getType()).getShape();
  auto nonUnit = [](int64_t n) { return n > 1; };
  // The input's outermost dim (the rows of NHWC -> NCHW: each thread reads
  // the rows its band wrote) if it has enough indices to balance, else the
  // output's (the rows of NCHW -> NHWC, whose input starts with 3 channels).
  auto inOuter = llvm::find_if(inShape, nonUnit);
  auto outOuter = llvm::find_if(shape, nonUnit);
  if (outOuter == shape.end())
    return;
  unsigned d = outOuter - shape.begin();
  if (inOuter != inShape.end() &&
      *inOuter >= kMinIterationsPerThread * int64_t(threads))
    d = llvm::find(perm, inOuter - inShape.begin()) - perm.begin();
  unsigned inDim = perm[d];
  int64_t indices = shape[d];
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value n = arith::ConstantIndexOp::create(rewriter, loc, indices);
  auto loop = scf::ForOp::create(rewriter, loc, c0, n, c1);
  rewriter.setInsertionPoint(loop.getBody()->getTerminator());
  Value iv = loop.getInductionVar();
  // One index of dimension `k` of `buffer`, the rest whole.
  auto slice = [&](Value buffer, unsigned k) -> Value {
    auto type = cast<MemRefType>(buffer.getType());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (auto [i, size] : llvm::enumerate(type.getShape())) {
      offsets.push_back(i == k ? OpFoldResult(iv) : rewriter.getIndexAttr(0));
      sizes.push_back(rewriter.getIndexAttr(i == k ? 1 : size));
      strides.push_back(rewriter.getIndexAttr(1));
    }
    return memref::SubViewOp::create(rewriter, loc, buffer, offsets, sizes,
                                     strides);
  };
  linalg::TransposeOp::create(rewriter, loc, slice(op.getInput(), inDim),
                              slice(op.getInit(), d), op.getPermutation());
  rewriter.eraseOp(op);
  convertToForall(rewriter, loop);
}

struct MafatParallelizePass
    : public mafat::impl::MafatParallelizeBase<MafatParallelizePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (threads == 0 || threads > MAFAT_MAX_THREADS) {
      func.emitError("mafat-parallelize: threads must be from 1 to ")
          << MAFAT_MAX_THREADS << ", got " << threads.getValue();
      return signalPassFailure();
    }
    if (func.isExternal())
      return;
    func->setAttr(
        mafat::kThreadsAttr,
        IntegerAttr::get(IntegerType::get(&getContext(), 32), threads));
    // Outermost marks first; a loop inside a split loop or a slot loop
    // stays serial.
    SmallVector<std::pair<scf::ForOp, bool>> split;
    SmallVector<scf::ForOp> slotLoops;
    bool carried = false;
    func.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      // A slot loop runs concurrently whatever it allocates: the plan asked
      // for it and mafat-plan-memory gives each slot its own buffers.
      if (mafat::slotLoopCount(loop)) {
        mafat::clearParallelLoopMark(loop);
        if (loop.getNumRegionIterArgs() != 0) {
          loop.emitError("mafat-parallelize: a slot loop still carries a "
                         "value after bufferization; its slots cannot run "
                         "at once");
          carried = true;
          return WalkResult::interrupt();
        }
        slotLoops.push_back(loop);
        return WalkResult::skip();
      }
      std::optional<int64_t> work = mafat::parallelLoopWork(loop);
      if (!work)
        return WalkResult::advance();
      bool rowsFirst = mafat::prefersRowSplit(loop);
      mafat::clearParallelLoopMark(loop);
      mafat::ParallelOptions rule{threads, minWork};
      if (mafat::splitsAcrossThreads(rule, *work) && isSplittable(loop)) {
        std::optional<APInt> trips = loop.getStaticTripCount();
        if (!trips || trips->getSExtValue() > 1) {
          split.push_back({loop, rowsFirst});
          // Marked loops inside stay serial (their marks go at the end,
          // after the inner-loop mark had its use).
          return WalkResult::skip();
        }
      }
      return WalkResult::advance();
    });
    if (carried)
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : slotLoops)
      convertToForall(rewriter, loop);
    if (threads > 1) {
      SmallVector<linalg::TransposeOp> transposes;
      for (auto op : func.getBody().getOps<linalg::TransposeOp>()) {
        auto in = dyn_cast<MemRefType>(op.getInput().getType());
        auto out = dyn_cast<MemRefType>(op.getInit().getType());
        mafat::ParallelOptions rule{threads, minWork};
        // Subviews need strided layouts (every buffer mafat allocates).
        if (op.hasPureBufferSemantics() && in && out && in.hasStaticShape() &&
            out.hasStaticShape() && in.isStrided() && out.isStrided() &&
            mafat::splitsAcrossThreads(rule, out.getNumElements()))
          transposes.push_back(op);
      }
      for (linalg::TransposeOp op : transposes)
        splitTranspose(rewriter, op, threads);
    }
    for (auto [loop, rowsFirst] : split) {
      arrangeSplitLoop(rewriter, loop, rowsFirst, threads);
      convertToForall(rewriter, loop);
    }
    // The marks left: loops inside split loops, inner-loop marks.
    func.walk([](scf::ForOp loop) { mafat::clearParallelLoopMark(loop); });
  }
};

} // namespace
