//===- LowerCopies.cpp - memref.copy to linalg.copy -----------------------===//
//
// Upstream lowers a memref.copy between non-contiguous views to a call into
// the MLIR C runner library (`memrefCopy`). mafat's generated code links
// against nothing but libc, so copies become linalg.copy, which lowers to
// plain loops that LLVM vectorizes.
//
// Before that, a rolling-buffer shift that bufferization routed through a
// temporary is made direct (foldCopyThroughTemporary).
//
//===----------------------------------------------------------------------===//

#include "mafat/Dialect/Mafat/AttrNames.h"
#include "mafat/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
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
    return arg && arg.getOwner()->isEntryBlock() &&
           isa<FunctionOpInterface>(arg.getOwner()->getParentOp());
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
/// leaves a stream group's rolling-buffer shift (Transforms/StreamGroup.cpp
/// marks its copy kCopyOnBuffersAttr: an insert_slice of a slice of the same
/// tensor, and bufferization cannot tell two slices of one tensor apart):
///
///   copy {mafat.copy_on_buffers} %src, %tmp   %src = subview %base[...]
///   copy %tmp, %dst                           %dst = subview %base[...]
///                                             (optional)
///   vector.transfer_read %tmp                 (optional: reads that
///                                             canonicalization forwarded
///                                             from the buffer to %tmp)
///
/// %tmp is dropped: the rows go from %src to %dst directly, and a read of
/// %tmp reads %src before the copy to %dst, %dst after it (nothing writing
/// them in between). Static boxes can be told apart: disjoint ones take one
/// copy; overlapping ones, in which %dst lies k below %src along one
/// dimension, take chunks of k along it, first to last: each chunk's source
/// and destination are disjoint, and a chunk only overwrites rows earlier
/// chunks have read (a shift keeps a few rows: the chunks are few). Returns
/// why not, or an empty string once folded.
std::string foldCopyThroughTemporary(RewriterBase &rewriter,
                                     Operation *first) {
  std::optional<std::pair<Value, Value>> in = copyEnds(first);
  auto tmp = in ? in->second.getDefiningOp<memref::AllocOp>() : nullptr;
  if (!tmp)
    return "it does not copy into an allocation";
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
        return "the temporary is read before it is written";
      reads.push_back(read);
      continue;
    }
    std::optional<std::pair<Value, Value>> ends = copyEnds(user);
    if (!ends || second || ends->first != tmp.getResult() ||
        user->getBlock() != block || !first->isBeforeInBlock(user))
      return "the temporary has a use other than one copy out and reads";
    second = user;
    out = ends;
  }
  // Each read moves to %src (before the copy to %dst) or %dst (after it):
  // nothing may write them until then, nor the op the read is nested in.
  SmallVector<Value> readFrom;
  Value srcRoot = rootOf(in->first);
  if (second && writtenBetween(first, second, srcRoot))
    return "the source is written before the copy out";
  for (vector::TransferReadOp read : reads) {
    Operation *at = block->findAncestorOpInBlock(*read);
    bool nested = at != read.getOperation();
    bool afterCopy = second && second->isBeforeInBlock(at);
    Value from = afterCopy ? out->second : in->first;
    if (writtenBetween(afterCopy ? second : first, at, rootOf(from), nested))
      return "the rows are written before the temporary is read";
    readFrom.push_back(from);
  }

  if (second) {
    auto src = in->first.getDefiningOp<memref::SubViewOp>();
    auto dst = out->second.getDefiningOp<memref::SubViewOp>();
    if (!src || !dst || src.getSource() != dst.getSource())
      return "source and destination are not views of one buffer";
    std::optional<StaticBox> from = staticBox(src), to = staticBox(dst);
    if (!from || !to || from->sizes != to->sizes)
      return "source and destination are not static boxes of one size";
    const int64_t rank = from->sizes.size();
    bool disjoint = false, oneDim = true;
    int shiftDim = -1;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t a = from->offsets[d], b = to->offsets[d], n = from->sizes[d];
      if (a + n <= b || b + n <= a)
        disjoint = true;
      if (a == b)
        continue;
      oneDim = oneDim && shiftDim < 0 && b < a;
      shiftDim = d;
    }
    if (!disjoint && !oneDim)
      return "the boxes overlap other than by a move up along one dimension";

    rewriter.setInsertionPoint(second);
    Location loc = second->getLoc();
    if (disjoint) {
      linalg::CopyOp::create(rewriter, loc, src.getResult(), dst.getResult());
    } else {
      const int64_t k = from->offsets[shiftDim] - to->offsets[shiftDim];
      const int64_t n = from->sizes[shiftDim];
      SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes;
      for (int64_t d = 0; d < rank; ++d)
        sizes.push_back(rewriter.getIndexAttr(from->sizes[d]));
      for (int64_t start = 0; start < n; start += k) {
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
  for (auto [read, from] : llvm::zip_equal(reads, readFrom))
    rewriter.modifyOpInPlace(read, [&, from = from] {
      read.getBaseMutable().assign(from);
    });
  if (second)
    rewriter.eraseOp(second);
  rewriter.eraseOp(first);
  for (Operation *dealloc : deallocs)
    rewriter.eraseOp(dealloc);
  rewriter.eraseOp(tmp);
  return "";
}

struct MafatLowerCopiesPass
    : public mafat::impl::MafatLowerCopiesBase<MafatLowerCopiesPass> {
  void runOnOperation() override {
    // The marked copies (rolling-buffer shifts); the memory model counts no
    // temporary for them, so one left in place is reported.
    SmallVector<Operation *> copies;
    getOperation().walk([&](Operation *op) {
      if (op->hasAttr(mafat::kCopyOnBuffersAttr))
        copies.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *copy : copies) {
      std::string why = foldCopyThroughTemporary(rewriter, copy);
      if (why.empty())
        continue;
      copy->emitWarning("mafat-lower-copies: a rolling-buffer shift keeps its "
                        "temporary (")
          << why << "); the workspace exceeds the memory model's prediction";
      copy->removeAttr(mafat::kCopyOnBuffersAttr);
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<CopyToLinalg>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
