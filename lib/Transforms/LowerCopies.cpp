//===- LowerCopies.cpp - memref.copy to linalg.copy -----------------------===//
//
// Upstream lowers a memref.copy between non-contiguous views to a call into
// the MLIR C runner library (`memrefCopy`). mafat's generated code links
// against nothing but libc, so copies become linalg.copy, which lowers to
// plain loops that LLVM vectorizes.
//
//===----------------------------------------------------------------------===//

#include "mafat/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATLOWERCOPIES
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

struct CopyToLinalg : public OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CopyOp copy,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                copy.getTarget());
    return success();
  }
};

struct MafatLowerCopiesPass
    : public mafat::impl::MafatLowerCopiesBase<MafatLowerCopiesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<CopyToLinalg>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
