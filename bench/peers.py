#!/usr/bin/python3
"""mafat vs ONNX Runtime vs PyTorch on the same ONNX files, on 1 and N threads.

Models (random weights, fixed seed, batch 1, NCHW float32): torchvision
``resnet18``, ``mobilenet_v2``, ``squeezenet1_1`` at 224x224 (every
BatchNorm's statistics randomised, as test/importers/onnx_e2e.py does) and
``yolov2-416``: the Darknet YOLOv2 network (models/darknet/yolov2.cfg) at
416x416 written as a PyTorch module (conv + BatchNorm + leaky ReLU, 2x2 max
pools, route = concat, Darknet's reorg as reshapes and a transpose, the raw
1x425x13x13 head). Each PyTorch module is exported once with
``torch.onnx.export`` (opset 13); that one ``.onnx`` file is what every engine
runs:

* **mafat**: ``build/bin/mafat-compile M.onnx -o M.tT.so --emit=lib --threads=T``
  (the default plan), run by ``build/bin/mafat-run M.tT.so --threads T
  --repeat R --warmup W --json --input x.npy --output y.npy``. If the
  compiler has no ``--threads`` yet (``mafat-compile --help``), mafat runs on
  1 thread only and its N-thread cells read ``n/a``.
* **ONNX Runtime**: the npm package ``onnxruntime-node`` (CPU provider; its
  library ships inside the package), installed by this script when missing
  with ``npm install --ignore-scripts`` into ``bench/.peers/`` (git-ignored;
  ``--ort-version``, default pinned below), driven by ``bench/peers_ort.js``:
  ``intraOpNumThreads=T``, ``interOpNumThreads=1``, sequential execution,
  all graph optimisations.
* **PyTorch**: a child process of this script (``--torch-child``) that loads the
  very module that was exported (its state_dict), ``torch.set_num_threads(T)``,
  ``torch.inference_mode()``.

Every measurement is its own process (load, W warm-up runs, R timed runs),
which reports its peak RSS (VmHWM from its own /proc/self/status: mafat-run's
JSON, the node script, the torch child). Rounds are interleaved: each round
runs, per model, every engine x thread count once, the order rotating from
round to round. Latency: min = least single run over all rounds; median =
median over rounds of each process's median. Peak RSS: the least over rounds.
Agreement: max |out - ref| on the first round's output, ref = the PyTorch
module on the same input (1 thread, computed when the model is exported), and
that divided by max |ref|.

Prints one table (per model and engine: latency on each thread count, the
N/1-thread speedup, peak RSS, agreement), then issue 11's targets with the
numbers (N-thread speedup per engine, mafat N-thread / ORT N-thread latency,
mafat RSS / ORT RSS), then per round the N/1-thread speedups next to
``bench/cross_core.py``'s probe, run before each round (on a VM what N
threads buy can change between rounds; the probe records whether reading
the other core's data got slower with it); writes the PNG at --out and the
figures as JSON next to it. This is a benchmark: it asserts nothing and exits 0 when the measurement
completes (a missed target prints NOT MET).

Usage (from the checkout, after scripts/build.sh or ./scripts/test.sh):
    /usr/bin/python3 bench/peers.py [--models yolov2-416,resnet18,mobilenet_v2,squeezenet1_1]
        [--threads 1,2] [--rounds 5] [--repeat 10] [--warmup 2] [--mafat-flags '--stream --memory-budget=B']
        [--out bench/out/peers.png] [--quick] [--keep-cache] [--ort-version X.Y.Z]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import cross_core  # noqa: E402
BIN = os.path.join(ROOT, "build", "bin")
PEERS = os.path.join(HERE, ".peers")          # git-ignored: node_modules, models, builds
ORT_JS = os.path.join(HERE, "peers_ort.js")
ORT_VERSION = "1.31.1"                         # what --ort-version installs by default
MIB = 2**20
ENGINES = ("mafat", "ort", "torch")
ENGINE_NAMES = {"mafat": "mafat", "ort": "ONNX Runtime", "torch": "PyTorch"}

# name -> (kind, input size); kind is "torchvision" or "darknet:<cfg>"
MODELS = {
    "yolov2-416": ("darknet:yolov2.cfg", 416),
    "resnet18": ("torchvision", 224),
    "mobilenet_v2": ("torchvision", 224),
    "squeezenet1_1": ("torchvision", 224),
}
# issue 11's N-thread speedup targets (2 threads on the 2-core machine)
SPEEDUP_TARGET = {"yolov2-416": 1.85, "resnet18": 1.85, "mobilenet_v2": 1.6, "squeezenet1_1": 1.6}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def mib(b) -> str:
    return "n/a" if b is None else f"{b / MIB:.1f}"


# ---------------------------------------------------------------- the PyTorch modules


def _yolov2_module(cfg_path: str, size: int):
    """The Darknet network of CFG_PATH at SIZE x SIZE as a torch.nn.Module
    (the layer kinds YOLOv2 uses: convolutional, maxpool, route, reorg, region)."""
    import torch
    import torch.nn as nn

    sys.path.insert(0, os.path.join(ROOT, "python"))
    from mafat.importers.darknet import read_cfg

    class Reorg(nn.Module):
        """Darknet's [reorg] (reorg_cpu(..., forward=0)) on NCHW; see
        mafat.importers.darknet_ops.reorg_plan: the input buffer viewed as
        (c/s^2, h, s, w, s) = [c2, j, dy, i, dx], the output as
        (s, s, c/s^2, h, w) = [dy, dx, c2, j, i]."""

        def __init__(self, s: int):
            super().__init__()
            self.s = s

        def forward(self, x):
            _, c, h, w = x.shape
            s = self.s
            x = x.reshape(c // (s * s), h, s, w, s).permute(2, 4, 0, 1, 3)
            return x.reshape(1, c * s * s, h // s, w // s)

    class Darknet(nn.Module):
        def __init__(self):
            super().__init__()
            secs = read_cfg(cfg_path)[1:]
            self.mods = nn.ModuleList()
            self.routes = {}
            chans = []
            c = 3
            for i, s in enumerate(secs):
                o = s.options
                if s.type == "convolutional":
                    f, k = int(o.get("filters", 1)), int(o.get("size", 1))
                    pad = k // 2 if int(o.get("pad", 0)) else int(o.get("padding", 0))
                    bn = int(o.get("batch_normalize", 0))
                    parts = [nn.Conv2d(c, f, k, int(o.get("stride", 1)), pad, bias=not bn)]
                    if bn:
                        parts.append(nn.BatchNorm2d(f))
                    act = o.get("activation", "logistic")
                    if act == "leaky":
                        parts.append(nn.LeakyReLU(0.1))
                    elif act != "linear":
                        raise ValueError(f"{cfg_path}: activation {act} not in this module")
                    self.mods.append(nn.Sequential(*parts))
                    c = f
                elif s.type == "maxpool":
                    st = int(o.get("stride", 1))
                    k = int(o.get("size", st))
                    if k != st or size % 32:  # YOLOv2's 2x2/2 pools on even maps: Darknet's == PyTorch's
                        raise ValueError(f"{cfg_path}: maxpool {k}/{st} at size {size} not in this module")
                    self.mods.append(nn.MaxPool2d(k, st))
                elif s.type == "route":
                    idx = [int(v) for v in o["layers"].split(",")]
                    idx = [i + v if v < 0 else v for v in idx]
                    self.routes[i] = idx
                    self.mods.append(nn.Identity())
                    c = sum(chans[j] for j in idx)
                elif s.type == "reorg":
                    st = int(o.get("stride", 1))
                    self.mods.append(Reorg(st))
                    c *= st * st
                elif s.type == "region":
                    self.mods.append(nn.Identity())
                else:
                    raise ValueError(f"{cfg_path}: [{s.type}] not in this module")
                chans.append(c)

        def forward(self, x):
            outs = []
            for i, m in enumerate(self.mods):
                if i in self.routes:
                    ins = [outs[j] for j in self.routes[i]]
                    x = ins[0] if len(ins) == 1 else torch.cat(ins, 1)
                else:
                    x = m(x)
                outs.append(x)
            return x

    return Darknet()


def build_module(name: str):
    """The architecture of NAME (weights not initialised the bench's way yet)."""
    kind, size = MODELS[name]
    if kind.startswith("darknet:"):
        return _yolov2_module(os.path.join(ROOT, "models", "darknet", kind.split(":", 1)[1]), size)
    import torchvision

    return getattr(torchvision.models, name)(weights=None)


def init_weights(model, seed: int, he: bool) -> None:
    """Seeded random weights: He-normal convs (leaky slope 0.1; keeps YOLOv2's
    23 convs' activations O(1)) for the Darknet model, torchvision's own init
    for the others; every BatchNorm's running statistics and affine parameters
    randomised (onnx_e2e.randomize_batchnorm) so that a folding error shows."""
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if he and isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, a=0.1, nonlinearity="leaky_relu")
                if m.bias is not None:
                    m.bias.copy_((torch.rand(m.out_channels, generator=gen) - 0.5) * 0.2)
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_((torch.rand(c, generator=gen) - 0.5) * 0.4)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) * 0.6 + 0.7)
                m.bias.copy_((torch.rand(c, generator=gen) - 0.5) * 0.2)


def prepare_model(name: str, seed: int, work: str) -> dict:
    """NAME's ONNX file, state_dict, seeded input and PyTorch reference output
    (cached in WORK: made once per seed)."""
    work = os.path.join(work, f"seed{seed}")
    os.makedirs(work, exist_ok=True)
    stem = os.path.join(work, name)
    paths = {"onnx": stem + ".onnx", "pt": stem + ".pt", "input": stem + ".in.npy", "ref": stem + ".ref.npy"}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    import io
    import warnings
    from contextlib import redirect_stderr, redirect_stdout

    import numpy as np
    import torch

    log(f"exporting {name} (seed {seed}) to {os.path.relpath(paths['onnx'], ROOT)} ...")
    torch.set_num_threads(1)
    model = build_module(name)
    torch.manual_seed(seed)
    init_weights(model, seed, he=MODELS[name][0].startswith("darknet:"))
    model.eval()
    size = MODELS[name][1]
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed + 1))
    with torch.inference_mode():
        ref = model(x).numpy().astype(np.float32)
    buf = io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(buf), redirect_stderr(buf):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, paths["onnx"] + ".tmp", opset_version=13, input_names=["image"],
                          output_names=["output"])
    torch.save(model.state_dict(), paths["pt"])
    np.save(paths["input"], x.numpy().astype(np.float32))
    np.save(paths["ref"], ref)
    os.replace(paths["onnx"] + ".tmp", paths["onnx"])
    std = float(np.std(ref.astype(np.float64)))
    log(f"  {name}: output {ref.shape}, std {std:.3g}, max|ref| {float(np.abs(ref).max()):.3g}")
    return paths


# ---------------------------------------------------------------- the PyTorch child


def torch_child(argv: list) -> int:
    """--torch-child NAME STATE_DICT INPUT THREADS REPEAT WARMUP OUTPUT|-: one
    PyTorch measurement, one JSON object on stdout."""
    name, pt, inp, threads, repeat, warmup, out = argv
    threads, repeat, warmup = int(threads), int(repeat), int(warmup)
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    model = build_module(name)
    model.load_state_dict(torch.load(pt))
    model.eval()
    x = torch.from_numpy(np.load(inp))
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            y = model(x)
        for _ in range(repeat):
            t0 = time.perf_counter()
            y = model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    y = y.numpy().astype(np.float32)
    if out != "-":
        np.save(out, y)
    with open("/proc/self/status") as f:
        hwm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
    print(json.dumps({"engine": "torch", "torch_version": torch.__version__, "threads": threads,
                      "torch_threads": torch.get_num_threads(), "times_ms": times,
                      "peak_rss_bytes": hwm, "peak_rss_source": "VmHWM"}))
    return 0


def torch_blas_note(torch) -> str | None:
    """A warning when this PyTorch runs part of its convolutions through the
    reference BLAS (Debian's python3-torch with the netlib libblas.so.3)."""
    if "BLAS_INFO=generic" not in torch.__config__.show():
        return None
    import glob

    libs = sorted({os.path.realpath(p) for p in glob.glob("/usr/lib/*/libblas.so.3")})
    if not libs or not any("/blas/libblas" in p for p in libs):
        return None
    return (f"note: this PyTorch ({torch.__version__}, BLAS_INFO=generic) runs the convolutions it does not hand to "
            f"oneDNN (most 1x1 convs at batch 1) as GEMMs in libblas.so.3 = {', '.join(libs)}, the reference "
            "(netlib) BLAS: its latency is far from a PyTorch with MKL or OpenBLAS (Debian: apt-get install "
            "libopenblas0 switches the libblas.so.3 alternative, and numpy's BLAS with it)")


# ---------------------------------------------------------------- tools


def run_tool(cmd: list, tries: int = 10, env=None) -> subprocess.CompletedProcess:
    """subprocess.run, retried while build/bin is mid-relink (someone else's ninja)."""
    for i in range(tries):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode not in (126, 127) and "Text file busy" not in proc.stderr:
                return proc
        except OSError as e:
            proc = subprocess.CompletedProcess(cmd, 126, "", f"cannot run {cmd[0]}: {e}")
        if i + 1 < tries:
            log(f"  {os.path.basename(cmd[0])} not runnable ({proc.stderr.strip()[:80]}); retrying in 10 s")
            time.sleep(10)
    return proc


def file_sha(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def compiler_id() -> str:
    for _ in range(60):
        try:
            st = os.stat(os.path.join(BIN, "mafat-compile"))
            return f"{st.st_mtime_ns}:{st.st_size}"
        except OSError:
            log("  build/bin/mafat-compile is missing (being rebuilt?); waiting")
            time.sleep(5)
    sys.exit(f"peers: no {os.path.join(BIN, 'mafat-compile')}: build the project first (scripts/build.sh)")


def mafat_has_threads() -> bool:
    """Whether this build's mafat-compile and mafat-run take --threads."""
    ok = True
    for tool in ("mafat-compile", "mafat-run"):
        proc = run_tool([os.path.join(BIN, tool), "--help"])
        ok = ok and "--threads" in proc.stdout + proc.stderr
    return ok


def compile_mafat(onnx: str, threads: int, cache: str, keep_cache: bool, pass_threads: bool,
                  flags: list | None = None) -> str:
    """The --emit=lib build of ONNX for THREADS with FLAGS (cached by model, compiler, thread count and
    flags)."""
    os.makedirs(cache, exist_ok=True)
    stem = os.path.basename(onnx)[:-5]
    flags = flags or []
    key = hashlib.sha256(f"{file_sha(onnx)}|{compiler_id()}|{threads}|{' '.join(flags)}".encode()).hexdigest()[:12]
    so = os.path.join(cache, f"{stem}.t{threads}.{key}.so")
    if os.path.exists(so):
        return so
    if keep_cache and not flags:
        old = sorted((f for f in os.listdir(cache) if f.startswith(f"{stem}.t{threads}.") and f.endswith(".so")),
                     key=lambda f: os.path.getmtime(os.path.join(cache, f)))
        if old:
            return os.path.join(cache, old[-1])
    cmd = [os.path.join(BIN, "mafat-compile"), onnx, "-o", so + ".tmp.so", "--emit=lib"]
    if pass_threads:
        cmd.append(f"--threads={threads}")
    cmd += flags
    log(f"  {' '.join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)}")
    t0 = time.time()
    proc = run_tool(cmd)
    if proc.returncode != 0:
        sys.exit(f"peers: mafat-compile failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    os.replace(so + ".tmp.so", so)
    if os.path.exists(so + ".tmp.h"):
        os.replace(so + ".tmp.h", so[:-3] + ".h")
    log(f"    {time.time() - t0:.0f} s")
    return so


def ensure_ort(version: str) -> str | None:
    """onnxruntime-node in bench/.peers/node_modules (npm install when missing
    or another version): its version, or None if node/npm are missing."""
    if not shutil.which("node") or not shutil.which("npm"):
        log("peers: node or npm not found: ONNX Runtime rows will read n/a (apt-get install nodejs npm)")
        return None
    pkg = os.path.join(PEERS, "node_modules", "onnxruntime-node", "package.json")
    have = None
    if os.path.exists(pkg):
        with open(pkg) as f:
            have = json.load(f)["version"]
    if have and (version in (have, "installed") or (version == "latest" and have)):
        return have
    os.makedirs(PEERS, exist_ok=True)
    manifest = os.path.join(PEERS, "package.json")
    if not os.path.exists(manifest):  # npm would otherwise look for a project further up
        with open(manifest, "w") as f:
            json.dump({"name": "mafat-bench-peers", "private": True,
                       "description": "bench/peers.py's ONNX Runtime (npm install --ignore-scripts)"}, f, indent=1)
    spec = "onnxruntime-node" + ("" if version in ("latest", "installed") else f"@{version}")
    cmd = ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", PEERS, spec]
    log(f"installing ONNX Runtime: {' '.join(cmd)}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not os.path.exists(pkg):
        log(f"peers: npm install failed (rc {proc.returncode}); ONNX Runtime rows will read n/a:\n"
            f"{proc.stderr[-2000:]}")
        return None
    with open(pkg) as f:
        have = json.load(f)["version"]
    log(f"installed onnxruntime-node {have} into {os.path.relpath(PEERS, ROOT)}/node_modules")
    return have


# ---------------------------------------------------------------- one measurement


def measure(engine: str, name: str, paths: dict, so: str | None, threads: int, args, out_npy: str | None) -> dict:
    """One process: {'min', 'median' (ms), 'rss' (bytes), ...} or {'error': ...}."""
    if engine == "mafat":
        cmd = [os.path.join(BIN, "mafat-run"), so, "--json", "--repeat", str(args.repeat),
               "--warmup", str(args.warmup), "--input", paths["input"]]
        if args.mafat_threads:
            cmd += ["--threads", str(threads)]
        if out_npy:
            cmd += ["--output", out_npy]
        proc = run_tool(cmd)
    elif engine == "ort":
        cmd = ["node", ORT_JS, "--ort-dir", os.path.join(PEERS, "node_modules"), "--model", paths["onnx"],
               "--input", paths["input"], "--threads", str(threads), "--repeat", str(args.repeat),
               "--warmup", str(args.warmup)]
        if out_npy:
            cmd += ["--output", out_npy]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    else:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        cmd = [sys.executable, os.path.abspath(__file__), "--torch-child", name, paths["pt"], paths["input"],
               str(threads), str(args.repeat), str(args.warmup), out_npy or "-"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": f"{engine} rc {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    j = json.loads(proc.stdout.strip().splitlines()[-1])
    if engine == "mafat":
        lat = j["latency_ms"]
        return {"min": lat["min"], "median": lat["median"], "rss": j["peak_rss_bytes"],
                "threads": j.get("threads", 1), "workspace_bytes": j.get("workspace_bytes")}
    t = j["times_ms"]
    return {"min": min(t), "median": statistics.median(t), "rss": j["peak_rss_bytes"], "threads": j["threads"],
            "version": j.get("ort_version") or j.get("torch_version")}


# ---------------------------------------------------------------- report


def round_speedups(res: dict, models: list, threads: list, avail: dict, cross: list) -> list:
    """Per round: the cross-core probe and each engine's N/1-thread speedup
    (medians of that round's processes), printed as a table. On a VM the
    host may move the virtual CPUs between rounds; the probe shows it."""
    if len(threads) < 2 or 1 not in threads:
        return []
    n = max(threads)
    engines = [e for e in ("mafat", "ort") if avail.get((e, 1)) and avail.get((e, n))]
    rows = []
    rounds = max((len(v) for m in models for v in res[m]["runs"].values()), default=0)
    for r in range(len(cross) or rounds):
        row = {"round": r + 1, "cross_core_ratio": cross[r] if r < len(cross) else None}
        for name in models:
            for e in engines:
                one, many = res[name]["runs"].get((e, 1), []), res[name]["runs"].get((e, n), [])
                ok = r < len(one) and r < len(many) and "error" not in one[r] and "error" not in many[r]
                row[f"{name}/{e}"] = one[r]["median"] / many[r]["median"] if ok else None
        rows.append(row)
    keys = [f"{name}/{e}" for name in models for e in engines]
    print(f"per round: cross-core probe (core 0 reading 256 KiB the other core wrote / its own) and "
          f"{n}T/1T speedup of round medians")
    print("round  x-core  " + "  ".join(f"{k:>22}" for k in keys))
    for row in rows:
        x = row["cross_core_ratio"]
        print(f"{row['round']:5d}  {('%6.2f' % x) if x else '   n/a'}  "
              + "  ".join(f"{fmt(row[k], '.2f', 'x'):>22}" for k in keys))
    return rows


def ratio(a, b):
    return None if a is None or b is None or not b else a / b


def fmt(v, spec=".2f", suffix=""):
    return "n/a" if v is None else f"{v:{spec}}{suffix}"


def summarise(res: dict, models: list, threads: list, avail: dict) -> list:
    rows = []
    import numpy as np

    for name in models:
        ref = np.load(res[name]["paths"]["ref"])
        amax = float(np.abs(ref).max())
        for e in ENGINES:
            row = {"model": name, "engine": e, "by_threads": {}}
            diffs = []
            for t in threads:
                runs = res[name]["runs"].get((e, t), [])
                ok = [r for r in runs if "error" not in r]
                cell = {"min_ms": None, "median_ms": None, "rss_bytes": None, "rounds": len(ok),
                        "errors": [r["error"] for r in runs if "error" in r][:1]}
                if ok and avail.get((e, t), True):
                    cell.update(min_ms=min(r["min"] for r in ok), median_ms=statistics.median(r["median"] for r in ok),
                                rss_bytes=min(r["rss"] for r in ok))
                    if "workspace_bytes" in ok[0]:
                        cell["workspace_bytes"] = ok[0]["workspace_bytes"]
                out = res[name]["outs"].get((e, t))
                if out and os.path.exists(out):
                    y = np.load(out)
                    d = float(np.abs(y.astype(np.float64) - ref).max()) if y.shape == ref.shape else float("inf")
                    cell["max_abs_diff"] = d
                    diffs.append(d)
                row["by_threads"][t] = cell
            row["max_abs_diff"] = max(diffs) if diffs else None
            row["rel_diff"] = None if row["max_abs_diff"] is None else row["max_abs_diff"] / amax
            t1, tn = row["by_threads"][threads[0]], row["by_threads"][threads[-1]]
            row["speedup"] = ratio(t1["min_ms"], tn["min_ms"]) if len(threads) > 1 else None
            rows.append(row)
    return rows


def print_table(rows: list, threads: list, versions: dict) -> None:
    tn = threads[-1]
    cols = []
    for t in threads:
        cols += [f"{t}T min ms", f"{t}T med"]
    if len(threads) > 1:
        cols.append(f"{tn}T/{threads[0]}T x")
    for t in threads:
        cols.append(f"RSS {t}T MiB")
    cols += ["max|diff|", "rel"]
    hdr = f"{'model':14}{'engine':14}" + "".join(f"{c:>12}" for c in cols)
    print(hdr)
    print("-" * len(hdr))
    last = None
    for r in rows:
        if last is not None and r["model"] != last:
            print()
        last = r["model"]
        cells = []
        for t in threads:
            c = r["by_threads"][t]
            cells += [fmt(c["min_ms"]), fmt(c["median_ms"])]
        if len(threads) > 1:
            cells.append(fmt(r["speedup"], ".2f", "x"))
        for t in threads:
            cells.append(mib(r["by_threads"][t]["rss_bytes"]))
        cells += [fmt(r["max_abs_diff"], ".1e"), fmt(r["rel_diff"], ".1e")]
        print(f"{r['model']:14}{ENGINE_NAMES[r['engine']]:14}" + "".join(f"{c:>12}" for c in cells))
    print("(latency: min = least run over all rounds, med = median over rounds of each process's median; "
          "RSS = least peak RSS (VmHWM) of the engine's process over rounds;\n max|diff| = max |out - PyTorch| "
          "over the thread counts, rel = that / max|PyTorch|; "
          + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ")")


def targets(rows: list, threads: list) -> list:
    """Issue 11's targets, with the numbers: lines to print and dicts for the JSON."""
    tn = threads[-1]
    lines, out = [], []
    by = {(r["model"], r["engine"]): r for r in rows}
    hdr = (f"{'model':14}{'mafat ' + str(tn) + 'T/1T':>14}{'ORT ' + str(tn) + 'T/1T':>12}"
           f"{'torch ' + str(tn) + 'T/1T':>14}{'mafat/ORT ' + str(tn) + 'T':>15}"
           f"{'mafat/ORT 1T':>14}{'RSS m/ORT ' + str(tn) + 'T':>15}{'RSS m/ORT 1T':>14}")
    lines += [hdr, "-" * len(hdr)]
    for m in dict.fromkeys(r["model"] for r in rows):
        ma, ort, pt = by[(m, "mafat")], by[(m, "ort")], by[(m, "torch")]
        lat = ratio(ma["by_threads"][tn]["min_ms"], ort["by_threads"][tn]["min_ms"])
        lat1 = ratio(ma["by_threads"][threads[0]]["min_ms"], ort["by_threads"][threads[0]]["min_ms"])
        rss = ratio(ma["by_threads"][tn]["rss_bytes"], ort["by_threads"][tn]["rss_bytes"])
        rss1 = ratio(ma["by_threads"][threads[0]]["rss_bytes"], ort["by_threads"][threads[0]]["rss_bytes"])
        d = {"model": m, "mafat_speedup": ma["speedup"], "ort_speedup": ort["speedup"], "torch_speedup": pt["speedup"],
             "mafat_over_ort_latency_tn": lat, "mafat_over_ort_latency_t1": lat1, "mafat_over_ort_rss_tn": rss, "mafat_over_ort_rss_t1": rss1}
        out.append(d)
        lines.append(f"{m:14}{fmt(ma['speedup'], '.2f', 'x'):>14}{fmt(ort['speedup'], '.2f', 'x'):>12}"
                     f"{fmt(pt['speedup'], '.2f', 'x'):>14}{fmt(lat, '.2f', 'x'):>15}{fmt(lat1, '.2f', 'x'):>14}"
                     f"{fmt(rss, '.2f'):>15}{fmt(rss1, '.2f'):>14}")
    lines.append("(speedups and mafat/ORT: ratios of least latencies, mafat/ORT < 1 = mafat faster; "
                 "RSS m/ORT: mafat's peak RSS / ONNX Runtime's)")
    if tn == 2 and threads[0] == 1:
        lines.append("issue 11 targets (2 threads, the 2-core machine):")
        for d in out:
            m = d["model"]
            want = SPEEDUP_TARGET.get(m)
            checks = []
            if want is not None:
                checks.append((d["mafat_speedup"], d["mafat_speedup"] is not None and d["mafat_speedup"] >= want,
                               f"mafat 2T >= {want}x its 1T speed", "x"))
            checks.append((d["mafat_over_ort_latency_tn"], d["mafat_over_ort_latency_tn"] is not None
                           and d["mafat_over_ort_latency_tn"] <= 1.0, "mafat 2T at least as fast as ORT 2T", "x"))
            checks.append((d["mafat_over_ort_rss_tn"], d["mafat_over_ort_rss_tn"] is not None
                           and d["mafat_over_ort_rss_tn"] <= 1 / 3, "mafat RSS <= 1/3 of ORT's", ""))
            for val, ok, what, suf in checks:
                tag = "n/a" if val is None else ("MET" if ok else "NOT MET")
                lines.append(f"  [{tag}] {m}: {what}: {fmt(val, '.2f', suf)}")
    return lines, out


def plot(png: str, rows: list, threads: list, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dict.fromkeys(r["model"] for r in rows))
    by = {(r["model"], r["engine"]): r for r in rows}
    series = [(e, t) for e in ENGINES for t in threads]
    colors = {"mafat": "tab:blue", "ort": "tab:orange", "torch": "tab:green"}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(10, 3.2 * len(models)), 4.6))
    x = np.arange(len(models))
    w = 0.8 / len(series)
    for k, (e, t) in enumerate(series):
        xs = x - 0.4 + w * (k + 0.5)
        lat = [by[(m, e)]["by_threads"][t]["min_ms"] for m in models]
        rel = [None if v is None or by[(m, "ort")]["by_threads"][threads[0]]["min_ms"] is None
               else v / by[(m, "ort")]["by_threads"][threads[0]]["min_ms"] for m, v in zip(models, lat)]
        hatch = None if t == threads[0] else "//"
        ax1.bar(xs, [v or 0 for v in rel], w, color=colors[e], hatch=hatch, edgecolor="black", linewidth=0.4,
                label=f"{ENGINE_NAMES[e]} {t}T")
        for xi, v, ms in zip(xs, rel, lat):
            ax1.text(xi, v * 1.04 if v else 1.0, "n/a" if ms is None else (f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"),
                     ha="center", va="bottom", fontsize=6, rotation=90)
        rss = [by[(m, e)]["by_threads"][t]["rss_bytes"] for m in models]
        ax2.bar(xs, [(v or 0) / MIB for v in rss], w, color=colors[e], hatch=hatch, edgecolor="black",
                linewidth=0.4, label=f"{ENGINE_NAMES[e]} {t}T")
    ax1.set_xticks(x, models)
    ax1.set_yscale("log")
    lo, hi = ax1.get_ylim()
    ax1.set_ylim(lo, hi * 2.5)  # room for the labels
    ax1.axhline(1.0, color="gray", linewidth=0.6, linestyle=":")
    ax1.set_ylabel(f"least latency / ONNX Runtime {threads[0]}T, log (labels: ms)")
    ax1.set_title("latency (lower is better)")
    ax2.set_xticks(x, models)
    ax2.set_yscale("log")
    ax2.set_ylabel("peak RSS of the process, MiB (log)")
    ax2.set_title("peak RSS (VmHWM)")
    fig.suptitle(title, fontsize=9)
    handles, labels = ax1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(series), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(png, dpi=120)
    plt.close(fig)


def plot_title(versions: dict, rounds: int, repeat: int, cpus: int) -> str:
    return (f"mafat vs ONNX Runtime {versions.get('onnxruntime-node') or 'n/a'} vs PyTorch {versions.get('torch')}, "
            f"same ONNX files; {rounds} interleaved rounds x {repeat} runs; {cpus} CPUs")


def reanalyse(js: str, png: str) -> int:
    """The tables and the PNG again from a previous run's JSON."""
    with open(js) as f:
        d = json.load(f)
    threads = d["threads"]
    rows = [dict(r, by_threads={int(k): v for k, v in r["by_threads"].items()}) for r in d["rows"]]
    print(f"== peers (from {os.path.relpath(js, ROOT)}: {d['command']})")
    print_table(rows, threads, d["versions"])
    print()
    for line in targets(rows, threads)[0]:
        print(line)
    if d.get("torch_note"):
        print(d["torch_note"])
    plot(png, rows, threads, plot_title(d["versions"], d["rounds"], d["repeat"], d["cpus"]))
    print(f"wrote {os.path.relpath(png, ROOT)}")
    return 0


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--torch-child"]:
        return torch_child(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="See the module docstring and docs/Benchmarks.md (Peers).")
    ap.add_argument("--models", default=None,
                    help=f"comma-separated subset of {','.join(MODELS)} (default: all; --quick: "
                         "squeezenet1_1,mobilenet_v2)")
    ap.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    ap.add_argument("--mafat-flags", default="",
                    help="more mafat-compile flags, e.g. '--stream --memory-budget=0.6MiB' (default: none, "
                         "the fastest plan)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, --quick 2)")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs per process (default 10, --quick 3)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed runs per process (default 2, --quick 1)")
    ap.add_argument("--seed", type=int, default=0, help="weights and input seed (default 0)")
    ap.add_argument("--out", default=os.path.join("bench", "out", "peers.png"),
                    help="the PNG to write; the JSON goes next to it (default bench/out/peers.png)")
    ap.add_argument("--quick", action="store_true", help="a short smoke run: 2 small models, 2 rounds x 3 runs")
    ap.add_argument("--keep-cache", action="store_true",
                    help="reuse cached mafat builds even if build/bin changed since they were compiled")
    ap.add_argument("--reanalyse", action="store_true",
                    help="print the tables and draw the PNG again from the JSON next to --out (no runs)")
    ap.add_argument("--ort-version", default=ORT_VERSION,
                    help=f"onnxruntime-node version to install into bench/.peers (default {ORT_VERSION}; "
                         "'installed' = whatever is there)")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    args.models = args.models or ("squeezenet1_1,mobilenet_v2" if args.quick else ",".join(MODELS))
    models = args.models.split(",")
    for m in models:
        if m not in MODELS:
            ap.error(f"unknown model {m!r}; known: {', '.join(MODELS)}")
    threads = sorted({int(t) for t in args.threads.split(",")})
    if not threads or threads[0] < 1:
        ap.error("--threads needs counts >= 1")
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.repeat = args.repeat or (3 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    png = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(png), exist_ok=True)
    js = os.path.splitext(png)[0] + ".json"
    t_start = time.time()
    if args.reanalyse:
        return reanalyse(js, png)

    # The tools.
    compiler_id()  # waits while build/bin is being relinked
    args.mafat_threads = mafat_has_threads()
    if not args.mafat_threads:
        log("peers: this mafat-compile has no --threads: mafat runs on 1 thread, its "
            f"{'/'.join(str(t) for t in threads if t > 1)}-thread cells read n/a")
    ort_version = ensure_ort(args.ort_version)
    import torch

    versions = {"onnxruntime-node": ort_version, "torch": torch.__version__}
    print(f"== peers: {', '.join(models)} on {', '.join(map(str, threads))} thread(s); {args.rounds} interleaved "
          f"rounds x {args.repeat} timed runs (+{args.warmup} warm-up) per process; onnxruntime-node "
          f"{ort_version or 'n/a'}, torch {torch.__version__}, mafat {os.path.relpath(BIN, ROOT)}"
          f"{'' if args.mafat_threads else ' (no --threads)'}"
          f"{' ' + args.mafat_flags if args.mafat_flags else ''}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} before the runs")
    load = [os.getloadavg()[0]]

    # Models and mafat builds.
    res = {}
    for name in models:
        paths = prepare_model(name, args.seed, os.path.join(PEERS, "models"))
        sos = {}
        for t in threads:
            if t > 1 and not args.mafat_threads:
                continue
            sos[t] = compile_mafat(paths["onnx"], t, os.path.join(os.path.dirname(paths["onnx"]), "builds"),
                                   args.keep_cache,
                                   args.mafat_threads, args.mafat_flags.split())
        res[name] = {"paths": paths, "sos": sos, "runs": {}, "outs": {}}
    avail = {}
    for t in threads:
        avail[("mafat", t)] = t == 1 or args.mafat_threads
        avail[("ort", t)] = ort_version is not None
        avail[("torch", t)] = True

    # Interleaved rounds: per model, every engine x thread count once, the order rotating.
    outdir = os.path.join(PEERS, "outputs")
    os.makedirs(outdir, exist_ok=True)
    probe_exe = cross_core.build(PEERS)
    cross = []  # per round: how much slower core 0 reads 256 KiB the last core wrote
    for r in range(args.rounds):
        t0 = time.time()
        if probe_exe:
            own, other = cross_core.probe(probe_exe, 256 << 10)
            cross.append(other / own)
        for name in models:
            keys = [(e, t) for e in ENGINES for t in threads if avail[(e, t)]]
            shift = r % len(keys)
            for e, t in keys[shift:] + keys[:shift]:
                out = None
                if r == 0:
                    out = os.path.join(outdir, f"{name}.{e}.t{t}.npy")
                    if os.path.exists(out):
                        os.remove(out)
                    res[name]["outs"][(e, t)] = out
                m = measure(e, name, res[name]["paths"], res[name]["sos"].get(t), t, args, out)
                if "error" in m:
                    log(f"  {name} {e} {t}T: {m['error']}")
                res[name]["runs"].setdefault((e, t), []).append(m)
        load.append(os.getloadavg()[0])
        log(f"round {r + 1}/{args.rounds} done ({time.time() - t0:.0f} s, load average {load[-1]:.1f})")

    rows = summarise(res, models, threads, avail)
    print()
    print_table(rows, threads, versions)
    print()
    lines, tg = targets(rows, threads)
    for line in lines:
        print(line)
    note = torch_blas_note(torch)
    if note:
        print(note)
    per_round = round_speedups(res, models, threads, avail, cross)
    plot(png, rows, threads, plot_title(versions, args.rounds, args.repeat, os.cpu_count()))
    with open(js, "w") as f:
        json.dump({"command": " ".join(["bench/peers.py"] + argv), "versions": versions, "threads": threads,
                   "rounds": args.rounds, "repeat": args.repeat, "warmup": args.warmup, "seed": args.seed,
                   "mafat_threads_flag": args.mafat_threads, "cpus": os.cpu_count(),
                   "rows": [dict(r, by_threads={str(k): v for k, v in r["by_threads"].items()}) for r in rows],
                   "targets": tg, "torch_note": note, "load_average": load,
                   "cross_core_ratio": cross, "round_speedups": per_round, "seconds": time.time() - t_start,
                   "runs": {name: {f"{e}/{t}": v for (e, t), v in res[name]["runs"].items()} for name in models}},
                  f, indent=1)
    print(f"load average (1 min) before the runs and after each round: {' '.join(f'{v:.1f}' for v in load)} "
          f"on {os.cpu_count()} CPUs (other work on the machine slows the N-thread runs most)")
    print(f"wrote {os.path.relpath(png, ROOT)} and {os.path.relpath(js, ROOT)} ({time.time() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
