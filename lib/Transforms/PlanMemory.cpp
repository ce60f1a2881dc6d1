//===- PlanMemory.cpp - The static memory planner -------------------------===//
//
// Turns every heap allocation of bufferized IR into a view of one
// caller-provided workspace whose size is known at compile time. Live ranges
// come from the IR; the packing itself is mafat::packBuffers, the same code
// the cost model uses to predict memory, so the two cannot disagree.
//
//===----------------------------------------------------------------------===//

#include "mafat/Dialect/Mafat/AttrNames.h"
#include "mafat/Support/ArenaPacker.h"
#include "mafat/Transforms/Passes.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <limits>
#include <memory>

namespace mafat {
#define GEN_PASS_DEF_MAFATPLANMEMORY
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

/// The op of `block` that contains `op` (or op itself), null if none.
Operation *ancestorIn(Block &block, Operation *op) {
  return block.findAncestorOpInBlock(*op);
}

/// Every value that aliases `root` through view-like ops.
SmallVector<Value> collectAliases(Value root) {
  SmallVector<Value> worklist{root}, aliases;
  llvm::SmallPtrSet<Value, 8> seen;
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    aliases.push_back(v);
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (view.getViewSource() == v)
          for (Value result : user->getResults())
            worklist.push_back(result);
        continue;
      }
      // A fused group's output map is threaded through its tile loops and
      // tile bodies: loop-carried values and region results are the same
      // buffer.
      if (auto loop = dyn_cast<scf::ForOp>(user)) {
        if (OpResult result = loop.getTiedLoopResult(&use)) {
          worklist.push_back(result);
          worklist.push_back(loop.getTiedLoopRegionIterArg(&use));
        }
        continue;
      }
      if (isa<scf::YieldOp>(user)) {
        Operation *parent = user->getParentOp();
        if (isa<scf::ForOp, scf::ExecuteRegionOp>(parent))
          worklist.push_back(parent->getResult(use.getOperandNumber()));
      }
    }
  }
  return aliases;
}

uint64_t bufferBytes(MemRefType type) {
  uint64_t elements = type.getNumElements();
  uint64_t bits = type.getElementTypeBitWidth();
  return elements * ((bits + 7) / 8);
}

struct MafatPlanMemoryPass
    : public mafat::impl::MafatPlanMemoryBase<MafatPlanMemoryPass> {
  using Base::Base;

  LogicalResult planFunction(func::FuncOp func);

  void runOnOperation() override {
    if (alignment == 0 || (alignment & (alignment - 1))) {
      getOperation().emitError("mafat-plan-memory: alignment must be a power "
                               "of two, got ")
          << alignment.getValue();
      return signalPassFailure();
    }
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      // Already planned functions have their workspace argument.
      if (func.isExternal() || func->hasAttr(mafat::kWorkspaceBytesAttr))
        continue;
      if (failed(planFunction(func)))
        return signalPassFailure();
    }
    // The generated code must never allocate on the heap.
    WalkResult leftover = getOperation().walk([](Operation *op) {
      if (isa<memref::AllocOp, memref::ReallocOp>(op)) {
        op->emitError("mafat-plan-memory: heap allocation left after memory "
                      "planning");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (leftover.wasInterrupted())
      signalPassFailure();
  }
};

/// The buffers of one block, packed on that block's own clock. A nested op
/// whose regions allocate (a fused tile body, a loop around one) enters as
/// one buffer as large as its regions' arenas, live at that op only: its
/// buffers cannot outlive it, and packing scopes bottom-up makes a group's
/// tile buffers one block in the arena, which is what the memory model
/// predicts (mafat/CostModel/MemoryModel.h).
struct Scope {
  SmallVector<mafat::BufferRequest> requests;
  /// requests[i] is alloc `allocs[i]` or, if that is null, the blocks of an
  /// op's regions, `children[i]`, which run one at a time and so share the
  /// same place.
  SmallVector<memref::AllocOp> allocs;
  SmallVector<SmallVector<std::unique_ptr<Scope>, 1>> children;
  /// For children of an scf.forall: its induction variable and the stride
  /// between the copies of its body's arena (one copy per iteration, as
  /// iterations may run at once); a null value otherwise.
  SmallVector<std::pair<Value, uint64_t>> copies;
  SmallVector<uint64_t> offsets;
  uint64_t arena = 0;
};

LogicalResult MafatPlanMemoryPass::planFunction(func::FuncOp func) {
  // The workspace must be aligned for its most demanding buffer; every
  // scope is packed with that alignment so nested arenas stay aligned.
  uint64_t wsAlign = alignment;
  uint64_t naive = 0;
  WalkResult types = func.walk([&](memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
      alloc.emitError("mafat-plan-memory: cannot plan an allocation of type ")
          << type << " (static shape and identity layout required)";
      return WalkResult::interrupt();
    }
    uint64_t align =
        std::max<uint64_t>(alignment, alloc.getAlignment().value_or(1));
    wsAlign = std::max(wsAlign, align);
    naive += llvm::alignTo(bufferBytes(type), align);
    return WalkResult::advance();
  });
  if (types.wasInterrupted())
    return failure();

  std::function<FailureOr<std::unique_ptr<Scope>>(Block *)> packScope;
  packScope = [&](Block *block) -> FailureOr<std::unique_ptr<Scope>> {
    auto scope = std::make_unique<Scope>();
    {
      DenseMap<Operation *, int64_t> position;
      for (auto [i, op] : llvm::enumerate(*block))
        position[&op] = i;
      for (Operation &op : *block) {
        if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
          // The live range runs from the first use to the last use: an
          // allocation's contents mean nothing before the first write, so
          // where bufferization happened to place the alloc does not
          // matter.
          int64_t allocPos = position[&op];
          int64_t start = std::numeric_limits<int64_t>::max();
          int64_t end = allocPos;
          for (Value alias : collectAliases(alloc.getResult())) {
            for (Operation *user : alias.getUsers()) {
              if (isa<memref::DeallocOp, ViewLikeOpInterface>(user))
                continue;
              // A buffer allocated in a region is reused by every
              // execution of it; only sound if none hands it on.
              if (isa<scf::YieldOp, func::ReturnOp>(user) &&
                  alloc->getParentOp() != func)
                return alloc.emitError("mafat-plan-memory: a buffer "
                                       "allocated inside a region escapes "
                                       "it; cannot give it a fixed place");
              if (isa<func::ReturnOp>(user))
                return alloc.emitError(
                    "mafat-plan-memory: a returned buffer cannot live in the "
                    "workspace; run buffer-results-to-out-params first");
              Operation *ancestor = block->findAncestorOpInBlock(*user);
              if (!ancestor)
                return alloc.emitError("mafat-plan-memory: a buffer is used "
                                       "outside the region it is allocated "
                                       "in");
              int64_t pos = position[ancestor];
              start = std::min(start, pos);
              end = std::max(end, pos);
            }
          }
          if (start > end)
            start = end = allocPos; // Never used: a point interval.
          mafat::BufferRequest request;
          request.size = bufferBytes(alloc.getType());
          request.alignment = wsAlign;
          request.start = start;
          request.end = end;
          std::string name;
          llvm::raw_string_ostream os(name);
          alloc.getLoc().print(os);
          request.name = name;
          scope->requests.push_back(request);
          scope->allocs.push_back(alloc);
          scope->children.emplace_back();
          scope->copies.push_back({Value(), 0});
          continue;
        }
        if (op.getNumRegions() == 0)
          continue;
        bool allocates = false;
        op.walk([&](memref::AllocOp) {
          allocates = true;
          return WalkResult::interrupt();
        });
        if (!allocates)
          continue;
        // The blocks of one op's regions run one at a time: they share one
        // place in the parent's arena, as large as the largest of them.
        SmallVector<std::unique_ptr<Scope>, 1> inner;
        uint64_t size = 0;
        for (Region &region : op.getRegions())
          for (Block &b : region) {
            FailureOr<std::unique_ptr<Scope>> child = packScope(&b);
            if (failed(child))
              return failure();
            size = std::max(size, (*child)->arena);
            inner.push_back(std::move(*child));
          }
        // The iterations of an scf.forall (a fused group's slots) may run at
        // once: each gets its own copy of the body's arena, at iv * stride.
        std::pair<Value, uint64_t> copies = {Value(), 0};
        if (auto forall = dyn_cast<scf::ForallOp>(op)) {
          auto constant = [](ArrayRef<OpFoldResult> values) {
            return values.size() == 1 ? getConstantIntValue(values[0])
                                      : std::nullopt;
          };
          std::optional<int64_t> lb = constant(forall.getMixedLowerBound());
          std::optional<int64_t> ub = constant(forall.getMixedUpperBound());
          std::optional<int64_t> step = constant(forall.getMixedStep());
          if (!lb || !ub || !step || *lb != 0 || *step != 1 || *ub < 1)
            return forall.emitError(
                "mafat-plan-memory: the iterations of an scf.forall that "
                "allocates need their own buffers; only a 1-D loop from 0 "
                "with step 1 and a static trip count is supported");
          uint64_t stride = llvm::alignTo(size, wsAlign);
          copies = {forall.getInductionVar(0), stride};
          size = stride * *ub;
        }
        mafat::BufferRequest request;
        request.size = size;
        request.alignment = wsAlign;
        request.start = request.end = position[&op];
        std::string name;
        llvm::raw_string_ostream os(name);
        os << op.getName() << " at ";
        op.getLoc().print(os);
        request.name = name;
        scope->requests.push_back(request);
        scope->allocs.push_back(nullptr);
        scope->children.push_back(std::move(inner));
        scope->copies.push_back(copies);
      }
    }
    std::vector<mafat::BufferRequest> requests(scope->requests.begin(),
                                               scope->requests.end());
    mafat::ArenaLayout layout = mafat::packBuffers(requests, wsAlign);
    if (std::string error = mafat::verifyLayout(requests, layout);
        !error.empty())
      return func.emitError("mafat-plan-memory: internal packing error: ")
             << error;
    scope->offsets.assign(layout.offsets.begin(), layout.offsets.end());
    scope->arena = layout.arenaBytes;
    return scope;
  };
  FailureOr<std::unique_ptr<Scope>> root = packScope(&func.getBody().front());
  if (failed(root))
    return failure();
  mafat::ArenaLayout layout;
  layout.arenaBytes = (*root)->arena;
  layout.naiveBytes = naive;
  // An allocation's offset: a constant plus, inside foralls, iv * stride.
  using CopyTerms = SmallVector<std::pair<Value, uint64_t>, 1>;
  struct Placed {
    memref::AllocOp alloc;
    uint64_t offset;
    CopyTerms terms;
  };
  SmallVector<Placed> placed;
  SmallVector<std::pair<const mafat::BufferRequest *, uint64_t>> reportRows;
  SmallVector<unsigned> depths;
  std::function<void(const Scope &, uint64_t, const CopyTerms &, unsigned)>
      place = [&](const Scope &scope, uint64_t base, const CopyTerms &terms,
                  unsigned depth) {
        for (unsigned i = 0; i < scope.requests.size(); ++i) {
          uint64_t offset = base + scope.offsets[i];
          reportRows.push_back({&scope.requests[i], offset});
          depths.push_back(depth);
          if (scope.allocs[i])
            placed.push_back({scope.allocs[i], offset, terms});
          CopyTerms inner = terms;
          if (scope.copies[i].first)
            inner.push_back(scope.copies[i]);
          for (const std::unique_ptr<Scope> &child : scope.children[i])
            place(*child, offset, inner, depth + 1);
        }
      };
  place(**root, 0, {}, 0);

  // The workspace is the last argument; allocations become views into it.
  MLIRContext *ctx = func.getContext();
  auto wsType = MemRefType::get({static_cast<int64_t>(layout.arenaBytes)},
                                IntegerType::get(ctx, 8));
  unsigned wsIndex = func.getNumArguments();
  if (failed(func.insertArgument(
          wsIndex, wsType,
          DictionaryAttr::get(
              ctx,
              {NamedAttribute(StringAttr::get(ctx, mafat::kWorkspaceArgAttr),
                              UnitAttr::get(ctx))}),
          func.getLoc())))
    return func.emitError("mafat-plan-memory: cannot add the workspace "
                          "argument");
  Value workspace = func.getArgument(wsIndex);
  OpBuilder builder(ctx);
  for (auto &[alloc, offset, terms] : placed) {
    builder.setInsertionPoint(alloc);
    Location loc = alloc.getLoc();
    Value off = arith::ConstantIndexOp::create(builder, loc, offset);
    for (auto [iv, stride] : terms) {
      Value scaled = arith::MulIOp::create(
          builder, loc, iv,
          arith::ConstantIndexOp::create(builder, loc, stride));
      off = arith::AddIOp::create(builder, loc, off, scaled);
    }
    Value view = memref::ViewOp::create(builder, loc, alloc.getType(),
                                        workspace, off, ValueRange{});
    for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
      if (isa<memref::DeallocOp>(user))
        user->erase();
    alloc.replaceAllUsesWith(view);
    alloc.erase();
  }

  auto i64 = IntegerType::get(ctx, 64);
  func->setAttr(mafat::kWorkspaceBytesAttr,
                IntegerAttr::get(i64, layout.arenaBytes));
  func->setAttr(mafat::kWorkspaceAlignAttr, IntegerAttr::get(i64, wsAlign));
  func->setAttr(mafat::kNaiveBytesAttr,
                IntegerAttr::get(i64, layout.naiveBytes));

  if (auto predicted = func->getAttrOfType<IntegerAttr>(
          mafat::kPredictedWorkspaceBytesAttr)) {
    uint64_t value = predicted.getValue().getZExtValue();
    if (value != layout.arenaBytes) {
      InFlightDiagnostic diag =
          verifyPrediction ? func.emitError() : func.emitWarning();
      diag << "mafat-plan-memory: the workspace is " << layout.arenaBytes
           << " bytes but the memory model predicted " << value
           << " (a bug in mafat's memory model; run with report to see the "
              "buffers)";
      if (verifyPrediction)
        return failure();
    }
  }

  if (report) {
    llvm::errs() << "mafat-plan-memory: @" << func.getSymName() << ": "
                 << placed.size() << " buffers, workspace " << layout.arenaBytes
                 << " bytes, naive " << layout.naiveBytes << " bytes\n";
    // Nested scopes are indented under the op that holds them; their live
    // ranges are on that scope's own clock.
    for (auto [row, depth] : llvm::zip(reportRows, depths)) {
      const mafat::BufferRequest &req = *row.first;
      llvm::errs().indent(2 + 2 * depth)
          << llvm::format("[%4lld, %4lld] offset %10llu size %10llu  ",
                          (long long)req.start, (long long)req.end,
                          (unsigned long long)row.second,
                          (unsigned long long)req.size)
          << req.name << "\n";
    }
  }
  return success();
}

} // namespace
