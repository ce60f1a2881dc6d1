//===- OutlineParallel.cpp - scf.forall -> tasks for the caller's threads -===//
//
// Upstream lowers scf.forall/scf.parallel either to serial loops or to the
// async runtime (async-parallel-for), which creates its own threads and
// allocates; mafat's generated code may do neither. So each forall becomes
// a task function and a launch the caller's parallel-for runs
// (mafat/runtime.h). The launch stays an opaque call until the LLVM
// dialect (mafat-lower-parallel-launch), where every captured value has its
// final type and can be stored in a context struct.
//
//===----------------------------------------------------------------------===//

#include "mafat/Dialect/Mafat/AttrNames.h"
#include "mafat/Transforms/Parallel.h"
#include "mafat/Transforms/Passes.h"

#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATOUTLINEPARALLEL
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

/// Ops recomputed inside a task rather than passed to it: constants, index
/// arithmetic and views, whose operands are then needed instead.
bool isRematerializable(Operation *op) {
  if (op->getNumRegions() != 0 || op->getNumResults() != 1)
    return false;
  if (op->hasTrait<OpTrait::ConstantLike>())
    return true;
  return isa<memref::ViewOp, memref::SubViewOp, memref::ReinterpretCastOp,
             memref::CastOp, memref::GetGlobalOp, memref::ExpandShapeOp,
             memref::CollapseShapeOp, arith::AddIOp, arith::SubIOp,
             arith::MulIOp, arith::IndexCastOp, affine::AffineApplyOp,
             affine::AffineMinOp, affine::AffineMaxOp>(op);
}

/// Memrefs the bare-pointer calling convention passes as one pointer.
bool isBarePointerMemRef(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.hasStaticShape() && memref.getLayout().isIdentity();
}

/// What a task receives, and how the call site produces each argument.
struct TaskSignature {
  /// Values of the enclosing function passed as they are.
  SmallVector<Value> direct;
  /// Strided memrefs passed as base pointer, offset, sizes and strides.
  SmallVector<Value> strided;
  /// Ops recomputed in the task, in an order that respects their operands.
  SetVector<Operation *> recomputed;
};

TaskSignature analyzeCaptures(scf::ForallOp forall) {
  SetVector<Value> needed;
  getUsedValuesDefinedAbove(forall.getRegion(), needed);
  for (OpFoldResult bound : llvm::concat<OpFoldResult>(
           forall.getMixedLowerBound(), forall.getMixedStep()))
    if (auto value = dyn_cast<Value>(bound))
      needed.insert(value);
  TaskSignature sig;
  SetVector<Value> passed;
  SmallVector<Value> worklist(needed.begin(), needed.end());
  llvm::SmallPtrSet<Value, 16> seen;
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    Operation *def = v.getDefiningOp();
    if (def && isRematerializable(def)) {
      sig.recomputed.insert(def);
      llvm::append_range(worklist, def->getOperands());
      continue;
    }
    passed.insert(v);
  }
  for (Value v : passed) {
    if (isa<MemRefType>(v.getType()) && !isBarePointerMemRef(v.getType()))
      sig.strided.push_back(v);
    else
      sig.direct.push_back(v);
  }
  sig.recomputed = topologicalSort(sig.recomputed);
  return sig;
}

/// Appends to `args` (call site) and `types` (task) what passing `value`
/// as base, offset, sizes and strides takes; only the dynamic parts of the
/// layout are passed.
void passStrided(OpBuilder &b, Location loc, Value value,
                 SmallVectorImpl<Value> &args, SmallVectorImpl<Type> &types) {
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, value);
  auto type = cast<MemRefType>(value.getType());
  auto [strides, offset] = type.getStridesAndOffset();
  args.push_back(meta.getBaseBuffer());
  types.push_back(meta.getBaseBuffer().getType());
  auto add = [&](Value v) {
    args.push_back(v);
    types.push_back(b.getIndexType());
  };
  if (ShapedType::isDynamic(offset))
    add(meta.getOffset());
  for (auto [i, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      add(meta.getSizes()[i]);
  for (auto [i, stride] : llvm::enumerate(strides))
    if (ShapedType::isDynamic(stride))
      add(meta.getStrides()[i]);
}

/// Rebuilds a strided memref of `type` in the task from the arguments
/// passStrided produced, starting at `*next`.
Value rebuildStrided(OpBuilder &b, Location loc, MemRefType type,
                     ValueRange taskArgs, unsigned *next) {
  Value base = taskArgs[(*next)++];
  auto [strides, offset] = type.getStridesAndOffset();
  auto get = [&](int64_t stat) -> OpFoldResult {
    if (ShapedType::isDynamic(stat))
      return taskArgs[(*next)++];
    return b.getIndexAttr(stat);
  };
  OpFoldResult off = get(offset);
  SmallVector<OpFoldResult> sizes, strideFolds;
  for (int64_t size : type.getShape())
    sizes.push_back(get(size));
  for (int64_t stride : strides)
    strideFolds.push_back(get(stride));
  return memref::ReinterpretCastOp::create(b, loc, type, base, off, sizes,
                                           strideFolds);
}

Value toValue(OpBuilder &b, Location loc, OpFoldResult fold,
              const IRMapping &map) {
  if (auto v = dyn_cast<Value>(fold))
    return map.lookupOrDefault(v);
  return arith::ConstantIndexOp::create(
      b, loc, cast<IntegerAttr>(cast<Attribute>(fold)).getInt());
}

/// Outlines `forall` (1-D, no results) into a task and replaces it with a
/// launch through `parallel`.
LogicalResult outline(scf::ForallOp forall, Value parallel, StringRef name,
                      SymbolTable &symbols, RewriterBase &rewriter) {
  if (forall.getRank() != 1 || forall.getNumResults() != 0)
    return forall.emitError("mafat-outline-parallel: only 1-D scf.forall "
                            "without results can run as a task");
  MLIRContext *ctx = forall.getContext();
  Location loc = forall.getLoc();
  TaskSignature sig = analyzeCaptures(forall);

  // The call site: iteration count and arguments.
  rewriter.setInsertionPoint(forall);
  SmallVector<Value> callArgs;
  SmallVector<Type> paramTypes;
  for (Value v : sig.direct) {
    callArgs.push_back(v);
    paramTypes.push_back(v.getType());
  }
  for (Value v : sig.strided)
    passStrided(rewriter, loc, v, callArgs, paramTypes);
  IRMapping outer;
  Value lb = toValue(rewriter, loc, forall.getMixedLowerBound()[0], outer);
  Value ub = toValue(rewriter, loc, forall.getMixedUpperBound()[0], outer);
  Value step = toValue(rewriter, loc, forall.getMixedStep()[0], outer);
  // ceildiv(ub - lb, step) for a positive step.
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value span = arith::SubIOp::create(rewriter, loc, ub, lb);
  Value count = arith::DivUIOp::create(
      rewriter, loc,
      arith::AddIOp::create(rewriter, loc, span,
                            arith::SubIOp::create(rewriter, loc, step, one)),
      step);

  // The task: one iteration.
  SmallVector<Type> taskTypes{rewriter.getIndexType()};
  llvm::append_range(taskTypes, paramTypes);
  auto task = func::FuncOp::create(loc, name,
                                   FunctionType::get(ctx, taskTypes, {}));
  task.setPrivate();
  symbols.insert(task, std::next(Block::iterator(
                           forall->getParentOfType<func::FuncOp>())));
  Block *entry = task.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockBegin(entry);
  IRMapping map;
  unsigned next = 1;
  for (Value v : sig.direct)
    map.map(v, entry->getArgument(next++));
  for (Value v : sig.strided)
    map.map(v, rebuildStrided(b, loc, cast<MemRefType>(v.getType()),
                              entry->getArguments(), &next));
  for (Operation *op : sig.recomputed)
    b.clone(*op, map);
  Value taskLb = toValue(b, loc, forall.getMixedLowerBound()[0], map);
  Value taskStep = toValue(b, loc, forall.getMixedStep()[0], map);
  Value iv = arith::AddIOp::create(
      b, loc, taskLb,
      arith::MulIOp::create(b, loc, entry->getArgument(0), taskStep));
  map.map(forall.getInductionVar(0), iv);
  for (Operation &op : forall.getBody()->without_terminator())
    b.clone(op, map);
  func::ReturnOp::create(b, loc);

  // The launch: an opaque call until the LLVM dialect.
  SmallVector<Type> launchTypes{LLVM::LLVMPointerType::get(ctx),
                                rewriter.getIndexType()};
  llvm::append_range(launchTypes, paramTypes);
  auto launch = func::FuncOp::create(
      loc, (task.getSymName() + "_launch").str(),
      FunctionType::get(ctx, launchTypes, {}));
  launch.setPrivate();
  launch->setAttr(mafat::kLaunchBodyAttr,
                  FlatSymbolRefAttr::get(task.getSymNameAttr()));
  symbols.insert(launch, std::next(Block::iterator(task)));
  SmallVector<Value> operands{parallel, count};
  llvm::append_range(operands, callArgs);
  func::CallOp::create(rewriter, loc, launch, operands);
  rewriter.eraseOp(forall);
  return success();
}

struct MafatOutlineParallelPass
    : public mafat::impl::MafatOutlineParallelBase<MafatOutlineParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SymbolTable symbols(module);
    IRRewriter rewriter(ctx);
    for (func::FuncOp func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal() || !func->hasAttr(mafat::kWorkspaceBytesAttr))
        continue;
      // The ABI: every planned function takes the caller's parallel-for
      // last, whether or not it launches anything.
      unsigned index = func.getNumArguments();
      if (failed(func.insertArgument(
              index, LLVM::LLVMPointerType::get(ctx),
              DictionaryAttr::get(ctx, {NamedAttribute(
                                           StringAttr::get(
                                               ctx, mafat::kParallelArgAttr),
                                           UnitAttr::get(ctx))}),
              func.getLoc()))) {
        func.emitError("mafat-outline-parallel: cannot add the parallel "
                       "argument");
        return signalPassFailure();
      }
      Value parallel = func.getArgument(index);
      SmallVector<scf::ForallOp> outermost;
      func.walk<WalkOrder::PreOrder>([&](scf::ForallOp forall) {
        outermost.push_back(forall);
        return WalkResult::skip();
      });
      for (auto [k, forall] : llvm::enumerate(outermost))
        if (failed(outline(forall, parallel,
                           (func.getSymName() + "_task" + Twine(k)).str(),
                           symbols, rewriter)))
          return signalPassFailure();
    }
    // What is left (nested, or in functions without a parallel-for) runs
    // serially.
    SmallVector<scf::ForallOp> rest;
    module.walk([&](scf::ForallOp forall) { rest.push_back(forall); });
    for (scf::ForallOp forall : rest) { // Inner ones first.
      rewriter.setInsertionPoint(forall);
      if (failed(scf::forallToForLoop(rewriter, forall)))
        return signalPassFailure();
    }
  }
};

} // namespace
