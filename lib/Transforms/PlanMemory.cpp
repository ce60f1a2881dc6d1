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

#include <limits>
#include <memory>

namespace mafat {
#define GEN_PASS_DEF_MAFATPLANMEMORY
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

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

/// What the function's allocations ask of the workspace as a whole.
struct AllocationSummary {
  /// The workspace must be aligned for its most demanding buffer; every
  /// scope is packed with that alignment so nested arenas stay aligned.
  uint64_t wsAlign;
  /// Every buffer in a place of its own, for the report and the attribute.
  uint64_t naiveBytes;
};

/// The workspace alignment and naive size. Fails on the first allocation
/// that is not a static, identity-layout memref, before anything is packed
/// or rewritten.
FailureOr<AllocationSummary> checkAllocations(func::FuncOp func,
                                              uint64_t alignment) {
  AllocationSummary summary{alignment, 0};
  WalkResult types = func.walk([&](memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
      alloc.emitError("mafat-plan-memory: cannot plan an allocation of type ")
          << type << " (static shape and identity layout required)";
      return WalkResult::interrupt();
    }
    uint64_t align =
        std::max<uint64_t>(alignment, alloc.getAlignment().value_or(1));
    summary.wsAlign = std::max(summary.wsAlign, align);
    summary.naiveBytes += llvm::alignTo(bufferBytes(type), align);
    return WalkResult::advance();
  });
  if (types.wasInterrupted())
    return failure();
  return summary;
}

/// A request's name in the report: where its op is.
std::string locationName(Location loc, StringRef prefix = "") {
  std::string name = prefix.str();
  llvm::raw_string_ostream os(name);
  loc.print(os);
  return name;
}

/// Packs a function's blocks into scopes, innermost first (see Scope).
class ScopePacker {
public:
  ScopePacker(func::FuncOp func, uint64_t wsAlign)
      : func(func), wsAlign(wsAlign) {}

  /// The packed scope of `block` and, through its requests, of every block
  /// nested in it; fails with a diagnostic on the first buffer that cannot
  /// have a fixed place.
  FailureOr<std::unique_ptr<Scope>> packScope(Block *block);

private:
  /// Positions of a block's ops: the clock its live ranges are measured on.
  using Clock = DenseMap<Operation *, int64_t>;

  /// Adds `alloc`, live from its first use to its last on `block`'s clock.
  LogicalResult addAllocation(Scope &scope, Block *block, const Clock &clock,
                              memref::AllocOp alloc);
  /// Adds op, whose regions allocate, as one buffer holding its regions'
  /// packed blocks (one copy per iteration for an scf.forall).
  LogicalResult addRegionOp(Scope &scope, const Clock &clock, Operation &op);
  /// Sets the offsets and arena of `scope` from mafat::packBuffers, the
  /// memory model's own packing; its layout is verified, not trusted.
  LogicalResult pack(Scope &scope);

  func::FuncOp func;
  uint64_t wsAlign;
};

FailureOr<std::unique_ptr<Scope>> ScopePacker::packScope(Block *block) {
  auto scope = std::make_unique<Scope>();
  Clock clock;
  for (auto [i, op] : llvm::enumerate(*block))
    clock[&op] = i;
  for (Operation &op : *block) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      if (failed(addAllocation(*scope, block, clock, alloc)))
        return failure();
      continue;
    }
    if (op.getNumRegions() == 0)
      continue;
    bool allocates = false;
    op.walk([&](memref::AllocOp) {
      allocates = true;
      return WalkResult::interrupt();
    });
    if (allocates && failed(addRegionOp(*scope, clock, op)))
      return failure();
  }
  if (failed(pack(*scope)))
    return failure();
  return scope;
}

LogicalResult ScopePacker::addAllocation(Scope &scope, Block *block,
                                         const Clock &clock,
                                         memref::AllocOp alloc) {
  // The live range runs from the first use to the last use: an allocation's
  // contents mean nothing before the first write, so where bufferization
  // happened to place the alloc does not matter.
  int64_t allocPos = clock.lookup(alloc.getOperation());
  int64_t start = std::numeric_limits<int64_t>::max();
  int64_t end = allocPos;
  for (Value alias : collectAliases(alloc.getResult())) {
    for (Operation *user : alias.getUsers()) {
      if (isa<memref::DeallocOp, ViewLikeOpInterface>(user))
        continue;
      // A buffer allocated in a region is reused by every execution of it;
      // only sound if none hands it on.
      if (isa<scf::YieldOp, func::ReturnOp>(user) &&
          alloc->getParentOp() != func)
        return alloc.emitError("mafat-plan-memory: a buffer allocated inside "
                               "a region escapes it; cannot give it a fixed "
                               "place");
      if (isa<func::ReturnOp>(user))
        return alloc.emitError(
            "mafat-plan-memory: a returned buffer cannot live in the "
            "workspace; run buffer-results-to-out-params first");
      Operation *ancestor = block->findAncestorOpInBlock(*user);
      if (!ancestor)
        return alloc.emitError("mafat-plan-memory: a buffer is used outside "
                               "the region it is allocated in");
      int64_t pos = clock.lookup(ancestor);
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
  request.name = locationName(alloc.getLoc());
  scope.requests.push_back(request);
  scope.allocs.push_back(alloc);
  scope.children.emplace_back();
  scope.copies.push_back({Value(), 0});
  return success();
}

LogicalResult ScopePacker::addRegionOp(Scope &scope, const Clock &clock,
                                       Operation &op) {
  // The blocks of one op's regions run one at a time: they share one place
  // in the parent's arena, as large as the largest of them.
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
  // The iterations of an scf.forall (a fused group's slots) may run at once:
  // each gets its own copy of the body's arena, at iv * stride.
  std::pair<Value, uint64_t> copies = {Value(), 0};
  if (auto forall = dyn_cast<scf::ForallOp>(op)) {
    auto constant = [](ArrayRef<OpFoldResult> values) {
      return values.size() == 1 ? getConstantIntValue(values[0]) : std::nullopt;
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
  request.start = request.end = clock.lookup(&op);
  request.name =
      locationName(op.getLoc(), (op.getName().getStringRef() + " at ").str());
  scope.requests.push_back(request);
  scope.allocs.push_back(nullptr);
  scope.children.push_back(std::move(inner));
  scope.copies.push_back(copies);
  return success();
}

LogicalResult ScopePacker::pack(Scope &scope) {
  std::vector<mafat::BufferRequest> requests(scope.requests.begin(),
                                             scope.requests.end());
  mafat::ArenaLayout layout = mafat::packBuffers(requests, wsAlign);
  if (std::string error = mafat::verifyLayout(requests, layout); !error.empty())
    return func.emitError("mafat-plan-memory: internal packing error: ")
           << error;
  scope.offsets.assign(layout.offsets.begin(), layout.offsets.end());
  scope.arena = layout.arenaBytes;
  return success();
}

/// The iv * stride terms of the scf.foralls a buffer is nested in.
using CopyTerms = SmallVector<std::pair<Value, uint64_t>, 1>;

/// An allocation's offset: a constant plus, inside foralls, iv * stride.
struct PlacedAlloc {
  memref::AllocOp alloc;
  uint64_t offset;
  CopyTerms terms;
};

/// One report line: a request at its workspace offset, indented by depth.
struct ReportRow {
  const mafat::BufferRequest *request;
  uint64_t offset;
  unsigned depth;
};

/// Where everything of a packed function goes in the workspace.
struct Placement {
  SmallVector<PlacedAlloc> allocs;
  /// Every request of every scope, each scope's rows after its holder's.
  SmallVector<ReportRow> rows;
};

/// Gives the requests of `scope`, whose arena starts at `base`, their
/// workspace offsets, and so on down its children.
void placeScope(const Scope &scope, uint64_t base, const CopyTerms &terms,
                unsigned depth, Placement &placement) {
  for (unsigned i = 0; i < scope.requests.size(); ++i) {
    uint64_t offset = base + scope.offsets[i];
    placement.rows.push_back({&scope.requests[i], offset, depth});
    if (scope.allocs[i])
      placement.allocs.push_back({scope.allocs[i], offset, terms});
    CopyTerms inner = terms;
    if (scope.copies[i].first)
      inner.push_back(scope.copies[i]);
    for (const std::unique_ptr<Scope> &child : scope.children[i])
      placeScope(*child, offset, inner, depth + 1, placement);
  }
}

/// The placement of the function's root scope; its rows point into `root`.
Placement placeScopes(const Scope &root) {
  Placement placement;
  placeScope(root, 0, {}, 0, placement);
  return placement;
}

/// Adds the workspace as the function's last argument and turns every placed
/// allocation into a view of it (its deallocs go: the caller owns the
/// workspace).
LogicalResult replaceAllocations(func::FuncOp func, uint64_t arenaBytes,
                                 ArrayRef<PlacedAlloc> placed) {
  MLIRContext *ctx = func.getContext();
  auto wsType = MemRefType::get({static_cast<int64_t>(arenaBytes)},
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
  for (const PlacedAlloc &p : placed) {
    memref::AllocOp alloc = p.alloc;
    builder.setInsertionPoint(alloc);
    Location loc = alloc.getLoc();
    Value off = arith::ConstantIndexOp::create(builder, loc, p.offset);
    for (auto [iv, stride] : p.terms) {
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
  return success();
}

/// The attributes the runtime and mafat-compile read off a planned function;
/// the workspace bytes also mark it as planned.
void setWorkspaceAttrs(func::FuncOp func, uint64_t arenaBytes,
                       const AllocationSummary &summary) {
  auto i64 = IntegerType::get(func.getContext(), 64);
  func->setAttr(mafat::kWorkspaceBytesAttr, IntegerAttr::get(i64, arenaBytes));
  func->setAttr(mafat::kWorkspaceAlignAttr,
                IntegerAttr::get(i64, summary.wsAlign));
  func->setAttr(mafat::kNaiveBytesAttr,
                IntegerAttr::get(i64, summary.naiveBytes));
}

/// The arena must be what the memory model predicted, if it predicted one: a
/// difference is a bug in the model, an error with `verifyPrediction` and a
/// warning otherwise.
LogicalResult checkPrediction(func::FuncOp func, uint64_t arenaBytes,
                              bool verifyPrediction) {
  auto predicted =
      func->getAttrOfType<IntegerAttr>(mafat::kPredictedWorkspaceBytesAttr);
  if (!predicted)
    return success();
  uint64_t value = predicted.getValue().getZExtValue();
  if (value == arenaBytes)
    return success();
  InFlightDiagnostic diag =
      verifyPrediction ? func.emitError() : func.emitWarning();
  diag << "mafat-plan-memory: the workspace is " << arenaBytes
       << " bytes but the memory model predicted " << value
       << " (a bug in mafat's memory model; run with report to see the "
          "buffers)";
  return failure(verifyPrediction);
}

/// The `report` option: every request, allocation or region op, with its
/// live range, workspace offset and size.
void printReport(func::FuncOp func, const Placement &placement,
                 uint64_t arenaBytes, uint64_t naiveBytes) {
  llvm::errs() << "mafat-plan-memory: @" << func.getSymName() << ": "
               << placement.allocs.size() << " buffers, workspace "
               << arenaBytes << " bytes, naive " << naiveBytes << " bytes\n";
  // Nested scopes are indented under the op that holds them; their live
  // ranges are on that scope's own clock.
  for (const ReportRow &row : placement.rows) {
    const mafat::BufferRequest &req = *row.request;
    llvm::errs().indent(2 + 2 * row.depth)
        << llvm::format("[%4lld, %4lld] offset %10llu size %10llu  ",
                        (long long)req.start, (long long)req.end,
                        (unsigned long long)row.offset,
                        (unsigned long long)req.size)
        << req.name << "\n";
  }
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

LogicalResult MafatPlanMemoryPass::planFunction(func::FuncOp func) {
  FailureOr<AllocationSummary> summary = checkAllocations(func, alignment);
  if (failed(summary))
    return failure();
  FailureOr<std::unique_ptr<Scope>> root =
      ScopePacker(func, summary->wsAlign).packScope(&func.getBody().front());
  if (failed(root))
    return failure();
  uint64_t arenaBytes = (*root)->arena;
  Placement placement = placeScopes(**root);
  if (failed(replaceAllocations(func, arenaBytes, placement.allocs)))
    return failure();
  setWorkspaceAttrs(func, arenaBytes, *summary);
  if (failed(checkPrediction(func, arenaBytes, verifyPrediction)))
    return failure();
  if (report)
    printReport(func, placement, arenaBytes, summary->naiveBytes);
  return success();
}

} // namespace
