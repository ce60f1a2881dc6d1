//===- PlanPass.cpp - Choose fusion groups and grids under a budget -------===//
//
// The front end of the planner: reads the options, gets a plan (the search,
// layer by layer, or a file), checks it against the budget with the exact
// memory predictor, attaches it as #mafat.plan and writes the report. The
// search itself is mafat/Planning/PlanSearch.h; the figures come from the
// cost models, so the report shows what the search decided on.
//
//===----------------------------------------------------------------------===//

#include "mafat/runtime.h"
#include "mafat/Analysis/FusionGroup.h"
#include "mafat/Analysis/LayerGraph.h"
#include "mafat/Analysis/ModelEntry.h"
#include "mafat/CostModel/LatencyModel.h"
#include "mafat/CostModel/MemoryModel.h"
#include "mafat/CostModel/TargetProfile.h"
#include "mafat/Dialect/Mafat/MafatAttrs.h"
#include "mafat/Planning/Plan.h"
#include "mafat/Planning/PlanSearch.h"
#include "mafat/Transforms/Passes.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
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

/// Code size and stack depth are only known once the model is compiled
/// (mafat-compile reads the stack bound from the object), so the planner's
/// peak adds an estimate, labelled as such: 64 KiB for the run wrapper,
/// descriptor and driver, 2 KiB of generated code per layer, 64 KiB of
/// stack. mafat-compile can replace it with the compiled figures.
constexpr uint64_t kCodeBytesBase = 64 * 1024;
constexpr uint64_t kCodeBytesPerLayer = 2 * 1024;
constexpr uint64_t kStackBytesBound = 64 * 1024;

/// Moves the ops of each layer, with the constants, inits and pads only it
/// needs, to the end of the entry block in `order`. Returns false (and
/// leaves the IR alone) if some op outside every layer reads a layer's
/// result, so that moving would break dominance.
bool reorderLayers(func::FuncOp func, const LayerGraph &graph,
                   llvm::ArrayRef<unsigned> order) {
  Block &block = func.getBody().front();
  llvm::DenseMap<Operation *, unsigned> position;
  for (auto [i, op] : llvm::enumerate(block.getOperations()))
    position[&op] = i;
  llvm::DenseSet<Operation *> layerOps;
  for (const LayerNode &node : graph.nodes()) {
    if (node.op)
      layerOps.insert(node.op);
    for (Operation *op : node.foldedOps)
      layerOps.insert(op);
  }
  llvm::DenseSet<Operation *> moved;
  std::vector<Operation *> sequence;
  for (unsigned id : order) {
    const LayerNode &node = graph.node(id);
    SmallVector<Operation *> worklist;
    if (node.op)
      worklist.push_back(node.op);
    worklist.append(node.foldedOps.begin(), node.foldedOps.end());
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

std::string percent(double fraction) {
  return llvm::formatv("{0:F1}", fraction * 100).str();
}

/// Everything the report says about one group.
struct GroupReport {
  const FusionGroup *group = nullptr;
  /// The group priced alone, as the search prices it.
  GroupMemory memory;
  /// The group's footprint in the plan's packed arena (the exact figure).
  uint64_t footprintBytes = 0;
  GroupLatency latency;
};

struct MafatPlanPass : public mafat::impl::MafatPlanBase<MafatPlanPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  LogicalResult fail(Operation *at, const Twine &message) {
    at->emitError() << "mafat-plan: " << message;
    signalPassFailure();
    return failure();
  }
};

void MafatPlanPass::runOnOperation() {
  ModuleOp module = getOperation();
  // Options first, so that a typo fails before any work.
  std::optional<uint64_t> budget;
  if (!memoryBudget.empty()) {
    std::string error;
    budget = parseByteSize(memoryBudget, error);
    if (!budget) {
      (void)fail(module, "memory-budget: " + error);
      return;
    }
  }
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    (void)fail(module, "alignment must be a power of two, got " +
                           Twine(alignment.getValue()));
    return;
  }
  if (maxGrid == 0) {
    (void)fail(module, "max-grid must be at least 1");
    return;
  }
  if (!(maxHaloOverhead >= 0)) {
    (void)fail(module, "max-halo-overhead must be non-negative");
    return;
  }
  if (threads == 0 || threads > MAFAT_MAX_THREADS) {
    (void)fail(module, "threads must be from 1 to " +
                           std::to_string(MAFAT_MAX_THREADS));
    return;
  }
  ParallelOptions parallel{threads, minParallelWork};
  TargetProfile profile;
  if (!profileFile.empty()) {
    std::string error;
    std::optional<TargetProfile> loaded = loadProfile(profileFile, error);
    if (!loaded) {
      (void)fail(module, "profile: " + error);
      return;
    }
    profile = *loaded;
  } else {
    profile = defaultProfile(targetTriple);
  }

  func::FuncOp func = mafat::findEntry(module, entry, "mafat-plan: ");
  if (!func)
    return signalPassFailure();
  FailureOr<LayerGraph> graph = LayerGraph::build(func);
  if (failed(graph))
    return signalPassFailure();

  MemoryModelOptions memoryOptions;
  memoryOptions.alignment = alignment;
  bool wantPareto = printReport || !reportFile.empty();

  Plan plan;
  MemoryPrediction memory;
  std::optional<PlanSearchOutcome> outcome;
  std::vector<std::string> orderNames;
  PriceCache cache;
  if (planSource == "auto") {
    PlanSearchOptions options;
    options.budget = budget;
    options.space.maxTiledGroups = maxGroups;
    options.space.cutsAfterPoolOnly = cutsAfterPoolOnly;
    options.space.squareGrids = squareGrids;
    options.space.maxGrid = maxGrid;
    options.space.maxHaloOverhead = maxHaloOverhead;
    options.memory = memoryOptions;
    options.profile = profile;
    options.parallel = parallel;
    options.pareto = wantPareto;
    std::vector<unsigned> own;
    for (unsigned id : graph->topologicalOrder())
      if (graph->node(id).kind != LayerKind::Input)
        own.push_back(id);
    auto start = std::chrono::steady_clock::now();
    std::vector<unsigned> order = pickExecutionOrder(*graph, options, cache);
    if (order != own && reorderLayers(func, *graph, order)) {
      graph = LayerGraph::build(func);
      if (failed(graph))
        return signalPassFailure();
    }
    std::string error;
    outcome = searchPlan(*graph, options, error, &cache);
    if (!outcome) {
      (void)fail(func, error);
      return;
    }
    // The search time includes choosing the order.
    outcome->searchSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    plan = outcome->plan;
    memory = outcome->memory;
  } else {
    std::string error;
    if (planSource == "none") {
      plan = layerByLayerPlan(*graph);
    } else {
      auto buffer = llvm::MemoryBuffer::getFile(planSource.getValue());
      if (!buffer) {
        (void)fail(module, "cannot read plan file '" + planSource +
                               "': " + buffer.getError().message());
        return;
      }
      std::optional<Plan> parsed = planFromJson((*buffer)->getBuffer(), error);
      if (!parsed) {
        (void)fail(module, "plan file '" + planSource + "': " + error);
        return;
      }
      plan = std::move(*parsed);
      auto lookup = [&](StringRef name) -> std::optional<LayerExtent> {
        std::optional<unsigned> id = graph->lookup(name);
        if (!id)
          return std::nullopt;
        mafat::Region r = spatialExtent(graph->node(*id).outputShape);
        return LayerExtent{r.rows.size(), r.cols.size()};
      };
      assignMissingTiles(plan, lookup);
      if (std::string e = validatePlan(plan, lookup); !e.empty()) {
        (void)fail(module, "plan file '" + planSource + "': " + e);
        return;
      }
    }
    // The complete plan: layers a file leaves out run in their own groups,
    // in the order the groups will run.
    std::optional<std::vector<FusionGroup>> groups =
        buildPlanGroups(*graph, plan, error);
    if (!groups) {
      (void)fail(module, "plan file '" + planSource + "': " + error);
      return;
    }
    plan.groups.clear();
    for (const FusionGroup &g : *groups)
      plan.groups.push_back(g.plan());
    std::optional<MemoryPrediction> predicted =
        predictMemory(*graph, plan, memoryOptions, error);
    if (!predicted) {
      (void)fail(module, error);
      return;
    }
    memory = std::move(*predicted);
    if (budget && memory.workspaceBytes > *budget) {
      (void)fail(func, "plan '" + planSource + "' needs a workspace of " +
                           formatBytes(memory.workspaceBytes) +
                           ", over the memory budget of " +
                           formatBytes(*budget));
      return;
    }
  }
  for (unsigned id : graph->topologicalOrder())
    if (graph->node(id).kind != LayerKind::Input)
      orderNames.push_back(graph->node(id).name);

  // Per-group figures.
  std::string error;
  std::optional<std::vector<FusionGroup>> groups =
      buildPlanGroups(*graph, plan, error);
  if (!groups) {
    (void)fail(module, error);
    return;
  }
  // Each group priced as the search prices it (with the maps of earlier
  // groups that it or a later group reads), and its exact footprint in the
  // plan's packed arena.
  std::vector<int> groupOf(graph->size(), -1);
  for (auto [k, g] : llvm::enumerate(*groups))
    for (const FusedLayer &layer : g.layers())
      groupOf[layer.node] = k;
  std::vector<GroupReport> rows;
  double latencyMs = 0;
  for (unsigned k = 0; k < groups->size(); ++k) {
    const FusionGroup &g = (*groups)[k];
    GroupReport row;
    row.group = &g;
    std::vector<unsigned> live, consumed;
    for (unsigned e = 0; e < k; ++e) {
      unsigned out = (*groups)[e].outputLayer().node;
      auto readFrom = [&](int first) {
        return llvm::any_of(graph->node(out).users, [&](unsigned user) {
          return groupOf[user] >= first;
        });
      };
      if (!readFrom(k))
        continue;
      live.push_back(out);
      if (!readFrom(k + 1))
        consumed.push_back(out);
    }
    row.memory = predictGroupMemory(*graph, g, live, memoryOptions, consumed);
    if (k < memory.groups.size())
      row.footprintBytes = memory.groups[k].footprintBytes;
    row.latency = predictGroupLatency(*graph, g, profile, parallel);
    latencyMs += row.latency.ms;
    rows.push_back(row);
  }
  unsigned layers = orderNames.size();
  uint64_t codeAndStack =
      kCodeBytesBase + kCodeBytesPerLayer * layers + kStackBytesBound;
  uint64_t peak = memory.workspaceBytes + memory.ioBytes + memory.weightBytes +
                  codeAndStack;

  module->setAttr(kPlanAttrName, toAttr(module.getContext(), plan));

  if (!reportFile.empty()) {
    llvm::json::Array groupsJson;
    for (const GroupReport &row : rows) {
      const FusionGroup &g = *row.group;
      llvm::json::Array layersJson;
      for (const std::string &name : g.plan().layers)
        layersJson.push_back(name);
      auto tiles = [](const std::vector<Interval> &list) {
        llvm::json::Array a;
        for (Interval t : list)
          a.push_back(llvm::json::Array{t.lo, t.hi});
        return a;
      };
      groupsJson.push_back(llvm::json::Object{
          {"name", g.name()},
          {"layers", std::move(layersJson)},
          {"grid", llvm::json::Array{g.plan().gridRows, g.plan().gridCols}},
          {"row_tiles", tiles(g.plan().rowTiles)},
          {"col_tiles", tiles(g.plan().colTiles)},
          {"max_tile",
           llvm::json::Array{row.memory.maxTileRows, row.memory.maxTileCols}},
          {"halo_overhead", g.haloOverhead(*graph)},
          {"workspace_bytes", (int64_t)row.footprintBytes},
          {"search_peak_bytes", (int64_t)row.memory.peakBytes},
          {"tile_bytes", (int64_t)row.memory.tileBytes},
          {"live_map_bytes", (int64_t)row.memory.liveMapBytes},
          {"latency_ms", row.latency.ms},
          {"form", row.latency.splitSteps ? "split-steps" : "serial"},
          {"threads", (int64_t)(row.latency.splitSteps ? parallel.threads : 1)},
          {"split_steps", (int64_t)row.latency.splitSteps},
      });
    }
    llvm::json::Array paretoJson;
    if (outcome)
      for (const ParetoPoint &p : outcome->pareto)
        paretoJson.push_back(
            llvm::json::Object{{"workspace_bytes", (int64_t)p.workspaceBytes},
                               {"latency_ms", p.latencyMs},
                               {"groups", (int64_t)p.groups},
                               {"tiled_groups", (int64_t)p.tiledGroups}});
    llvm::json::Array orderJson;
    for (const std::string &name : orderNames)
      orderJson.push_back(name);
    llvm::json::Object report{
        {"model", graph->functionName()},
        {"plan_source", planSource.getValue()},
        {"profile", profile.name},
        {"threads", (int64_t)parallel.threads},
        {"memory_budget_bytes", budget ? llvm::json::Value((int64_t)*budget)
                                       : llvm::json::Value(nullptr)},
        {"predicted_workspace_bytes", (int64_t)memory.workspaceBytes},
        {"predicted_peak_bytes", (int64_t)peak},
        {"peak_breakdown",
         llvm::json::Object{
             {"workspace_bytes", (int64_t)memory.workspaceBytes},
             {"io_bytes", (int64_t)memory.ioBytes},
             {"weight_bytes", (int64_t)memory.weightBytes},
             {"code_and_stack_bytes_estimate", (int64_t)codeAndStack}}},
        {"naive_bytes", (int64_t)memory.naiveBytes},
        {"predicted_latency_ms", latencyMs},
        {"layers", (int64_t)layers},
        {"order", std::move(orderJson)},
        {"groups", std::move(groupsJson)},
        {"pareto", std::move(paretoJson)},
    };
    if (outcome) {
      const SearchStats &s = outcome->stats;
      report["min_workspace_bytes"] = (int64_t)outcome->minWorkspaceBytes;
      report["search"] = llvm::json::Object{
          {"space",
           llvm::json::Object{{"max_groups", (int64_t)maxGroups},
                              {"cuts_after_pool_only", (bool)cutsAfterPoolOnly},
                              {"square_grids", (bool)squareGrids},
                              {"max_grid", (int64_t)maxGrid},
                              {"max_halo_overhead", (double)maxHaloOverhead}}},
          {"candidates_priced", (int64_t)s.priced},
          {"candidates_kept", (int64_t)s.kept},
          {"pruned_by_halo_cap", (int64_t)s.prunedHalo},
          {"rejected", (int64_t)s.rejected},
          {"searches", (int64_t)outcome->searches},
          {"pricing_seconds", s.pricingSeconds},
          {"seconds", outcome->searchSeconds}};
    }
    std::error_code ec;
    llvm::raw_fd_ostream os(reportFile, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      (void)fail(module,
                 "cannot write report '" + reportFile + "': " + ec.message());
      return;
    }
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
  }

  if (printReport) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "mafat-plan @" << graph->functionName() << ": plan=" << planSource
       << ", budget "
       << (budget ? formatBytes(*budget) : std::string("none (fastest plan)"))
       << ", profile " << profile.name << "\n";
    os << llvm::formatv("{0,-6} {1,-36} {2,-6} {3,-10} {4,7} {5,16} {6,12}\n",
                        "group", "layers", "grid", "tile", "halo %",
                        "workspace bytes", "latency ms");
    for (const GroupReport &row : rows) {
      const FusionGroup &g = *row.group;
      const std::vector<std::string> &names = g.plan().layers;
      std::string layersText =
          names.size() == 1 ? names.front()
                            : names.front() + " .. " + names.back() + " (" +
                                  std::to_string(names.size()) + ")";
      os << llvm::formatv(
          "{0,-6} {1,-36} {2,-6} {3,-10} {4,7} {5,16} {6,12:F3}\n", g.name(),
          layersText,
          std::to_string(g.plan().gridRows) + "x" +
              std::to_string(g.plan().gridCols),
          std::to_string(row.memory.maxTileRows) + "x" +
              std::to_string(row.memory.maxTileCols),
          percent(g.haloOverhead(*graph)), row.footprintBytes,
          row.latency.ms);
    }
    os << "predicted workspace (limited by memory-budget): "
       << formatBytes(memory.workspaceBytes) << "\n";
    os << "predicted peak memory (workspace + inputs/outputs " << memory.ioBytes
       << " + weights " << memory.weightBytes << " + code and stack estimate "
       << codeAndStack << "): " << formatBytes(peak) << "\n";
    os << "predicted latency: " << llvm::formatv("{0:F3}", latencyMs)
       << " ms\n";
    if (outcome) {
      os << "smallest workspace in the search space: "
         << formatBytes(outcome->minWorkspaceBytes) << "\n";
      os << "search: " << outcome->stats.layers << " layers, "
         << outcome->stats.priced << " candidates priced, "
         << outcome->stats.kept << " kept\n";
      os << "Pareto front (workspace vs predicted latency):\n";
      os << llvm::formatv("  {0,16} {1,12} {2,7} {3,6}\n", "workspace bytes",
                          "latency ms", "groups", "tiled");
      for (const ParetoPoint &p : outcome->pareto)
        os << llvm::formatv("  {0,16} {1,12:F3} {2,7} {3,6}\n",
                            p.workspaceBytes, p.latencyMs, p.groups,
                            p.tiledGroups);
    }
    llvm::outs() << text;
    llvm::outs().flush();
  }
}

} // namespace
