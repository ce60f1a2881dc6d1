#!/usr/bin/env bash
# The main job: installs what is missing, builds mafat, imports YOLOv2 from
# its Darknet cfg (seeded weights written in Darknet's .weights format),
# compiles it to a native library, runs it in the one workspace mafat's
# static memory planner sized at compile time, checks it against PyTorch
# running the same cfg + weights, and prints what it used and saved.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MAFAT_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" mafat-compile mafat-run mafat-driver-archives

cfg="$root/../shared/models/darknet/yolov2.cfg"
size="${MAFAT_DEMO_SIZE:-416}"
work="$build/demo"
mkdir -p "$work"
export PYTHONPATH="$root/python"
if [ ! -f "$cfg" ]; then
  echo "demo: $cfg not found (the shared Darknet models live beside the checkout)" >&2
  exit 1
fi

echo "== writing seeded YOLOv2 weights in Darknet's format, and an input image"
/usr/bin/python3 - "$cfg" "$work" "$size" <<'PY'
import sys, numpy as np
from mafat.importers.darknet import load_network, random_weights, write_weights
cfg, work, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
net = load_network(cfg, (size, size))
write_weights(f"{work}/yolov2.weights", net, random_weights(net, 0))
np.save(f"{work}/input.npy",
        np.random.default_rng(0).uniform(0, 1, (1, size, size, 3)).astype(np.float32))
PY
echo "== mafat-compile yolov2.cfg (import + compile, ${size}x${size})"
"$build/bin/mafat-compile" "$cfg" --weights "$work/yolov2.weights" \
  --input-size "${size}x${size}" -o "$work/yolov2.so" --print-stats
echo "== running"
"$build/bin/mafat-run" "$work/yolov2.so" --input "$work/input.npy" \
  --output "$work/output.npy" --repeat 5 --json > "$work/run.json"

/usr/bin/python3 - "$cfg" "$work" "$size" <<'PY'
import json, resource, sys, time
import numpy as np
cfg, work, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(f"{work}/run.json"))
out = np.load(f"{work}/output.npy")
mib = lambda b: f"{b / 2**20:9.1f} MiB"
torch_ms = torch_rss = err = None
try:
    import torch
    from mafat.importers.darknet_reference import DarknetReference
    torch.set_num_threads(1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    model = DarknetReference(cfg, f"{work}/yolov2.weights", (size, size)).eval()
    x = torch.from_numpy(np.load(f"{work}/input.npy")).permute(0, 3, 1, 2).contiguous()
    times = []
    with torch.no_grad():
        for _ in range(4):
            t = time.perf_counter()
            ref = model(x)[0]
            times.append((time.perf_counter() - t) * 1e3)
    torch_ms = float(np.median(times[1:]))
    torch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ref = ref.permute(0, 2, 3, 1).numpy()
    err = float(np.abs(out - ref).max() / np.abs(ref).max())
except ImportError:
    pass
ws, naive = r["workspace_bytes"], r["naive_bytes"]
lat = r["latency_ms"]
na = lambda v, f: f(v) if v is not None else "      n/a"
print()
print(f"mafat demo: YOLOv2 (Darknet cfg, seeded weights) at {size}x{size}, one core")
print(f"{'':34}{'mafat':>14}{'PyTorch':>14}")
print(f"{'workspace (one arena)':34}{mib(ws):>14}")
print(f"{'naive sum of buffers':34}{mib(naive):>14}")
print(f"{'saved by the memory planner':34}{mib(naive - ws):>14}   ({100 * (1 - ws / naive):.1f}%)")
print(f"{'weights':34}{mib(r['weight_bytes']):>14}")
print(f"{'peak RSS of the process':34}{mib(r['peak_rss_bytes']):>14}{na(torch_rss, mib):>14}")
print(f"{'latency, median':34}{lat['median']:>11.1f} ms{na(torch_ms, lambda v: f'{v:11.1f} ms'):>14}")
if err is not None:
    print(f"{'max error vs PyTorch':34}{err:>14.1e}   (of max|output|)")
PY
