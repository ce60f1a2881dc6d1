//===- PlanPass.cpp - Choose fusion groups and grids under a budget -------===//
//
// The front end of the planner: reads the options, gets a plan (the search,
// layer by layer, or a file), checks it against the budget with the exact
// memory predictor, attaches it as #mafat.plan and writes the report. The
// search is mafat/Planning/PlanSearch.h, the order it plans over
// mafat/Planning/ExecutionOrder.h and the report mafat/Planning/PlanReport.h;
// this file moves the IR into that order and, for rematerialization, searches
// copies of the function (mafat/Transforms/Rematerialize.h) and keeps the
// winner's body.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/Analysis/ModelEntry.h"
#include "mafat/CostModel/TargetProfile.h"
#include "mafat/Dialect/Mafat/MafatAttrs.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/Rematerialization.h"
#include "mafat/Plan/Plan.h"
#include "mafat/Planning/PlanReport.h"
#include "mafat/Planning/PlanSearch.h"
#include "mafat/Support/ByteSize.h"
#include "mafat/Transforms/Passes.h"
#include "mafat/Transforms/Rematerialize.h"
#include "mafat/runtime.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace mafat {
#define GEN_PASS_DEF_MAFATPLAN
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;
using namespace mafat;

namespace {

/// Moves the ops of each layer, with the constants, inits and pads only it
/// needs, to the end of the entry block in `order`. Returns false (and
/// leaves the IR alone) if some op outside every layer reads a layer's
/// result, so that moving would break dominance.
bool reorderLayers(func::FuncOp func, const LayerIRMap &ir,
                   llvm::ArrayRef<unsigned> order) {
  Block &block = func.getBody().front();
  llvm::DenseMap<Operation *, unsigned> position;
  for (auto [i, op] : llvm::enumerate(block.getOperations()))
    position[&op] = i;
  llvm::DenseSet<Operation *> layerOps;
  for (unsigned id = 0, e = ir.size(); id < e; ++id) {
    if (Operation *op = ir.op(id))
      layerOps.insert(op);
    for (Operation *op : ir.foldedOps(id))
      layerOps.insert(op);
  }
  llvm::DenseSet<Operation *> moved;
  std::vector<Operation *> sequence;
  for (unsigned id : order) {
    SmallVector<Operation *> worklist;
    if (Operation *op = ir.op(id))
      worklist.push_back(op);
    worklist.append(ir.foldedOps(id).begin(), ir.foldedOps(id).end());
    std::vector<Operation *> group;
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (op->getBlock() != &block || !moved.insert(op).second)
        continue;
      group.push_back(op);
      // Producers in the block, including of values used in nested regions.
      op->walk([&](Operation *nested) {
        for (Value operand : nested->getOperands())
          if (Operation *def = operand.getDefiningOp())
            if (def->getBlock() == &block && !moved.count(def) &&
                !layerOps.count(def))
              worklist.push_back(def);
      });
    }
    llvm::sort(group, [&](Operation *a, Operation *b) {
      return position[a] < position[b];
    });
    sequence.insert(sequence.end(), group.begin(), group.end());
  }
  // Ops that stay must not read anything that moves below them.
  Operation *terminator = block.getTerminator();
  for (Operation &op : block) {
    if (moved.count(&op) || &op == terminator)
      continue;
    bool readsMoved = false;
    op.walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (Operation *def = operand.getDefiningOp())
          if (moved.count(block.findAncestorOpInBlock(*def)))
            readsMoved = true;
    });
    if (readsMoved)
      return false;
  }
  for (Operation *op : sequence)
    op->moveBefore(terminator);
  return true;
}

struct MafatPlanPass : public mafat::impl::MafatPlanBase<MafatPlanPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  LogicalResult fail(Operation *at, const Twine &message) {
    at->emitError() << "mafat-plan: " << message;
    signalPassFailure();
    return failure();
  }

  /// The pass options as the search's, checked first so that a typo fails
  /// before any work.
  FailureOr<PlanSearchOptions> readOptions();
  /// One search: picks the execution order, moves the layers of `func`
  /// into it (rebuilding `built`) and searches. An infeasible budget is no
  /// failure: `outcome` stays empty, with `error` and `infeasible` set.
  LogicalResult searchOnce(func::FuncOp func, FailureOr<IRLayerGraph> &built,
                           const PlanSearchOptions &options,
                           std::optional<PlanSearchOutcome> &outcome,
                           std::string &error, PlanSearchOutcome &infeasible);
  /// plan=auto: searchOnce on `func` and on a copy of it per
  /// rematerialization candidate; the fastest plan that fits wins, and its
  /// model replaces `func`'s body.
  FailureOr<PlanSearchOutcome> search(func::FuncOp func,
                                      FailureOr<IRLayerGraph> &built,
                                      const PlanSearchOptions &options);
  /// Applies `r` (found on `built`) to `func` and rebuilds `built`.
  LogicalResult applyRematerialization(func::FuncOp func,
                                       FailureOr<IRLayerGraph> &built,
                                       const Rematerialization &r);
  /// plan=none or a file: the complete plan (layers a file leaves out run
  /// in their own groups, in the order the groups will run) and its exact
  /// workspace, which must fit the budget. A file's rematerializations are
  /// applied to `func` first (rebuilding `built`).
  LogicalResult loadPlan(func::FuncOp func, FailureOr<IRLayerGraph> &built,
                         const PlanSearchOptions &options, Plan &plan,
                         MemoryPrediction &memory);
  /// report= and print-report.
  LogicalResult writeReports(const PlanReport &report);
};

FailureOr<PlanSearchOptions> MafatPlanPass::readOptions() {
  ModuleOp module = getOperation();
  PlanSearchOptions options;
  if (!memoryBudget.empty()) {
    std::string error;
    options.budget = parseByteSize(memoryBudget, error);
    if (!options.budget)
      return fail(module, "memory-budget: " + error);
  }
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    return fail(module, "alignment must be a power of two, got " +
                            Twine(alignment.getValue()));
  if (maxGrid == 0)
    return fail(module, "max-grid must be at least 1");
  if (!(maxHaloOverhead >= 0))
    return fail(module, "max-halo-overhead must be non-negative");
  if (threads == 0 || threads > MAFAT_MAX_THREADS)
    return fail(module, "threads must be from 1 to " +
                            std::to_string(MAFAT_MAX_THREADS));
  options.parallel = ParallelOptions{threads, minParallelWork};
  if (!profileFile.empty()) {
    std::string error;
    std::optional<TargetProfile> loaded = loadProfile(profileFile, error);
    if (!loaded)
      return fail(module, "profile: " + error);
    options.profile = *loaded;
  } else {
    options.profile = defaultProfile(targetTriple);
  }
  options.space.maxTiledGroups = maxGroups;
  options.space.cutsAfterPoolOnly = cutsAfterPoolOnly;
  options.space.squareGrids = squareGrids;
  options.space.stream = stream;
  options.space.maxGrid = maxGrid;
  options.space.maxHaloOverhead = maxHaloOverhead;
  options.space.maxSlots = threads;
  options.memory.alignment = alignment;
  options.pareto = printReport || !reportFile.empty();
  return options;
}

LogicalResult
MafatPlanPass::searchOnce(func::FuncOp func, FailureOr<IRLayerGraph> &built,
                          const PlanSearchOptions &options,
                          std::optional<PlanSearchOutcome> &outcome,
                          std::string &error, PlanSearchOutcome &infeasible) {
  PriceCache cache;
  auto start = std::chrono::steady_clock::now();
  std::vector<unsigned> order =
      pickExecutionOrder(built->graph, options, cache);
  if (order != programOrder(built->graph) &&
      reorderLayers(func, built->ir, order)) {
    built = buildLayerGraph(func);
    if (failed(built))
      return failure();
  }
  outcome = searchPlan(built->graph, options, error, &cache, &infeasible);
  // The search time includes choosing the order.
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (outcome)
    outcome->searchSeconds = seconds;
  else
    infeasible.searchSeconds = seconds;
  return success();
}

LogicalResult
MafatPlanPass::applyRematerialization(func::FuncOp func,
                                      FailureOr<IRLayerGraph> &built,
                                      const Rematerialization &r) {
  if (failed(mafat::rematerialize(func, *built, r)))
    return failure();
  built = buildLayerGraph(func);
  return failure(failed(built));
}

FailureOr<PlanSearchOutcome>
MafatPlanPass::search(func::FuncOp func, FailureOr<IRLayerGraph> &built,
                      const PlanSearchOptions &options) {
  std::optional<PlanSearchOutcome> best;
  std::string error;
  PlanSearchOutcome infeasible;
  if (failed(searchOnce(func, built, options, best, error, infeasible))) {
    signalPassFailure();
    return failure();
  }
  if (!best && infeasible.minWorkspaceBytes == 0)
    return fail(func, error); // no plan at all, whatever the budget
  uint64_t minWorkspace =
      best ? best->minWorkspaceBytes : infeasible.minWorkspaceBytes;
  std::vector<ParetoPoint> pareto = best ? best->pareto : infeasible.pareto;
  double seconds = best ? best->searchSeconds : infeasible.searchSeconds;
  unsigned searches = best ? best->searches : infeasible.searches;

  // Candidates are searched under a budget, and for a report, so that the
  // smallest workspace and the front it states cover them. The fastest plan
  // alone (no budget, no report) skips them: a copy only adds work, and each
  // candidate is a search.
  std::string chosenName;
  func::FuncOp chosen;
  FailureOr<IRLayerGraph> chosenBuilt = failure();
  if (rematerialize && (options.budget || options.pareto)) {
    for (const Rematerialization &candidate :
         rematerializationCandidates(built->graph)) {
      std::string name = built->graph.node(candidate.node).name;
      // The copy is searched detached from the module, so that the model
      // stays untouched unless the copy wins. A candidate the rewrite
      // refuses (rematerialize's errors) is skipped, its diagnostics with it.
      func::FuncOp copy = func.clone();
      FailureOr<IRLayerGraph> copyBuilt = failure();
      std::optional<PlanSearchOutcome> outcome;
      std::string variantError;
      PlanSearchOutcome variantInfeasible;
      bool searched = false;
      {
        ScopedDiagnosticHandler quiet(func.getContext(),
                                      [](Diagnostic &) { return success(); });
        copyBuilt = buildLayerGraph(copy);
        std::optional<unsigned> id =
            succeeded(copyBuilt) ? copyBuilt->graph.lookup(name) : std::nullopt;
        std::string why;
        std::optional<Rematerialization> r =
            id ? findRematerialization(copyBuilt->graph, *id, why)
               : std::nullopt;
        searched = r &&
                   succeeded(applyRematerialization(copy, copyBuilt, *r)) &&
                   succeeded(searchOnce(copy, copyBuilt, options, outcome,
                                        variantError, variantInfeasible));
      }
      if (!searched) {
        copy.erase();
        continue;
      }
      const PlanSearchOutcome &seen = outcome ? *outcome : variantInfeasible;
      if (seen.minWorkspaceBytes)
        minWorkspace = std::min(minWorkspace, seen.minWorkspaceBytes);
      pareto = mergeParetoFronts(std::move(pareto), seen.pareto);
      seconds += seen.searchSeconds;
      searches += seen.searches;
      // The faster plan that fits; ties: the smaller workspace, then the
      // model as written.
      bool better =
          outcome &&
          (!best || outcome->latencyMs < best->latencyMs ||
           (outcome->latencyMs == best->latencyMs &&
            outcome->memory.workspaceBytes < best->memory.workspaceBytes));
      if (!better) {
        copy.erase();
        continue;
      }
      if (chosen)
        chosen.erase();
      best = std::move(outcome);
      chosen = copy;
      chosenBuilt = std::move(copyBuilt);
      chosenName = name;
    }
  }
  if (!best)
    return fail(func, infeasibleBudgetMessage(*options.budget, minWorkspace));
  if (chosen) {
    // The ops move with the region, so the IR map stays valid.
    func.getBody().takeBody(chosen.getBody());
    chosen.erase();
    built = std::move(chosenBuilt);
    best->plan.rematerialize = {chosenName};
  }
  best->minWorkspaceBytes = minWorkspace;
  best->pareto = std::move(pareto);
  best->searchSeconds = seconds;
  best->searches = searches;
  return std::move(*best);
}

LogicalResult MafatPlanPass::loadPlan(func::FuncOp func,
                                      FailureOr<IRLayerGraph> &built,
                                      const PlanSearchOptions &options,
                                      Plan &plan, MemoryPrediction &memory) {
  ModuleOp module = getOperation();
  std::string error;
  if (planSource == "none") {
    plan = layerByLayerPlan(built->graph);
  } else {
    auto buffer = llvm::MemoryBuffer::getFile(planSource.getValue());
    if (!buffer)
      return fail(module, "cannot read plan file '" + planSource +
                              "': " + buffer.getError().message());
    std::optional<Plan> parsed = planFromJson((*buffer)->getBuffer(), error);
    if (!parsed)
      return fail(module, "plan file '" + planSource + "': " + error);
    plan = std::move(*parsed);
    for (const std::string &name : plan.rematerialize) {
      std::optional<unsigned> id = built->graph.lookup(name);
      if (!id)
        return fail(func, "plan file '" + planSource +
                              "': rematerialize: no layer named '" + name +
                              "'");
      std::string why;
      std::optional<Rematerialization> r =
          findRematerialization(built->graph, *id, why);
      if (!r)
        return fail(func, "plan file '" + planSource + "': rematerialize '" +
                              name + "': " + why);
      if (failed(applyRematerialization(func, built, *r))) {
        signalPassFailure();
        return failure();
      }
    }
  }
  const LayerGraph &graph = built->graph;
  if (planSource != "none") {
    auto lookup = [&](StringRef name) -> std::optional<LayerExtent> {
      std::optional<unsigned> id = graph.lookup(name);
      if (!id)
        return std::nullopt;
      mafat::Region r = spatialExtent(graph.node(*id).outputShape);
      return LayerExtent{r.rows.size(), r.cols.size()};
    };
    assignMissingTiles(plan, lookup);
    if (std::string e = validatePlan(plan, lookup); !e.empty())
      return fail(module, "plan file '" + planSource + "': " + e);
  }
  std::optional<std::vector<FusionGroup>> groups =
      buildPlanGroups(graph, plan, error);
  if (!groups)
    return fail(module, "plan file '" + planSource + "': " + error);
  plan.groups.clear();
  for (const FusionGroup &g : *groups)
    plan.groups.push_back(g.plan());
  std::optional<MemoryPrediction> predicted =
      predictMemory(graph, plan, options.memory, error);
  if (!predicted)
    return fail(module, error);
  memory = std::move(*predicted);
  if (options.budget && memory.workspaceBytes > *options.budget)
    return fail(func, "plan '" + planSource + "' needs a workspace of " +
                          formatBytes(memory.workspaceBytes) +
                          ", over the memory budget of " +
                          formatBytes(*options.budget));
  return success();
}

LogicalResult MafatPlanPass::writeReports(const PlanReport &report) {
  if (!reportFile.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(reportFile, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return fail(getOperation(),
                  "cannot write report '" + reportFile + "': " + ec.message());
    os << llvm::formatv("{0:2}", toJson(report)) << "\n";
  }
  if (printReport) {
    std::string text;
    llvm::raw_string_ostream os(text);
    printPlanReport(report, os);
    llvm::outs() << text;
    llvm::outs().flush();
  }
  return success();
}

void MafatPlanPass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<PlanSearchOptions> options = readOptions();
  if (failed(options))
    return;
  func::FuncOp func = mafat::findEntry(module, entry, "mafat-plan: ");
  if (!func)
    return signalPassFailure();
  FailureOr<IRLayerGraph> built = buildLayerGraph(func);
  if (failed(built))
    return signalPassFailure();

  Plan plan;
  MemoryPrediction memory;
  std::optional<PlanSearchOutcome> outcome;
  if (planSource == "auto") {
    FailureOr<PlanSearchOutcome> found = search(func, built, *options);
    if (failed(found))
      return;
    outcome = std::move(*found);
    plan = outcome->plan;
    memory = outcome->memory;
  } else if (failed(loadPlan(func, built, *options, plan, memory))) {
    return;
  }
  module->setAttr(kPlanAttrName, toAttr(module.getContext(), plan));

  if (reportFile.empty() && !printReport)
    return;
  std::string error;
  std::optional<PlanReport> report = buildPlanReport(
      built->graph, plan, memory, *options, planSource, outcome, error);
  if (!report) {
    (void)fail(module, error);
    return;
  }
  (void)writeReports(*report);
}

} // namespace
