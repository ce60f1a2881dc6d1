#!/usr/bin/env python3
"""How close mafat's convolutions get to the machine's single-core FMA peak.

Usage (from the repository)::

    /usr/bin/python3 bench/conv_rate.py [--bin build/bin] [--mcpu CPU]
        [--repeat 50] [--warmup 5] [--workdir DIR] [--peak-runs 5]
    /usr/bin/python3 bench/conv_rate.py --baseline-bin OTHER/bin [--rounds 5]
        (two compilers side by side: a code-generation change, before/after)

1. Measures the single-core f32 FMA peak with bench/peak_fma.c, compiled by
   LLVM 22's clang -O2 for the widest vector ISA the CPU has
   (-mavx512f -mfma if /proc/cpuinfo lists avx512f, else -mavx2 -mfma; no
   flags on aarch64), best of --peak-runs runs.
2. Builds single-layer models with mafat's Python model API, compiles each
   with mafat-compile into a shared library, runs it with
   ``mafat-run --json --repeat N`` and turns the min and median latency into
   GFLOP/s (a multiply-add counts as 2 FLOPs):

   * conv:      2 * N * OH * OW * F * KH * KW * C
   * depthwise: 2 * N * OH * OW * C * KH * KW

   In the canonical form a padded convolution is a separate tensor.pad
   followed by the conv, so the time is the whole model's (pad included).

This is a benchmark, not a test: it asserts nothing about speed. Generated
code is single-threaded, so a single-core peak is the right yardstick.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "python"))

import numpy as np  # noqa: E402

from mafat.models import Conv2d, DepthwiseConv2d, Model  # noqa: E402

CLANG = "/usr/lib/llvm-22/bin/clang"


# ---------------------------------------------------------------------------
# Peak.
# ---------------------------------------------------------------------------


def cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags") or line.startswith("Features"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def peak_isa_flags(isa: str = "auto") -> List[str]:
    """clang flags for the widest FMA ISA the CPU has (or the one asked for)."""
    machine = platform.machine()
    if machine in ("aarch64", "arm64"):
        return []
    flags = cpu_flags()
    if isa in ("auto", "avx512") and "avx512f" in flags:
        return ["-mavx512f", "-mfma"]
    if isa in ("auto", "avx2") and "avx2" in flags and "fma" in flags:
        return ["-mavx2", "-mfma"]
    raise SystemExit(f"conv_rate.py: this CPU cannot run the {isa} FMA peak "
                     "(needs AVX-512F or AVX2+FMA, or aarch64)")


def measure_peak(workdir: str, runs: int, iters: int, clang: str, isa: str = "auto") -> dict:
    exe = os.path.join(workdir, "peak_fma")
    cmd = [clang, "-O2", *peak_isa_flags(isa), os.path.join(HERE, "peak_fma.c"), "-o", exe]
    subprocess.run(cmd, check=True)
    best, info = 0.0, {}
    for _ in range(runs):
        out = subprocess.run([exe, str(iters), "5"], check=True, capture_output=True, text=True).stdout
        fields = dict(kv.split("=", 1) for kv in out.split())
        g = float(fields["best_gflops"])
        if g > best:
            best, info = g, fields
    info["gflops"] = best
    info["cflags"] = " ".join(cmd[1:-3])
    return info


# ---------------------------------------------------------------------------
# Layers.
# ---------------------------------------------------------------------------


@dataclass
class Bench:
    name: str
    build: Callable[[np.random.Generator], Model]
    flops: int


def _he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def conv_bench(name: str, hw: int, c: int, f: int, k: int, pad: int, bias_act: bool = False) -> Bench:
    oh = ow = hw + 2 * pad - k + 1

    def build(rng):
        w = _he(rng, (k, k, c, f), k * k * c)
        b = (rng.standard_normal(f) * 0.1).astype(np.float32) if bias_act else None
        layer = Conv2d(w=w, b=b, pad=pad, act=("leaky", 0.1) if bias_act else None)
        return Model(name, [("input", (1, hw, hw, c))], [layer])

    return Bench(name, build, 2 * 1 * oh * ow * f * k * k * c)


def dw_bench(name: str, hw: int, c: int, k: int, pad: int) -> Bench:
    oh = ow = hw + 2 * pad - k + 1

    def build(rng):
        layer = DepthwiseConv2d(w=_he(rng, (k, k, c), k * k), pad=pad)
        return Model(name, [("input", (1, hw, hw, c))], [layer])

    return Bench(name, build, 2 * 1 * oh * ow * c * k * k)


BENCHES = [
    conv_bench("conv3x3_64x64", 104, 64, 64, 3, 1),
    conv_bench("conv1x1_64x64", 104, 64, 64, 1, 0),
    conv_bench("conv1x1_128x128", 104, 128, 128, 1, 0),
    dw_bench("dw3x3_64", 104, 64, 3, 1),
    # The fixed conv64 model's layer: same conv plus a bias + leaky epilogue.
    conv_bench("conv3x3_64x64_bias_leaky", 104, 64, 64, 3, 1, bias_act=True),
    # Filter counts that are no power-of-two number of registers: MobileNetV2's
    # expansions and projections, and the detection heads of YOLOv2 / v3-tiny.
    conv_bench("conv1x1_24x144_56", 56, 24, 144, 1, 0),
    conv_bench("conv1x1_96x24_56", 56, 96, 24, 1, 0),
    conv_bench("conv1x1_384x96_14", 14, 384, 96, 1, 0),
    conv_bench("conv1x1_256x255_26", 26, 256, 255, 1, 0),
    conv_bench("conv1x1_1024x425_13", 13, 1024, 425, 1, 0),
    # Deep 3x3 layers, where the filters outgrow the L2 and the maps are a few
    # registers wide: resnet18's layer2-4 and YOLOv2-416's 13x13 stage.
    conv_bench("conv3x3_128x128_28", 28, 128, 128, 3, 1),
    conv_bench("conv3x3_256x512_26", 26, 256, 512, 3, 1),
    conv_bench("conv3x3_256x256_14", 14, 256, 256, 3, 1),
    conv_bench("conv3x3_512x512_7", 7, 512, 512, 3, 1),
    conv_bench("conv3x3_512x1024_13", 13, 512, 1024, 3, 1),
    # YOLOv2-416's 52x52 and 26x26 stages as the model has them (BatchNorm
    # folded into a bias, leaky ReLU): 1.6 GFLOP each, about 30% of the model.
    conv_bench("conv3x3_128x256_52_bias_leaky", 52, 128, 256, 3, 1, bias_act=True),
    conv_bench("conv3x3_256x512_26_bias_leaky", 26, 256, 512, 3, 1, bias_act=True),
]


def compile_bench(b: Bench, args, workdir: str, bindir: str, tag: str = "") -> tuple:
    """(shared library, the compiler's --print-stats line) of one layer."""
    mlir = os.path.join(workdir, f"{b.name}.mlir")
    if not os.path.exists(mlir):
        with open(mlir, "w") as f:
            f.write(b.build(np.random.default_rng(0)).to_mlir())
    so = os.path.join(workdir, f"{b.name}{tag}.so")
    cmd = [os.path.join(bindir, "mafat-compile"), mlir, "-o", so, "--print-stats"]
    if args.mcpu:
        cmd.append(f"--mcpu={args.mcpu}")
    if args.opt is not None:
        cmd.append(f"-O{args.opt}")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"mafat-compile failed for {b.name}:\n{p.stderr}")
    return so, (p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "")


def time_so(so: str, args, repeat: int) -> dict:
    cmd = [os.path.join(args.bin, "mafat-run"), so, "--json", "--repeat", str(repeat),
           "--warmup", str(args.warmup)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"mafat-run failed for {so}:\n{p.stderr}")
    return json.loads(p.stdout)


def run_bench(b: Bench, args, workdir: str) -> dict:
    so, stats = compile_bench(b, args, workdir, args.bin)
    rep = time_so(so, args, args.repeat)
    lat = rep["latency_ms"]
    return {"name": b.name, "flops": b.flops, "min_ms": lat["min"], "median_ms": lat["median"],
            "stats": stats, "workspace_bytes": rep.get("workspace_bytes")}


def compare(benches: List[Bench], args, workdir: str) -> int:
    """This compiler against --baseline-bin, layer by layer: both builds of a
    layer run in interleaved rounds (the machine is shared: only ratios taken
    side by side mean anything), min over rounds. bench/compiler_ab.py does
    the same for whole models and also compares their outputs."""
    rounds = max(1, args.rounds)
    per_round = max(1, args.repeat // rounds)
    hdr = (f"{'layer':<26} {'MFLOP':>8} {'base ms':>9} {'this ms':>9} {'base GF/s':>10} "
           f"{'this GF/s':>10} {'speedup':>8}")
    print(f"baseline {args.baseline_bin} vs this {args.bin}: {rounds} interleaved rounds x "
          f"mafat-run --repeat {per_round}, min")
    print(hdr)
    print("-" * len(hdr))
    rows = []
    for b in benches:
        base_so, _ = compile_bench(b, args, workdir, args.baseline_bin, ".base")
        this_so, _ = compile_bench(b, args, workdir, args.bin)
        best = {"base": float("inf"), "this": float("inf")}
        for r in range(rounds):
            order = [("base", base_so), ("this", this_so)]
            for key, so in (order if r % 2 == 0 else order[::-1]):
                best[key] = min(best[key], time_so(so, args, per_round)["latency_ms"]["min"])
        gf = {k: b.flops / (v * 1e-3) * 1e-9 for k, v in best.items()}
        rows.append({"name": b.name, "flops": b.flops, "base_ms": best["base"],
                     "this_ms": best["this"], "speedup": best["base"] / best["this"]})
        print(f"{b.name:<26} {b.flops / 1e6:>8.1f} {best['base']:>9.3f} {best['this']:>9.3f} "
              f"{gf['base']:>10.1f} {gf['this']:>10.1f} {best['base'] / best['this']:>7.2f}x",
              flush=True)
    if args.json:
        print(json.dumps({"layers": rows}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin"),
                    help="directory with mafat-compile and mafat-run (default: build/bin)")
    ap.add_argument("--mcpu", default=None, help="passed to mafat-compile --mcpu")
    ap.add_argument("-O", dest="opt", type=int, choices=range(4), default=None, help="mafat-compile -O level")
    ap.add_argument("--repeat", type=int, default=50, help="timed runs per layer (default 50)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed runs per layer (default 5)")
    ap.add_argument("--peak-runs", type=int, default=5, help="peak_fma runs, best taken (default 5)")
    ap.add_argument("--peak-iters", type=int, default=20_000_000, help="iterations per peak_fma run")
    ap.add_argument("--peak-isa", choices=("auto", "avx512", "avx2"), default="auto",
                    help="ISA of the peak loop (default: the widest the CPU has; use avx2 to "
                         "compare against e.g. --mcpu=haswell code)")
    ap.add_argument("--clang", default=CLANG, help=f"C compiler for peak_fma.c (default {CLANG})")
    ap.add_argument("--only", action="append", default=[], metavar="LAYER",
                    help="run only these layers (repeatable): " + ", ".join(b.name for b in BENCHES))
    ap.add_argument("--workdir", default=None, help="keep the generated files here (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="also print the results as one JSON object")
    ap.add_argument("--baseline-bin", default=None,
                    help="another build's bin directory: time both compilers' code side by side "
                         "(no FMA peak) and print the speedup per layer")
    ap.add_argument("--rounds", type=int, default=5,
                    help="with --baseline-bin: interleaved rounds, --repeat split across them")
    args = ap.parse_args(argv)
    args.bin = os.path.abspath(args.bin)
    for tool in ("mafat-compile", "mafat-run"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            ap.error(f"no executable {tool} in {args.bin} (use --bin)")
    benches = [b for b in BENCHES if not args.only or b.name in args.only]
    if not benches:
        ap.error("--only matched no layer")

    tmp: Optional[str] = None
    if args.workdir:
        workdir = os.path.abspath(args.workdir)
        os.makedirs(workdir, exist_ok=True)
    else:
        workdir = tmp = tempfile.mkdtemp(prefix="mafat-conv-rate-")
    if args.baseline_bin:
        args.baseline_bin = os.path.abspath(args.baseline_bin)
        try:
            return compare(benches, args, workdir)
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
    try:
        peak = measure_peak(workdir, args.peak_runs, args.peak_iters, args.clang, args.peak_isa)
        print(f"single-core FMA peak: {peak['gflops']:.1f} GFLOP/s "
              f"({peak['isa']}, {peak['lanes']} lanes x {peak['chains']} chains, clang {peak['cflags']}, "
              f"best of {args.peak_runs} runs)")
        rows = []
        for b in benches:
            r = run_bench(b, args, workdir)
            rows.append(r)
            if r["stats"]:
                print(r["stats"])
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    p = peak["gflops"]
    hdr = (f"{'layer':<26} {'MFLOP':>9} {'min ms':>9} {'median ms':>10} "
           f"{'GFLOP/s(min)':>13} {'GFLOP/s(med)':>13} {'%peak(min)':>11} {'%peak(med)':>11}")
    print()
    print(f"mafat-run --repeat {args.repeat} --warmup {args.warmup}"
          + (f", --mcpu={args.mcpu}" if args.mcpu else "") + "; times include the separate pad op")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        g_min = r["flops"] / (r["min_ms"] * 1e-3) * 1e-9
        g_med = r["flops"] / (r["median_ms"] * 1e-3) * 1e-9
        r.update(gflops_min=g_min, gflops_median=g_med, pct_peak_min=100 * g_min / p,
                 pct_peak_median=100 * g_med / p)
        print(f"{r['name']:<26} {r['flops'] / 1e6:>9.1f} {r['min_ms']:>9.3f} {r['median_ms']:>10.3f} "
              f"{g_min:>13.1f} {g_med:>13.1f} {r['pct_peak_min']:>10.1f}% {r['pct_peak_median']:>10.1f}%")
    if args.json:
        print(json.dumps({"peak": peak, "layers": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
