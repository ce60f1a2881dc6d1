//===- TargetProfile.cpp - Target profiles: JSON and built-ins ------------===//

#include "mafat/CostModel/TargetProfile.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace llvm;

namespace mafat {

namespace {

/// One numeric parameter: its JSON group ("" for top level), key and field.
struct NumberField {
  const char *group;
  const char *key;
  double TargetProfile::*field;
  /// Rates and sizes must be > 0; the penalty and overheads may be 0.
  bool positive;
};

/// Every numeric field, in schema order; the reader, the writer, the checks
/// and operator== all walk this table so they cannot disagree.
const NumberField kNumberFields[] = {
    {"throughput_gflops", "conv", &TargetProfile::convGflops, true},
    {"throughput_gflops", "conv1x1", &TargetProfile::conv1x1Gflops, true},
    {"throughput_gflops", "depthwise", &TargetProfile::depthwiseGflops, true},
    {"throughput_gflops", "pool", &TargetProfile::poolGflops, true},
    {"throughput_gflops", "elementwise", &TargetProfile::elementwiseGflops,
     true},
    {"throughput_gflops", "epilogue", &TargetProfile::epilogueGflops, true},
    {"throughput_gflops", "matmul", &TargetProfile::matmulGflops, true},
    {"bandwidth_gbps", "copy", &TargetProfile::copyGBps, true},
    {"bandwidth_gbps", "cache", &TargetProfile::cacheGBps, true},
    {"bandwidth_gbps", "llc", &TargetProfile::llcGBps, true},
    {"bandwidth_gbps", "memory", &TargetProfile::memoryGBps, true},
    {"", "cache_bytes", &TargetProfile::cacheBytes, true},
    {"", "llc_bytes", &TargetProfile::llcBytes, true},
    {"", "tile_width_penalty", &TargetProfile::tileWidthPenalty, false},
    {"overhead_us", "layer", &TargetProfile::layerOverheadUs, false},
    {"overhead_us", "tile", &TargetProfile::tileOverheadUs, false},
    {"parallel", "efficiency", &TargetProfile::parallelEfficiency, true},
    {"parallel", "launch_us", &TargetProfile::parallelLaunchUs, false},
};

const char *const kGroups[] = {"throughput_gflops", "bandwidth_gbps",
                               "overhead_us", "parallel"};
const char *const kStringKeys[] = {"name", "triple", "source"};

std::string pathOf(const NumberField &f) {
  return *f.group ? std::string(f.group) + "." + f.key : std::string(f.key);
}

/// The shortest %g form that reads back as exactly `v`, so written profiles
/// stay readable ("155.2", not "155.19999999999999").
std::string formatDouble(double v) {
  char buf[64];
  if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  return buf;
}

bool isKnown(StringRef key, ArrayRef<StringRef> known) {
  return llvm::is_contained(known, key);
}

} // namespace

bool TargetProfile::operator==(const TargetProfile &other) const {
  if (name != other.name || triple != other.triple ||
      calibrated != other.calibrated || source != other.source)
    return false;
  return llvm::all_of(kNumberFields, [&](const NumberField &f) {
    return this->*f.field == other.*f.field;
  });
}

std::string checkProfile(const TargetProfile &profile) {
  for (const NumberField &f : kNumberFields) {
    double v = profile.*f.field;
    if (!std::isfinite(v))
      return pathOf(f) + ": must be finite";
    if (f.positive && v <= 0)
      return pathOf(f) + ": must be positive";
    if (!f.positive && v < 0)
      return pathOf(f) + ": must not be negative";
  }
  return "";
}

std::string profileToJson(const TargetProfile &profile) {
  std::string text;
  raw_string_ostream os(text);
  json::OStream j(os, /*IndentSize=*/2);
  j.objectBegin();
  j.attribute("name", profile.name);
  j.attribute("triple", profile.triple);
  j.attribute("calibrated", profile.calibrated);
  j.attribute("source", profile.source);
  // Fields of one group are adjacent in the table: open and close a nested
  // object around each run.
  StringRef open;
  for (const NumberField &f : kNumberFields) {
    StringRef group = f.group;
    if (group != open) {
      if (!open.empty()) {
        j.objectEnd();
        j.attributeEnd();
      }
      if (!group.empty()) {
        j.attributeBegin(group);
        j.objectBegin();
      }
      open = group;
    }
    j.attributeBegin(f.key);
    j.rawValue(formatDouble(profile.*f.field));
    j.attributeEnd();
  }
  if (!open.empty()) {
    j.objectEnd();
    j.attributeEnd();
  }
  j.objectEnd();
  os << "\n";
  return text;
}

std::optional<TargetProfile> profileFromJson(StringRef text,
                                             std::string &error) {
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed) {
    error = "invalid JSON: " + toString(parsed.takeError());
    return std::nullopt;
  }
  const json::Object *root = parsed->getAsObject();
  if (!root) {
    error = "profile: expected an object";
    return std::nullopt;
  }

  // Unknown keys first, so a misspelt key is reported as such rather than
  // as the correctly spelt one missing.
  SmallVector<StringRef> topKeys(std::begin(kStringKeys),
                                 std::end(kStringKeys));
  topKeys.push_back("calibrated");
  topKeys.append(std::begin(kGroups), std::end(kGroups));
  for (const NumberField &f : kNumberFields)
    if (!*f.group)
      topKeys.push_back(f.key);
  for (const auto &kv : *root) {
    if (!isKnown(kv.first, topKeys)) {
      error = (kv.first + ": unknown key").str();
      return std::nullopt;
    }
  }
  for (const char *group : kGroups) {
    const json::Value *v = root->get(group);
    if (!v) {
      error = std::string(group) + ": missing";
      return std::nullopt;
    }
    const json::Object *obj = v->getAsObject();
    if (!obj) {
      error = std::string(group) + ": expected an object";
      return std::nullopt;
    }
    SmallVector<StringRef> keys;
    for (const NumberField &f : kNumberFields)
      if (StringRef(f.group) == group)
        keys.push_back(f.key);
    for (const auto &kv : *obj) {
      if (!isKnown(kv.first, keys)) {
        error = (group + ("." + kv.first) + ": unknown key").str();
        return std::nullopt;
      }
    }
  }

  TargetProfile profile;
  std::string *strings[] = {&profile.name, &profile.triple, &profile.source};
  for (auto [key, field] : llvm::zip_equal(kStringKeys, strings)) {
    const json::Value *v = root->get(key);
    if (!v) {
      error = std::string(key) + ": missing";
      return std::nullopt;
    }
    std::optional<StringRef> s = v->getAsString();
    if (!s) {
      error = std::string(key) + ": expected a string";
      return std::nullopt;
    }
    *field = s->str();
  }
  const json::Value *calibrated = root->get("calibrated");
  if (!calibrated) {
    error = "calibrated: missing";
    return std::nullopt;
  }
  std::optional<bool> flag = calibrated->getAsBoolean();
  if (!flag) {
    error = "calibrated: expected true or false";
    return std::nullopt;
  }
  profile.calibrated = *flag;

  for (const NumberField &f : kNumberFields) {
    const json::Object *obj = *f.group ? root->getObject(f.group) : root;
    const json::Value *v = obj->get(f.key);
    if (!v) {
      error = pathOf(f) + ": missing";
      return std::nullopt;
    }
    std::optional<double> d = v->getAsNumber();
    if (!d) {
      error = pathOf(f) + ": expected a number";
      return std::nullopt;
    }
    profile.*f.field = *d;
  }

  error = checkProfile(profile);
  if (!error.empty())
    return std::nullopt;
  return profile;
}

std::optional<TargetProfile> loadProfile(StringRef path, std::string &error) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    error = (path + ": " + buffer.getError().message()).str();
    return std::nullopt;
  }
  std::optional<TargetProfile> profile =
      profileFromJson((*buffer)->getBuffer(), error);
  if (!profile)
    error = (path + ": " + error).str();
  return profile;
}

TargetProfile defaultProfile(StringRef triple) {
  TargetProfile p;
  if (triple.starts_with("aarch64") || triple.starts_with("arm64")) {
    // Keep equal to profiles/aarch64.json (MafatCostModelTests checks).
    p.name = "aarch64-cortex-a72";
    p.triple = "aarch64-linux-gnu";
    p.calibrated = false;
    p.source =
        "derived, not measured (qemu timings mean nothing): Cortex-A72 @ 1.5 "
        "GHz (Raspberry Pi 4 class), 8 SP FLOP/cycle (one 128-bit FMLA per "
        "cycle, ARM Cortex-A72 Software Optimization Guide) = 12 GFLOP/s; "
        "compute rates = profiles/x86_64.json at the same fraction of peak "
        "(x 12/181); L2 1 MiB (last level) at 8 B/cycle = 12 GB/s; "
        "LPDDR4-3200 x32 (12.8 GB/s peak) ~4 GB/s from one core; copy at the "
        "x86 copy/cache ratio; width penalty as x86 (same 5-column block); "
        "overheads x3 of x86";
    p.convGflops = 11.3;
    p.conv1x1Gflops = 10.61;
    p.depthwiseGflops = 5.704;
    p.poolGflops = 1.131;
    p.elementwiseGflops = 2.255;
    p.epilogueGflops = 113;
    p.matmulGflops = 3.631;
    p.copyGBps = 5.245;
    p.cacheGBps = 12;
    p.llcGBps = 12;
    p.memoryGBps = 4;
    p.cacheBytes = 1048576;
    p.llcBytes = 1048576;
    p.tileWidthPenalty = 1.011;
    p.layerOverheadUs = 0;
    p.tileOverheadUs = 0;
    p.parallelEfficiency = 0.9;
    p.parallelLaunchUs = 10;
    return p;
  }
  // Keep equal to profiles/x86_64.json (MafatCostModelTests checks).
  p.name = "x86_64-icelake";
  p.triple = "x86_64-linux-gnu";
  p.calibrated = true;
  p.source = "mafat-calibrate on Intel(R) Xeon(R) Processor @ 2.80GHz (Ice "
             "Lake server, AVX-512, L2 1.25 MiB, L3 48 MiB, shared machine), "
             "2026-11-25, 68 micro-benchmarks including fused plans on 2x2, "
             "4x4 and 8x8 grids, min of 3 rounds; the per-tile overhead fits "
             "to 0 (below the noise)";
  p.convGflops = 176.9;
  p.conv1x1Gflops = 165.6;
  p.depthwiseGflops = 89.94;
  p.poolGflops = 17.24;
  p.elementwiseGflops = 33.93;
  p.epilogueGflops = 1769;
  p.matmulGflops = 58.96;
  p.copyGBps = 52.34;
  p.cacheGBps = 73.78;
  p.llcGBps = 30.64;
  p.memoryGBps = 11.86;
  p.cacheBytes = 1310720;
  p.llcBytes = 50331648;
  p.tileWidthPenalty = 1.055;
  p.layerOverheadUs = 0;
  p.tileOverheadUs = 0;
  p.parallelEfficiency = 0.9;
  p.parallelLaunchUs = 3;
  return p;
}

} // namespace mafat
