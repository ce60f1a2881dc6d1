//===- LowerCopies.cpp - memref.copy to linalg.copy -----------------------===//
//
// Upstream lowers a memref.copy between non-contiguous views to a call into
// the MLIR C runner library (`memrefCopy`). mafat's generated code links
// against nothing but libc, so copies become linalg.copy, which lowers to
// plain loops that LLVM vectorizes.
//
// Before that, a copy between two views of one buffer that bufferization
// routed through a temporary is made direct (foldCopyThroughTemporary).
//
//===----------------------------------------------------------------------===//

#include "mafat/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
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

/// Static offsets and sizes of a unit-stride, full-rank subview.
struct StaticBox {
  SmallVector<int64_t> offsets, sizes;
};

std::optional<StaticBox> staticBox(memref::SubViewOp view) {
  if (view.getSourceType().getRank() != view.getType().getRank() ||
      !view.hasUnitStride())
    return std::nullopt;
  StaticBox box{SmallVector<int64_t>(view.getStaticOffsets()),
                SmallVector<int64_t>(view.getStaticSizes())};
  for (int64_t v : llvm::concat<int64_t>(box.offsets, box.sizes))
    if (ShapedType::isDynamic(v))
      return std::nullopt;
  return box;
}

/// The source and target of a plain copy: memref.copy, or linalg.copy on
/// buffers.
std::optional<std::pair<Value, Value>> copyEnds(Operation *op) {
  if (auto copy = dyn_cast<memref::CopyOp>(op))
    return std::make_pair(copy.getSource(), copy.getTarget());
  if (auto copy = dyn_cast<linalg::CopyOp>(op))
    if (copy.hasPureBufferSemantics())
      return std::make_pair(copy.getInputs()[0], copy.getOutputs()[0]);
  return std::nullopt;
}

/// The allocation (or argument) `v` is a view of.
Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// Whether roots `a` and `b` may share memory: two allocations do not, nor
/// an allocation and an argument of the function.
bool mayAlias(Value a, Value b) {
  if (a == b)
    return true;
  auto isAlloc = [](Value v) { return v.getDefiningOp<memref::AllocOp>(); };
  auto isArgument = [](Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && isa<FunctionOpInterface>(arg.getOwner()->getParentOp());
  };
  if (isAlloc(a) && (isAlloc(b) || isArgument(b)))
    return false;
  return !(isAlloc(b) && isArgument(a));
}

/// Whether `op` (or an op nested in it) may write memory under `root`.
bool mayWrite(Operation *op, Value root) {
  std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
      getEffectsRecursively(op);
  if (!effects)
    return true;
  for (const MemoryEffects::EffectInstance &effect : *effects) {
    if (!isa<MemoryEffects::Write, MemoryEffects::Free>(effect.getEffect()))
      continue;
    Value written = effect.getValue();
    if (!written || mayAlias(rootOf(written), root))
      return true;
  }
  return false;
}

/// Whether an op after `from` and before `to` (one block) may write memory
/// under `root`; `to` itself too if `inclusive`.
bool writtenBetween(Operation *from, Operation *to, Value root,
                    bool inclusive = false) {
  for (Operation *op = from->getNextNode(); op != to; op = op->getNextNode())
    if (mayWrite(op, root))
      return true;
  return inclusive && mayWrite(to, root);
}

/// A temporary holding a copy of a buffer's rows, as one-shot bufferization
/// leaves a stream group's rolling-buffer shift (Transforms/StreamGroup.cpp:
/// an insert_slice of a slice of the same tensor; bufferization cannot tell
/// two slices of one tensor apart):
///
///   copy %src, %tmp                   %src = subview %base[...]
///   copy %tmp, %dst                   %dst = subview %base[...]  (optional)
///   vector.transfer_read %tmp         (optional: reads canonicalization
///                                     forwarded from the buffer to %tmp)
///
/// %tmp is dropped: the rows go from %src to %dst directly, and a read of
/// %tmp reads %src before the copy to %dst, %dst after it (nothing writing
/// them in between). Static boxes can be told apart: disjoint ones take one
/// copy; boxes that overlap, equal but for one dimension in which %dst lies
/// k below %src, take chunks of k along it, first to last: each chunk's
/// source and destination are disjoint, and a chunk only overwrites rows
/// earlier chunks have read. Anything else is left alone.
LogicalResult foldCopyThroughTemporary(RewriterBase &rewriter,
                                       Operation *first) {
  std::optional<std::pair<Value, Value>> in = copyEnds(first);
  if (!in)
    return failure();
  auto tmp = in->second.getDefiningOp<memref::AllocOp>();
  if (!tmp)
    return failure();
  Block *block = first->getBlock();
  Operation *second = nullptr;
  std::optional<std::pair<Value, Value>> out;
  SmallVector<Operation *> deallocs;
  SmallVector<vector::TransferReadOp> reads;
  for (Operation *user : tmp->getUsers()) {
    if (user == first)
      continue;
    if (isa<memref::DeallocOp>(user)) {
      deallocs.push_back(user);
      continue;
    }
    if (auto read = dyn_cast<vector::TransferReadOp>(user)) {
      Operation *at = block->findAncestorOpInBlock(*read);
      if (!at || !first->isBeforeInBlock(at))
        return failure();
      reads.push_back(read);
      continue;
    }
    std::optional<std::pair<Value, Value>> ends = copyEnds(user);
    if (!ends || second || ends->first != tmp.getResult() ||
        user->getBlock() != block || !first->isBeforeInBlock(user))
      return failure();
    second = user;
    out = ends;
  }
  // A read moves to %src (before the copy to %dst) or %dst (after it):
  // nothing may write them until then, nor the op the read is nested in.
  Value srcRoot = rootOf(in->first);
  if (second && writtenBetween(first, second, srcRoot))
    return failure();
  for (vector::TransferReadOp read : reads) {
    Operation *at = block->findAncestorOpInBlock(*read);
    bool nested = at != read.getOperation();
    if (second && second->isBeforeInBlock(at)) {
      if (writtenBetween(second, at, rootOf(out->second), nested))
        return failure();
    } else if (writtenBetween(first, at, srcRoot, nested)) {
      return failure();
    }
  }

  if (second) {
    auto src = in->first.getDefiningOp<memref::SubViewOp>();
    auto dst = out->second.getDefiningOp<memref::SubViewOp>();
    if (!src || !dst || src.getSource() != dst.getSource() ||
        src.getType().getShape() != dst.getType().getShape())
      return failure();
    std::optional<StaticBox> from = staticBox(src), to = staticBox(dst);
    if (!from || !to || from->sizes != to->sizes)
      return failure();
    const int64_t rank = from->sizes.size();
    bool disjoint = false;
    int shiftDim = -1;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t a = from->offsets[d], b = to->offsets[d], n = from->sizes[d];
      if (a + n <= b || b + n <= a)
        disjoint = true;
      if (a == b)
        continue;
      if (b > a || shiftDim >= 0)
        shiftDim = -2; // several dimensions, or a move to higher indices
      else
        shiftDim = d;
    }
    if (!disjoint && shiftDim < 0)
      return failure();

    rewriter.setInsertionPoint(second);
    Location loc = second->getLoc();
    if (disjoint) {
      linalg::CopyOp::create(rewriter, loc, src.getResult(), dst.getResult());
    } else {
      const int64_t k = from->offsets[shiftDim] - to->offsets[shiftDim];
      const int64_t n = from->sizes[shiftDim];
      SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
      for (int64_t start = 0; start < n; start += k) {
        SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
        SmallVector<OpFoldResult> sizes;
        for (int64_t d = 0; d < rank; ++d)
          sizes.push_back(rewriter.getIndexAttr(from->sizes[d]));
        offsets[shiftDim] = rewriter.getIndexAttr(start);
        sizes[shiftDim] = rewriter.getIndexAttr(std::min(k, n - start));
        Value chunkIn = memref::SubViewOp::create(
            rewriter, loc, src.getResult(), offsets, sizes, strides);
        Value chunkOut = memref::SubViewOp::create(
            rewriter, loc, dst.getResult(), offsets, sizes, strides);
        linalg::CopyOp::create(rewriter, loc, chunkIn, chunkOut);
      }
    }
  }
  for (vector::TransferReadOp read : reads) {
    Operation *at = block->findAncestorOpInBlock(*read);
    Value from = second && second->isBeforeInBlock(at) ? out->second
                                                        : in->first;
    rewriter.modifyOpInPlace(read, [&] { read.getBaseMutable().assign(from); });
  }
  if (second)
    rewriter.eraseOp(second);
  rewriter.eraseOp(first);
  for (Operation *dealloc : deallocs)
    rewriter.eraseOp(dealloc);
  rewriter.eraseOp(tmp);
  return success();
}

struct MafatLowerCopiesPass
    : public mafat::impl::MafatLowerCopiesBase<MafatLowerCopiesPass> {
  void runOnOperation() override {
    // Only copies into an allocation can start a fold, and a fold erases
    // no other such copy.
    SmallVector<Operation *> copies;
    getOperation().walk([&](Operation *op) {
      if (std::optional<std::pair<Value, Value>> ends = copyEnds(op))
        if (ends->second.getDefiningOp<memref::AllocOp>())
          copies.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *copy : copies)
      (void)foldCopyThroughTemporary(rewriter, copy);
    RewritePatternSet patterns(&getContext());
    patterns.add<CopyToLinalg>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
