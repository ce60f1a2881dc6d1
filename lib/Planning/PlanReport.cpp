//===- PlanReport.cpp - What mafat-plan says about a plan -----------------===//

#include "mafat/Planning/PlanReport.h"

#include "mafat/Graph/Rematerialization.h"
#include "mafat/Support/ByteSize.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mafat;

namespace {

/// The code and stack estimate: 64 KiB for the run wrapper, descriptor and
/// driver, 2 KiB of generated code per layer, 64 KiB of stack. mafat-compile
/// can replace it with the compiled figures (it reads the stack bound from
/// the object).
constexpr uint64_t kCodeBytesBase = 64 * 1024;
constexpr uint64_t kCodeBytesPerLayer = 2 * 1024;
constexpr uint64_t kStackBytesBound = 64 * 1024;

std::string percent(double fraction) {
  return llvm::formatv("{0:F1}", fraction * 100).str();
}

} // namespace

std::optional<PlanReport> mafat::buildPlanReport(
    const LayerGraph &graph, const Plan &plan, const MemoryPrediction &memory,
    const PlanSearchOptions &options, llvm::StringRef planSource,
    const std::optional<PlanSearchOutcome> &search, std::string &error) {
  std::optional<std::vector<FusionGroup>> groups =
      buildPlanGroups(graph, plan, error);
  if (!groups)
    return std::nullopt;
  PlanReport report;
  report.model = graph.functionName().str();
  report.planSource = planSource.str();
  report.options = options;
  for (unsigned id : programOrder(graph))
    report.order.push_back(graph.node(id).name);
  report.memory = memory;
  report.search = search;
  for (const std::string &name : plan.rematerialize) {
    std::optional<unsigned> copy = graph.lookup(rematerializedName(name));
    if (!copy) {
      error = "rematerialize: the model has no copy of '" + name + "'";
      return std::nullopt;
    }
    RematerializationReport r;
    r.layer = name;
    for (unsigned user : graph.node(*copy).users)
      r.readers.push_back(graph.node(user).name);
    // Back through the copies (each reads one map) to the kept map.
    unsigned id = *copy;
    while (true) {
      const LayerNode &node = graph.node(id);
      r.copies.insert(r.copies.begin(), node.name);
      r.extraFlops += node.flops;
      std::optional<unsigned> input = onlyInputMap(node);
      if (!input)
        break;
      const LayerNode &producer = graph.node(*input);
      if (!rematerializedOriginal(producer.name)) {
        r.source = producer.name;
        break;
      }
      id = *input;
    }
    report.rematerialized.push_back(std::move(r));
  }
  // Each group priced as the search prices it (with the maps of earlier
  // groups that it or a later group reads), and its exact footprint in the
  // plan's packed arena.
  MapLiveness liveness = MapLiveness::ofGroups(graph, *groups);
  for (auto [k, group] : llvm::enumerate(*groups)) {
    GroupReport row;
    row.memory =
        predictGroupMemory(graph, group, liveness.live(k), options.memory,
                           liveness.consumed(k, k + 1));
    if (k < memory.groups.size())
      row.footprintBytes = memory.groups[k].footprintBytes;
    row.latency =
        predictGroupLatency(graph, group, options.profile, options.parallel);
    row.haloOverhead = group.haloOverhead(graph);
    report.latencyMs += row.latency.ms;
    report.rows.push_back(row);
  }
  report.groups = std::move(*groups);
  report.codeAndStackBytes = kCodeBytesBase +
                             kCodeBytesPerLayer * report.order.size() +
                             kStackBytesBound;
  report.peakBytes = memory.workspaceBytes + memory.ioBytes +
                     memory.weightBytes + report.codeAndStackBytes;
  return report;
}

/// How a group uses the threads: its parallel form (docs/Design.md).
static const char *formOf(const GroupLatency &latency) {
  if (latency.slots > 1)
    return "concurrent-tiles";
  return latency.splitSteps ? "split-steps" : "serial";
}

static unsigned threadsOf(const GroupLatency &latency,
                          const ParallelOptions &parallel) {
  if (latency.slots > 1)
    return latency.slotThreads;
  return latency.splitSteps ? parallel.threads : 1;
}

llvm::json::Value mafat::toJson(const PlanReport &report) {
  const MemoryPrediction &memory = report.memory;
  const ParallelOptions &parallel = report.options.parallel;
  llvm::json::Array groupsJson;
  for (auto [g, row] : llvm::zip_equal(report.groups, report.rows)) {
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
        {"mode", stringifyGroupMode(g.plan().mode)},
        {"stripe_rows", g.plan().stripeRows},
        {"max_tile",
         llvm::json::Array{row.memory.maxTileRows, row.memory.maxTileCols}},
        {"halo_overhead", row.haloOverhead},
        {"workspace_bytes", (int64_t)row.footprintBytes},
        {"search_peak_bytes", (int64_t)row.memory.peakBytes},
        {"tile_bytes", (int64_t)row.memory.tileBytes},
        {"live_map_bytes", (int64_t)row.memory.liveMapBytes},
        {"latency_ms", row.latency.ms},
        {"form", formOf(row.latency)},
        {"threads", (int64_t)threadsOf(row.latency, parallel)},
        {"slots", row.latency.slots},
        {"split_steps", (int64_t)row.latency.splitSteps},
    });
    // Written only when set, like the plan's JSON.
    if (g.plan().chunkRows != 0)
      groupsJson.back().getAsObject()->try_emplace("chunk_rows",
                                                   g.plan().chunkRows);
  }
  llvm::json::Array paretoJson;
  if (report.search)
    for (const ParetoPoint &p : report.search->pareto)
      paretoJson.push_back(llvm::json::Object{
          {"workspace_bytes", (int64_t)p.workspaceBytes},
          {"latency_ms", p.latencyMs},
          {"groups", (int64_t)p.groups},
          {"tiled_groups", (int64_t)p.tiledGroups},
          {"concurrent_groups", (int64_t)p.concurrentGroups}});
  llvm::json::Array rematJson;
  for (const RematerializationReport &r : report.rematerialized) {
    llvm::json::Array copies, readers;
    for (const std::string &name : r.copies)
      copies.push_back(name);
    for (const std::string &name : r.readers)
      readers.push_back(name);
    rematJson.push_back(llvm::json::Object{{"layer", r.layer},
                                           {"copies", std::move(copies)},
                                           {"source", r.source},
                                           {"readers", std::move(readers)},
                                           {"extra_flops", r.extraFlops}});
  }
  llvm::json::Array orderJson;
  for (const std::string &name : report.order)
    orderJson.push_back(name);
  const std::optional<uint64_t> &budget = report.options.budget;
  llvm::json::Object json{
      {"model", report.model},
      {"plan_source", report.planSource},
      {"profile", report.options.profile.name},
      {"threads", (int64_t)parallel.threads},
      {"memory_budget_bytes", budget ? llvm::json::Value((int64_t)*budget)
                                     : llvm::json::Value(nullptr)},
      {"predicted_workspace_bytes", (int64_t)memory.workspaceBytes},
      {"predicted_peak_bytes", (int64_t)report.peakBytes},
      {"peak_breakdown",
       llvm::json::Object{{"workspace_bytes", (int64_t)memory.workspaceBytes},
                          {"io_bytes", (int64_t)memory.ioBytes},
                          {"weight_bytes", (int64_t)memory.weightBytes},
                          {"code_and_stack_bytes_estimate",
                           (int64_t)report.codeAndStackBytes}}},
      {"naive_bytes", (int64_t)memory.naiveBytes},
      {"predicted_latency_ms", report.latencyMs},
      {"layers", (int64_t)report.order.size()},
      {"order", std::move(orderJson)},
      {"rematerialized", std::move(rematJson)},
      {"groups", std::move(groupsJson)},
      {"pareto", std::move(paretoJson)},
  };
  if (report.search) {
    const PlanSearchOutcome &outcome = *report.search;
    const SearchStats &s = outcome.stats;
    const SearchSpace &space = report.options.space;
    json["min_workspace_bytes"] = (int64_t)outcome.minWorkspaceBytes;
    json["search"] = llvm::json::Object{
        {"space",
         llvm::json::Object{{"max_groups", (int64_t)space.maxTiledGroups},
                            {"cuts_after_pool_only", space.cutsAfterPoolOnly},
                            {"square_grids", space.squareGrids},
                            {"stream", space.stream},
                            {"max_grid", (int64_t)space.maxGrid},
                            {"max_halo_overhead", space.maxHaloOverhead},
                            {"max_slots", (int64_t)space.maxSlots}}},
        {"candidates_priced", (int64_t)s.priced},
        {"candidates_kept", (int64_t)s.kept},
        {"pruned_by_halo_cap", (int64_t)s.prunedHalo},
        {"rejected", (int64_t)s.rejected},
        {"searches", (int64_t)outcome.searches},
        {"pricing_seconds", s.pricingSeconds},
        {"seconds", outcome.searchSeconds}};
  }
  return llvm::json::Value(std::move(json));
}

void mafat::printPlanReport(const PlanReport &report, llvm::raw_ostream &os) {
  const MemoryPrediction &memory = report.memory;
  const std::optional<uint64_t> &budget = report.options.budget;
  os << "mafat-plan @" << report.model << ": plan=" << report.planSource
     << ", budget "
     << (budget ? formatBytes(*budget) : std::string("none (fastest plan)"))
     << ", profile " << report.options.profile.name << "\n";
  os << llvm::formatv("{0,-6} {1,-36} {2,-6} {3,-10} {4,7} {5,16} {6,12}  "
                      "{7}\n",
                      "group", "layers", "grid", "tile", "halo %",
                      "workspace bytes", "latency ms", "form");
  for (auto [g, row] : llvm::zip_equal(report.groups, report.rows)) {
    const std::vector<std::string> &names = g.plan().layers;
    std::string layersText =
        names.size() == 1 ? names.front()
                          : names.front() + " .. " + names.back() + " (" +
                                std::to_string(names.size()) + ")";
    std::string form = formOf(row.latency);
    if (row.latency.slots > 1)
      form += " (" + std::to_string(row.latency.slots) + " slots, " +
              std::to_string(row.latency.slotThreads) + " threads)";
    else if (row.latency.splitSteps)
      form += " (" + std::to_string(row.latency.splitSteps) + " steps, " +
              std::to_string(report.options.parallel.threads) + " threads)";
    os << llvm::formatv(
        "{0,-6} {1,-36} {2,-6} {3,-10} {4,7} {5,16} {6,12:F3}  {7}\n", g.name(),
        layersText,
        std::to_string(g.plan().gridRows) + "x" +
            std::to_string(g.plan().gridCols) +
            (g.plan().isStream()
                 ? " stream " + std::to_string(g.plan().stripeRows) +
                       (g.plan().chunkRows
                            ? "/" + std::to_string(g.plan().chunkRows)
                            : std::string())
                 : std::string()),
        std::to_string(row.memory.maxTileRows) + "x" +
            std::to_string(row.memory.maxTileCols),
        percent(row.haloOverhead), row.footprintBytes, row.latency.ms, form);
  }
  for (const RematerializationReport &r : report.rematerialized) {
    os << "rematerialized: " << r.layer << " (";
    llvm::interleaveComma(r.copies, os);
    os << " recomputed from " << r.source << " for ";
    llvm::interleaveComma(r.readers, os);
    os << llvm::formatv(", +{0:F1} MFLOP)\n", r.extraFlops / 1e6);
  }
  os << "predicted workspace (limited by memory-budget): "
     << formatBytes(memory.workspaceBytes) << "\n";
  os << "predicted peak memory (workspace + inputs/outputs " << memory.ioBytes
     << " + weights " << memory.weightBytes << " + code and stack estimate "
     << report.codeAndStackBytes << "): " << formatBytes(report.peakBytes)
     << "\n";
  os << "predicted latency: " << llvm::formatv("{0:F3}", report.latencyMs)
     << " ms\n";
  if (report.search) {
    const PlanSearchOutcome &outcome = *report.search;
    os << "smallest workspace in the search space: "
       << formatBytes(outcome.minWorkspaceBytes) << "\n";
    os << "search: " << outcome.stats.layers << " layers, "
       << outcome.stats.priced << " candidates priced, " << outcome.stats.kept
       << " kept\n";
    os << "Pareto front (workspace vs predicted latency):\n";
    os << llvm::formatv("  {0,16} {1,12} {2,7} {3,6} {4,11}\n",
                        "workspace bytes", "latency ms", "groups", "tiled",
                        "concurrent");
    for (const ParetoPoint &p : outcome.pareto)
      os << llvm::formatv("  {0,16} {1,12:F3} {2,7} {3,6} {4,11}\n",
                          p.workspaceBytes, p.latencyMs, p.groups,
                          p.tiledGroups, p.concurrentGroups);
  }
}
