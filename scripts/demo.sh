#!/usr/bin/env bash
# The main job: installs what is missing, builds mafat, compiles an example
# CNN (the first layers of YOLOv2-tiny at 416x416), runs it and prints what
# the static memory planner saved against a naive one-buffer-per-tensor
# allocation, with the latency.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MAFAT_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" mafat-compile mafat-run mafat-driver-archives

work="$build/demo"
mkdir -p "$work"
export PYTHONPATH="$root/python"
echo "== importing the example CNN (demo_cnn: YOLOv2-tiny layers 0-8, 416x416x3)"
/usr/bin/python3 -m mafat.make_model demo_cnn -o "$work/demo_cnn.mlir" \
  --input-npy "$work/input.npy" --ref-npy "$work/reference.npy"
echo "== compiling for $(uname -m)"
"$build/bin/mafat-compile" "$work/demo_cnn.mlir" -o "$work/demo_cnn.so" --print-stats
echo "== running"
"$build/bin/mafat-run" "$work/demo_cnn.so" --input "$work/input.npy" \
  --output "$work/output.npy" --repeat 10 --json > "$work/run.json"
/usr/bin/python3 - "$work" <<'PY'
import json, sys, numpy as np
work = sys.argv[1]
r = json.load(open(f"{work}/run.json"))
out, ref = np.load(f"{work}/output.npy"), np.load(f"{work}/reference.npy")
err = float(np.abs(out - ref).max() / np.abs(ref).max())
mib = lambda b: f"{b / 2**20:8.2f} MiB"
ws, naive = r["workspace_bytes"], r["naive_bytes"]
print()
print("mafat demo: demo_cnn (YOLOv2-tiny layers 0-8) at 416x416")
print(f"  workspace (one arena)        {mib(ws)}")
print(f"  naive sum of buffers         {mib(naive)}")
print(f"  saved by the memory planner  {mib(naive - ws)}  ({100 * (1 - ws / naive):.1f}%)")
print(f"  weights                      {mib(r['weight_bytes'])}")
print(f"  peak RSS of the run          {mib(r['peak_rss_bytes'])}")
lat = r["latency_ms"]
print(f"  latency                      {lat['median']:.2f} ms median (min {lat['min']:.2f}, max {lat['max']:.2f})")
print(f"  max error vs PyTorch         {err:.2e} of max|output|")
PY
