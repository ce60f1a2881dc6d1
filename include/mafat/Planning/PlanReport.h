//===- PlanReport.h - What mafat-plan says about a plan ---------*- C++ -*-===//
//
// The figures mafat-plan reports for the plan it attaches: per group the
// memory as the search prices it, the group's footprint in the exact packed
// arena and its predicted latency; for the plan the workspace, the peak
// memory estimate and, after a search, the search's statistics and Pareto
// front. Written as JSON (report=, read by bench/ and the tests) or as a
// table (print-report). Nothing here decides: every figure comes from the
// cost models the search used.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_PLANNING_PLANREPORT_H
#define MAFAT_PLANNING_PLANREPORT_H

#include "mafat/CostModel/LatencyModel.h"
#include "mafat/CostModel/MemoryModel.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraph.h"
#include "mafat/Planning/PlanSearch.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mafat {

/// Everything the report says about one group.
struct GroupReport {
  /// The group priced alone, as the search prices it.
  GroupMemory memory;
  /// The group's footprint in the plan's packed arena (the exact figure).
  uint64_t footprintBytes = 0;
  GroupLatency latency;
  /// FusionGroup::haloOverhead.
  double haloOverhead = 0;
};

/// One map recomputed for its late readers (Plan::rematerialize), as the
/// graph after the rewrite shows it.
struct RematerializationReport {
  /// The map's layer, and the copies of its chain ("<layer>.remat"),
  /// producer first.
  std::string layer;
  std::vector<std::string> copies;
  /// The map the copies are computed from, and the readers of the copy.
  std::string source;
  std::vector<std::string> readers;
  int64_t extraFlops = 0;
};

struct PlanReport {
  /// The model function.
  std::string model;
  /// "auto", "none" or the plan file, as given.
  std::string planSource;
  /// The options the plan was made (or checked) with.
  PlanSearchOptions options;
  /// Non-input layers in execution order.
  std::vector<std::string> order;
  /// The plan's rematerializations.
  std::vector<RematerializationReport> rematerialized;
  /// The plan's groups (buildPlanGroups) and, for each, its figures.
  std::vector<FusionGroup> groups;
  std::vector<GroupReport> rows;
  /// The exact prediction of the whole plan.
  MemoryPrediction memory;
  double latencyMs = 0;
  /// Code size and stack depth are known only once the model is compiled,
  /// so the peak adds an estimate of them, labelled as such.
  uint64_t codeAndStackBytes = 0;
  /// Workspace + inputs/outputs + weights + the code and stack estimate.
  uint64_t peakBytes = 0;
  /// What the search found and looked at, if the plan came from it.
  std::optional<PlanSearchOutcome> search;
};

/// Prices every group of `plan` (complete, in execution order, as attached)
/// on `graph`, given its exact prediction `memory`. Fails, setting `error`,
/// if the plan's groups cannot be built.
std::optional<PlanReport> buildPlanReport(
    const LayerGraph &graph, const Plan &plan, const MemoryPrediction &memory,
    const PlanSearchOptions &options, llvm::StringRef planSource,
    const std::optional<PlanSearchOutcome> &search, std::string &error);

/// The JSON report (docs/Plans.md lists its keys).
llvm::json::Value toJson(const PlanReport &report);

/// The per-group table, the memory and latency figures and, after a search,
/// the Pareto front.
void printPlanReport(const PlanReport &report, llvm::raw_ostream &os);

} // namespace mafat

#endif // MAFAT_PLANNING_PLANREPORT_H
