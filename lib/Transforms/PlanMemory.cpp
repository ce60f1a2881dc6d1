//===- PlanMemory.cpp - The static memory planner -------------------------===//
//
// Turns every heap allocation of bufferized IR into a view of one
// caller-provided workspace whose size is known at compile time. Live ranges
// come from the IR; the packing itself is mafat::packBuffers, the same code
// the cost model uses to predict memory, so the two cannot disagree.
//
//===----------------------------------------------------------------------===//

#include "mafat/Support/ArenaPacker.h"
#include "mafat/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"
#include <limits>
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

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
    for (Operation *user : v.getUsers())
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == v)
          for (Value result : user->getResults())
            worklist.push_back(result);
  }
  return aliases;
}

uint64_t bufferBytes(MemRefType type) {
  uint64_t elements = type.getNumElements();
  uint64_t bits = type.getElementTypeBitWidth();
  return elements * ((bits + 7) / 8);
}

struct Buffer {
  memref::AllocOp alloc;
  mafat::BufferRequest request;
};

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
      if (func.isExternal() || func->hasAttr("mafat.workspace_bytes"))
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
  Block &body = func.getBody().front();
  DenseMap<Operation *, int64_t> position;
  for (auto [i, op] : llvm::enumerate(body))
    position[&op] = i;

  SmallVector<Buffer> buffers;
  WalkResult walk = func.walk([&](memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
      alloc.emitError("mafat-plan-memory: cannot plan an allocation of type ")
          << type << " (static shape and identity layout required)";
      return WalkResult::interrupt();
    }
    // The live range runs from the first use to the last use: an
    // allocation's contents mean nothing before the first write, so where
    // bufferization happened to place the alloc does not matter.
    int64_t allocPos = position[ancestorIn(body, alloc)];
    int64_t start = std::numeric_limits<int64_t>::max();
    int64_t end = allocPos;
    for (Value alias : collectAliases(alloc.getResult())) {
      for (Operation *user : alias.getUsers()) {
        if (isa<memref::DeallocOp, ViewLikeOpInterface>(user))
          continue;
        // A buffer allocated in a loop is reused by every iteration; that is
        // only sound if no iteration hands it to the next.
        if (isa<scf::YieldOp, func::ReturnOp>(user) &&
            alloc->getParentOp() != func) {
          alloc.emitError("mafat-plan-memory: a buffer allocated inside a "
                          "region escapes it; cannot give it a fixed place");
          return WalkResult::interrupt();
        }
        if (isa<func::ReturnOp>(user)) {
          alloc.emitError("mafat-plan-memory: a returned buffer cannot live "
                          "in the workspace; run buffer-results-to-out-params "
                          "first");
          return WalkResult::interrupt();
        }
        int64_t pos = position[ancestorIn(body, user)];
        start = std::min(start, pos);
        end = std::max(end, pos);
      }
    }
    if (start > end)
      start = end = allocPos; // Never used: a point interval.
    Buffer buffer;
    buffer.alloc = alloc;
    buffer.request.size = bufferBytes(type);
    buffer.request.alignment =
        std::max<uint64_t>(alignment, alloc.getAlignment().value_or(1));
    buffer.request.start = start;
    buffer.request.end = end;
    std::string name;
    llvm::raw_string_ostream os(name);
    alloc.getLoc().print(os);
    buffer.request.name = name;
    buffers.push_back(buffer);
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  std::vector<mafat::BufferRequest> requests;
  for (const Buffer &b : buffers)
    requests.push_back(b.request);
  // The workspace must be aligned for its most demanding buffer.
  uint64_t wsAlign = alignment;
  for (const mafat::BufferRequest &r : requests)
    wsAlign = std::max(wsAlign, r.alignment);
  mafat::ArenaLayout layout = mafat::packBuffers(requests, wsAlign);
  if (std::string error = mafat::verifyLayout(requests, layout);
      !error.empty())
    return func.emitError("mafat-plan-memory: internal packing error: ")
           << error;

  // The workspace is the last argument; allocations become views into it.
  MLIRContext *ctx = func.getContext();
  auto wsType = MemRefType::get({static_cast<int64_t>(layout.arenaBytes)},
                                IntegerType::get(ctx, 8));
  unsigned wsIndex = func.getNumArguments();
  if (failed(func.insertArgument(
          wsIndex, wsType,
          DictionaryAttr::get(ctx, {NamedAttribute(
                                       StringAttr::get(ctx, "mafat.workspace"),
                                       UnitAttr::get(ctx))}),
          func.getLoc())))
    return func.emitError("mafat-plan-memory: cannot add the workspace "
                          "argument");
  Value workspace = func.getArgument(wsIndex);
  OpBuilder builder(ctx);
  for (auto [buffer, offset] : llvm::zip(buffers, layout.offsets)) {
    memref::AllocOp alloc = buffer.alloc;
    builder.setInsertionPoint(alloc);
    Value off =
        arith::ConstantIndexOp::create(builder, alloc.getLoc(), offset);
    Value view = memref::ViewOp::create(builder, alloc.getLoc(),
                                        alloc.getType(), workspace, off,
                                        ValueRange{});
    for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
      if (isa<memref::DeallocOp>(user))
        user->erase();
    alloc.replaceAllUsesWith(view);
    alloc.erase();
  }

  auto i64 = IntegerType::get(ctx, 64);
  func->setAttr("mafat.workspace_bytes",
                IntegerAttr::get(i64, layout.arenaBytes));
  func->setAttr("mafat.workspace_align", IntegerAttr::get(i64, wsAlign));
  func->setAttr("mafat.naive_bytes", IntegerAttr::get(i64, layout.naiveBytes));

  if (report) {
    llvm::errs() << "mafat-plan-memory: @" << func.getSymName() << ": "
                 << buffers.size() << " buffers, workspace "
                 << layout.arenaBytes << " bytes, naive " << layout.naiveBytes
                 << " bytes\n";
    for (auto [req, offset] : llvm::zip(requests, layout.offsets))
      llvm::errs() << llvm::format("  [%4lld, %4lld] offset %10llu size "
                                   "%10llu  ",
                                   (long long)req.start, (long long)req.end,
                                   (unsigned long long)offset,
                                   (unsigned long long)req.size)
                   << req.name << "\n";
  }
  return success();
}

} // namespace
