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
    func->setAttr(mafat::kThreadsAttr,
                  IntegerAttr::get(IntegerType::get(&getContext(), 32),
                                   threads));
    // Outermost marks first; a loop inside a split loop stays serial.
    SmallVector<scf::ForOp> split;
    func.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      std::optional<int64_t> work = mafat::parallelLoopWork(loop);
      if (!work)
        return WalkResult::advance();
      mafat::clearParallelLoopMark(loop);
      mafat::ParallelOptions rule{threads, minWork};
      if (mafat::splitsAcrossThreads(rule, *work) && isSplittable(loop)) {
        std::optional<APInt> trips = loop.getStaticTripCount();
        if (!trips || trips->getSExtValue() > 1) {
          split.push_back(loop);
          // Strip the marks inside: they stay serial.
          loop.walk([](scf::ForOp inner) {
            mafat::clearParallelLoopMark(inner);
          });
          return WalkResult::skip();
        }
      }
      return WalkResult::advance();
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : split)
      convertToForall(rewriter, loop);
  }
};

} // namespace
