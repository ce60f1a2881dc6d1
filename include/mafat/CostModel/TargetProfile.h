//===- TargetProfile.h - Latency-model parameters of a target -*- C++ -*-===//
//
// The parameters of the latency model (LatencyModel.h) for one target:
// per-layer-kind throughput, copy and memory bandwidths, the cache a layer's
// working set must fit in, the narrow-tile penalty and fixed overheads.
// `mafat-calibrate` measures them on the machine and writes the profile as
// JSON; the planner reads it with `profile=FILE`, or takes the built-in
// profile of the target (defaultProfile), which equals the JSON files shipped
// in profiles/ (a unit test compares them).
//
// The JSON form (every key required, unknown keys are errors so a misspelt
// parameter cannot silently keep its default):
//
//   {
//     "name": "x86_64-icelake",
//     "triple": "x86_64-linux-gnu",
//     "calibrated": true,
//     "source": "mafat-calibrate on <cpu>, <date>",
//     "throughput_gflops": {
//       "conv": 150, "conv1x1": 140, "depthwise": 17, "pool": 10,
//       "elementwise": 5, "epilogue": 1000, "matmul": 50
//     },
//     "bandwidth_gbps": { "copy": 10, "cache": 50, "llc": 30, "memory": 8 },
//     "cache_bytes": 1048576,
//     "llc_bytes": 33554432,
//     "tile_width_penalty": 1.5,
//     "overhead_us": { "layer": 1, "tile": 2 },
//     "parallel": { "efficiency": 0.9, "launch_us": 3 }
//   }
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_COSTMODEL_TARGETPROFILE_H
#define MAFAT_COSTMODEL_TARGETPROFILE_H

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mafat {

struct TargetProfile {
  /// Short identifier ("x86_64-icelake", "aarch64-cortex-a72").
  std::string name;
  /// The triple the numbers are for (mafat-compile's --target spelling).
  std::string triple;
  /// False for profiles derived from data sheets rather than measured on
  /// the target (aarch64: timings under qemu mean nothing).
  bool calibrated = false;
  /// Where the numbers come from: the CPU and date of a calibration, or the
  /// published specs a derived profile is based on.
  std::string source;

  /// Sustained single-core throughput of the generated code, GFLOP/s
  /// (LayerNode::flops per second / 1e9), per layer kind.
  double convGflops = 1;        ///< Conv with a window larger than 1x1.
  double conv1x1Gflops = 1;     ///< Pointwise conv.
  double depthwiseGflops = 1;   ///< Depthwise conv.
  double poolGflops = 1;        ///< Max and sum pools.
  double elementwiseGflops = 1; ///< Standalone elementwise generics.
  /// Elementwise generics fused into their producer's register block
  /// (bias, activation): they run on registers, far faster.
  double epilogueGflops = 1;
  double matmulGflops = 1; ///< Matmul (dense layers).

  /// GB/s (1e9 bytes per second), bytes read + bytes written.
  double copyGBps = 1;   ///< Pad copies and data-movement layers.
  double cacheGBps = 1;  ///< Traffic of a working set within cacheBytes.
  double llcGBps = 1;    ///< Within llcBytes.
  double memoryGBps = 1; ///< Beyond llcBytes.
  /// Bytes a layer's working set (operand tiles + output tile + weights)
  /// may take and still be served at cacheGBps (the per-core L2).
  double cacheBytes = 1 << 20;
  /// The same for the last-level cache (llcGBps); equal to cacheBytes where
  /// L2 is the last level (Cortex-A72/A53 boards).
  double llcBytes = 1 << 20;

  /// Narrow-tile penalty, in output columns: compute time is scaled by
  /// (1 + tileWidthPenalty / width) for a tile `width` columns wide, since
  /// register blocks run along the output width and every output row pays
  /// for a block setup and a peeled remainder.
  double tileWidthPenalty = 0;

  /// Fixed costs, microseconds.
  double layerOverheadUs = 0; ///< Per layer per tile it runs on.
  double tileOverheadUs = 0;  ///< Per tile of a tiled group.
  /// Split steps (CodegenRules.h) on T threads: a split layer's compute and
  /// in-cache traffic take 1 / (T * parallelEfficiency) of the serial time
  /// (traffic beyond the last-level cache shares one memory bus and does
  /// not shrink), plus parallelLaunchUs per split layer per tile (the
  /// launch and its barrier).
  double parallelEfficiency = 1;
  double parallelLaunchUs = 0;

  bool operator==(const TargetProfile &other) const;
  bool operator!=(const TargetProfile &other) const {
    return !(*this == other);
  }
};

/// "" if every rate, bandwidth and the cache size are positive and finite
/// and the penalty and overheads are non-negative and finite; else the
/// first problem, starting with the JSON path of the field
/// ("throughput_gflops.conv: must be positive").
std::string checkProfile(const TargetProfile &profile);

/// The profile as JSON in the schema above (keys in that order, two-space
/// indentation). Doubles are written so that profileFromJson reads back the
/// same values.
std::string profileToJson(const TargetProfile &profile);

/// Parses and checks (checkProfile) a profile. On failure returns
/// std::nullopt and sets `error` to a message that starts with the JSON path
/// of the problem, e.g. "bandwidth_gbps.memory: expected a number".
std::optional<TargetProfile> profileFromJson(llvm::StringRef text,
                                             std::string &error);

/// profileFromJson on the contents of `path`; errors start with the path.
std::optional<TargetProfile> loadProfile(llvm::StringRef path,
                                         std::string &error);

/// The built-in profile for a target triple: profiles/aarch64.json for
/// aarch64/arm64 triples, profiles/x86_64.json for everything else.
TargetProfile defaultProfile(llvm::StringRef triple);

} // namespace mafat

#endif // MAFAT_COSTMODEL_TARGETPROFILE_H
