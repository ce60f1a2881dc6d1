//===- CodeGen.cpp - LLVM dialect to native objects -----------------------===//
//
// Code generation goes through the LLVM C++ API (TargetMachine), never
// through a textual round trip: mafat-compile is one process from MLIR to an
// object. Only the final link is delegated to the LLVM 22 toolchain.
//
//===----------------------------------------------------------------------===//

#include "mafat/Target/CodeGen.h"

#include "mafat/runtime.h"

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/LEB128.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace mafat {

/// Per-function attributes every generated function gets: the CPU, and on
/// AVX-512 the vector width, or X86 splits 512-bit vectors in two on CPUs
/// that prefer 256-bit (Zen 4/5, Skylake-X).
static void setTargetAttributes(llvm::Function &fn, const TargetSpec &target) {
  fn.addFnAttr("target-cpu", target.cpu);
  if (!target.features.empty())
    fn.addFnAttr("target-features", target.features);
  fn.addFnAttr(llvm::Attribute::NoUnwind);
  // Self-contained code: loops must not become calls of libc's memset or
  // memcpy (the loop of a parallel task over a dynamic range would).
  fn.addFnAttr("no-builtins");
  if (target.threadSanitizer)
    fn.addFnAttr(llvm::Attribute::SanitizeThread);
  if (target.vectorBits == 512) {
    fn.addFnAttr("min-legal-vector-width", "512");
    fn.addFnAttr("prefer-vector-width", "512");
  }
}

static void setTargetOf(llvm::Module &module, const TargetSpec &target) {
  module.setTargetTriple(llvm::Triple(llvm::Triple::normalize(target.triple)));
  module.setDataLayout(target.machine->createDataLayout());
}

/// mafat's own attributes (the plan, the workspace marker) are compile-time
/// metadata, read before translation; the LLVM IR exporter would warn about
/// every one of them.
static void dropMafatAttributes(ModuleOp module) {
  auto isMafat = [](NamedAttribute attr) {
    return attr.getName().strref().starts_with("mafat.");
  };
  auto strip = [&](Operation *op) {
    for (NamedAttribute attr : llvm::to_vector(op->getDiscardableAttrs()))
      if (isMafat(attr))
        op->removeDiscardableAttr(attr.getName());
  };
  strip(module);
  module.walk([&](FunctionOpInterface fn) {
    strip(fn);
    for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
      for (NamedAttribute attr : llvm::to_vector(fn.getArgAttrs(i)))
        if (isMafat(attr))
          fn.removeArgAttr(i, attr.getName());
  });
}

std::unique_ptr<llvm::Module> translateModel(ModuleOp module,
                                             const ModelInterface &model,
                                             TargetSpec &target,
                                             llvm::LLVMContext &context) {
  dropMafatAttributes(module);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, model.name);
  if (!llvmModule) {
    module.emitError("failed to translate the lowered model to LLVM IR");
    return nullptr;
  }
  setTargetOf(*llvmModule, target);

  llvm::Function *impl = llvmModule->getFunction(model.entry);
  // Inputs, outputs, workspace, parallel-for.
  size_t numParams = model.inputs.size() + model.outputs.size() + 2;
  size_t wsIndex = numParams - 2;
  if (!impl || impl->arg_size() != numParams) {
    module.emitError() << "lowered entry '" << model.entry
                       << "' does not have the expected " << numParams
                       << " pointer parameters (inputs, outputs, workspace, "
                          "parallel)";
    return nullptr;
  }
  // The typed entry point takes the public name; the body becomes internal
  // so LLVM may inline it there.
  impl->setName(model.name + "_impl");
  impl->setLinkage(llvm::GlobalValue::InternalLinkage);

  llvm::IRBuilder<> b(context);
  llvm::Type *ptr = b.getPtrTy();
  llvm::Type *i32 = b.getInt32Ty();
  auto *fnType = llvm::FunctionType::get(
      i32, SmallVector<llvm::Type *>(numParams, ptr), false);
  auto *run =
      llvm::Function::Create(fnType, llvm::GlobalValue::ExternalLinkage,
                             model.name + "_run", *llvmModule);
  auto *entry = llvm::BasicBlock::Create(context, "entry", run);
  auto *fail = llvm::BasicBlock::Create(context, "null_argument", run);
  auto *misaligned = llvm::BasicBlock::Create(context, "misaligned", run);
  auto *call = llvm::BasicBlock::Create(context, "call", run);
  b.SetInsertPoint(entry);
  // Every tensor pointer must be non-null; the workspace only when the model
  // needs one; the parallel-for may be (serial).
  llvm::Value *anyNull = b.getFalse();
  for (unsigned i = 0; i <= wsIndex; ++i) {
    if (i == wsIndex && model.workspaceBytes == 0)
      continue;
    anyNull = b.CreateOr(anyNull, b.CreateIsNull(run->getArg(i)));
  }
  auto *aligned = llvm::BasicBlock::Create(context, "check_alignment", run);
  b.CreateCondBr(anyNull, fail, aligned);
  b.SetInsertPoint(aligned);
  llvm::Value *wsInt = b.CreatePtrToInt(run->getArg(wsIndex), b.getInt64Ty());
  llvm::Value *bad = b.CreateICmpNE(
      b.CreateAnd(wsInt, b.getInt64(model.workspaceAlign - 1)), b.getInt64(0));
  if (model.workspaceBytes == 0)
    bad = b.getFalse();
  b.CreateCondBr(bad, misaligned, call);
  b.SetInsertPoint(fail);
  b.CreateRet(b.getInt32(MAFAT_ERR_NULL_ARGUMENT));
  b.SetInsertPoint(misaligned);
  b.CreateRet(b.getInt32(MAFAT_ERR_MISALIGNED_WORKSPACE));
  b.SetInsertPoint(call);
  SmallVector<llvm::Value *> args;
  for (llvm::Argument &arg : run->args())
    args.push_back(&arg);
  b.CreateCall(impl, args);
  b.CreateRet(b.getInt32(MAFAT_OK));

  for (llvm::Function &fn : *llvmModule)
    if (!fn.isDeclaration())
      setTargetAttributes(fn, target);
  if (llvm::verifyModule(*llvmModule, &llvm::errs())) {
    module.emitError("mafat produced invalid LLVM IR (a bug in mafat)");
    return nullptr;
  }
  return llvmModule;
}

namespace {
/// Builds constant C data (strings, int64 arrays) for the descriptor.
struct ConstantBuilder {
  llvm::Module &module;
  llvm::IRBuilder<> &b;
  llvm::Constant *string(StringRef s, const Twine &name) {
    return b.CreateGlobalString(s, name, 0, &module);
  }
  llvm::Constant *int64Array(ArrayRef<int64_t> values, const Twine &name) {
    auto *type = llvm::ArrayType::get(b.getInt64Ty(), values.size());
    SmallVector<llvm::Constant *> elems;
    for (int64_t v : values)
      elems.push_back(b.getInt64(v));
    return new llvm::GlobalVariable(module, type, /*isConstant=*/true,
                                    llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantArray::get(type, elems),
                                    name);
  }
};
} // namespace

std::unique_ptr<llvm::Module> buildDescriptor(const ModelInterface &model,
                                              TargetSpec &target,
                                              llvm::LLVMContext &context) {
  auto module = std::make_unique<llvm::Module>(model.name + "_descriptor",
                                               context);
  setTargetOf(*module, target);
  llvm::IRBuilder<> b(context);
  ConstantBuilder cb{*module, b};
  llvm::Type *ptr = b.getPtrTy(), *i32 = b.getInt32Ty(), *i64 = b.getInt64Ty();

  // Mirrors mafat_tensor_desc_t and mafat_model_t in mafat/runtime.h.
  auto *tensorType = llvm::StructType::create(
      context, {ptr, i32, i32, ptr, ptr}, "mafat_tensor_desc");
  auto *modelType = llvm::StructType::create(
      context,
      {i32, ptr, ptr, i64, i64, i64, i64, i64, i32, i32, ptr, ptr, ptr, i32},
      "mafat_model");

  auto tensorTable = [&](ArrayRef<TensorInfo> tensors, StringRef kind) {
    SmallVector<llvm::Constant *> descs;
    for (auto [i, t] : llvm::enumerate(tensors)) {
      Twine prefix = kind + Twine(i);
      descs.push_back(llvm::ConstantStruct::get(
          tensorType, {cb.string(t.name, prefix + "_name"),
                       b.getInt32(MAFAT_F32),
                       b.getInt32(t.shape.size()),
                       cb.int64Array(t.shape, prefix + "_shape"),
                       cb.string(t.layout, prefix + "_layout")}));
    }
    auto *type = llvm::ArrayType::get(tensorType, descs.size());
    return new llvm::GlobalVariable(*module, type, true,
                                    llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantArray::get(type, descs),
                                    kind + "_table");
  };

  // int32_t generic_run(void *const *in, void *const *out, void *ws,
  //                     const mafat_parallel_t *parallel):
  // unpacks the pointer arrays and calls the typed entry point.
  size_t numParams = model.inputs.size() + model.outputs.size() + 2;
  auto *typedType = llvm::FunctionType::get(
      i32, SmallVector<llvm::Type *>(numParams, ptr), false);
  llvm::FunctionCallee typed =
      module->getOrInsertFunction(model.name + "_run", typedType);
  auto *generic = llvm::Function::Create(
      llvm::FunctionType::get(i32, {ptr, ptr, ptr, ptr}, false),
      llvm::GlobalValue::InternalLinkage, model.name + "_generic_run",
      *module);
  b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", generic));
  SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < model.inputs.size(); ++i)
    args.push_back(b.CreateLoad(
        ptr, b.CreateConstGEP1_64(ptr, generic->getArg(0), i)));
  for (unsigned i = 0; i < model.outputs.size(); ++i)
    args.push_back(b.CreateLoad(
        ptr, b.CreateConstGEP1_64(ptr, generic->getArg(1), i)));
  args.push_back(generic->getArg(2));
  args.push_back(generic->getArg(3));
  b.CreateRet(b.CreateCall(typed, args));

  llvm::Constant *desc = llvm::ConstantStruct::get(
      modelType,
      {b.getInt32(MAFAT_ABI_VERSION), cb.string(model.name, "name"),
       cb.string(model.triple, "target"), b.getInt64(model.workspaceBytes),
       b.getInt64(model.workspaceAlign), b.getInt64(model.naiveBytes),
       b.getInt64(model.weightBytes), b.getInt64(model.stackBoundBytes),
       b.getInt32(model.inputs.size()), b.getInt32(model.outputs.size()),
       tensorTable(model.inputs, "input"), tensorTable(model.outputs, "output"),
       generic, b.getInt32(model.threads)});
  auto *descGlobal = new llvm::GlobalVariable(
      *module, modelType, true, llvm::GlobalValue::PrivateLinkage, desc,
      "mafat_model_desc");

  // <name>_model() always; mafat_model() weak, so two models can still be
  // linked into one program through their typed names.
  auto *getterType = llvm::FunctionType::get(ptr, {}, false);
  for (auto [fnName, linkage] :
       {std::pair(model.name + "_model", llvm::GlobalValue::ExternalLinkage),
        std::pair(std::string("mafat_model"),
                  llvm::GlobalValue::WeakAnyLinkage)}) {
    auto *getter =
        llvm::Function::Create(getterType, linkage, fnName, *module);
    b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", getter));
    b.CreateRet(descGlobal);
  }
  for (llvm::Function &fn : *module)
    if (!fn.isDeclaration())
      setTargetAttributes(fn, target);
  if (llvm::verifyModule(*module, &llvm::errs()))
    return nullptr;
  return module;
}

void optimizeModule(llvm::Module &module, TargetSpec &target, int optLevel) {
  if (optLevel <= 0)
    return;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(target.machine.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 1   ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
  mpm.run(module, mam);
}

/// Sums the frame sizes recorded in an object's .stack_sizes section: pairs
/// of (function address, ULEB128 frame size).
static uint64_t sumStackSizes(StringRef objectBytes) {
  auto object = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(objectBytes, "model.o"));
  if (!object) {
    llvm::consumeError(object.takeError());
    return 0;
  }
  uint64_t total = 0;
  unsigned addressBytes = (*object)->getBytesInAddress();
  for (const llvm::object::SectionRef &section : (*object)->sections()) {
    llvm::Expected<StringRef> name = section.getName();
    if (!name || *name != ".stack_sizes") {
      if (!name)
        llvm::consumeError(name.takeError());
      continue;
    }
    llvm::Expected<StringRef> contents = section.getContents();
    if (!contents) {
      llvm::consumeError(contents.takeError());
      continue;
    }
    const uint8_t *p = contents->bytes_begin(), *end = contents->bytes_end();
    while (p + addressBytes < end) {
      p += addressBytes;
      unsigned n = 0;
      total += llvm::decodeULEB128(p, &n, end);
      p += n;
    }
  }
  return total;
}

LogicalResult emitObject(llvm::Module &module, TargetSpec &target,
                         std::string &bytes, uint64_t *stackBound) {
  llvm::legacy::PassManager pm;
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  if (target.machine->addPassesToEmitFile(pm, stream, nullptr,
                                          llvm::CodeGenFileType::ObjectFile)) {
    llvm::errs() << "error: target '" << target.triple
                 << "' cannot emit object files\n";
    return failure();
  }
  pm.run(module);
  bytes.assign(buffer.begin(), buffer.end());
  if (stackBound)
    *stackBound = sumStackSizes(bytes);
  return success();
}

} // namespace mafat
