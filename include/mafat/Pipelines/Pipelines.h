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

/// Every option of the compile, declared once: mafat-compile fills it from
/// its flags, mafat-opt from the pipeline text. Each pipeline reads the
/// options it needs; one field feeds every pass that must agree on it
/// (`alignment`: the planner's prediction, mafat-fuse-tile's and
/// mafat-plan-memory's packing; `threads`; `entry`).
struct CompileOptions : public mlir::PassPipelineOptions<CompileOptions> {
  // Planning (mafat-plan; docs/Plans.md owns the flag table).
  PassOptions::Option<std::string> plan{
      *this, "plan",
      llvm::cl::desc("auto (search), none (layer by layer), a plan JSON "
                     "file, or keep (no mafat-plan: the module's own plan, "
                     "if any)"),
      llvm::cl::init("auto")};
  PassOptions::Option<std::string> memoryBudget{
      *this, "memory-budget",
      llvm::cl::desc("Largest workspace the plan may take, e.g. 8MiB; "
                     "empty: no limit (the fastest plan)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> report{
      *this, "report", llvm::cl::desc("Write the plan report (JSON) here"),
      llvm::cl::init("")};
  PassOptions::Option<bool> printReport{
      *this, "print-report",
      llvm::cl::desc("Print the plan's per-group table and Pareto front"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> profile{
      *this, "profile",
      llvm::cl::desc("Target profile JSON for the latency model; empty: the "
                     "built-in profile of `target`"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> target{
      *this, "target",
      llvm::cl::desc("Target triple whose built-in profile prices the plan"),
      llvm::cl::init("x86_64-linux-gnu")};
  PassOptions::Option<unsigned> maxGroups{
      *this, "max-groups",
      llvm::cl::desc("Most tiled fusion groups (0: no limit)"),
      llvm::cl::init(0)};
  PassOptions::Option<unsigned> maxGrid{
      *this, "max-grid",
      llvm::cl::desc("Most tiles along each axis of a group"),
      llvm::cl::init(8)};
  PassOptions::Option<bool> squareGrids{*this, "square-grids",
                                        llvm::cl::desc("Only N x N grids"),
                                        llvm::cl::init(false)};
  PassOptions::Option<bool> stream{
      *this, "stream",
      llvm::cl::desc("Also search stream groups (stripes with rolling "
                     "buffers)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> rematerialize{
      *this, "rematerialize",
      llvm::cl::desc("With a budget or a report, also search with each map "
                     "a late reader keeps alive recomputed from a smaller one"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> cutsAfterPoolOnly{
      *this, "cuts-after-pool-only",
      llvm::cl::desc("Tiled groups end only after a pooling layer"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> entry{
      *this, "entry",
      llvm::cl::desc("The model function; empty: the only public function "
                     "with a body"),
      llvm::cl::init("")};

  // Code generation.
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
      llvm::cl::init(kDefaultBufferAlignment)};
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

/// mafat-plan with the compile's options; nothing with plan=keep.
void buildPlanPipeline(mlir::OpPassManager &pm, const CompileOptions &options);

/// Canonical linalg on tensors -> register-blocked, vectorized tensors.
void buildTensorCodegenPipeline(mlir::OpPassManager &pm,
                                const CompileOptions &options);

/// Vectorized tensors -> buffers packed into one workspace argument.
void buildBufferizePipeline(mlir::OpPassManager &pm,
                            const CompileOptions &options);

/// Planned buffers -> LLVM dialect (bare-pointer calling convention).
void buildBuffersToLLVMPipeline(mlir::OpPassManager &pm);

/// The whole compile: canonical linalg on tensors -> LLVM dialect.
void buildLowerToLLVMPipeline(mlir::OpPassManager &pm,
                              const CompileOptions &options);

/// A normalized model -> planned buffers in one workspace: mafat-plan, then
/// the tensor codegen and bufferize stages without their mafat-normalize.
/// mafat-compile runs mafat-normalize on its own first, to read the model's
/// interface (and whether the layer graph covers it) before planning.
void buildPlanAndCodegenStages(mlir::OpPassManager &pm,
                               const CompileOptions &options);

/// mafat-plan-and-codegen: mafat-normalize, then buildPlanAndCodegenStages.
void buildPlanAndCodegenPipeline(mlir::OpPassManager &pm,
                                 const CompileOptions &options);

/// Registers mafat-tosa-to-canonical, mafat-tensor-codegen, mafat-bufferize,
/// mafat-buffers-to-llvm, mafat-lower-to-llvm and mafat-plan-and-codegen.
void registerMafatPipelines();

} // namespace mafat

#endif // MAFAT_PIPELINES_PIPELINES_H
