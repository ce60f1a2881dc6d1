#!/usr/bin/python3
"""The MAFAT paper's experiment, measured: planned builds at a sweep of budgets.

On YOLOv2 layers 0-15 at 608x608 (the paper's workload, seeded random
weights) this

* builds mafat's unfused binary (``--plan=none``: layer by layer, with the
  static memory planner's buffer reuse) and planned binaries at budgets from
  unconstrained down to the smallest workspace the search reaches, in the full
  search space and in the paper's restricted one (``--max-groups=2
  --cuts-after-pool-only --square-grids --max-grid=5``);
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

``--model yolov3-tiny`` and ``--model mobilenet_v2`` run the same experiment
on DAG models (budgets as fractions of the unfused workspace).

Builds are cached by plan in ``OUT/cache/<model>/`` (the key covers the model
text, the compiler binaries and the plan the search picks, found first with a
sub-second ``mafat-opt --mafat-plan`` run), so re-runs and the other benches
(rss_vs_budget.py, memcap.py, latency_model.py import this file) reuse them.

Usage (from the checkout, after ``ninja -C build``):
    /usr/bin/python3 bench/paper_experiment.py [--model yolov2-608|yolov3-tiny|mobilenet_v2]
        [--quick] [--rounds N] [--repeat N] [--jobs N] [--out DIR]
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
BIN = os.path.join(ROOT, "build", "bin")
DARKNET = os.path.join(ROOT, "models", "darknet")
MIB = 2**20
PAPER_FLAGS = ["--max-groups=2", "--cuts-after-pool-only", "--square-grids", "--max-grid=5"]
PAPER_PASS = "max-groups=2 cuts-after-pool-only square-grids max-grid=5"

# name -> (kind, source, importer args)
MODELS = {
    "yolov2-608": ("darknet", "yolov2.cfg", ["--layers", "0-15", "--input-size", "608x608"]),
    "yolov3-tiny": ("darknet", "yolov3-tiny.cfg", []),
    "mobilenet_v2": ("onnx", "mobilenet_v2", []),
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

    def __init__(self, label: str, plan: str = "auto", budget: int | None = None, paper: bool = False):
        self.label, self.plan, self.budget, self.paper = label, plan, budget, paper

    @property
    def space(self) -> str:
        if self.plan == "none":
            return "unfused"
        if self.plan != "auto":
            return "fixed"
        return "paper" if self.paper else "full"

    def pass_options(self) -> str:
        opts = [f"plan={self.plan}"]
        if self.budget is not None:
            opts.append(f"memory-budget={self.budget}")
        if self.paper:
            opts.append(PAPER_PASS)
        return " ".join(opts)

    def compile_flags(self) -> list:
        flags = [f"--plan={self.plan}"]
        if self.budget is not None:
            flags.append(f"--memory-budget={self.budget}")
        if self.paper:
            flags += PAPER_FLAGS
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
    return json.dumps({"order": report.get("order"), "groups": groups}, sort_keys=True)


# --keep-cache: reuse a cached build of the same plan even if the compiler
# binaries changed since (other people rebuild build/bin all day long).
KEEP_CACHE = False


def _find_cached(cache: str, ident: str) -> str | None:
    """The key of a cached build (any compiler) whose report has this plan."""
    for f in sorted(os.listdir(cache)):
        if not f.endswith(".report.json") or not os.path.exists(os.path.join(cache, f[:-12] + ".so")):
            continue
        try:
            with open(os.path.join(cache, f)) as fh:
                rep = json.load(fh)
        except (OSError, ValueError):
            continue
        mine = "none" if rep.get("plan_source") == "none" else plan_identity(rep)
        if mine == ident:
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
            b.key = hashlib.sha256(f"{msha}|{cid}|{ident}".encode()).hexdigest()[:16]
            b.so = os.path.join(cache, b.key + ".so")
            if KEEP_CACHE and not os.path.exists(b.so):
                stale = _find_cached(cache, ident)
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
            log(f"    {b.spec.label:>14} [{b.spec.space}] -> {key}.so: rc {rc}, {dt:.0f} s")
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
             timeout: float | None = None) -> dict:
    cmd = list(prefix or []) + [os.path.join(BIN, "mafat-run"), so, "--seed", str(seed),
                                "--repeat", str(repeat), "--warmup", str(warmup), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": f"rc {proc.returncode}: {proc.stderr.strip()[:200]}", "rc": proc.returncode}
    return json.loads(proc.stdout)


def measure(sos: list, rounds: int, repeat: int, warmup: int = 1) -> dict:
    """Interleaved rounds: every round runs every binary once (rotating the
    start), so drift on the shared machine hits all builds alike."""
    sos = list(dict.fromkeys(sos))
    runs = {so: [] for so in sos}
    for r in range(rounds):
        order = sos[r % len(sos):] + sos[:r % len(sos)]
        for so in order:
            runs[so].append(run_once(so, repeat, warmup))
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
    return f"{len(groups)}g: " + " ".join(parts)


def row_for(b: Build, meas: dict, base_meas: dict | None, base_ws: int | None) -> dict:
    r = {"label": b.spec.label, "space": b.spec.space, "budget": b.spec.budget, "key": b.key,
         "error": b.error, "plan": plan_summary(b.report or b.pre),
         "compile_warnings": compile_warnings(b)}
    rep = b.report or b.pre
    if rep:
        r["pred_ws"] = rep["predicted_workspace_bytes"]
        r["pred_ms"] = rep["predicted_latency_ms"]
        r["pred_peak"] = rep.get("predicted_peak_bytes")
        r["groups"] = [{"layers": g["layers"], "grid": g["grid"]} for g in rep["groups"]]
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
    elif m:
        r["error"] = (r["error"] or "") + " run: " + m["error"]
    return r


def print_table(rows: list) -> None:
    hdr = (f"{'space':<8} {'budget':>9} {'plan (tiled groups@grid)':<44} {'pred ws':>8} {'meas ws':>8} {'ws':>4} "
           f"{'pred ms':>8} {'med ms':>8} {'min ms':>8} {'x unf med':>9} {'x unf min':>9} {'RSS MiB':>8} {'RSS-ovh':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        if r.get("error") and "meas_ws" not in r:
            print(f"{r['space']:<8} {r['label']:>9} ERROR: {r['error']}")
            continue
        ok = "ok" if r.get("ws_match") else "MISM"
        rm = f"{r['ratio_median']:.3f}" if r.get("ratio_median") else "-"
        rn = f"{r['ratio_min']:.3f}" if r.get("ratio_min") else "-"
        print(f"{r['space']:<8} {r['label']:>9} {r['plan'][:44]:<44} {mib(r.get('pred_ws')):>8} "
              f"{mib(r.get('meas_ws') if isinstance(r.get('meas_ws'), int) else None):>8} {ok:>4} "
              f"{r.get('pred_ms', 0):>8.1f} {r.get('lat_median', 0):>8.1f} {r.get('lat_min', 0):>8.1f} "
              f"{rm:>9} {rn:>9} {mib(r.get('rss')):>8} {mib(r.get('rss_minus_overhead')):>8}")
    print("(ws MiB = 2^20 B; 'ws' = measured workspace equals the predicted one; x unf = latency / the unfused\n"
          " build's, median of per-round ratios (med) and ratio of minimums (min); RSS = min peak RSS (VmHWM) over\n"
          " runs; RSS-ovh = RSS - (unfused RSS - unfused workspace): the workspace as RSS sees it)")


def plot(path: str, title: str, rows: list, base: dict | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"full": ("o", "C0", "full search"), "paper": ("s", "C1", "paper's space (2 groups, pool cuts, NxN<=5)"),
              "unfused": ("*", "C3", "mafat unfused (--plan=none)"), "fixed": ("^", "C2", "fixed plan")}
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


def budget_specs(model_name: str, unfused_ws: int, min_ws: int, paper_min: int | None, quick: bool) -> list:
    L = unfused_ws
    fr = lambda d: int(L / d)
    full, paper = [], []
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


def report(name: str, out: str, rows: list, unf_report: dict | None, naive: int | None) -> None:
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
    base_row = rows[0]
    if "lat_median" in base_row:
        print()
        print("Targets (issue 5; reported, not tested). Latency ratios judged on minimums (noise on a shared machine\n"
              "only slows runs down); the median of the per-round paired ratios is shown next to them:")
        for line in check_targets(rows, base_row):
            print(line)
        print("  [model] predicted/measured latency (min): " + ", ".join(
            f"{r['space'][0]}:{r['label']} {r['pred_ms'] / r['lat_min']:.2f}" for r in rows if r.get("lat_min")))
    png = os.path.join(out, f"paper_experiment-{name}.png")
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
    print(f"== paper experiment: {name}  (rounds {args.rounds} x mafat-run --repeat {args.repeat} --warmup 1)")
    model = make_model(name, work)
    # The search's reach, in both spaces (pre-plans only).
    top, err = preplan(model, Spec("none", "auto"), os.path.join(out, f"_top-{os.getpid()}.json"))
    if top is None:
        print(f"ERROR: unconstrained search failed: {err}")
        return 1
    ptop, perr = preplan(model, Spec("none", "auto", None, True), os.path.join(out, f"_ptop-{os.getpid()}.json"))
    for p in (f"_top-{os.getpid()}.json", f"_ptop-{os.getpid()}.json"):
        if os.path.exists(os.path.join(out, p)):
            os.remove(os.path.join(out, p))
    min_ws = top["min_workspace_bytes"]
    paper_min = ptop["min_workspace_bytes"] if ptop else None
    unf = prepare(model, [Spec("unfused", "none")], cache)
    compile_all(model, unf, cache, args.jobs)
    unfused_ws = unf[0].report["predicted_workspace_bytes"]
    print(f"  layer-by-layer (unfused) workspace {mib(unfused_ws)} MiB; the search reaches {mib(min_ws)} MiB "
          f"(full space), {mib(paper_min)} MiB (paper's space, mafat-compile's default halo cap 1.0)")
    if name == "yolov2-608":
        # mafat-compile has no --max-halo-overhead; mafat-opt does (see bench/pareto.py)
        o = [os.path.join(BIN, "mafat-opt"), model, "--mafat-normalize",
             f"--mafat-plan={PAPER_PASS} max-halo-overhead=3 report={os.path.join(cache, 'paper-halo3.json')}",
             "-o", os.devnull]
        if subprocess.run(o, capture_output=True).returncode == 0:
            with open(os.path.join(cache, "paper-halo3.json")) as f:
                p3 = json.load(f)
            print(f"  (with max-halo-overhead=3, mafat-opt only, the paper's space reaches {mib(p3['min_workspace_bytes'])} MiB)")
    specs = budget_specs(name, unfused_ws, min_ws, paper_min, args.quick)
    builds = prepare(model, specs, cache)
    for b in builds:
        if b.error:
            log(f"  {b.spec.label} [{b.spec.space}]: {b.error}")
    compile_all(model, builds, cache, args.jobs)
    allb = unf + builds
    meas = measure([b.so for b in allb if b.report], args.rounds, args.repeat)
    base_meas = meas.get(unf[0].so)
    rows = [row_for(b, meas, base_meas, unfused_ws) for b in allb]
    report(name, out, rows, unf[0].report, unf[0].report.get("naive_bytes"))
    res = os.path.join(out, f"paper_experiment-{name}.json")
    with open(res, "w") as f:
        json.dump({"model": name, "rounds": args.rounds, "repeat": args.repeat, "quick": args.quick,
                   "unfused_ws": unfused_ws, "min_ws": min_ws, "paper_min_ws": paper_min,
                   "naive_bytes": unf[0].report.get("naive_bytes"), "rows": rows}, f, indent=1)
    print(f"results: {res}  ({time.time() - t0:.0f} s)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="yolov2-608", choices=["yolov2-608", "yolov3-tiny", "mobilenet_v2"])
    ap.add_argument("--quick", action="store_true", help="fewer budgets, rounds and repeats")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, quick 3)")
    ap.add_argument("--repeat", type=int, default=None, help="mafat-run --repeat per round (default 3, quick 2)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel compiles")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    add_cache_flag(ap)
    ap.add_argument("--reanalyse", action="store_true",
                    help="no builds or runs: print the table, targets and plot from OUT/paper_experiment-MODEL.json")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    global KEEP_CACHE
    KEEP_CACHE = args.keep_cache
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    if args.repeat is None:
        args.repeat = 2 if args.quick else 3
    if args.reanalyse:
        with open(os.path.join(args.out, f"paper_experiment-{args.model}.json")) as f:
            saved = json.load(f)
        print(f"== paper experiment: {args.model} (re-analysed from the saved measurements: rounds "
              f"{saved['rounds']} x --repeat {saved['repeat']})")
        report(args.model, args.out, saved["rows"], None, saved.get("naive_bytes"))
        return 0
    return run_experiment(args)


if __name__ == "__main__":
    sys.exit(main())
