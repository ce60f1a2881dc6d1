//===- CodeGen.h - LLVM dialect to native objects ---------------*- C++ -*-===//

#ifndef MAFAT_TARGET_CODEGEN_H
#define MAFAT_TARGET_CODEGEN_H

#include "mafat/Target/ModelInterface.h"
#include "mafat/Target/TargetSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include <memory>

namespace mafat {

/// Translates the lowered model to LLVM IR for `target` and adds the typed C
/// entry point `<name>_run(inputs..., outputs..., workspace)`, which checks
/// its pointers and the workspace alignment and returns a mafat_status.
std::unique_ptr<llvm::Module>
translateModel(mlir::ModuleOp module, const ModelInterface &model,
               TargetSpec &target, llvm::LLVMContext &context);

/// Builds the self-description module: `mafat_model()` and the generic
/// `run(void *const *inputs, void *const *outputs, void *workspace)`.
std::unique_ptr<llvm::Module> buildDescriptor(const ModelInterface &model,
                                              TargetSpec &target,
                                              llvm::LLVMContext &context);

/// Runs LLVM's -O<optLevel> pipeline on `module`.
void optimizeModule(llvm::Module &module, TargetSpec &target, int optLevel);

/// Emits `module` as an object file into `bytes`. When `stackBound` is given,
/// it receives the sum of the stack frames of every function in the object
/// (read from the .stack_sizes section): a bound on the stack the model uses,
/// since generated code never recurses.
mlir::LogicalResult emitObject(llvm::Module &module, TargetSpec &target,
                               std::string &bytes,
                               uint64_t *stackBound = nullptr);

} // namespace mafat

#endif // MAFAT_TARGET_CODEGEN_H
