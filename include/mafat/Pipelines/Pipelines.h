//===- Pipelines.h - mafat's named pass pipelines ---------------*- C++ -*-===//
//
// Each stage of the compile is a named pipeline so it can be stopped at,
// inspected and lit-tested with mafat-opt.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_PIPELINES_PIPELINES_H
#define MAFAT_PIPELINES_PIPELINES_H

#include "mafat/CostModel/CodegenRules.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mafat {

struct CodegenOptions : public mlir::PassPipelineOptions<CodegenOptions> {
  PassOptions::Option<unsigned> vectorBits{
      *this, "vector-bits",
      llvm::cl::desc("SIMD register width in bits (512, 256, 128)"),
      llvm::cl::init(512)};
  PassOptions::Option<unsigned> vectorRegisters{
      *this, "vector-registers",
      llvm::cl::desc("Number of SIMD registers (32 AVX-512/NEON, 16 AVX2)"),
      llvm::cl::init(32)};
  PassOptions::Option<unsigned> alignment{
      *this, "alignment",
      llvm::cl::desc("Byte alignment of the workspace and its buffers"),
      llvm::cl::init(64)};
  PassOptions::Option<bool> verifyPrediction{
      *this, "verify-prediction",
      llvm::cl::desc("Fail unless the workspace equals the memory model's "
                     "prediction"),
      llvm::cl::init(false)};
  PassOptions::Option<unsigned> threads{
      *this, "threads",
      llvm::cl::desc("Threads the model is compiled for: layers split "
                     "across them (mafat-parallelize); 1 = serial"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> minParallelWork{
      *this, "min-parallel-work",
      llvm::cl::desc("Smallest layer (iterations) split across threads"),
      llvm::cl::init(kDefaultMinParallelWork)};
  PassOptions::Option<bool> profileGroups{
      *this, "profile-groups",
      llvm::cl::desc("Time every fusion group at run time "
                     "(mafat-profile-groups; mafat-run --profile)"),
      llvm::cl::init(false)};
};

/// TOSA -> linalg on tensors (upstream pipelines), then mafat-normalize.
void buildTosaToCanonicalPipeline(mlir::OpPassManager &pm);

/// Canonical linalg on tensors -> register-blocked, vectorized tensors.
void buildTensorCodegenPipeline(mlir::OpPassManager &pm,
                                const CodegenOptions &options);

/// Vectorized tensors -> buffers packed into one workspace argument.
void buildBufferizePipeline(mlir::OpPassManager &pm,
                            const CodegenOptions &options);

/// Planned buffers -> LLVM dialect (bare-pointer calling convention).
void buildBuffersToLLVMPipeline(mlir::OpPassManager &pm);

/// The whole compile: canonical linalg on tensors -> LLVM dialect.
void buildLowerToLLVMPipeline(mlir::OpPassManager &pm,
                              const CodegenOptions &options);

/// Registers mafat-tosa-to-canonical, mafat-tensor-codegen, mafat-bufferize,
/// mafat-buffers-to-llvm and mafat-lower-to-llvm.
void registerMafatPipelines();

} // namespace mafat

#endif // MAFAT_PIPELINES_PIPELINES_H
