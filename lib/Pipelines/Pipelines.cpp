//===- Pipelines.cpp - mafat's named pass pipelines -----------------------===//
//
// Upstream passes are added from their textual pipeline form: it is the same
// text a user types into mafat-opt to reproduce one stage, and it stays
// stable across the C++ factory renames upstream makes between releases.
//
//===----------------------------------------------------------------------===//

#include "mafat/Pipelines/Pipelines.h"
#include "mafat/Transforms/Passes.h"

#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace mafat {

/// Appends an upstream pipeline given as text. The strings are fixed and
/// tested, so a parse failure is a bug in mafat, not in the user's input.
static void addPipeline(OpPassManager &pm, StringRef text) {
  if (failed(parsePassPipeline(text, pm, llvm::errs())))
    llvm::report_fatal_error(llvm::Twine("mafat: bad built-in pipeline: ") +
                             text);
}

void buildTosaToCanonicalPipeline(OpPassManager &pm) {
  TosaToLinalgOptions tosaOptions;
  tosa::addTosaToLinalgPasses(pm, tosaOptions);
  // Constants, reshapes and slices are not covered by tosa-to-linalg.
  addPipeline(pm, "func.func(tosa-to-arith,tosa-to-tensor),canonicalize,cse");
  pm.addPass(createMafatNormalize());
}

void buildPlanPipeline(OpPassManager &pm, const CompileOptions &options) {
  if (options.plan == "keep")
    return;
  MafatPlanOptions plan;
  plan.planSource = options.plan;
  plan.memoryBudget = options.memoryBudget;
  plan.reportFile = options.report;
  plan.printReport = options.printReport;
  plan.profileFile = options.profile;
  plan.targetTriple = options.target;
  plan.maxGroups = options.maxGroups;
  plan.maxGrid = options.maxGrid;
  plan.squareGrids = options.squareGrids;
  plan.stream = options.stream;
  plan.rematerialize = options.rematerialize;
  plan.cutsAfterPoolOnly = options.cutsAfterPoolOnly;
  plan.entry = options.entry;
  plan.threads = options.threads;
  plan.minParallelWork = options.minParallelWork;
  plan.alignment = options.alignment;
  pm.addPass(createMafatPlan(plan));
}

/// mafat-tensor-codegen after its mafat-normalize.
static void addTensorCodegenPasses(OpPassManager &pm,
                                   const CompileOptions &options) {
  // Group marks need the layer graph, which fuse-tile's loops hide, so they
  // go in just before it.
  if (options.profileGroups) {
    MafatProfileGroupsOptions profile;
    profile.entry = options.entry;
    pm.addPass(createMafatProfileGroups(profile));
  }
  // The plan (if the module has one) becomes tile loops before anything
  // else sees the layers.
  MafatFuseTileOptions fuse;
  fuse.alignment = options.alignment;
  fuse.entry = options.entry;
  pm.addPass(createMafatFuseTile(fuse));
  addPipeline(pm, "canonicalize,cse");
  MafatTileAndVectorizeOptions tile;
  tile.vectorBits = options.vectorBits;
  tile.numVectorRegisters = options.vectorRegisters;
  pm.addNestedPass<func::FuncOp>(createMafatTileAndVectorize(tile));
  addPipeline(pm, "canonicalize,cse");
}

void buildTensorCodegenPipeline(OpPassManager &pm,
                                const CompileOptions &options) {
  pm.addPass(createMafatNormalize());
  addTensorCodegenPasses(pm, options);
}

void buildBufferizePipeline(OpPassManager &pm, const CompileOptions &options) {
  // Results become out-params written in place (no final copy), and every
  // remaining allocation is packed by mafat-plan-memory.
  // One allocation per layer output, whatever CSE merged (see
  // mafat-unshare-empties).
  pm.addNestedPass<func::FuncOp>(createMafatUnshareEmpties());
  addPipeline(pm, llvm::formatv("one-shot-bufferize{{bufferize-function-"
                                "boundaries function-boundary-type-conversion"
                                "=identity-layout-map buffer-alignment={0}},"
                                // Drops memref iter_args so results are
                                // allocations again, which the next pass
                                // replaces by the out-params; and self-copies
                                // left by in-place insert_slice.
                                "canonicalize,cse,canonicalize,"
                                "buffer-results-to-out-params{{hoist-static-"
                                "allocs modify-public-functions},"
                                "canonicalize,cse,canonicalize",
                                options.alignment.getValue())
                      .str());
  pm.addNestedPass<func::FuncOp>(createMafatLowerCopies());
  // The copies and fills of bufferized pads are elementwise ops on buffers:
  // register-block and vectorize them like the rest.
  MafatTileAndVectorizeOptions tile;
  tile.vectorBits = options.vectorBits;
  tile.numVectorRegisters = options.vectorRegisters;
  pm.addNestedPass<func::FuncOp>(createMafatTileAndVectorize(tile));
  // Before memory planning: a split loop must not own buffers, which the
  // planner would give one place shared by every thread.
  MafatParallelizeOptions parallel;
  parallel.threads = options.threads;
  parallel.minWork = options.minParallelWork;
  pm.addNestedPass<func::FuncOp>(createMafatParallelize(parallel));
  MafatPlanMemoryOptions plan;
  plan.alignment = options.alignment;
  plan.verifyPrediction = options.verifyPrediction;
  pm.addPass(createMafatPlanMemory(plan));
}

void buildBuffersToLLVMPipeline(OpPassManager &pm) {
  // convert-vector-to-scf must run before lower-affine (or affine.apply
  // reaches translation) and fully unrolled (or transfers get a stack
  // temporary per iteration); contractions lower to outer products = FMAs.
  // Reductions other than contractions (softmax's max and sum) leave
  // vector.multi_reduction, which convert-vector-to-llvm does not take.
  pm.addPass(createMafatOutlineParallel());
  addPipeline(pm, "convert-linalg-to-loops,"
                  "func.func(lower-vector-multi-reduction),"
                  "convert-vector-to-scf{full-unroll=true},"
                  "lower-affine,expand-strided-metadata,lower-affine,"
                  "canonicalize,cse,"
                  "convert-vector-to-llvm{vector-contract-lowering="
                  "outerproduct},"
                  "convert-math-to-llvm,convert-scf-to-cf,"
                  "finalize-memref-to-llvm,"
                  "convert-func-to-llvm{use-bare-ptr-memref-call-conv=true},"
                  "convert-arith-to-llvm,convert-cf-to-llvm,"
                  "convert-index-to-llvm,convert-ub-to-llvm,"
                  "reconcile-unrealized-casts");
  pm.addPass(createMafatLowerParallelLaunch());
  addPipeline(pm, "canonicalize,cse");
}

void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const CompileOptions &options) {
  buildTensorCodegenPipeline(pm, options);
  buildBufferizePipeline(pm, options);
  buildBuffersToLLVMPipeline(pm);
}

void buildPlanAndCodegenStages(OpPassManager &pm,
                               const CompileOptions &options) {
  buildPlanPipeline(pm, options);
  addTensorCodegenPasses(pm, options);
  buildBufferizePipeline(pm, options);
}

void buildPlanAndCodegenPipeline(OpPassManager &pm,
                                 const CompileOptions &options) {
  pm.addPass(createMafatNormalize());
  buildPlanAndCodegenStages(pm, options);
}

void registerMafatPipelines() {
  PassPipelineRegistration<>(
      "mafat-tosa-to-canonical",
      "TOSA -> linalg on tensors (upstream) -> mafat's canonical form",
      buildTosaToCanonicalPipeline);
  PassPipelineRegistration<CompileOptions>(
      "mafat-tensor-codegen",
      "Normalize, register-block and vectorize on tensors",
      buildTensorCodegenPipeline);
  PassPipelineRegistration<CompileOptions>(
      "mafat-bufferize",
      "Bufferize and pack every buffer into one workspace argument",
      buildBufferizePipeline);
  PassPipelineRegistration<>("mafat-buffers-to-llvm",
                             "Planned buffers -> LLVM dialect",
                             buildBuffersToLLVMPipeline);
  PassPipelineRegistration<CompileOptions>(
      "mafat-lower-to-llvm",
      "The whole compile: canonical linalg on tensors -> LLVM dialect",
      buildLowerToLLVMPipeline);
  PassPipelineRegistration<CompileOptions>(
      "mafat-plan-and-codegen",
      "What mafat-compile runs: normalize, plan, tensor codegen, bufferize",
      buildPlanAndCodegenPipeline);
}

} // namespace mafat
