#!/usr/bin/python3
"""The MAFAT paper's experiment, measured: planned builds at a sweep of budgets.

On YOLOv2 layers 0-15 at 608x608 (the paper's workload, seeded random
weights) this

* builds mafat's unfused binary (``--plan=none``: layer by layer, with the
  static memory planner's buffer reuse) and planned binaries at budgets from
  unconstrained down to the smallest workspace the search reaches, in the full
  search space and in the paper's restricted one (``--max-groups=2
  --cuts-after-pool-only --square-grids --max-grid=5``), and (issue 12) in the
  full space with stream groups (``--stream``: stripes with rolling buffers) at
  budgets down to the smallest workspace it reaches -- three fronts: recompute
  only ("full"), the paper's space ("paper") and streaming ("stream", the full
  search: stream groups and rematerialization; the other two are built with
  ``--rematerialize=false``, the search as it was before issue 12);
* runs every binary with ``mafat-run --json`` in interleaved rounds (so the
  ratio to the unfused build is measured side by side, round by round) and
  records the workspace it declares, its peak RSS (VmHWM) and its latency;
* prints one table (predicted vs measured workspace -- any mismatch is flagged
  loudly -- predicted vs measured latency, the ratio to the unfused build,
  peak RSS), the targets of issue 5 with the numbers, and plots
  ``OUT/paper_experiment-<model>.png``; every figure also goes to
  ``OUT/paper_experiment-<model>.json``.

Darknet's own figures are not measured: Darknet is not installed here (and the
paper's numbers are from a Raspberry Pi 3). The script says so.

``--model yolov3-tiny``, ``--model mobilenet_v2`` and ``--model squeezenet1_1``
run the same experiment on DAG models (budgets as fractions of the unfused
workspace; squeezenet's fire modules are concats in stream groups).

``--threads N`` (issue 11) plans, compiles and runs every build for N threads
(``mafat-opt --mafat-plan=... threads=N``, ``mafat-compile --threads=N``,
``mafat-run --threads N``; budgets stay fractions of the layer-by-layer
workspace, which split steps do not change) and adds the ratio to the unbudgeted
N-thread build and issue 11's target (L/8 at <= 1.10x of it); with
``--compare-threads`` the 1-thread builds run in the same interleaved rounds and
the table holds both (1-thread rows, then N-thread rows with the speedup over the
same spec on 1 thread). Outputs then end in ``-tN``.

Builds are cached by plan in ``OUT/cache/<model>/`` (the key covers the model
text, the compiler binaries and the plan the search picks, found first with a
sub-second ``mafat-opt --mafat-plan`` run), so re-runs and the other benches
(rss_vs_budget.py, memcap.py, latency_model.py import this file) reuse them.

Usage (from the checkout, after ``ninja -C build``):
    /usr/bin/python3 bench/paper_experiment.py [--model yolov2-608|yolov3-tiny|mobilenet_v2|squeezenet1_1]
        [--quick] [--rounds N] [--repeat N] [--jobs N] [--out DIR] [--threads N [--compare-threads]]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# MAFAT_BIN: another build's bin directory (e.g. a second build dir of a clone)
BIN = os.environ.get("MAFAT_BIN") or os.path.join(ROOT, "build", "bin")
DARKNET = os.path.join(ROOT, "models", "darknet")
MIB = 2**20
PAPER_FLAGS = ["--max-groups=2", "--cuts-after-pool-only", "--square-grids", "--max-grid=5"]
PAPER_PASS = "max-groups=2 cuts-after-pool-only square-grids max-grid=5"

# name -> (kind, source, importer args)
MODELS = {
    "yolov2-608": ("darknet", "yolov2.cfg", ["--layers", "0-15", "--input-size", "608x608"]),
    "yolov3-tiny": ("darknet", "yolov3-tiny.cfg", []),
    "mobilenet_v2": ("onnx", "mobilenet_v2", []),
    "squeezenet1_1": ("onnx", "squeezenet1_1", []),
    # latency_model.py's small-but-real workload
    "yolov2-224": ("darknet", "yolov2.cfg", ["--layers", "0-15", "--input-size", "224x224"]),
    # the 'empty' model of rss_vs_budget.py: one 3x3 conv (3 -> 32) on 32x32
    "empty": ("darknet", "yolov2.cfg", ["--layers", "0-0", "--input-size", "32x32"]),
}


def mib(b) -> str:
    return "-" if b is None else f"{b / MIB:.2f}"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- models


def make_model(name: str, work: str) -> str:
    """The model as canonical MLIR with seeded weights (cached in WORK)."""
    kind, source, extra = MODELS[name]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, name + ".mlir")
    if os.path.exists(path):
        return path
    tmp = path + ".tmp"
    if kind == "darknet":
        subprocess.run([os.path.join(ROOT, "scripts", "mafat-import"), "darknet",
                        os.path.join(DARKNET, source), *extra, "-o", tmp], check=True)
    else:
        import torch
        import torchvision

        sys.path.insert(0, os.path.join(ROOT, "python"))
        from mafat.importers.onnx import import_onnx

        torch.manual_seed(0)
        onnx_path = os.path.join(work, name + ".onnx")
        model = getattr(torchvision.models, source)(weights=None).eval()
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), onnx_path, opset_version=13,
                          input_names=["image"], output_names=["logits"])
        with open(tmp, "w") as f:
            f.write(import_onnx(onnx_path, layout="nhwc"))
    os.replace(tmp, path)
    return path


_SHA: dict = {}


def file_sha(path: str) -> str:
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _SHA:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA[key] = h.hexdigest()
    return _SHA[key]


def compiler_id() -> str:
    parts = []
    for tool in ("mafat-compile", "mafat-opt"):
        for _ in range(30):
            try:
                st = os.stat(os.path.join(BIN, tool))
                break
            except OSError:
                time.sleep(2)
        parts.append(f"{tool}:{st.st_mtime_ns}:{st.st_size}")
    return ";".join(parts)


# ---------------------------------------------------------------- plans and builds


class Spec:
    """What to build: plan 'auto' (with an optional budget and the paper's
    space), 'none', or a plan JSON file."""

    def __init__(self, label: str, plan: str = "auto", budget: int | None = None, paper: bool = False,
                 threads: int = 1, stream: bool = False):
        self.label, self.plan, self.budget, self.paper = label, plan, budget, paper
        self.threads = threads  # planned, compiled and run for this many threads
        self.stream = stream    # the search also proposes stream groups (--stream)

    def with_threads(self, threads: int) -> "Spec":
        return Spec(self.label, self.plan, self.budget, self.paper, threads, self.stream)

    @property
    def space(self) -> str:
        if self.plan == "none":
            return "unfused"
        if self.plan != "auto":
            return "fixed"
        if self.stream:
            return "stream"
        return "paper" if self.paper else "full"

    def pass_options(self) -> str:
        opts = [f"plan={self.plan}"]
        if self.budget is not None:
            opts.append(f"memory-budget={self.budget}")
        if self.paper:
            opts.append(PAPER_PASS)
        if self.stream:
            opts.append("stream")
        elif self.plan == "auto":
            opts.append("rematerialize=false")
        if self.threads != 1:
            opts.append(f"threads={self.threads}")
        return " ".join(opts)

    def compile_flags(self) -> list:
        flags = [f"--plan={self.plan}"]
        if self.budget is not None:
            flags.append(f"--memory-budget={self.budget}")
        if self.paper:
            flags += PAPER_FLAGS
        if self.stream:
            flags.append("--stream")
        elif self.plan == "auto":
            # The recompute-only and paper fronts stay the search before issue 12's additions:
            # the full search is streaming and rematerialization together.
            flags.append("--rematerialize=false")
        if self.threads != 1:
            flags.append(f"--threads={self.threads}")
        return flags


class Build:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.pre = None        # mafat-opt report (the plan the search picks, pareto, min)
        self.report = None     # mafat-compile's report
        self.so = None
        self.key = None
        self.error = None
        self.compile_log = ""
        self.compiled = False  # compiled in this run (not from the cache)


def run_tool(cmd: list, tries: int = 8) -> subprocess.CompletedProcess:
    """subprocess.run, retried while build/bin is mid-relink (someone else's ninja)."""
    for _ in range(tries):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode not in (126, 127) and "Text file busy" not in proc.stderr:
                return proc
        except OSError as e:
            proc = subprocess.CompletedProcess(cmd, 126, "", f"cannot run {cmd[0]}: {e}")
        time.sleep(10)
    return proc


def preplan(model: str, spec: Spec, path: str) -> tuple:
    """mafat-opt --mafat-normalize --mafat-plan: (report, None) or (None, error)."""
    cmd = [os.path.join(BIN, "mafat-opt"), model, "--mafat-normalize",
           f"--mafat-plan={spec.pass_options()} report={path}", "-o", os.devnull]
    proc = run_tool(cmd)
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.splitlines() if "error" in l] or proc.stderr.splitlines() or ["?"]
        return None, lines[0].strip()
    with open(path) as f:
        return json.load(f), None


def plan_identity(report: dict) -> str:
    groups = [[g["layers"], g["grid"], g.get("row_tiles"), g.get("col_tiles")] for g in report["groups"]]
    # a stream group and a recompute group of the same grid are different builds
    if any(g.get("mode", "recompute") != "recompute" for g in report["groups"]):
        groups = [x + [g.get("mode"), g.get("stripe_rows")] for x, g in zip(groups, report["groups"])]
    return json.dumps({"order": report.get("order"), "groups": groups}, sort_keys=True)


# --keep-cache: reuse a cached build of the same plan even if the compiler
# binaries changed since (other people rebuild build/bin all day long).
KEEP_CACHE = False


def _find_cached(cache: str, ident: str, threads: int = 1) -> str | None:
    """The key of a cached build (any compiler) whose report has this plan and thread count."""
    for f in sorted(os.listdir(cache)):
        if not f.endswith(".report.json") or not os.path.exists(os.path.join(cache, f[:-12] + ".so")):
            continue
        try:
            with open(os.path.join(cache, f)) as fh:
                rep = json.load(fh)
        except (OSError, ValueError):
            continue
        mine = "none" if rep.get("plan_source") == "none" else plan_identity(rep)
        if mine == ident and rep.get("threads", 1) == threads:
            return f[:-12]
    return None


def add_cache_flag(ap) -> None:
    ap.add_argument("--keep-cache", action="store_true",
                    help="reuse cached builds of the same plan even if build/bin changed since they were compiled")


def prepare(model: str, specs: list, cache: str) -> list:
    """Pre-plan every spec and work out its cache key (no compiling)."""
    os.makedirs(cache, exist_ok=True)
    msha, cid = file_sha(model), compiler_id()
    builds = []
    for spec in specs:
        b = Build(spec)
        tmp = os.path.join(cache, f"preplan-{os.getpid()}.json")
        b.pre, b.error = preplan(model, spec, tmp)
        if b.pre is not None:
            os.remove(tmp)
            ident = plan_identity(b.pre) if spec.plan != "none" else "none"
            # 1-thread keys are the ones from before --threads existed
            tkey = f"|threads={spec.threads}" if spec.threads != 1 else ""
            b.key = hashlib.sha256(f"{msha}|{cid}|{ident}{tkey}".encode()).hexdigest()[:16]
            b.so = os.path.join(cache, b.key + ".so")
            if KEEP_CACHE and not os.path.exists(b.so):
                stale = _find_cached(cache, ident, spec.threads)
                if stale:
                    b.key, b.so = stale, os.path.join(cache, stale + ".so")
        builds.append(b)
    return builds


def compile_all(model: str, builds: list, cache: str, jobs: int = 2) -> None:
    """Compile what the cache lacks (one compile per distinct plan, JOBS at once)."""
    todo = {}
    for b in builds:
        if b.key and not (os.path.exists(b.so) and os.path.exists(b.so[:-3] + ".report.json")):
            todo.setdefault(b.key, b)

    def one(b: Build):
        rep = b.so[:-3] + ".report.json"
        cmd = [os.path.join(BIN, "mafat-compile"), model, "-o", b.so + ".tmp", "--emit=lib",
               *b.spec.compile_flags(), f"--report={rep}", f"--header={b.so[:-3]}.h", "--print-stats"]
        t0 = time.time()
        proc = run_tool(cmd)
        dt = time.time() - t0
        with open(b.so[:-3] + ".log", "w") as f:
            f.write(" ".join(cmd) + "\n" + proc.stderr + proc.stdout)
        if proc.returncode == 0:
            os.replace(b.so + ".tmp", b.so)
        return b.key, proc.returncode, dt

    if todo:
        log(f"  compiling {len(todo)} distinct plan(s), {jobs} at a time (a tiled YOLOv2-608 plan takes ~30-50 s)")
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        for key, rc, dt in ex.map(one, todo.values()):
            b = todo[key]
            tn = f" {b.spec.threads}T" if b.spec.threads != 1 else ""
            log(f"    {b.spec.label:>14} [{b.spec.space}{tn}] -> {key}.so: rc {rc}, {dt:.0f} s")
            for other in builds:
                if other.key == key:
                    other.compiled = True
    for b in builds:
        if not b.key:
            continue
        logp = b.so[:-3] + ".log"
        if os.path.exists(logp):
            with open(logp) as f:
                b.compile_log = f.read()
        rep = b.so[:-3] + ".report.json"
        if os.path.exists(b.so) and os.path.exists(rep):
            with open(rep) as f:
                b.report = json.load(f)
            if b.spec.plan != "none" and plan_identity(b.report) != plan_identity(b.pre):
                b.compile_log += "\nWARNING: mafat-compile's plan differs from mafat-opt's pre-plan\n"
        else:
            b.error = "compile failed: " + (b.compile_log.strip().splitlines() or ["?"])[-1][:200]


def compile_warnings(b: Build) -> list:
    return [l.strip() for l in b.compile_log.splitlines()
            if ("warning" in l.lower() or "differs" in l) and "mafat-compile:" not in l[:14]]


# ---------------------------------------------------------------- running


def run_once(so: str, repeat: int, warmup: int = 1, seed: int = 1, prefix: list | None = None,
             timeout: float | None = None, threads: int | None = None) -> dict:
    cmd = list(prefix or []) + [os.path.join(BIN, "mafat-run"), so, "--seed", str(seed),
                                "--repeat", str(repeat), "--warmup", str(warmup), "--json"]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": f"rc {proc.returncode}: {proc.stderr.strip()[:200]}", "rc": proc.returncode}
    return json.loads(proc.stdout)


def measure(sos: list, rounds: int, repeat: int, warmup: int = 1, threads: int | dict | None = None) -> dict:
    """Interleaved rounds: every round runs every binary once (rotating the
    start), so drift on the shared machine hits all builds alike. THREADS
    (mafat-run --threads): one count for all, or a dict so -> count (None:
    what each binary was compiled for)."""
    sos = list(dict.fromkeys(sos))
    runs = {so: [] for so in sos}
    nthreads = threads if isinstance(threads, dict) else {so: threads for so in sos}
    for r in range(rounds):
        order = sos[r % len(sos):] + sos[:r % len(sos)]
        for so in order:
            runs[so].append(run_once(so, repeat, warmup, threads=nthreads.get(so)))
        log(f"  round {r + 1}/{rounds} done")
    out = {}
    for so, rs in runs.items():
        ok = [x for x in rs if "error" not in x]
        if not ok:
            out[so] = {"error": rs[0]["error"]}
            continue
        out[so] = {
            "workspace_bytes": sorted({x["workspace_bytes"] for x in ok}),
            "weight_bytes": ok[0]["weight_bytes"],
            "naive_bytes": ok[0]["naive_bytes"],
            "rss_min": min(x["peak_rss_bytes"] for x in ok),
            "rss_median": statistics.median(x["peak_rss_bytes"] for x in ok),
            "lat_median": statistics.median(x["latency_ms"]["median"] for x in ok),
            "lat_min": min(x["latency_ms"]["min"] for x in ok),
            "round_medians": [x["latency_ms"]["median"] if "error" not in x else None for x in rs],
            "errors": [x["error"] for x in rs if "error" in x],
            "io_bytes": sum(4 * _prod(t["shape"]) for t in ok[0].get("inputs", []) + ok[0].get("outputs", [])),
        }
    return out


def _prod(xs) -> int:
    p = 1
    for x in xs:
        p *= x
    return p


def paired_ratio(m: dict, base: dict) -> float | None:
    """Median over rounds of (this build's median / the baseline's median in the same round)."""
    rs = [a / b for a, b in zip(m.get("round_medians", []), base.get("round_medians", [])) if a and b]
    return statistics.median(rs) if rs else None


# ---------------------------------------------------------------- reporting


def plan_summary(report: dict | None) -> str:
    if not report:
        return "-"
    groups = report["groups"]
    tiled = [g for g in groups if g["grid"] != [1, 1]]
    if not tiled:
        return f"{len(groups)}g, none tiled"

    def lname(n):
        m = re.match(r"L(\d+):", n)
        return m.group(1) if m else None

    parts = []
    for g in tiled:
        a, z = lname(g["layers"][0]), lname(g["layers"][-1])
        grid = "x".join(map(str, g["grid"]))
        if a is not None and z is not None:
            parts.append(f"L{a}-{z}@{grid}" if a != z else f"L{a}@{grid}")
        else:
            parts.append(f"{len(g['layers'])}l@{grid}")
    if len(parts) > 6:
        parts = parts[:5] + [f"+{len(parts) - 5}"]
    # Rematerialized maps first: they change what the groups are.
    remat = ["r" + (lname(r["layer"]) or r["layer"]) for r in report.get("rematerialized", [])]
    return f"{len(groups)}g: " + " ".join(remat + parts)


def row_for(b: Build, meas: dict, base_meas: dict | None, base_ws: int | None,
            unb_meas: dict | None = None, one_meas: dict | None = None) -> dict:
    """One table row. UNB_MEAS: the unbudgeted build on the same thread count
    (ratio_unb_*); ONE_MEAS: the same spec on 1 thread (speedup_*)."""
    r = {"label": b.spec.label, "space": b.spec.space, "budget": b.spec.budget, "key": b.key,
         "threads": b.spec.threads, "error": b.error, "plan": plan_summary(b.report or b.pre),
         "compile_warnings": compile_warnings(b)}
    rep = b.report or b.pre
    if rep:
        r["pred_ws"] = rep["predicted_workspace_bytes"]
        r["pred_ms"] = rep["predicted_latency_ms"]
        r["pred_peak"] = rep.get("predicted_peak_bytes")
        r["groups"] = [{"layers": g["layers"], "grid": g["grid"],
                        **({"form": g["form"]} if b.spec.threads != 1 and "form" in g else {})} for g in rep["groups"]]
    m = meas.get(b.so) if b.so else None
    if m and "error" not in m:
        ws = m["workspace_bytes"]
        r["meas_ws"] = ws[0] if len(ws) == 1 else ws
        r["ws_match"] = len(ws) == 1 and ws[0] == r.get("pred_ws")
        r.update(lat_median=m["lat_median"], lat_min=m["lat_min"], rss=m["rss_min"],
                 weight_bytes=m["weight_bytes"], io_bytes=m["io_bytes"], run_errors=m["errors"])
        if base_meas and "error" not in base_meas:
            r["ratio_median"] = paired_ratio(m, base_meas)
            r["ratio_min"] = m["lat_min"] / base_meas["lat_min"]
            r["rss_minus_overhead"] = m["rss_min"] - (base_meas["rss_min"] - base_ws)
        if unb_meas and "error" not in unb_meas:
            r["ratio_unb_median"] = paired_ratio(m, unb_meas)
            r["ratio_unb_min"] = m["lat_min"] / unb_meas["lat_min"]
        if one_meas and "error" not in one_meas:
            r["speedup_median"] = paired_ratio(one_meas, m)
            r["speedup_min"] = one_meas["lat_min"] / m["lat_min"]
    elif m:
        r["error"] = (r["error"] or "") + " run: " + m["error"]
    return r


def print_table(rows: list) -> None:
    # with threads (issue 11): a T column, the ratio to the unbudgeted build on the same thread count and,
    # when 1-thread builds were measured alongside, the speedup over the same spec on 1 thread
    threaded = any(r.get("threads", 1) != 1 for r in rows)
    speedups = any(r.get("speedup_min") for r in rows)
    fmt = lambda x: f"{x:.3f}" if x else "-"
    hdr = (f"{'space':<8} {'budget':>9}" + (f" {'T':>2}" if threaded else "") + f" {'plan (tiled groups@grid)':<44} "
           f"{'pred ws':>8} {'meas ws':>8} {'ws':>4} "
           f"{'pred ms':>8} {'med ms':>8} {'min ms':>8} {'x unf med':>9} {'x unf min':>9}"
           + (f" {'x unb med':>9} {'x unb min':>9}" if threaded else "") + (f" {'speedup':>7}" if speedups else "")
           + f" {'RSS MiB':>8} {'RSS-ovh':>8}")
    print(hdr)
    print("-" * len(hdr))
    prev = None
    for r in rows:
        t = r.get("threads", 1)
        if threaded and prev is not None and t != prev:
            print()
        prev = t
        tc = f" {t:>2}" if threaded else ""
        if r.get("error") and "meas_ws" not in r:
            print(f"{r['space']:<8} {r['label']:>9}{tc} ERROR: {r['error']}")
            continue
        ok = "ok" if r.get("ws_match") else "MISM"
        xunb = f" {fmt(r.get('ratio_unb_median')):>9} {fmt(r.get('ratio_unb_min')):>9}" if threaded else ""
        sp = (f" {r['speedup_min']:>6.2f}x" if r.get("speedup_min") else f" {'-':>7}") if speedups else ""
        print(f"{r['space']:<8} {r['label']:>9}{tc} {r['plan'][:44]:<44} {mib(r.get('pred_ws')):>8} "
              f"{mib(r.get('meas_ws') if isinstance(r.get('meas_ws'), int) else None):>8} {ok:>4} "
              f"{r.get('pred_ms', 0):>8.1f} {r.get('lat_median', 0):>8.1f} {r.get('lat_min', 0):>8.1f} "
              f"{fmt(r.get('ratio_median')):>9} {fmt(r.get('ratio_min')):>9}{xunb}{sp} "
              f"{mib(r.get('rss')):>8} {mib(r.get('rss_minus_overhead')):>8}")
    print("(ws MiB = 2^20 B; 'ws' = measured workspace equals the predicted one; x unf = latency / the unfused\n"
          " build's, median of per-round ratios (med) and ratio of minimums (min); RSS = min peak RSS (VmHWM) over\n"
          " runs; RSS-ovh = RSS - (unfused RSS - unfused workspace): the workspace as RSS sees it"
          + (";\n T = threads the build is planned, compiled and run for; x unf and x unb compare with the builds of\n"
             " the same T: x unb = latency / the unbudgeted build's (full search, budget none), med and min as for x unf"
             if threaded else "")
          + (";\n speedup = the same spec's 1-thread min / its N-thread min" if speedups else "") + ")")


def plot(path: str, title: str, rows: list, base: dict | None) -> None:
    """Latency and RSS vs workspace. With several thread counts, the most
    threads are drawn as usual and the others faintly (measured only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"full": ("o", "C0", "full search, recompute only"),
              "paper": ("s", "C1", "paper's space (2 groups, pool cuts, NxN<=5)"),
              "stream": ("D", "C4", "full search with streaming (--stream)"),
              "unfused": ("*", "C3", "mafat unfused (--plan=none)"), "fixed": ("^", "C2", "fixed plan")}
    tcs = sorted({r.get("threads", 1) for r in rows})
    main_t = tcs[-1]
    for t in tcs[:-1]:
        for space, (mk, col, lab) in styles.items():
            rs = [r for r in rows if r["space"] == space and r.get("threads", 1) == t and isinstance(r.get("meas_ws"), int)]
            if rs:
                ax1.scatter([r["meas_ws"] / MIB for r in rs], [r["lat_min"] for r in rs], marker=mk, color=col, alpha=0.3,
                            s=60 if mk == "*" else 36, label=f"{lab.split(' (')[0]}, {t} thread(s) (measured, min)")
    if len(tcs) > 1 or main_t != 1:
        title += f", {main_t} threads"
        styles = {k: (mk, col, lab + f", {main_t} threads") for k, (mk, col, lab) in styles.items()}
    rows = [r for r in rows if r.get("threads", 1) == main_t]
    for space, (mk, col, lab) in styles.items():
        rs = [r for r in rows if r["space"] == space and isinstance(r.get("meas_ws"), int)]
        if not rs:
            continue
        xs = [r["meas_ws"] / MIB for r in rs]
        ax1.scatter(xs, [r["lat_min"] for r in rs], marker=mk, color=col, s=60 if mk == "*" else 36, label=lab + " (measured, min)")
        ax1.scatter([r["pred_ws"] / MIB for r in rs], [r["pred_ms"] for r in rs], marker=mk, facecolors="none",
                    edgecolors=col, s=36, label=lab.split(" (")[0] + " (predicted)")
        for r, x in zip(rs, xs):
            ax1.annotate(r["label"], (x, r["lat_min"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax2.scatter(xs, [r["rss"] / MIB for r in rs], marker=mk, color=col, label=lab)
    if base and base.get("rss"):
        lo = min((r["meas_ws"] for r in rows if isinstance(r.get("meas_ws"), int)), default=1) / MIB
        hi = base["meas_ws"] / MIB
        ovh = (base["rss"] - base["meas_ws"]) / MIB
        ax2.plot([lo, hi], [lo + ovh, hi + ovh], "k--", lw=1, label="unfused RSS - unfused workspace + workspace")
        ax1.axhline(base["lat_min"] * 1.05, color="grey", ls=":", lw=1, label="1.05x unfused")
    unb = next((r for r in rows if r["space"] == "full" and r["label"] == "none" and r.get("lat_min")), None)
    if main_t != 1 and unb:
        ax1.axhline(unb["lat_min"] * 1.10, color="C0", ls=":", lw=1, label=f"1.10x unbudgeted ({main_t} threads)")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("workspace (MiB, log)")
        ax.grid(True, which="both", alpha=0.3)
    ax1.set_ylabel("latency (ms)")
    ax2.set_ylabel("peak RSS (MiB)")
    ax1.set_title(f"{title}: latency vs workspace")
    ax2.set_title("peak RSS vs workspace (measured)")
    ax1.legend(fontsize=6, framealpha=0.6, loc="best")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- the experiment


def budget_specs(model_name: str, unfused_ws: int, min_ws: int, paper_min: int | None, quick: bool,
                 stream_min: int | None = None) -> list:
    L = unfused_ws
    fr = lambda d: int(L / d)
    full, paper = [], []
    # the stream front: from budgets the recompute-only search also meets down to its own minimum
    stream = [("L/8", fr(8)), ("L/16", fr(16)), ("stream-min", stream_min)] if quick else \
        [("L/4", fr(4)), ("L/8", fr(8)), ("L/16", fr(16)), ("stream-min", stream_min)]
    if model_name == "yolov2-608":
        if quick:
            full = [("none", None), ("L/2", fr(2)), ("L/8", fr(8)), ("min", min_ws)]
            paper = [("L/8", fr(8)), ("paper-min", paper_min)]
        else:
            full = [("none", None), ("L/2", fr(2)), ("L/4", fr(4)), ("L/8", fr(8)), ("5MiB", 5 * MIB), ("min", min_ws)]
            paper = [("none", None), ("L/4", fr(4)), ("L/8", fr(8)), ("paper-min", paper_min)]
            if paper_min:
                full.append(("paper-min", paper_min))
    else:
        full = [("none", None), ("L/2", fr(2)), ("L/8", fr(8)), ("min", min_ws)] if quick else \
               [("none", None), ("L/2", fr(2)), ("L/4", fr(4)), ("L/8", fr(8)), ("L/16", fr(16)), ("min", min_ws)]
        paper = [("L/8", fr(8)), ("paper-min", paper_min)] if quick else \
                [("none", None), ("L/4", fr(4)), ("L/8", fr(8)), ("paper-min", paper_min)]
    specs = []
    for lab, b in full:
        if b is None and lab != "none":
            continue
        if b is not None and b < min_ws:
            continue
        specs.append(Spec(lab, "auto", b, False))
    for lab, b in paper:
        if paper_min is None or (b is None and lab != "none") or (b is not None and b < paper_min):
            continue
        specs.append(Spec(lab, "auto", b, True))
    for lab, b in stream:
        if stream_min is None or b is None or b < stream_min:
            continue
        specs.append(Spec(lab, "auto", b, stream=True))
    return specs


def check_targets(rows: list, unfused: dict) -> list:
    L = unfused["meas_ws"]
    lines = []
    measured = [r for r in rows if "lat_min" in r and r is not unfused]

    def find(label, space="full"):
        return next((r for r in measured if r["label"] == label and r["space"] == space), None)

    def target(frac, limit, name, frac_s):
        cap = L * frac
        r = find(name)
        fits = [x for x in measured if x["meas_ws"] <= cap]
        best = min(fits, key=lambda x: x["ratio_min"]) if fits else None
        met = best is not None and best["ratio_min"] <= limit
        head = f"workspace <= {frac_s} of layer by layer ({mib(cap)} MiB) at <= {limit}x unfused"
        if best:
            lines.append(f"  [{'MET' if met else 'NOT MET'}] {head}: best build that fits is [{best['space']} {best['label']}] "
                         f"{mib(best['meas_ws'])} MiB at {best['ratio_min']:.3f}x min/min (paired medians "
                         f"{best['ratio_median']:.3f}x; {best['lat_min']:.1f} vs {unfused['lat_min']:.1f} ms)")
        else:
            lines.append(f"  [NOT MET] {head}: no measured build fits")
        if r:
            over = r["meas_ws"] > cap
            lines.append(f"      the full search at that budget: {mib(r['meas_ws'])} MiB"
                         + (f" -- OVER the budget (predicted {mib(r['pred_ws'])} MiB: workspace mismatch)" if over else "")
                         + f", {r['ratio_min']:.3f}x min/min ({r['ratio_median']:.3f}x paired medians)")

    target(1 / 8, 1.05, "L/8", "1/8")
    target(1 / 2, 1.01, "L/2", "1/2")
    target(1 / 16, 1.05, "L/16", "1/16 (issue 12)")
    sm = find("stream-min", "stream")
    if sm:
        lines.append(f"  [info] smallest workspace with streaming: {mib(sm['meas_ws'])} MiB "
                     f"({L / sm['meas_ws']:.1f}x below layer by layer) at {sm['lat_min']:.1f} ms min = "
                     f"{sm['ratio_min']:.3f}x unfused min/min (paired medians {sm['ratio_median']:.3f}x); "
                     f"a 2 MiB budget is {'feasible' if sm['meas_ws'] <= 2 * MIB else 'NOT feasible'}")
    r = find("min")
    if r:
        lines.append(f"  [info] smallest workspace any plan reaches: {mib(r['meas_ws'])} MiB "
                     f"({L / r['meas_ws']:.1f}x below layer by layer) at {r['lat_min']:.1f} ms min = "
                     f"{r['ratio_min']:.3f}x unfused min/min (paired medians {r['ratio_median']:.3f}x)")
    # full vs paper at the budgets both built
    for p in [x for x in measured if x["space"] == "paper"]:
        f = find(p["label"])
        if f:
            lines.append(f"  [full vs paper] budget {p['label']} ({mib(p['budget'])} MiB): full {mib(f['meas_ws'])} MiB "
                         f"{f['lat_min']:.1f} ms vs paper {mib(p['meas_ws'])} MiB {p['lat_min']:.1f} ms (min of runs): "
                         f"full/paper latency {f['lat_min'] / p['lat_min']:.3f}, predicted "
                         f"{f['pred_ms'] / p['pred_ms']:.3f}")
    fm, pm = find("min"), find("paper-min", "paper")
    if fm and pm:
        lines.append(f"  [full vs paper] smallest workspace: full {mib(fm['meas_ws'])} MiB vs paper {mib(pm['meas_ws'])} MiB "
                     f"({pm['meas_ws'] / fm['meas_ws']:.2f}x larger in the paper's space)")
    return lines


def check_thread_target(rows: list, unfused: dict, threads: int) -> list:
    """Issue 11: under L/8 on N threads at <= 1.10x the unbudgeted N-thread
    build (ROWS: the builds of one thread count)."""
    L = unfused["meas_ws"]
    cap, limit = L / 8, 1.10
    measured = [r for r in rows if "lat_min" in r and r is not unfused and isinstance(r.get("meas_ws"), int)]
    unb = next((r for r in measured if r["label"] == "none" and r["space"] == "full"), None)
    head = (f"(issue 11) workspace <= 1/8 of layer by layer ({mib(cap)} MiB) on {threads} threads at <= {limit:.2f}x "
            f"the unbudgeted {threads}-thread build")
    if unb is None:
        return [f"  [NOT MET] {head}: the unbudgeted {threads}-thread build was not measured"]
    fits = [x for x in measured if x["meas_ws"] <= cap and x.get("ratio_unb_min")]
    if not fits:
        return [f"  [NOT MET] {head}: no measured build fits"]
    best = min(fits, key=lambda x: x["ratio_unb_min"])
    met = best["ratio_unb_min"] <= limit
    lines = [f"  [{'MET' if met else 'NOT MET'}] {head}: best build that fits is [{best['space']} {best['label']}] "
             f"{mib(best['meas_ws'])} MiB at {best['ratio_unb_min']:.3f}x min/min (paired medians "
             f"{best['ratio_unb_median']:.3f}x; {best['lat_min']:.1f} vs {unb['lat_min']:.1f} ms, the unbudgeted build "
             f"{mib(unb['meas_ws'])} MiB)"]
    r = next((x for x in measured if x["label"] == "L/8" and x["space"] == "full"), None)
    if r and r.get("ratio_unb_min"):
        over = r["meas_ws"] > cap
        lines.append(f"      the full search at that budget: {mib(r['meas_ws'])} MiB"
                     + (f" -- OVER the budget (predicted {mib(r['pred_ws'])} MiB: workspace mismatch)" if over else "")
                     + f", {r['ratio_unb_min']:.3f}x min/min ({r['ratio_unb_median']:.3f}x paired medians)")
    for x in (unfused, unb, r):
        if x and x.get("speedup_min"):
            lines.append(f"  [info] {threads} threads vs 1 thread, [{x['space']} {x['label']}]: {x['speedup_min']:.2f}x "
                         f"(ratio of minimums; paired medians {x['speedup_median']:.2f}x)")
    return lines


def thread_groups(rows: list) -> list:
    """[(threads, rows of that thread count, its unfused row)] in ascending thread count."""
    out = []
    for t in sorted({r.get("threads", 1) for r in rows}):
        rs = [r for r in rows if r.get("threads", 1) == t]
        base = next((r for r in rs if r["space"] == "unfused"), rs[0])
        out.append((t, rs, base))
    return out


def outputs_suffix(threads: int) -> str:
    """Suffix of the JSON/PNG names: 1-thread results keep their names."""
    return f"-t{threads}" if threads != 1 else ""


def report(name: str, out: str, rows: list, unf_report: dict | None, naive: int | None, suffix: str = "") -> None:
    print()
    print_table(rows)
    print()
    print("Darknet: not measured -- Darknet is not installed on this machine (and the paper's figures are from a\n"
          "  Raspberry Pi 3 with NNPACK, not comparable). For scale, Darknet keeps every layer's output resident:\n"
          f"  {mib(naive)} MiB of buffers here (mafat's 'naive' figure for the unfused build: every buffer,\n"
          "  pre-activation maps included; paper-notes.md computes 139.6 MiB of layer outputs for YOLOv2 0-15 at 608).")
    bad = [r for r in rows if "meas_ws" in r and not r.get("ws_match")]
    if bad:
        print()
        print("!" * 100)
        for r in bad:
            print(f"!!! WORKSPACE MISMATCH [{r['space']} {r['label']}]: the binary declares {r['meas_ws']} B "
                  f"({mib(r['meas_ws'])} MiB), the plan report predicted {r['pred_ws']} B ({mib(r['pred_ws'])} MiB): "
                  f"{(r['meas_ws'] - r['pred_ws']) / r['pred_ws'] * 100:+.1f}%"
                  + (f"; over the budget {r['budget']} B" if r.get("budget") and r["meas_ws"] > r["budget"] else ""))
        print("!" * 100)
    for r in rows:
        for w in r.get("compile_warnings", []):
            print(f"  compile warning [{r['space']} {r['label']}]: {w[:300]}")
    groups = thread_groups(rows)
    if any("lat_median" in base for _, _, base in groups):
        print()
        print("Targets (issue 5; reported, not tested). Latency ratios judged on minimums (noise on a shared machine\n"
              "only slows runs down); the median of the per-round paired ratios is shown next to them:")
    for t, rs, base in groups:
        if "lat_median" not in base:
            continue
        if len(groups) > 1 or t != 1:
            print(f" on {t} thread(s) (ratios to the {t}-thread unfused build):")
        for line in check_targets(rs, base):
            print(line)
        if t != 1:
            for line in check_thread_target(rs, base, t):
                print(line)
        print("  [model] predicted/measured latency (min): " + ", ".join(
            f"{r['space'][0]}:{r['label']} {r['pred_ms'] / r['lat_min']:.2f}" for r in rs if r.get("lat_min")))
    png = os.path.join(out, f"paper_experiment-{name}{suffix}.png")
    t, _, base_row = groups[-1]
    try:
        plot(png, name, rows, base_row if "lat_median" in base_row else None)
        print(f"\nplot: {png}")
    except Exception as e:  # matplotlib missing etc.
        print(f"\nplot failed: {e}")


def run_experiment(args) -> int:
    name = args.model
    out = args.out
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, "models")
    cache = os.path.join(out, "cache", name)
    t0 = time.time()
    # thread counts built and run (interleaved): N, or 1 and N with --compare-threads
    tcs = [1, args.threads] if args.compare_threads and args.threads != 1 else [args.threads]
    tn = f", {' and '.join(map(str, tcs))} thread(s)" if tcs != [1] else ""
    print(f"== paper experiment: {name}  (rounds {args.rounds} x mafat-run --repeat {args.repeat} --warmup 1{tn})")
    model = make_model(name, work)
    # The search's reach, in both spaces (pre-plans only), on every thread count: budgets must be reachable on all.
    min_ws, paper_min, stream_min = 0, 0, 0
    for t in tcs:
        stop, serr = preplan(model, Spec("none", "auto", threads=t, stream=True),
                             os.path.join(out, f"_stop-{os.getpid()}.json"))
        if os.path.exists(os.path.join(out, f"_stop-{os.getpid()}.json")):
            os.remove(os.path.join(out, f"_stop-{os.getpid()}.json"))
        stream_min = None if stop is None or stream_min is None else max(stream_min, stop["min_workspace_bytes"])
        top, err = preplan(model, Spec("none", "auto", threads=t), os.path.join(out, f"_top-{os.getpid()}.json"))
        if top is None:
            print(f"ERROR: unconstrained search failed ({t} thread(s)): {err}")
            return 1
        ptop, perr = preplan(model, Spec("none", "auto", None, True, t), os.path.join(out, f"_ptop-{os.getpid()}.json"))
        for p in (f"_top-{os.getpid()}.json", f"_ptop-{os.getpid()}.json"):
            if os.path.exists(os.path.join(out, p)):
                os.remove(os.path.join(out, p))
        min_ws = max(min_ws, top["min_workspace_bytes"])
        paper_min = None if ptop is None or paper_min is None else max(paper_min, ptop["min_workspace_bytes"])
    unf = {t: prepare(model, [Spec("unfused", "none", threads=t)], cache) for t in tcs}
    compile_all(model, [u for t in tcs for u in unf[t]], cache, args.jobs)
    if any(unf[t][0].report is None for t in tcs):
        print(f"ERROR: the unfused build failed: {next(unf[t][0].error for t in tcs if unf[t][0].report is None)}")
        return 1
    # budgets are fractions of the layer-by-layer workspace (split steps do not change it; say so if it did)
    unfused_ws = unf[tcs[0]][0].report["predicted_workspace_bytes"]
    for t in tcs[1:]:
        w = unf[t][0].report["predicted_workspace_bytes"]
        if w != unfused_ws:
            print(f"  NOTE: the {t}-thread unfused workspace is {mib(w)} MiB, the {tcs[0]}-thread one {mib(unfused_ws)} MiB; "
                  f"budgets are fractions of the latter")
    print(f"  layer-by-layer (unfused) workspace {mib(unfused_ws)} MiB; the search reaches {mib(min_ws)} MiB "
          f"(full space), {mib(paper_min)} MiB (paper's space, mafat-compile's default halo cap 1.0), "
          f"{mib(stream_min)} MiB (full space with streaming)")
    if name == "yolov2-608":
        # mafat-compile has no --max-halo-overhead; mafat-opt does (see bench/pareto.py)
        o = [os.path.join(BIN, "mafat-opt"), model, "--mafat-normalize",
             f"--mafat-plan={PAPER_PASS} max-halo-overhead=3 report={os.path.join(cache, 'paper-halo3.json')}",
             "-o", os.devnull]
        if subprocess.run(o, capture_output=True).returncode == 0:
            with open(os.path.join(cache, "paper-halo3.json")) as f:
                p3 = json.load(f)
            print(f"  (with max-halo-overhead=3, mafat-opt only, the paper's space reaches {mib(p3['min_workspace_bytes'])} MiB)")
    specs = budget_specs(name, unfused_ws, min_ws, paper_min, args.quick, stream_min)
    builds = {t: prepare(model, [s.with_threads(t) for s in specs], cache) for t in tcs}
    for t in tcs:
        for b in builds[t]:
            if b.error:
                log(f"  {b.spec.label} [{b.spec.space}, {t} thread(s)]: {b.error}")
    compile_all(model, [b for t in tcs for b in builds[t]], cache, args.jobs)
    allb = [b for t in tcs for b in unf[t] + builds[t]]
    ran = [b for b in allb if b.report]
    meas = measure([b.so for b in ran], args.rounds, args.repeat,
                   threads={b.so: b.spec.threads for b in ran} if tcs != [1] else None)
    rows = []
    for t in tcs:
        base_meas = meas.get(unf[t][0].so)
        unb = next((b for b in builds[t] if b.spec.space == "full" and b.spec.label == "none"), None)
        unb_meas = meas.get(unb.so) if unb is not None and unb.so and t != 1 else None
        base_ws = unf[t][0].report["predicted_workspace_bytes"]
        for b in unf[t] + builds[t]:
            one = None
            if t != 1 and 1 in tcs:  # the same spec on 1 thread
                one = next((o for o in unf[1] + builds[1] if o.spec.label == b.spec.label and o.spec.space == b.spec.space), None)
            rows.append(row_for(b, meas, base_meas, base_ws, unb_meas, meas.get(one.so) if one and one.so else None))
    suffix = outputs_suffix(args.threads)
    report(name, out, rows, unf[tcs[-1]][0].report, unf[tcs[-1]][0].report.get("naive_bytes"), suffix)
    res = os.path.join(out, f"paper_experiment-{name}{suffix}.json")
    with open(res, "w") as f:
        json.dump({"model": name, "rounds": args.rounds, "repeat": args.repeat, "quick": args.quick,
                   "threads": tcs, "unfused_ws": unfused_ws, "min_ws": min_ws, "paper_min_ws": paper_min,
                   "stream_min_ws": stream_min,
                   "naive_bytes": unf[tcs[-1]][0].report.get("naive_bytes"), "rows": rows}, f, indent=1)
    print(f"results: {res}  ({time.time() - t0:.0f} s)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="yolov2-608", choices=["yolov2-608", "yolov3-tiny", "mobilenet_v2", "squeezenet1_1"])
    ap.add_argument("--quick", action="store_true", help="fewer budgets, rounds and repeats")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, quick 3)")
    ap.add_argument("--repeat", type=int, default=None, help="mafat-run --repeat per round (default 3, quick 2)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel compiles")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    ap.add_argument("--threads", type=int, default=1,
                    help="plan, compile and run every build for N threads (mafat-compile --threads=N, mafat-run "
                         "--threads N); outputs end in -tN (default 1)")
    ap.add_argument("--compare-threads", action="store_true",
                    help="with --threads N > 1: also build the 1-thread builds and run them in the same rounds "
                         "(1-thread and N-thread rows, speedups)")
    add_cache_flag(ap)
    ap.add_argument("--reanalyse", action="store_true",
                    help="no builds or runs: print the table, targets and plot from OUT/paper_experiment-MODEL[-tN].json")
    args = ap.parse_args()
    if args.threads < 1:
        ap.error("--threads must be at least 1")
    sys.stdout.reconfigure(line_buffering=True)
    global KEEP_CACHE
    KEEP_CACHE = args.keep_cache
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    if args.repeat is None:
        args.repeat = 2 if args.quick else 3
    if args.reanalyse:
        suffix = outputs_suffix(args.threads)
        with open(os.path.join(args.out, f"paper_experiment-{args.model}{suffix}.json")) as f:
            saved = json.load(f)
        print(f"== paper experiment: {args.model} (re-analysed from the saved measurements: rounds "
              f"{saved['rounds']} x --repeat {saved['repeat']}, thread(s) {saved.get('threads', [1])})")
        report(args.model, args.out, saved["rows"], None, saved.get("naive_bytes"), suffix)
        return 0
    return run_experiment(args)


if __name__ == "__main__":
    sys.exit(main())
