//===- mafat-predict.cpp - The latency model on a layer graph JSON --------===//
//
// Prices a model's groups with the compiler's latency model
// (CostModel/LatencyModel.h) without building IR: the graph is the JSON of
// `mafat-opt --mafat-print-layer-graph=format=json`, the groups come from a
// plan file or run layer by layer (as `mafat-compile --plan=none` runs a
// model), the parameters from a target profile. The plan is read, completed
// and checked as mafat-plan reads a plan file, so every figure equals the
// group's `latency_ms` in mafat-plan's report with the same profile and
// threads (test/tools/mafat-predict.test checks it).
//
// mafat-calibrate fits profiles with it: with --serve it reads one profile
// (JSON, on one line) per line of stdin and answers each with one line of
// predictions, so a fit evaluates the model at thousands of parameter
// values without restating its formula in Python.
//
// Output, per profile: {"model", "predicted_latency_ms", "compute_ms",
// "memory_ms", "copy_ms", "overhead_ms", "groups": [{"name", "layers",
// "latency_ms", "compute_ms", "memory_ms", "copy_ms", "overhead_ms",
// "split_steps"}]}; the totals are the sums over the groups. In --serve
// mode a profile that does not parse is answered with {"error": "..."}.
//
//===----------------------------------------------------------------------===//

#include "mafat/CostModel/LatencyModel.h"
#include "mafat/CostModel/TargetProfile.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Graph/LayerGraphJson.h"
#include "mafat/Plan/Plan.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <iostream>
#include <string>

using namespace llvm;
using namespace mafat;

static cl::OptionCategory category("mafat-predict options");
static cl::opt<std::string> graphFile(cl::Positional, cl::Required,
                                      cl::desc("<layer-graph.json>"),
                                      cl::cat(category));
static cl::opt<std::string>
    planFile("plan",
             cl::desc("A plan FILE.json, or none (layer by layer, the "
                      "default)"),
             cl::init("none"), cl::cat(category));
static cl::opt<std::string>
    profileFile("profile",
                cl::desc("Target profile JSON (required unless --serve)"),
                cl::cat(category));
static cl::opt<bool>
    serve("serve",
          cl::desc("Read one profile JSON per line of stdin and answer each "
                   "with one line of predictions"),
          cl::cat(category));
static cl::opt<int64_t> minParallelWork(
    "min-parallel-work",
    cl::desc("Smallest layer split across threads, in iterations"),
    cl::init(kDefaultMinParallelWork), cl::cat(category));

namespace {

int fail(const Twine &message) {
  errs() << "mafat-predict: " << message << "\n";
  return 1;
}

/// The plan file read, completed and checked as mafat-plan reads one.
std::optional<Plan> readPlan(const LayerGraph &graph, std::string &error) {
  if (planFile == "none")
    return layerByLayerPlan(graph);
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(planFile, /*IsText=*/true);
  if (!buffer) {
    error = planFile + ": " + buffer.getError().message();
    return std::nullopt;
  }
  std::optional<Plan> plan = planFromJson((*buffer)->getBuffer(), error);
  if (!plan) {
    error = planFile + ": " + error;
    return std::nullopt;
  }
  auto lookup = [&](StringRef name) -> std::optional<LayerExtent> {
    std::optional<unsigned> id = graph.lookup(name);
    if (!id)
      return std::nullopt;
    Region r = spatialExtent(graph.node(*id).outputShape);
    return LayerExtent{r.rows.size(), r.cols.size()};
  };
  assignMissingTiles(*plan, lookup);
  if (std::string e = validatePlan(*plan, lookup); !e.empty()) {
    error = planFile + ": " + e;
    return std::nullopt;
  }
  return plan;
}

json::Object predict(const LayerGraph &graph, ArrayRef<FusionGroup> groups,
                     const TargetProfile &profile,
                     const ParallelOptions &parallel) {
  json::Array rows;
  GroupLatency total;
  for (const FusionGroup &group : groups) {
    GroupLatency g = predictGroupLatency(graph, group, profile, parallel);
    total.ms += g.ms;
    total.computeMs += g.computeMs;
    total.memoryMs += g.memoryMs;
    total.copyMs += g.copyMs;
    total.overheadMs += g.overheadMs;
    json::Array layers;
    for (const FusedLayer &layer : group.layers())
      layers.push_back(graph.node(layer.node).name);
    rows.push_back(json::Object{{"name", group.name()},
                                {"layers", std::move(layers)},
                                {"latency_ms", g.ms},
                                {"compute_ms", g.computeMs},
                                {"memory_ms", g.memoryMs},
                                {"copy_ms", g.copyMs},
                                {"overhead_ms", g.overheadMs},
                                {"split_steps", (int64_t)g.splitSteps}});
  }
  return json::Object{
      {"model", graph.functionName()}, {"predicted_latency_ms", total.ms},
      {"compute_ms", total.computeMs}, {"memory_ms", total.memoryMs},
      {"copy_ms", total.copyMs},       {"overhead_ms", total.overheadMs},
      {"groups", std::move(rows)}};
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // One of LLVM's libraries has an unrelated `threads` option and two
  // options cannot share a name: registered here, after it is removed (as
  // mafat-compile does).
  if (cl::Option *other = cl::getRegisteredOptions().lookup("threads"))
    other->removeArgument();
  static cl::opt<unsigned> threads(
      "threads", cl::desc("Threads the model is compiled for (default 1)"),
      cl::init(1), cl::cat(category));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "mafat-predict: the latency model's prediction for each group of a "
      "model, from its layer graph JSON\n");
  if (!serve && profileFile.empty())
    return fail("--profile=FILE or --serve is required");
  if (threads == 0)
    return fail("--threads must be at least 1");
  // --serve reads its profiles from stdin, which a graph from stdin would
  // have consumed.
  if (serve && graphFile == "-")
    return fail("--serve needs the layer graph in a file, not stdin");

  ErrorOr<std::unique_ptr<MemoryBuffer>> text =
      MemoryBuffer::getFileOrSTDIN(graphFile, /*IsText=*/true);
  if (!text)
    return fail(graphFile + ": " + text.getError().message());
  std::string error;
  std::optional<LayerGraph> graph =
      parseLayerGraphJson((*text)->getBuffer(), error);
  if (!graph)
    return fail(graphFile + ": " + error);
  std::optional<Plan> plan = readPlan(*graph, error);
  if (!plan)
    return fail(error);
  std::optional<std::vector<FusionGroup>> groups =
      buildPlanGroups(*graph, *plan, error);
  if (!groups)
    return fail(error);
  const ParallelOptions parallel{threads, minParallelWork};

  if (!serve) {
    std::optional<TargetProfile> profile = loadProfile(profileFile, error);
    if (!profile)
      return fail(error);
    outs() << formatv("{0:2}",
                      json::Value(predict(*graph, *groups, *profile, parallel)))
           << "\n";
    return 0;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (StringRef(line).trim().empty())
      continue;
    std::optional<TargetProfile> profile = profileFromJson(line, error);
    json::Value answer =
        profile ? json::Value(predict(*graph, *groups, *profile, parallel))
                : json::Value(json::Object{{"error", error}});
    outs() << answer << "\n";
    outs().flush();
  }
  return 0;
}
