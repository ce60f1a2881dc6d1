"""Calibrate mafat's latency model on this machine: write a target profile.

Usage (from the repository; ``scripts/mafat-calibrate`` wraps this)::

    scripts/mafat-calibrate --out profiles/x86_64.json [--bin build/bin]
        [--quick] [--rounds 2] [--workdir DIR] [--heldout] [--json-report F]
    scripts/mafat-calibrate --validate FILE

The latency model (include/mafat/CostModel/LatencyModel.h, docs/CostModel.md)
prices a layer run on an h x w tile as

    compute  = flops / rate(kind) * (1 + tile_width_penalty / w)
    memory   = max(0, bytes / bandwidth(working set) - compute)
    copy     = pad copies at the border, data-movement layers at copy bandwidth
    overhead = overhead_us.layer per layer per tile (+ overhead_us.tile per tile)

Calibration compiles micro-benchmark models (python/mafat/models.py) with
``mafat-compile -O3`` into shared libraries, times each with ``mafat-run
--json`` (minimum over ``--rounds`` rounds of repeated runs, so noise from a
shared machine only makes a run slower, never faster), writes every
benchmark's layer graph with ``mafat-opt --mafat-print-layer-graph=format=json`` and fits one
parameter group at a time against the benchmarks that isolate it:

    overhead_us.layer            chains of tiny elementwise layers (slope)
    bandwidth_gbps.memory        elementwise layers on maps far beyond the LLC
    throughput_gflops.elementwise a standalone leaky ReLU in L2
    bandwidth_gbps.cache, llc    ReLU and add on maps in L2, in the LLC
    throughput_gflops.conv,      3x3 convs of several widths, unpadded:
      tile_width_penalty         least squares of time/flops = a + b / width
    throughput_gflops.conv1x1,   the other kinds on maps that fit in cache,
      depthwise, pool, matmul    each solved so the median of predicted /
                                 measured is 1
    bandwidth_gbps.copy          padded depthwise convs (the pad copy) against
                                 the unpadded ones
    throughput_gflops.epilogue   conv + bias + leaky against the bare conv
                                 (the fused epilogue; 10x the conv rate when
                                 it is lost in the noise)
    overhead_us.tile             fused, tiled plans (mafat-compile --plan),
                                 when the compiler has that option
    parallel.efficiency,         layers compiled with --threads=2 and run on
      parallel.launch_us         1 and 2 threads (same binary): the speedup of
                                 layers far above the split threshold gives the
                                 efficiency, layers just above it the cost of a
                                 launch (needs 2 cores; else the built-in values)

Each fit uses the current values of the others, and the whole sequence runs
twice. cache_bytes and llc_bytes are the L2 and L3 sizes sysfs reports (else getconf's;
--l2-bytes/--llc-bytes override both: a VM may report the whole socket's L3).

The formula is not restated here: every prediction is the compiler's. A
fit evaluates the model at thousands of parameter values and needs its parts
(compute, memory, copy, overhead), so each benchmark's layer graph (JSON)
goes to one ``mafat-predict --serve`` (tools/mafat-predict), which prices the
graph layer by layer (one 1x1 group per layer, as mafat-compile runs a model
without a plan) with the C++ latency model for every profile it is sent and
answers with the parts. Every prediction printed or reported afterwards (the
fit's error, the held-out check with --heldout: models and shapes not used in
the fit) is ``predicted_latency_ms`` of ``mafat-opt --mafat-plan``'s report
with the fitted profile; the "compiler:" line says how far mafat-predict's
figures on the graph JSON are from it (0: the JSON carries the whole graph).

--validate FILE checks a profile with the same rules as the C++ reader
(profileFromJson): every key present with the right type, no unknown keys,
rates positive, penalty and overheads non-negative.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .models import (Activation, Add, Conv2d, Dense, DepthwiseConv2d, MaxPool,
                     Model)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# ---------------------------------------------------------------------------
# The profile schema (mirrors lib/CostModel/TargetProfile.cpp).
# ---------------------------------------------------------------------------

# (group or "", key, must be positive)
NUMBER_FIELDS = [
    ("throughput_gflops", "conv", True),
    ("throughput_gflops", "conv1x1", True),
    ("throughput_gflops", "depthwise", True),
    ("throughput_gflops", "pool", True),
    ("throughput_gflops", "elementwise", True),
    ("throughput_gflops", "epilogue", True),
    ("throughput_gflops", "matmul", True),
    ("bandwidth_gbps", "copy", True),
    ("bandwidth_gbps", "cache", True),
    ("bandwidth_gbps", "llc", True),
    ("bandwidth_gbps", "memory", True),
    ("", "cache_bytes", True),
    ("", "llc_bytes", True),
    ("", "tile_width_penalty", False),
    ("overhead_us", "layer", False),
    ("overhead_us", "tile", False),
    ("parallel", "efficiency", True),
    ("parallel", "launch_us", False),
]
GROUPS = ["throughput_gflops", "bandwidth_gbps", "overhead_us", "parallel"]
STRING_KEYS = ["name", "triple", "source"]


def _path(group: str, key: str) -> str:
    return f"{group}.{key}" if group else key


def validate_profile(obj) -> str:
    """"" or the first problem, worded like the C++ reader's messages."""
    if not isinstance(obj, dict):
        return "profile: expected an object"
    top = set(STRING_KEYS) | {"calibrated"} | set(GROUPS) | {k for g, k, _ in NUMBER_FIELDS if not g}
    for k in obj:
        if k not in top:
            return f"{k}: unknown key"
    for g in GROUPS:
        if g not in obj:
            return f"{g}: missing"
        if not isinstance(obj[g], dict):
            return f"{g}: expected an object"
        keys = {k for gg, k, _ in NUMBER_FIELDS if gg == g}
        for k in obj[g]:
            if k not in keys:
                return f"{g}.{k}: unknown key"
    for k in STRING_KEYS:
        if k not in obj:
            return f"{k}: missing"
        if not isinstance(obj[k], str):
            return f"{k}: expected a string"
    if "calibrated" not in obj:
        return "calibrated: missing"
    if not isinstance(obj["calibrated"], bool):
        return "calibrated: expected true or false"
    for g, k, _ in NUMBER_FIELDS:
        where = obj[g] if g else obj
        if k not in where:
            return f"{_path(g, k)}: missing"
        v = where[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"{_path(g, k)}: expected a number"
    for g, k, positive in NUMBER_FIELDS:
        v = (obj[g] if g else obj)[k]
        if not math.isfinite(v):
            return f"{_path(g, k)}: must be finite"
        if positive and v <= 0:
            return f"{_path(g, k)}: must be positive"
        if not positive and v < 0:
            return f"{_path(g, k)}: must not be negative"
    return ""


@dataclass
class Params:
    """The model's parameters, in the profile's units."""

    conv: float = 100.0
    conv1x1: float = 100.0
    depthwise: float = 10.0
    pool: float = 10.0
    elementwise: float = 10.0
    epilogue: float = 100.0
    matmul: float = 50.0
    copy: float = 10.0
    cache: float = 50.0
    llc: float = 30.0
    memory: float = 10.0
    cache_bytes: float = 1 << 20
    llc_bytes: float = 1 << 20
    tile_width_penalty: float = 0.0
    layer_us: float = 0.0
    tile_us: float = 0.0
    # The built-in values until fit_parallel measures them.
    parallel_efficiency: float = 0.9
    launch_us: float = 3.0

    def to_profile(self, name: str, triple: str, calibrated: bool, source: str,
                   exact: bool = False) -> dict:
        def r(v: float) -> float:
            # Four significant digits: more would only record noise (exact:
            # every digit, for the fit's probes).
            return v if exact else float(f"{v:.4g}")

        return {
            "name": name,
            "triple": triple,
            "calibrated": calibrated,
            "source": source,
            "throughput_gflops": {k: r(getattr(self, k)) for k in
                                  ("conv", "conv1x1", "depthwise", "pool", "elementwise", "epilogue",
                                   "matmul")},
            "bandwidth_gbps": {k: r(getattr(self, k)) for k in ("copy", "cache", "llc", "memory")},
            "cache_bytes": int(self.cache_bytes),
            "llc_bytes": int(self.llc_bytes),
            "tile_width_penalty": r(self.tile_width_penalty),
            "overhead_us": {"layer": r(self.layer_us), "tile": r(self.tile_us)},
            "parallel": {"efficiency": r(self.parallel_efficiency), "launch_us": r(self.launch_us)},
        }


# ---------------------------------------------------------------------------
# Layer graphs (mafat-opt --mafat-print-layer-graph=format=json).
# ---------------------------------------------------------------------------


@dataclass
class Node:
    """What the fits read of a layer (the latency model itself reads the
    whole graph, in mafat-predict)."""
    id: int
    name: str
    kind: str
    out: Tuple[int, ...]
    flops: int = 0


def read_layer_graph(text: str) -> Tuple[List[Node], List[str]]:
    """Nodes and model outputs from the JSON of
    ``mafat-opt --mafat-print-layer-graph=format=json`` (one object per
    function; docs/Passes.md)."""
    nodes: List[Node] = []
    outputs: List[str] = []
    decoder = json.JSONDecoder()
    pos = 0
    text = text.strip()
    while pos < len(text):
        graph, pos = decoder.raw_decode(text, pos)
        while pos < len(text) and text[pos].isspace():
            pos += 1
        names = {n["id"]: n["name"] for n in graph["nodes"]}
        nodes += [Node(n["id"], n["name"], n["kind"], tuple(n["output_shape"]), n["flops"])
                  for n in graph["nodes"]]
        outputs += [names[o["node"]] for o in graph["outputs"]]
    if not nodes:
        raise RuntimeError("mafat-opt --mafat-print-layer-graph=format=json printed no graph")
    return nodes, outputs


# ---------------------------------------------------------------------------
# Micro-benchmarks.
# ---------------------------------------------------------------------------


@dataclass
class Bench:
    name: str
    role: str  # which fit uses it ("heldout" for the check only)
    build: Callable[[np.random.Generator], Model]
    plan: Optional[dict] = None  # a fused plan (needs mafat-compile --plan)
    threads: int = 1  # mafat-compile --threads (the parallel fit)
    # Filled in by the runs.
    seconds: float = math.inf
    nodes: List[Node] = field(default_factory=list)
    graph: str = ""  # the layer graph JSON file (mafat-predict's input)
    so: str = ""


def _w(rng, shape):
    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def conv(name, role, h, w, c, f, k, pad=0, epilogue=False):
    def build(rng):
        b = (rng.standard_normal(f) * 0.1).astype(np.float32) if epilogue else None
        layer = Conv2d(w=_w(rng, (k, k, c, f)), b=b, pad=pad, act=("leaky", 0.1) if epilogue else None)
        return Model(name, [("input", (1, h, w, c))], [layer])
    return Bench(name, role, build)


def dw(name, role, h, w, c, pad=0):
    def build(rng):
        return Model(name, [("input", (1, h, w, c))], [DepthwiseConv2d(w=_w(rng, (3, 3, c)), pad=pad)])
    return Bench(name, role, build)


def pool(name, role, h, w, c, k=2, s=2):
    def build(rng):
        return Model(name, [("input", (1, h, w, c))], [MaxPool(k=k, s=s)])
    return Bench(name, role, build)


def relu(name, role, h, w, c, layers=1, act="relu"):
    def build(rng):
        return Model(name, [("input", (1, h, w, c))], [Activation(act=act) for _ in range(layers)])
    return Bench(name, role, build)


def add(name, role, h, w, c):
    def build(rng):
        return Model(name, [("a", (1, h, w, c)), ("b", (1, h, w, c))], [Add(src=("a", "b"))])
    return Bench(name, role, build)


def dense(name, role, k, n):
    def build(rng):
        return Model(name, [("input", (1, k))], [Dense(w=_w(rng, (k, n)))])
    return Bench(name, role, build)


def chain(name, role, h, w, c, f):
    """conv3x3+leaky, maxpool, conv1x1+leaky, conv3x3+leaky: a small
    YOLO-like stack for the held-out check and the fused plans."""
    def build(rng):
        return Model(name, [("input", (1, h, w, c))], [
            Conv2d(w=_w(rng, (3, 3, c, f)), b=np.zeros(f, np.float32), pad=1, act=("leaky", 0.1)),
            MaxPool(k=2),
            Conv2d(w=_w(rng, (1, 1, f, f // 2)), b=np.zeros(f // 2, np.float32), act=("leaky", 0.1)),
            Conv2d(w=_w(rng, (3, 3, f // 2, f)), b=np.zeros(f, np.float32), pad=1, act=("leaky", 0.1)),
        ])
    return Bench(name, role, build)


def fused(name, h, w, c, f, grid):
    b = chain(name, "tile", h, w, c, f)
    b.plan = {"groups": [{"name": "g0",
                          "layers": ["L0:conv", "L0:leaky", "L1:maxpool", "L2:conv", "L2:leaky",
                                     "L3:conv", "L3:leaky"],
                          "grid": [grid, grid]}]}
    return b


def bench_set(quick: bool) -> List[Bench]:
    if quick:
        return [
            relu("ovh_1", "overhead1", 4, 4, 16, 1),
            relu("ovh_21", "overhead", 4, 4, 16, 21),
            relu("relu_big", "memory", 256, 256, 64),
            relu("relu_l2", "cache", 32, 32, 32),
            relu("leaky_l2", "elementwise", 32, 32, 32, act=("leaky", 0.1)),
            relu("relu_l3", "llc", 96, 96, 64),
            conv("c3_w32", "conv", 16, 32, 32, 32, 3),
            conv("c3_w4", "conv", 64, 4, 32, 32, 3),
            conv("c1_64", "conv1x1", 32, 32, 64, 64, 1),
            dw("dw_34", "depthwise", 34, 34, 32),
            dw("dw_32p", "copy", 32, 32, 32, pad=1),
            pool("mp_64", "pool", 64, 64, 32),
            dense("fc_256", "matmul", 256, 256),
            conv("c3e_32", "epilogue", 16, 32, 32, 32, 3, epilogue=True),
        ]
    benches = [
        relu("ovh_1", "overhead1", 4, 4, 16, 1),
        relu("ovh_41", "overhead", 4, 4, 16, 41),
        relu("relu_big", "memory", 512, 512, 32),
        add("add_big", "memory", 384, 384, 64),
        relu("relu_l2a", "cache", 32, 32, 64),
        relu("relu_l2b", "cache", 64, 64, 16),
        add("add_l2", "cache", 32, 32, 32),
        relu("leaky_l2a", "elementwise", 32, 32, 64, act=("leaky", 0.1)),
        relu("leaky_l2b", "elementwise", 48, 48, 32, act=("leaky", 0.1)),
        relu("relu_l3", "llc", 96, 96, 64),
        add("add_l3", "llc", 64, 64, 96),
        relu("leaky_l3", "llc", 160, 160, 32, act=("leaky", 0.1)),
    ]
    # 3x3 convs: the same work at widths from 2 to 128 columns, 2 channel
    # counts, so the width term separates from the rate.
    for c in (32, 64, 128):
        for w in (2, 3, 4, 6, 8, 13, 16, 32, 64, 128):
            h = max(2, (8192 if c < 128 else 2048) // w)
            benches.append(conv(f"c3_{c}_w{w}", "conv", h + 2, w + 2, c, c, 3))
    for c, f, hw in ((64, 64, 32), (128, 128, 26), (256, 128, 19), (128, 256, 16), (512, 256, 13)):
        benches.append(conv(f"c1_{c}x{f}_{hw}", "conv1x1", hw, hw, c, f, 1))
    for c, hw in ((32, 66), (64, 34), (128, 26), (256, 15)):
        benches.append(dw(f"dw_{c}_{hw}", "depthwise", hw, hw, c))
        benches.append(dw(f"dw_{c}_{hw}p", "copy", hw - 2, hw - 2, c, pad=1))
    for c, hw in ((32, 64), (64, 52), (128, 26), (16, 128)):
        benches.append(pool(f"mp_{c}_{hw}", "pool", hw, hw, c))
    for k, n in ((256, 256), (512, 128), (128, 512)):
        benches.append(dense(f"fc_{k}x{n}", "matmul", k, n))
    for c, hw in ((32, 34), (64, 34), (128, 18)):
        benches.append(conv(f"c3e_{c}_{hw}", "epilogue", hw, hw, c, c, 3, epilogue=True))
    return benches


def heldout_set(quick: bool) -> List[Bench]:
    if quick:
        return [conv("h_c3_24", "heldout", 24, 24, 16, 32, 3, pad=1, epilogue=True)]
    return [
        conv("h_c3p_52_32x64", "heldout", 52, 52, 32, 64, 3, pad=1, epilogue=True),
        conv("h_c3p_104_3x32", "heldout", 104, 104, 3, 32, 3, pad=1, epilogue=True),
        conv("h_c3p_26_128x256", "heldout", 26, 26, 128, 256, 3, pad=1, epilogue=True),
        conv("h_c3_19_w19", "heldout", 21, 21, 256, 256, 3),
        conv("h_c1_38_256x128", "heldout", 38, 38, 256, 128, 1, epilogue=True),
        conv("h_c3_104_64", "heldout", 104, 104, 64, 64, 3, pad=1),
        dw("h_dw_104_64p", "heldout", 104, 104, 64, pad=1),
        dw("h_dw_56_128p", "heldout", 56, 56, 128, pad=1),
        pool("h_mp_208_32", "heldout", 208, 208, 32),
        pool("h_mp3s1_52_64", "heldout", 52, 52, 64, k=3, s=1),
        relu("h_relu_128_64", "heldout", 128, 128, 64),
        add("h_add_52_128", "heldout", 52, 52, 128),
        dense("h_fc_1024x256", "heldout", 1024, 256),
        chain("h_chain_64", "heldout", 64, 64, 16, 64),
        chain("h_chain_104", "heldout", 104, 104, 32, 128),
    ]


# ---------------------------------------------------------------------------
# Compiling and timing.
# ---------------------------------------------------------------------------


class Runner:
    def __init__(self, bindir: str, workdir: str, target_ms: float, verbose: bool):
        self.bin = bindir
        self.workdir = workdir
        self.target_ms = target_ms
        self.verbose = verbose
        help_text = subprocess.run([self._tool("mafat-compile"), "--help"], capture_output=True,
                                   text=True).stdout
        self.has_plan = "--plan" in help_text
        # One mafat-predict --serve per benchmark, started on first use.
        self.servers: Dict[str, subprocess.Popen] = {}

    def _tool(self, name: str) -> str:
        return os.path.join(self.bin, name)

    def prepare(self, b: Bench, rng_seed: int = 0) -> bool:
        model = b.build(np.random.default_rng(rng_seed))
        mlir = os.path.join(self.workdir, b.name + ".mlir")
        with open(mlir, "w") as f:
            f.write(model.to_mlir())
        g = subprocess.run([self._tool("mafat-opt"), "--mafat-print-layer-graph=format=json", mlir,
                            "-o", os.devnull], capture_output=True, text=True)
        if g.returncode != 0:
            raise RuntimeError(f"mafat-opt failed on {b.name}:\n{g.stderr}")
        b.nodes, _ = read_layer_graph(g.stdout)
        b.graph = os.path.join(self.workdir, b.name + ".graph.json")
        with open(b.graph, "w") as f:
            f.write(g.stdout)
        b.so = os.path.join(self.workdir, b.name + ".so")
        cmd = [self._tool("mafat-compile"), mlir, "-o", b.so, "--emit=lib", "-O3"]
        if b.threads > 1:
            cmd.append(f"--threads={b.threads}")
        if b.plan is not None:
            if not self.has_plan:
                return False
            plan = os.path.join(self.workdir, b.name + ".plan.json")
            with open(plan, "w") as f:
                json.dump(b.plan, f)
            cmd.append(f"--plan={plan}")
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"mafat-compile failed on {b.name}:\n{p.stderr}")
        return True

    def _run(self, so: str, repeat: int, warmup: int, threads: int = 1) -> float:
        p = subprocess.run([self._tool("mafat-run"), so, "--json", "--repeat", str(repeat),
                            "--warmup", str(warmup), "--threads", str(threads)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"mafat-run failed on {so}:\n{p.stderr}")
        return json.loads(p.stdout)["latency_ms"]["min"] * 1e-3

    def time_threads(self, b: Bench, threads: int) -> float:
        """Minimum over a run sized to about target_ms of timed work, on
        `threads` threads."""
        first = self._run(b.so, 3, 1, threads)
        repeat = int(min(400, max(5, self.target_ms * 1e-3 / max(first, 1e-7))))
        return min(first, self._run(b.so, repeat, 2, threads))

    def predict(self, b: Bench, profile: dict) -> dict:
        """The compiler's prediction for `b` run layer by layer (every layer
        its own 1x1 group, as mafat-compile runs it without a plan) on
        `profile`: mafat-predict's answer, {"predicted_latency_ms",
        "compute_ms", "memory_ms", "copy_ms", "overhead_ms", "groups"}."""
        server = self.servers.get(b.name)
        if server is None:
            server = subprocess.Popen([self._tool("mafat-predict"), "--serve", b.graph],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.servers[b.name] = server
        try:
            server.stdin.write(json.dumps(profile) + "\n")
            server.stdin.flush()
            line = server.stdout.readline()
        except OSError:  # it exited before reading (a bad graph)
            line = ""
        if not line:
            server.poll()
            raise RuntimeError(f"mafat-predict stopped on {b.graph} (exit {server.returncode})")
        try:
            answer = json.loads(line)
        except ValueError:
            raise RuntimeError(f"mafat-predict answered {line.strip()[:200]!r} on {b.graph}")
        if "error" in answer:
            raise RuntimeError(f"mafat-predict: {answer['error']}")
        return answer

    def close(self) -> None:
        for server in self.servers.values():
            try:
                server.stdin.close()
            except OSError:  # already gone; wait() still reaps it
                pass
            server.wait()
        self.servers.clear()

    def time(self, b: Bench) -> None:
        """Keeps the least time_threads(b, 1) over the rounds in b.seconds."""
        b.seconds = min(b.seconds, self.time_threads(b, 1))
        if self.verbose:
            print(f"  {b.name:<22} {b.seconds * 1e3:10.4f} ms", file=sys.stderr)


# ---------------------------------------------------------------------------
# Fitting.
# ---------------------------------------------------------------------------


def predict_parts(runner: Runner, b: Bench, p: Params) -> Dict[str, float]:
    """Seconds per part (compute, memory, copy, overhead) the compiler
    predicts for `b` run layer by layer with the parameters `p`, every digit
    of them."""
    answer = runner.predict(b, p.to_profile("probe", "x86_64-linux-gnu", True, "probe", exact=True))
    return {k: answer[k + "_ms"] * 1e-3 for k in ("compute", "memory", "copy", "overhead")}


def predict_seconds(runner: Runner, b: Bench, p: Params) -> float:
    return sum(predict_parts(runner, b, p).values())


def _solve(runner: Runner, benches: List[Bench], p: Params, attr: str, lo: float, hi: float) -> None:
    """Sets p.attr in [lo, hi] so that the median of predicted / measured over
    `benches` is 1 (bisection on a log scale: predictions are monotone in every
    parameter). Leaves it at a bound when no value reaches 1."""
    if not benches:
        return

    def ratio(v: float) -> float:
        setattr(p, attr, v)
        return float(np.median([predict_seconds(runner, b, p) / b.seconds for b in benches]))

    r_lo, r_hi = ratio(lo), ratio(hi)
    increasing = r_hi > r_lo
    if attr in RATE_ATTRS and r_hi > 1:
        # Even an unbounded rate predicts too slow: the kind is bound by
        # traffic here, and any rate from the one at which compute alone
        # explains the time up fits. Take that one, the most conservative.
        setattr(p, attr, _compute_alone_rate(runner, benches, p, attr))
        return
    a, z = math.log(lo), math.log(hi)
    for _ in range(60):
        m = 0.5 * (a + z)
        too_high = ratio(math.exp(m)) > 1
        if too_high == increasing:
            z = m
        else:
            a = m
    setattr(p, attr, math.exp(0.5 * (a + z)))


RATE_ATTRS = {"conv1x1", "depthwise", "pool", "elementwise", "matmul"}


def _compute_alone_rate(runner: Runner, benches: List[Bench], p: Params, attr: str) -> float:
    """Median over `benches` of the rate at which the layers priced at
    `attr` take all the time the other parts of the model leave."""
    rates = []
    for b in benches:
        saved = getattr(p, attr)
        setattr(p, attr, 1.0)  # 1 GFLOP/s: compute in seconds = GFLOP
        parts = predict_parts(runner, b, p)
        setattr(p, attr, 1e30)
        others = predict_parts(runner, b, p)
        setattr(p, attr, saved)
        gflop = parts["compute"] - others["compute"]
        left = b.seconds - others["compute"] - others["copy"] - others["overhead"]
        if gflop > 0 and left > 0:
            rates.append(gflop / left)
    return float(np.median(rates)) if rates else getattr(p, attr)


def _fit_epilogue(runner: Runner, benches: List[Bench], p: Params) -> None:
    """Epilogues ride on the conv's register block and cost next to nothing;
    where the measurements cannot tell them from the conv's own noise (even
    a free epilogue predicts too slow), take ten times the conv rate: cheap,
    but not free, so the model never prefers a plan for a phantom saving."""
    ceiling = 10 * p.conv
    _solve(runner, benches, p, "epilogue", 0.01, ceiling)
    if p.epilogue > 0.99 * ceiling:
        p.epilogue = ceiling


def _fit_conv(runner: Runner, benches: List[Bench], p: Params) -> None:
    """time - other parts = flops / rate * (1 + P / w): least squares of
    (time - other) / flops = a + b / w, with rate = 1 / a and P = b / a."""
    if not benches:
        return
    xs, ys = [], []
    for b in benches:
        n = next(n for n in b.nodes if n.kind == "conv")
        parts = predict_parts(runner, b, p)
        xs.append(1.0 / n.out[2])
        ys.append((b.seconds - parts["copy"] - parts["overhead"]) / n.flops)
    A = np.vstack([np.ones(len(xs)), xs]).T
    # Relative least squares: weight each benchmark by 1/y so long runs do not
    # dominate.
    wts = 1.0 / np.array(ys)
    (a, bcoef), *_ = np.linalg.lstsq(A * wts[:, None], np.array(ys) * wts, rcond=None)
    if a <= 0:
        a = float(np.min(ys))
        bcoef = 0.0
    p.conv = 1e-9 / a
    p.tile_width_penalty = max(0.0, bcoef / a)


def fit(benches: List[Bench], runner: Runner, p: Params, rounds: int = 2) -> Params:
    by = lambda role: [b for b in benches if b.role == role and math.isfinite(b.seconds)]
    for _ in range(rounds):
        ovh, one = by("overhead"), by("overhead1")
        if ovh and one:
            n_many = sum(1 for n in ovh[0].nodes if n.kind != "input")
            n_one = sum(1 for n in one[0].nodes if n.kind != "input")
            # The tiny layers' own traffic is part of what the slope measures;
            # subtract what the model already charges for it.
            p.layer_us = 0.0
            extra = predict_seconds(runner, ovh[0], p) - predict_seconds(runner, one[0], p)
            slope = (ovh[0].seconds - one[0].seconds - extra) / (n_many - n_one)
            p.layer_us = max(0.0, slope * 1e6)
        _solve(runner, by("memory"), p, "memory", 0.1, 1e4)
        _solve(runner, by("elementwise"), p, "elementwise", 0.01, 1e4)
        _solve(runner, by("cache"), p, "cache", 0.1, 1e4)
        _solve(runner, by("llc"), p, "llc", 0.1, 1e4)
        _fit_conv(runner, by("conv"), p)
        _solve(runner, by("conv1x1"), p, "conv1x1", 0.01, 1e4)
        _solve(runner, by("depthwise"), p, "depthwise", 0.01, 1e4)
        _solve(runner, by("pool"), p, "pool", 0.01, 1e4)
        _solve(runner, by("matmul"), p, "matmul", 0.01, 1e4)
        _solve(runner, by("copy"), p, "copy", 0.01, 1e4)
        _fit_epilogue(runner, by("epilogue"), p)
    return p


def fit_tile_overhead(benches: List[Bench], p: Params, runner: Runner) -> Optional[float]:
    """overhead_us.tile from fused plans: what the model without the tile term
    leaves unexplained, per tile. Needs C++ predictions of tiled groups, which
    `mafat-opt --mafat-plan` reports; returns None if either is missing."""
    tiles = [b for b in benches if b.role == "tile" and math.isfinite(b.seconds)]
    if not tiles:
        return None
    per_tile = []
    for b in tiles:
        pred = cpp_predict_plan(runner, b, p)
        if pred is None:
            return None
        n_tiles = b.plan["groups"][0]["grid"][0] * b.plan["groups"][0]["grid"][1]
        per_tile.append((b.seconds - pred) / n_tiles)
    return max(0.0, float(np.median(per_tile)) * 1e6)


def probe_profile(p: Params, tile_us: bool) -> dict:
    """The profile cpp_predict_plan gives mafat-opt: `p` as written to a
    profile, overhead_us.tile 0 unless `tile_us`."""
    q = Params(**{**p.__dict__, "tile_us": p.tile_us if tile_us else 0.0})
    return q.to_profile("probe", "x86_64-linux-gnu", True, "probe")


def cpp_predict_plan(runner: Runner, b: Bench, p: Params, tile_us: bool = False) -> Optional[float]:
    """The C++ model's prediction (seconds) for a benchmark with its plan (no
    plan: every layer its own group, as mafat-compile runs it), from
    `mafat-opt --mafat-plan="plan=... profile=... report=..."` with the
    parameters `p` (overhead_us.tile as 0 unless `tile_us`), if the pass
    exists; None otherwise."""
    prof = os.path.join(runner.workdir, "probe-profile.json")
    with open(prof, "w") as f:
        json.dump(probe_profile(p, tile_us), f)
    plan_arg = "none"
    if b.plan is not None:
        plan_arg = os.path.join(runner.workdir, b.name + ".plan.json")
    report = os.path.join(runner.workdir, b.name + ".report.json")
    mlir = os.path.join(runner.workdir, b.name + ".mlir")
    r = subprocess.run([runner._tool("mafat-opt"), mlir, "-o", os.devnull,
                        f"--mafat-plan=plan={plan_arg} profile={prof} report={report}"],
                       capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(report):
        return None
    try:
        with open(report) as f:
            rep = json.load(f)
        for key in ("predicted_latency_ms", "latency_ms"):
            if key in rep and isinstance(rep[key], (int, float)):
                return rep[key] * 1e-3
    except (OSError, ValueError):
        pass
    return None


# ---------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------


def parallel_set(quick: bool) -> List[Bench]:
    """Layers compiled for 2 threads: "split" ones far above the split
    threshold (CodegenRules.h, 32768 iterations), whose 1- to 2-thread
    speedup is the efficiency, and "launch" ones just above it, where the
    launch and its barrier are a large share of the time."""
    split = [conv("p_c3_64_56", "split", 58, 58, 64, 64, 3),
             conv("p_c1_128x256_28", "split", 28, 28, 128, 256, 1),
             dw("p_dw_128_58", "split", 58, 58, 128)]
    launch = [conv("p_c1_32_8", "launch", 8, 8, 32, 32, 1),
              conv("p_c1_64_6", "launch", 6, 6, 64, 32, 1)]
    benches = split[:1] + launch[:1] if quick else split + launch
    for b in benches:
        b.threads = 2
    return benches


def fit_parallel(benches: List[Bench], runner: Runner, rounds: int) -> Optional[Tuple[float, float]]:
    """(efficiency, launch_us) from the parallel set, or None on one core.

    The model (LatencyModel.cpp) divides a split layer's compute by
    threads * efficiency and adds launch_us per launch; each bench is one
    layer, one launch, so t2 = t1 / (2 * efficiency) + launch."""
    if (os.cpu_count() or 1) < 2:
        return None
    t1: Dict[str, float] = {}
    t2: Dict[str, float] = {}
    for _ in range(rounds):
        for b in benches:  # interleaved: 1 and 2 threads side by side
            t1[b.name] = min(t1.get(b.name, math.inf), runner.time_threads(b, 1))
            t2[b.name] = min(t2.get(b.name, math.inf), runner.time_threads(b, 2))
    split = [b for b in benches if b.role == "split"]
    launch = [b for b in benches if b.role == "launch"]
    eff = float(np.median([t1[b.name] / t2[b.name] / 2 for b in split]))
    eff = min(1.0, max(0.05, eff))
    us = float(np.median([max(0.0, t2[b.name] - t1[b.name] / (2 * eff)) * 1e6 for b in launch]))
    if runner.verbose:
        for b in benches:
            print(f"  {b.name:<22} 1T {t1[b.name] * 1e3:9.4f} ms  2T {t2[b.name] * 1e3:9.4f} ms  "
                  f"x{t1[b.name] / t2[b.name]:.2f}", file=sys.stderr)
    return eff, us


def host_triple() -> str:
    m = platform.machine()
    return "aarch64-linux-gnu" if m in ("aarch64", "arm64") else "x86_64-linux-gnu"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def parse_bytes(text: str) -> int:
    """'1048576', '1024K', '1M' or '1MiB' as bytes (argparse type)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    try:
        n = int(t[:-1] if mult > 1 else t) * mult
    except ValueError:
        n = 0
    if n <= 0:
        raise argparse.ArgumentTypeError(f"not a positive byte size: {text!r}")
    return n


def cache_bytes(level: int) -> int:
    """Size of the data/unified cache of `level` sysfs reports, else sysconf's
    (0 if neither)."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for idx in sorted(os.listdir(base)):
            d = os.path.join(base, idx)
            with open(os.path.join(d, "level")) as f:
                if f.read().strip() != str(level):
                    continue
            with open(os.path.join(d, "type")) as f:
                if f.read().strip() == "Instruction":
                    continue
            with open(os.path.join(d, "size")) as f:
                s = f.read().strip()
            mult = {"K": 1024, "M": 1 << 20}.get(s[-1], 1)
            return int(s.rstrip("KM")) * mult
    except (OSError, ValueError):
        pass
    try:  # glibc's getconf (CPUID): VMs without sysfs cache entries
        out = subprocess.run(["getconf", f"LEVEL{level}_CACHE_SIZE"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        return max(0, int(out or 0))
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="mafat-calibrate", description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the profile JSON here")
    ap.add_argument("--validate", metavar="FILE", help="only check that FILE is a valid profile")
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin"),
                    help="directory with mafat-compile, mafat-opt, mafat-predict and mafat-run "
                         "(default: build/bin)")
    ap.add_argument("--quick", action="store_true", help="a few small benchmarks, one round (for tests)")
    ap.add_argument("--rounds", type=int, default=None, help="timing rounds, minimum kept (default 3; quick 1)")
    ap.add_argument("--target-ms", type=float, default=None,
                    help="timed work per benchmark per round (default 150 ms; quick 20)")
    ap.add_argument("--name", default=None, help="profile name (default: <arch>-<host>)")
    ap.add_argument("--heldout", action="store_true",
                    help="also time held-out models and print predicted vs measured")
    ap.add_argument("--json-report", metavar="FILE", help="write all timings and predictions here")
    ap.add_argument("--workdir", help="keep generated files here (default: a temp dir)")
    ap.add_argument("--l2-bytes", type=parse_bytes, default=None,
                    help="L2 size (e.g. 1M) when sysfs does not report it (VMs); else sysfs, then "
                         "sysconf, then 1 MiB")
    ap.add_argument("--llc-bytes", type=parse_bytes, default=None,
                    help="last-level cache size one core sees (e.g. 32M); else as --l2-bytes. A VM's "
                         "sysconf may report the whole socket's L3")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    if args.validate:
        try:
            with open(args.validate) as f:
                obj = json.load(f)
        except (OSError, ValueError) as e:
            print(f"mafat-calibrate: {args.validate}: {e}", file=sys.stderr)
            return 1
        err = validate_profile(obj)
        if err:
            print(f"mafat-calibrate: {args.validate}: {err}", file=sys.stderr)
            return 1
        print(f"{args.validate}: valid profile '{obj['name']}' for {obj['triple']}"
              f" ({'calibrated' if obj['calibrated'] else 'uncalibrated'})")
        return 0
    if not args.out:
        ap.error("--out FILE is required (or --validate FILE)")
    bindir = os.path.abspath(args.bin)
    for tool in ("mafat-compile", "mafat-opt", "mafat-predict", "mafat-run"):
        if not os.access(os.path.join(bindir, tool), os.X_OK):
            ap.error(f"no executable {tool} in {bindir} (use --bin)")
    rounds = args.rounds or (1 if args.quick else 3)
    target_ms = args.target_ms or (20.0 if args.quick else 150.0)

    tmp = None
    if args.workdir:
        workdir = os.path.abspath(args.workdir)
        os.makedirs(workdir, exist_ok=True)
    else:
        workdir = tmp = tempfile.mkdtemp(prefix="mafat-calibrate-")
    runner = None
    try:
        runner = Runner(bindir, workdir, target_ms, args.verbose)
        benches = bench_set(args.quick)
        if not args.quick:
            benches += [fused(f"t_chain_g{g}", 64, 64, 16, 64, g) for g in (2, 4, 8)]
        held = heldout_set(args.quick) if args.heldout else []
        par = parallel_set(args.quick)
        ready = [b for b in benches + held if runner.prepare(b)]
        for b in par:
            runner.prepare(b)
        skipped = [b.name for b in benches if b not in ready]
        for r in range(rounds):
            if args.verbose:
                print(f"round {r + 1}/{rounds}", file=sys.stderr)
            for b in ready:
                runner.time(b)

        l2 = args.l2_bytes or cache_bytes(2) or (1 << 20)
        p = Params(cache_bytes=l2, llc_bytes=max(l2, args.llc_bytes or cache_bytes(3)))
        fit([b for b in ready if b.role != "heldout"], runner, p)
        tile_us = fit_tile_overhead(ready, p, runner)
        tile_note = ""
        if tile_us is None:
            tile_note = ("; overhead_us.tile not measured (mafat-compile has no --plan or "
                         "mafat-opt no --mafat-plan report): 0")
            p.tile_us = 0.0
        else:
            p.tile_us = tile_us

        triple = host_triple()
        fitted_parallel = fit_parallel(par, runner, rounds)
        if fitted_parallel is None:
            p.launch_us = 3.0 if triple.startswith("x86") else 10.0
            tile_note += "; parallel.* not measured (one core): built-in values"
            print("parallel: not measured (one core): built-in values")
        else:
            p.parallel_efficiency, p.launch_us = fitted_parallel
            print(f"parallel: efficiency {p.parallel_efficiency:.3f}, launch {p.launch_us:.2f} us "
                  f"(2 threads)")
        date = datetime.date.today().isoformat()
        name = args.name or f"{triple.split('-')[0]}-{platform.node() or 'host'}"
        source = (f"mafat-calibrate{' --quick' if args.quick else ''} on {cpu_name()}, {date}, "
                  f"{len(ready)} micro-benchmarks, min of {rounds} rounds{tile_note}")
        profile = p.to_profile(name, triple, True, source)
        err = validate_profile(profile)
        if err:
            print(f"mafat-calibrate: the fitted profile is invalid: {err}", file=sys.stderr)
            return 1
        with open(args.out, "w") as f:
            json.dump(profile, f, indent=2)
            f.write("\n")
        print(f"wrote {args.out}")
        if skipped:
            print(f"skipped (no --plan in mafat-compile): {', '.join(skipped)}")

        # What the fitted profile predicts is asked of the compiler (the plan
        # report's predicted_latency_ms, from the IR). The fit asked
        # mafat-predict (the same model on the graph JSON); the two must
        # agree, which "compiler:" below shows.
        rows = []
        fitted = Params(**{**p.__dict__})
        for b in ready:
            pred = fit_pred = None
            if b.plan is None:
                pred = cpp_predict_plan(runner, b, fitted, tile_us=True)
                if pred is None:
                    raise RuntimeError(f"mafat-opt --mafat-plan predicted nothing for {b.name}")
                # The profile mafat-opt was given, as written.
                fit_pred = runner.predict(b, probe_profile(fitted, tile_us=True))["predicted_latency_ms"] * 1e-3
            rows.append({"name": b.name, "role": b.role, "measured_ms": b.seconds * 1e3,
                         "predicted_ms": None if pred is None else pred * 1e3,
                         "fit_predicted_ms": None if fit_pred is None else fit_pred * 1e3})
        if args.verbose:
            for r in rows:
                if r["predicted_ms"] is not None:
                    print(f"  {r['name']:<22} {r['role']:<12} predicted {r['predicted_ms']:10.4f} ms"
                          f"  measured {r['measured_ms']:10.4f} ms", file=sys.stderr)
        fit_rows = [r for r in rows if r["role"] not in ("heldout", "overhead", "overhead1")
                    and r["predicted_ms"] is not None]
        if fit_rows:
            errs = [abs(r["predicted_ms"] / r["measured_ms"] - 1) for r in fit_rows]
            print(f"fit: {len(fit_rows)} benchmarks, median |error| {100 * np.median(errs):.1f}%, "
                  f"max {100 * max(errs):.1f}%")
        both = [r for r in rows if r["predicted_ms"] is not None and r["predicted_ms"] > 0]
        if both:
            drift = max(abs(r["fit_predicted_ms"] / r["predicted_ms"] - 1) for r in both)
            print(f"compiler: the fit's predictions (mafat-predict on the layer graph JSON) are within "
                  f"{100 * drift:.4f}% of mafat-opt's on {len(both)} benchmarks")
        if held:
            print(f"{'held-out model':<22} {'predicted ms':>13} {'measured ms':>12} {'error':>8}")
            for r in rows:
                if r["role"] == "heldout":
                    e = 100 * (r["predicted_ms"] / r["measured_ms"] - 1)
                    print(f"{r['name']:<22} {r['predicted_ms']:>13.4f} {r['measured_ms']:>12.4f} {e:>7.1f}%")
        if args.json_report:
            with open(args.json_report, "w") as f:
                json.dump({"profile": profile, "benchmarks": rows}, f, indent=1)
    except RuntimeError as e:  # a tool failed: say which, no traceback
        print(f"mafat-calibrate: {e}", file=sys.stderr)
        return 1
    finally:
        if runner is not None:
            runner.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
