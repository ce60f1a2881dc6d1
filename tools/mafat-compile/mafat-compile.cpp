//===- mafat-compile.cpp - A model in, a native binary out ----------------===//
//
//   mafat-compile MODEL.{mlir,cfg,onnx} -o OUT [--emit=mlir|llvm|obj|lib|exe]
//       [--target=TRIPLE] [--mcpu=NAME] [--entry=NAME] [-O0..-O3]
//
// One process from MLIR to an object (LLVM's TargetMachine); the final link
// of a shared library or executable uses clang + ld.lld from LLVM 22. Next
// to an object, library or executable it writes the model's C header.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/ModelEntry.h"
#include "mafat/Pipelines/Pipelines.h"
#include "mafat/Target/CHeader.h"
#include "mafat/Target/CodeGen.h"
#include "mafat/Target/Linker.h"
#include "mafat/Target/ModelInterface.h"
#include "mafat/Target/TargetSpec.h"
#include "mafat/Transforms/Passes.h"
#include "mafat/runtime.h"

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/Dialect/Mafat/MafatAttrs.h"
#include "mafat/Dialect/Mafat/MafatDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

extern char **environ;

using namespace mlir;
namespace cl = llvm::cl;

namespace {
enum class Emit { Mlir, Llvm, Obj, Lib, Exe };

cl::OptionCategory category("mafat-compile options");
cl::opt<std::string>
    inputFile(cl::Positional, cl::desc("<model.mlir | model.cfg | model.onnx>"),
              cl::Required, cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                cl::value_desc("OUT"), cl::Required,
                                cl::cat(category));
cl::opt<Emit>
    emit("emit",
         cl::desc("What to produce (default: from the output's extension: "
                  ".mlir, .ll, .o, .so, anything else an executable)"),
         cl::values(clEnumValN(Emit::Mlir, "mlir", "MLIR in the LLVM dialect"),
                    clEnumValN(Emit::Llvm, "llvm", "LLVM IR (.ll)"),
                    clEnumValN(Emit::Obj, "obj", "A relocatable object (.o)"),
                    clEnumValN(Emit::Lib, "lib", "A shared library (.so)"),
                    clEnumValN(Emit::Exe, "exe",
                               "An executable with mafat-run's driver")),
         cl::cat(category));
cl::opt<std::string> targetTriple(
    "target",
    cl::desc("Target triple: x86_64-linux-gnu or aarch64-linux-gnu "
             "(default: the host)"),
    cl::cat(category));
cl::opt<std::string> mcpu("mcpu",
                          cl::desc("Target CPU (default: the host CPU for "
                                   "host builds, 'generic' otherwise)"),
                          cl::cat(category));
cl::opt<std::string> entryName("entry",
                               cl::desc("Function to compile (default: the "
                                        "only public function)"),
                               cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("Optimization level 0-3"), cl::Prefix,
                           cl::init(3), cl::cat(category));
cl::opt<std::string>
    headerFile("header",
               cl::desc("Where to write the C header (default: OUT with .h)"),
               cl::cat(category));
cl::opt<std::string>
    weightsFile("weights",
                cl::desc("Darknet .weights file for a .cfg model (default: "
                         "seeded pseudo-random weights)"),
                cl::cat(category));
cl::opt<std::string>
    inputSize("input-size",
              cl::desc("HxW input size for a .cfg model (default: the "
                       "cfg's [net] size)"),
              cl::cat(category));
cl::opt<std::string>
    layerRange("layers",
               cl::desc("FIRST-LAST: compile only this prefix of a .cfg "
                        "model"),
               cl::cat(category));
cl::opt<std::string>
    onnxLayout("layout",
               cl::desc("Interface layout of an .onnx model: nchw (as the "
                        "model declares it, default) or nhwc"),
               cl::cat(category));
cl::opt<bool> stats("print-stats",
                    cl::desc("Print workspace, naive, weight and stack "
                             "figures to stderr"),
                    cl::cat(category));

// Planning (docs/Plans.md owns the flag table).
cl::opt<std::string> memoryBudget(
    "memory-budget",
    cl::desc("Largest workspace the plan may take, e.g. 8MiB, 512KiB, 3000000 "
             "(default: no limit, the fastest plan)"),
    cl::cat(category));
cl::opt<std::string> planFlag(
    "plan",
    cl::desc("auto (search; the default unless the model carries a plan), "
             "none (layer by layer) or a plan FILE.json"),
    cl::cat(category));
cl::opt<std::string> reportFile("report",
                                cl::desc("Write the plan report (JSON) here"),
                                cl::cat(category));
cl::opt<std::string> profileFile(
    "profile",
    cl::desc("Target profile JSON for the latency model (default: the "
             "built-in profile of the target)"),
    cl::cat(category));
cl::opt<bool> printReport("mafat-report",
                          cl::desc("Print the plan's per-group table and the "
                                   "Pareto front to stdout"),
                          cl::cat(category));
cl::opt<unsigned> maxGroups("max-groups",
                            cl::desc("Most tiled fusion groups (0: no limit)"),
                            cl::init(0), cl::cat(category));
cl::opt<unsigned> maxGrid("max-grid",
                          cl::desc("Most tiles along each axis of a group"),
                          cl::init(8), cl::cat(category));
cl::opt<bool> squareGrids("square-grids", cl::desc("Only N x N grids"),
                          cl::cat(category));
cl::opt<bool> streamGroups(
    "stream",
    cl::desc("Also search stream groups (stripes with rolling buffers)"),
    cl::cat(category));
cl::opt<bool> rematerialize(
    "rematerialize",
    cl::desc("With --memory-budget or a report, also search with each map a "
             "late reader keeps alive recomputed from a smaller one (default "
             "on; --rematerialize=false turns it off)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> verifyMemoryModel(
    "verify-memory-model",
    cl::desc("Fail unless the workspace equals the memory model's prediction "
             "(the tests use it; a mismatch is otherwise a warning)"),
    cl::cat(category));
cl::opt<bool> profileGroups(
    "profile-groups",
    cl::desc("Time every fusion group at run time: mafat-run --profile "
             "prints per-group milliseconds (docs/CostModel.md)"),
    cl::cat(category));
cl::opt<bool>
    cutsAfterPoolOnly("cuts-after-pool-only",
                      cl::desc("Tiled groups end only after a pooling layer"),
                      cl::cat(category));

/// The help of --min-parallel-work, naming the default the rule has
/// (CodegenRules.h) rather than a copy of it.
const std::string minParallelWorkHelp =
    "With --threads above 1, the smallest layer step (iterations) split "
    "across the threads: the plan's latency model and mafat-parallelize use "
    "it alike (default " +
    std::to_string(mafat::kDefaultMinParallelWork) +
    "; smaller steps lose more to the launch than the split gains)";

cl::opt<int64_t> minParallelWork("min-parallel-work",
                                 cl::desc(minParallelWorkHelp),
                                 cl::init(mafat::kDefaultMinParallelWork),
                                 cl::cat(category));

cl::opt<bool>
    tsan("tsan",
         cl::desc("Mark the generated functions for ThreadSanitizer; with "
                  "--emit=llvm, build the .ll with clang -fsanitize=thread "
                  "(test/tools/tsan-threads.test)"),
         cl::cat(category));

/// --threads: registered in main, after the unrelated `threads` option of
/// one of LLVM's libraries is unregistered (two options cannot share a
/// name).
cl::opt<std::string> *threadsFlag;

/// --threads as a count, or 0 after a diagnostic.
unsigned parseThreads() {
  StringRef flag = *threadsFlag;
  if (flag == "auto")
    return std::max(1u, llvm::hardware_concurrency().compute_thread_count());
  unsigned n = 0;
  if (flag.getAsInteger(10, n) || n < 1 || n > MAFAT_MAX_THREADS) {
    llvm::errs() << "error: --threads needs 'auto' or an integer from 1 to "
                 << MAFAT_MAX_THREADS << ", got '" << flag << "'\n";
    return 0;
  }
  return n;
}

Emit emitFromExtension(StringRef path) {
  StringRef ext = llvm::sys::path::extension(path);
  if (ext == ".mlir")
    return Emit::Mlir;
  if (ext == ".ll")
    return Emit::Llvm;
  if (ext == ".o")
    return Emit::Obj;
  if (ext == ".so")
    return Emit::Lib;
  return Emit::Exe;
}

bool containsTosa(ModuleOp module) {
  return module
      .walk([](Operation *op) {
        return op->getDialect() && op->getDialect()->getNamespace() == "tosa"
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

bool writeFile(StringRef path, StringRef bytes) {
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    llvm::errs() << "error: cannot write '" << path << "': " << ec.message()
                 << "\n";
    return false;
  }
  out.os() << bytes;
  out.keep();
  return true;
}

/// Writes `bytes` to a fresh temporary file; removed when the tool exits.
bool writeTemp(StringRef bytes, StringRef suffix, std::string &path) {
  llvm::SmallString<128> tmp;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("mafat", suffix, fd, tmp)) {
    llvm::errs() << "error: cannot create a temporary file\n";
    return false;
  }
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  os << bytes;
  path = tmp.str().str();
  llvm::sys::RemoveFileOnSignal(path);
  return true;
}

/// Where the per-target driver archives are: next to this executable
/// (<prefix>/bin/mafat-compile, <prefix>/lib/mafat), so a moved or installed
/// tree works, else the build tree it was compiled in.
std::string driverDir() {
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable("mafat-compile", &anchor);
  llvm::SmallString<256> dir(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(dir, "lib", "mafat");
  if (!exe.empty() && llvm::sys::fs::is_directory(dir))
    return dir.str().str();
  return MAFAT_DRIVER_DIR;
}

/// "darknet" or "onnx" once a model file was imported: later diagnostics
/// point into a temporary file, and main says where it came from.
std::string importedKind;

/// A .cfg (Darknet) or .onnx model goes through mafat-import (python/) into
/// a temporary .mlir file; `path` then names it. MLIR input is left alone.
bool importModel(std::string &path, std::string &tempFile) {
  StringRef ext = llvm::sys::path::extension(inputFile);
  std::string kind = ext == ".cfg" ? "darknet" : ext == ".onnx" ? "onnx" : "";
  path = inputFile;
  if (kind.empty())
    return true;
  llvm::SmallString<128> tmp;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("mafat-import", "mlir", fd, tmp)) {
    llvm::errs() << "error: cannot create a temporary file\n";
    return false;
  }
  llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  tempFile = tmp.str().str();
  llvm::sys::RemoveFileOnSignal(tempFile);
  std::vector<std::string> args{MAFAT_PYTHON, "-m", "mafat.import_cli", kind,
                                inputFile};
  auto add = [&](StringRef flag, const std::string &value) {
    if (!value.empty()) {
      args.push_back(flag.str());
      args.push_back(value);
    }
  };
  add("--weights", weightsFile);
  add("--input-size", inputSize);
  add("--layers", layerRange);
  add("--layout", onnxLayout);
  args.push_back("-o");
  args.push_back(tempFile);
  llvm::SmallVector<StringRef> argv(args.begin(), args.end());
  std::string pythonPath = "PYTHONPATH=" MAFAT_PYTHON_DIR;
  std::vector<StringRef> env{pythonPath};
  for (char **e = environ; *e; ++e)
    if (!StringRef(*e).starts_with("PYTHONPATH="))
      env.push_back(*e);
  std::string message;
  int rc =
      llvm::sys::ExecuteAndWait(MAFAT_PYTHON, argv, env, {}, 0, 0, &message);
  if (rc != 0) {
    // mafat-import printed its own diagnostic.
    if (!message.empty())
      llvm::errs() << "error: cannot run mafat-import: " << message << "\n";
    return false;
  }
  path = tempFile;
  importedKind = kind;
  return true;
}

/// Runs mafat-normalize (after the TOSA pipeline for TOSA input) on its
/// own, before anything reads the interface: it rejects what mafat cannot
/// compile, so the user sees the canonical-form diagnostic.
LogicalResult normalize(MLIRContext &context, ModuleOp module) {
  PassManager pm(&context);
  if (containsTosa(module))
    mafat::buildTosaToCanonicalPipeline(pm);
  else
    pm.addPass(mafat::createMafatNormalize());
  return pm.run(module);
}

/// Sets `options` (the plan-and-codegen stages') from the flags, for `entry` on
/// `target`. A model that carries a plan keeps it unless the flags ask for
/// one; the implicit default (search for the fastest plan) only applies to
/// models the layer graph covers (softmax and other reductions are not
/// layers); others run layer by layer, as asking for a plan would say.
void setCompileOptions(mafat::CompileOptions &options, ModuleOp module,
                       func::FuncOp entry, const mafat::TargetSpec &target,
                       unsigned threads) {
  options.entry = entry.getSymName().str();
  options.target = target.triple;
  options.threads = threads;
  options.minParallelWork = minParallelWork;
  options.vectorBits = target.vectorBits;
  options.vectorRegisters = target.vectorRegisters;
  options.verifyPrediction = verifyMemoryModel;
  options.profileGroups = profileGroups;
  options.memoryBudget = memoryBudget;
  options.report = reportFile;
  options.profile = profileFile;
  options.printReport = printReport;
  options.maxGroups = maxGroups;
  options.maxGrid = maxGrid;
  options.squareGrids = squareGrids;
  options.stream = streamGroups;
  options.rematerialize = rematerialize;
  options.cutsAfterPoolOnly = cutsAfterPoolOnly;
  bool hasPlan = module->hasAttr(mafat::kPlanAttrName);
  bool planRequested = !planFlag.empty() || !memoryBudget.empty() ||
                       !reportFile.empty() || printReport;
  bool plan = planRequested || !hasPlan;
  if (plan && !planRequested) {
    ScopedDiagnosticHandler quiet(module.getContext(),
                                  [](Diagnostic &) { return success(); });
    plan = succeeded(mafat::buildLayerGraph(entry));
  }
  if (!plan)
    options.plan = "keep";
  else if (!planFlag.empty())
    options.plan = planFlag.getValue();
}

/// Plans and generates code for the model (down to LLVM IR in MLIR's LLVM
/// dialect) and reads the memory figures into `model`.
LogicalResult lowerToLLVMDialect(MLIRContext &context, ModuleOp module,
                                 func::FuncOp entry,
                                 const mafat::TargetSpec &target,
                                 unsigned threads,
                                 mafat::ModelInterface &model) {
  {
    mafat::CompileOptions options;
    setCompileOptions(options, module, entry, target, threads);
    PassManager pm(&context);
    mafat::buildPlanAndCodegenStages(pm, options);
    if (failed(pm.run(module)))
      return failure();
  }
  if (failed(mafat::readMemoryFigures(module, model.entry, model)))
    return failure();
  // Each tensor and the weights were capped by mafat-normalize; the arena
  // they pack into is only known now.
  if (model.workspaceBytes > uint64_t(mafat::kMaxWorkspaceBytes)) {
    Operation *at = module.lookupSymbol(model.entry);
    emitError(at ? at->getLoc() : module.getLoc())
        << "the workspace takes " << model.workspaceBytes
        << " bytes, more than mafat's limit of " << mafat::kMaxWorkspaceBytes
        << " bytes (docs/Hardening.md); a smaller --memory-budget may fit";
    return failure();
  }
  PassManager pm(&context);
  mafat::buildBuffersToLLVMPipeline(pm);
  return pm.run(module);
}

/// Translates the lowered module to LLVM IR and writes what `kind` asks for
/// other than MLIR: LLVM IR with the descriptor linked in, or the model's
/// and the descriptor's objects linked into an object, library or
/// executable. Sets the model's stack bound.
bool emitNative(ModuleOp module, mafat::ModelInterface &model,
                mafat::TargetSpec &target, Emit kind) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      mafat::translateModel(module, model, target, llvmContext);
  if (!llvmModule)
    return false;
  mafat::optimizeModule(*llvmModule, target, optLevel);
  std::string modelObject;
  if (failed(mafat::emitObject(*llvmModule, target, modelObject,
                               &model.stackBoundBytes)))
    return false;
  // The descriptor's own frame (the generic run shim) is part of the bound;
  // measure it with a first build, then build it with the final figure.
  std::string descObject;
  uint64_t descStack = 0;
  {
    std::unique_ptr<llvm::Module> probe =
        mafat::buildDescriptor(model, target, llvmContext);
    if (!probe ||
        failed(mafat::emitObject(*probe, target, descObject, &descStack)))
      return false;
  }
  model.stackBoundBytes += descStack;
  std::unique_ptr<llvm::Module> descriptor =
      mafat::buildDescriptor(model, target, llvmContext);
  if (!descriptor)
    return false;

  if (kind == Emit::Llvm) {
    if (llvm::Linker::linkModules(*llvmModule, std::move(descriptor))) {
      llvm::errs() << "error: cannot link the model descriptor\n";
      return false;
    }
    std::string text;
    llvm::raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    return writeFile(outputFile, text);
  }
  descObject.clear();
  if (failed(mafat::emitObject(*descriptor, target, descObject)))
    return false;

  std::string modelPath, descPath;
  if (!writeTemp(modelObject, "o", modelPath) ||
      !writeTemp(descObject, "o", descPath))
    return false;
  mafat::LinkKind link = kind == Emit::Obj   ? mafat::LinkKind::Relocatable
                         : kind == Emit::Lib ? mafat::LinkKind::SharedLibrary
                                             : mafat::LinkKind::Executable;
  std::string error;
  bool linked = mafat::linkObjects(link, target.triple, {modelPath, descPath},
                                   outputFile, driverDir(), error);
  llvm::sys::fs::remove(modelPath);
  llvm::sys::fs::remove(descPath);
  if (!linked) {
    llvm::errs() << "error: " << error << "\n";
    return false;
  }
  return true;
}

/// The C header (--header, else OUT with .h) and, with --print-stats, the
/// memory figures.
bool writeHeaderAndStats(const mafat::ModelInterface &model,
                         const mafat::TargetSpec &target) {
  std::string header = headerFile;
  if (header.empty()) {
    llvm::SmallString<256> path(outputFile);
    llvm::sys::path::replace_extension(path, ".h");
    header = path.str().str();
  }
  if (!writeFile(header, mafat::emitCHeader(
                             model, llvm::sys::path::filename(inputFile))))
    return false;
  if (stats) {
    double saved = model.naiveBytes
                       ? 100.0 * (1.0 - double(model.workspaceBytes) /
                                            double(model.naiveBytes))
                       : 0.0;
    llvm::errs() << "mafat-compile: " << model.name << " for " << target.triple
                 << " (" << target.cpu << ", " << target.vectorBits
                 << "-bit vectors): workspace " << model.workspaceBytes
                 << " B (naive " << model.naiveBytes << " B, "
                 << llvm::format("%.1f", saved) << "% saved), " << model.threads
                 << " thread(s), weights " << model.weightBytes
                 << " B, stack <= " << model.stackBoundBytes << " B\n";
  }
  return true;
}

/// import -> normalize -> plan and codegen -> LLVM -> object/library/exe.
int compile(MLIRContext &context) {
  std::string error;
  std::unique_ptr<mafat::TargetSpec> target =
      mafat::resolveTarget(targetTriple, mcpu, optLevel, error);
  if (!target) {
    llvm::errs() << "error: " << error << "\n";
    return 1;
  }
  Emit kind = emit.getNumOccurrences() ? emit.getValue()
                                       : emitFromExtension(outputFile);
  target->threadSanitizer = tsan;
  unsigned threads = parseThreads();
  if (threads == 0)
    return 1;
  if (minParallelWork < 1) {
    llvm::errs() << "error: --min-parallel-work needs an integer of at least "
                    "1, got "
                 << minParallelWork << "\n";
    return 1;
  }

  std::string sourcePath, importedFile;
  bool imported = importModel(sourcePath, importedFile);
  llvm::scope_exit cleanup([&] {
    if (!importedFile.empty())
      llvm::sys::fs::remove(importedFile);
  });
  if (!imported)
    return 1;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourcePath, sourceMgr, &context);
  if (!module || failed(normalize(context, *module)))
    return 1;
  func::FuncOp entry = mafat::findEntry(*module, entryName);
  if (!entry)
    return 1;
  FailureOr<mafat::ModelInterface> model = mafat::readInterface(entry);
  if (failed(model))
    return 1;
  model->triple = target->triple;

  if (failed(lowerToLLVMDialect(context, *module, entry, *target, threads,
                                *model)))
    return 1;
  if (kind == Emit::Mlir) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return writeFile(outputFile, text) ? 0 : 1;
  }
  if (!emitNative(*module, *model, *target, kind))
    return 1;
  if (kind == Emit::Llvm)
    return 0;
  return writeHeaderAndStats(*model, *target) ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (cl::Option *other = cl::getRegisteredOptions().lookup("threads"))
    other->removeArgument();
  static cl::opt<std::string> threads(
      "threads",
      cl::desc("Cores the model may use at run time: N (default 1) or 'auto' "
               "(this host's cores); the workspace is exact for N"),
      cl::init("1"), cl::cat(category));
  threadsFlag = &threads;
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "mafat-compile: a CNN in MLIR to a native "
                              "object, library or executable\n");
  if (optLevel > 3) {
    llvm::errs() << "error: -O" << optLevel << " is not a level (0-3)\n";
    return 1;
  }
  DialectRegistry registry;
  // The pipelines add upstream passes by their textual names.
  registerAllPasses();
  mafat::registerMafatPasses();
  registerAllDialects(registry);
  registry.insert<mafat::MafatDialect>();
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics point at the user's source; the op dump adds only noise.
  context.printOpOnDiagnostic(false);
  int rc = compile(context);
  if (rc != 0 && !importedKind.empty())
    llvm::errs() << "note: the locations above are in the MLIR imported from '"
                 << inputFile << "' (a temporary file); 'mafat-import "
                 << importedKind << " " << inputFile
                 << " -o OUT.mlir' writes it\n";
  return rc;
}
