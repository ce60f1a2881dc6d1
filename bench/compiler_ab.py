#!/usr/bin/python3
"""Two mafat compilers side by side on whole models: a code-generation change,
before and after.

For each model (paper_experiment.MODELS, imported once into OUT/models) and
each plan flag set (default: ``--plan=none`` and ``--memory-budget=L/4``),
compiles the model with the baseline compiler (``--baseline-bin``) and with
this one (``--bin``, default build/bin), runs the two libraries in
interleaved rounds (the machine is shared: only ratios taken side by side
mean anything) and prints the least latency of each, the speedup, both
workspaces, and whether the outputs are bit-identical. They must be where the
change keeps every output element's reduction order (register blocks over
parallel dims, peeling); a difference is printed as ``DIFFERENT``.

This is a benchmark: it asserts nothing and exits 0.

Usage (from the checkout, after building both compilers):
    /usr/bin/python3 bench/compiler_ab.py --baseline-bin OLD/build/bin
        [--models mobilenet_v2,yolov3-tiny] [--plans none,L/4] [--rounds 5]
        [--repeat 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import paper_experiment as pe  # noqa: E402


def compile_model(bindir: str, model: str, flags: list, out: str) -> dict:
    report = out + ".report.json"
    cmd = [os.path.join(bindir, "mafat-compile"), model, "--emit=lib", "-o", out,
           f"--report={report}", *flags]
    proc = pe.run_tool(cmd)
    if proc.returncode != 0:
        sys.exit(f"compiler_ab: {' '.join(cmd)} failed:\n{proc.stderr}")
    with open(report) as f:
        return json.load(f)


def run(bindir: str, so: str, repeat: int, out_npys: list | None = None, extra: tuple = ()) -> dict:
    cmd = [os.path.join(bindir, "mafat-run"), so, "--json", "--repeat", str(repeat), *extra]
    for npy in out_npys or []:
        cmd += ["--output", npy]
    proc = pe.run_tool(cmd)
    if proc.returncode != 0:
        sys.exit(f"compiler_ab: {' '.join(cmd)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def plan_flags(label: str, layer_by_layer: int) -> list:
    if label == "none":
        return ["--plan=none"]
    if label == "auto":
        return ["--plan=auto"]
    if label.startswith("L/"):
        return [f"--memory-budget={layer_by_layer // int(label[2:])}"]
    return [f"--memory-budget={label}"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline-bin", required=True, help="the other compiler's bin directory")
    ap.add_argument("--bin", default=os.path.join(pe.ROOT, "build", "bin"))
    ap.add_argument("--models", default="mobilenet_v2,yolov3-tiny")
    ap.add_argument("--plans", default="none,L/4",
                    help="none, auto, L/N (the layer-by-layer workspace / N) or a budget such as 4MiB")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=10, help="mafat-run --repeat per round")
    ap.add_argument("--out", default=os.path.join(pe.ROOT, "bench", "out", "compiler_ab"))
    args = ap.parse_args(argv)
    bins = {"base": os.path.abspath(args.baseline_bin), "this": os.path.abspath(args.bin)}
    pe.BIN = bins["this"]  # make_model's importer does not depend on the compiler
    os.makedirs(args.out, exist_ok=True)

    rows = []
    for name in args.models.split(","):
        model = pe.make_model(name, os.path.join(args.out, "models"))
        work = os.path.join(args.out, name)
        os.makedirs(work, exist_ok=True)
        unfused = compile_model(bins["this"], model, ["--plan=none"], os.path.join(work, "L.so"))
        layer_by_layer = unfused["predicted_workspace_bytes"]
        for label in args.plans.split(","):
            flags = plan_flags(label, layer_by_layer)
            tag = label.replace("/", "_")
            so, rep, ws = {}, {}, {}
            for k, b in bins.items():
                so[k] = os.path.join(work, f"{tag}.{k}.so")
                print(f"compiling {name} {label} with {k} ...", file=sys.stderr, flush=True)
                rep[k] = compile_model(b, model, flags, so[k])
            outs = {}
            for k in bins:
                n = len(run(bins["this"], so[k], 1)["outputs"])
                npys = [os.path.join(work, f"{tag}.{k}.out{i}.npy") for i in range(n)]
                ws[k] = run(bins["this"], so[k], 1, npys)["workspace_bytes"]
                outs[k] = [np.load(p) for p in npys]
            best = {k: float("inf") for k in bins}
            for r in range(args.rounds):
                order = list(bins) if r % 2 == 0 else list(bins)[::-1]
                for k in order:
                    best[k] = min(best[k], run(bins["this"], so[k], args.repeat)["latency_ms"]["min"])
            same = len(outs["base"]) == len(outs["this"]) and all(
                np.array_equal(a, b) for a, b in zip(outs["base"], outs["this"]))
            rows.append((name, label, best["base"], best["this"], ws["base"], ws["this"], same,
                         rep["this"]["predicted_latency_ms"]))

    hdr = (f"{'model':<14} {'plan':<8} {'base ms':>9} {'this ms':>9} {'speedup':>8} "
           f"{'base ws MiB':>12} {'this ws MiB':>12} {'pred ms':>8}  output")
    print(f"baseline {bins['base']} vs this {bins['this']}: {args.rounds} interleaved rounds x "
          f"mafat-run --repeat {args.repeat}, least latency")
    print(hdr)
    print("-" * len(hdr))
    for name, label, b, t, wb, wt, same, pred in rows:
        print(f"{name:<14} {label:<8} {b:>9.2f} {t:>9.2f} {b / t:>7.2f}x {wb / 2**20:>12.2f} "
              f"{wt / 2**20:>12.2f} {pred:>8.2f}  {'bit-identical' if same else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
