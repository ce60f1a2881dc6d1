//===- LowerParallelLaunch.cpp - Task launches -> the caller's parallel-for ===//
//
// The last step of mafat's parallel forms, on the LLVM dialect: only here
// do the captured values have the types a C struct can hold. The ABI is
// mafat_parallel_t in mafat/runtime.h:
//
//   struct { void (*parallel_for)(void *pool, int64_t n,
//                                 void (*task)(void *, int64_t, int64_t),
//                                 void *ctx);
//            void *pool; }
//
//===----------------------------------------------------------------------===//

#include "mafat/Transforms/Parallel.h"
#include "mafat/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATLOWERPARALLELLAUNCH
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kDispatchName = "__mafat_parallel_for";

/// void __mafat_parallel_for(const mafat_parallel_t *p, i64 n,
///                           void (*task)(void *, i64, i64), void *ctx):
/// p->parallel_for(p->pool, n, task, ctx), or task(ctx, 0, n) inline when
/// there is no parallel-for or nothing to split.
LLVM::LLVMFuncOp buildDispatch(ModuleOp module, OpBuilder &b) {
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(kDispatchName))
    return existing;
  MLIRContext *ctx = module.getContext();
  Location loc = module.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  auto voidTy = LLVM::LLVMVoidType::get(ctx);
  auto taskType = LLVM::LLVMFunctionType::get(voidTy, {ptr, i64, i64});
  auto forType = LLVM::LLVMFunctionType::get(voidTy, {ptr, i64, ptr, ptr});
  b.setInsertionPointToEnd(module.getBody());
  auto fn = LLVM::LLVMFuncOp::create(
      b, loc, kDispatchName,
      LLVM::LLVMFunctionType::get(voidTy, {ptr, i64, ptr, ptr}),
      LLVM::Linkage::Internal);
  Block *entry = fn.addEntryBlock(b);
  Block *check = new Block(), *split = new Block(), *serial = new Block();
  fn.getBody().push_back(check);
  fn.getBody().push_back(split);
  fn.getBody().push_back(serial);
  Value par = entry->getArgument(0), n = entry->getArgument(1),
        task = entry->getArgument(2), taskCtx = entry->getArgument(3);

  b.setInsertionPointToEnd(entry);
  Value null = LLVM::ZeroOp::create(b, loc, ptr);
  Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
  Value noPool = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, par,
                                      null);
  Value small = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::sle, n, one);
  LLVM::CondBrOp::create(b, loc, LLVM::OrOp::create(b, loc, noPool, small),
                         serial, check);

  b.setInsertionPointToEnd(check);
  Value forFn = LLVM::LoadOp::create(b, loc, ptr, par);
  Value noFor = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, forFn,
                                     null);
  LLVM::CondBrOp::create(b, loc, noFor, serial, split);

  b.setInsertionPointToEnd(split);
  Value poolAddr = LLVM::GEPOp::create(b, loc, ptr, ptr, par,
                                       ArrayRef<LLVM::GEPArg>{1});
  Value pool = LLVM::LoadOp::create(b, loc, ptr, poolAddr);
  LLVM::CallOp::create(b, loc, forType,
                       ValueRange{forFn, pool, n, task, taskCtx});
  LLVM::ReturnOp::create(b, loc, ValueRange{});

  b.setInsertionPointToEnd(serial);
  Value zero = LLVM::ConstantOp::create(b, loc, i64, 0);
  LLVM::CallOp::create(b, loc, taskType, ValueRange{task, taskCtx, zero, n});
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return fn;
}

/// void <body>_run(void *ctx, i64 begin, i64 end): loads the captured
/// values from the context struct and runs iterations [begin, end).
LLVM::LLVMFuncOp buildTaskRunner(ModuleOp module, LLVM::LLVMFuncOp body,
                                 LLVM::LLVMStructType context, OpBuilder &b) {
  MLIRContext *ctx = module.getContext();
  Location loc = body.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  auto voidTy = LLVM::LLVMVoidType::get(ctx);
  b.setInsertionPointAfter(body);
  auto fn = LLVM::LLVMFuncOp::create(
      b, loc, (body.getSymName() + "_run").str(),
      LLVM::LLVMFunctionType::get(voidTy, {ptr, i64, i64}),
      LLVM::Linkage::Internal);
  Block *entry = fn.addEntryBlock(b);
  Block *header = new Block(), *loop = new Block(), *exit = new Block();
  fn.getBody().push_back(header);
  fn.getBody().push_back(loop);
  fn.getBody().push_back(exit);
  Value iv = header->addArgument(i64, loc);

  b.setInsertionPointToEnd(entry);
  SmallVector<Value> captured;
  for (auto [k, type] : llvm::enumerate(context.getBody())) {
    Value addr = LLVM::GEPOp::create(
        b, loc, ptr, context, entry->getArgument(0),
        ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(k)});
    captured.push_back(LLVM::LoadOp::create(b, loc, type, addr));
  }
  LLVM::BrOp::create(b, loc, ValueRange{entry->getArgument(1)}, header);

  b.setInsertionPointToEnd(header);
  Value more = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, iv,
                                    entry->getArgument(2));
  LLVM::CondBrOp::create(b, loc, more, loop, exit);

  b.setInsertionPointToEnd(loop);
  SmallVector<Value> args{iv};
  llvm::append_range(args, captured);
  LLVM::CallOp::create(b, loc, body, args);
  Value step = LLVM::ConstantOp::create(b, loc, i64, 1);
  LLVM::BrOp::create(b, loc, ValueRange{LLVM::AddOp::create(b, loc, iv, step)},
                     header);

  b.setInsertionPointToEnd(exit);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return fn;
}

struct MafatLowerParallelLaunchPass
    : public mafat::impl::MafatLowerParallelLaunchBase<
          MafatLowerParallelLaunchPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);

    SmallVector<LLVM::LLVMFuncOp> launches;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (fn->hasAttr(mafat::kLaunchBodyAttr))
        launches.push_back(fn);
    if (launches.empty())
      return;
    LLVM::LLVMFuncOp dispatch = buildDispatch(module, b);

    for (LLVM::LLVMFuncOp launch : launches) {
      auto bodyRef = launch->getAttrOfType<FlatSymbolRefAttr>(
          mafat::kLaunchBodyAttr);
      auto body = bodyRef ? module.lookupSymbol<LLVM::LLVMFuncOp>(bodyRef)
                          : LLVM::LLVMFuncOp();
      ArrayRef<Type> params = launch.getFunctionType().getParams();
      if (!body || params.size() < 2 || params[0] != ptr ||
          params[1] != i64) {
        launch.emitError("mafat-lower-parallel-launch: malformed launch "
                         "declaration (expected (ptr, i64, captured...) and "
                         "an existing task)");
        return signalPassFailure();
      }
      // Only its runner calls the task: internal, so LLVM inlines it there.
      body.setLinkage(LLVM::Linkage::Internal);
      body->removeAttr("sym_visibility");
      auto context =
          LLVM::LLVMStructType::getLiteral(ctx, params.drop_front(2));
      LLVM::LLVMFuncOp runner = buildTaskRunner(module, body, context, b);

      std::optional<SymbolTable::UseRange> uses =
          SymbolTable::getSymbolUses(launch, module);
      SmallVector<LLVM::CallOp> calls;
      for (const SymbolTable::SymbolUse &use : *uses)
        if (auto call = dyn_cast<LLVM::CallOp>(use.getUser()))
          calls.push_back(call);
      for (LLVM::CallOp call : calls) {
        Location loc = call.getLoc();
        auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
        // One context per launch site, in the caller's frame (entry block,
        // so a launch inside a loop does not grow the stack).
        b.setInsertionPointToStart(&caller.getBody().front());
        Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
        Value slot = LLVM::AllocaOp::create(b, loc, ptr, context, one);
        b.setInsertionPoint(call);
        ValueRange operands = call.getArgOperands();
        for (auto [k, value] : llvm::enumerate(operands.drop_front(2))) {
          Value addr = LLVM::GEPOp::create(
              b, loc, ptr, context, slot,
              ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(k)});
          LLVM::StoreOp::create(b, loc, value, addr);
        }
        Value runnerAddr = LLVM::AddressOfOp::create(b, loc, runner);
        LLVM::CallOp::create(
            b, loc, dispatch,
            ValueRange{operands[0], operands[1], runnerAddr, slot});
        call.erase();
      }
      launch.erase();
    }
  }
};

} // namespace
