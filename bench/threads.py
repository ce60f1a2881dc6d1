#!/usr/bin/python3
"""mafat on 1 and N threads: what the cores buy, with and without a budget.

For each model (paper_experiment.MODELS, imported once into OUT/models) and
each plan (``none`` = layer by layer, ``auto`` = the fastest plan, ``L/k`` =
a budget of the layer-by-layer workspace / k, or a size such as ``7MiB``),
compiles one library with ``--threads=N`` (the plan priced for N cores) and
runs it with ``mafat-run --threads 1`` and ``--threads N`` in interleaved
rounds (the machine may be shared: only ratios taken side by side mean
anything). Prints least and median latency on each, the speedup, the
workspace (the same for every thread count: split steps own no buffers), the
latency model's prediction for N threads, and whether the N-thread output is
bit-identical to the 1-thread output; draws a PNG.

This is a benchmark: it asserts nothing and exits 0.

With ``--stream`` the budgeted plans may also stream (stripes with rolling
buffers; planned for N threads, hybrid stream groups may run their column
tiles concurrently, docs/Fusion.md "Concurrent column tiles"); the table's
``split+tiles`` column counts the groups in each parallel form.

Usage (from the checkout, after scripts/build.sh):
    /usr/bin/python3 bench/threads.py [--models yolov2-608,mobilenet_v2]
        [--plans none,auto,L/8] [--threads 2] [--rounds 5] [--repeat 10]
        [--stream] [--out bench/results/threads]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import paper_experiment as pe  # noqa: E402
import compiler_ab as ab  # noqa: E402
from compiler_ab import plan_flags  # noqa: E402


def compile_model(model: str, flags: list, threads: int, out: str) -> dict:
    return ab.compile_model(pe.BIN, model, [f"--threads={threads}", "--verify-memory-model", *flags], out)


def run(so: str, threads: int, repeat: int, npys: list | None = None) -> dict:
    return ab.run(pe.BIN, so, repeat, npys, ("--threads", str(threads)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="yolov2-608,yolov3-tiny,mobilenet_v2")
    ap.add_argument("--plans", default="none,auto,L/8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--stream", action="store_true", help="let budgeted plans stream (mafat-compile --stream)")
    ap.add_argument("--out", default=os.path.join(pe.ROOT, "bench", "results", "threads"))
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    n = args.threads

    builds = []  # (model, plan, so, report)
    for name in args.models.split(","):
        model = pe.make_model(name, os.path.join(args.out, "models"))
        base = None
        for label in args.plans.split(","):
            so = os.path.join(args.out, f"{name}-{label.replace('/', '_')}-t{n}.so")
            flags = plan_flags(label, base["predicted_workspace_bytes"] if base else 0)
            if label.startswith("L/") and base is None:
                base = compile_model(model, ["--plan=none"], n, so + ".none.so")
                flags = plan_flags(label, base["predicted_workspace_bytes"])
            if args.stream and label != "none":
                flags = flags + ["--stream"]
            report = compile_model(model, flags, n, so)
            report["num_outputs"] = len(run(so, 1, 1)["outputs"])
            if label == "none":
                base = report
            builds.append((name, label, so, report))
            pe.log(f"compiled {name} {label}: workspace {pe.mib(report['predicted_workspace_bytes'])} MiB")

    # Interleaved rounds: every build on 1 and N threads once per round,
    # in an order that rotates.
    times = {(b[2], t): [] for b in builds for t in (1, n)}
    outputs = {b[2]: b[3]["num_outputs"] for b in builds}
    runs = {}
    keys = list(times)
    for r in range(args.rounds):
        shift = r % len(keys)
        for so, t in keys[shift:] + keys[:shift]:
            npys = [f"{so}.t{t}.{k}.npy" for k in range(outputs[so])] if r == 0 else None
            j = run(so, t, args.repeat, npys)
            times[(so, t)].append(j["latency_ms"]["min"])
            times[(so, t)].append(j["latency_ms"]["median"])
            runs[(so, t)] = j
        pe.log(f"round {r + 1}/{args.rounds} done")

    rows = []
    for name, label, so, report in builds:
        t1 = np.array(times[(so, 1)]).reshape(-1, 2)
        tn = np.array(times[(so, n)]).reshape(-1, 2)
        same = all(np.array_equal(np.load(f"{so}.t1.{k}.npy"), np.load(f"{so}.t{n}.{k}.npy"))
                   for k in range(outputs[so]))
        forms = [g.get("form", "serial") for g in report["groups"]]
        rows.append({
            "model": name, "plan": label,
            "workspace_bytes": runs[(so, n)]["workspace_bytes"],
            "predicted_workspace_bytes": report["predicted_workspace_bytes"],
            "t1_min_ms": float(t1[:, 0].min()), "t1_median_ms": float(np.median(t1[:, 1])),
            "tn_min_ms": float(tn[:, 0].min()), "tn_median_ms": float(np.median(tn[:, 1])),
            "predicted_tn_ms": report["predicted_latency_ms"],
            "split_groups": sum(f == "split-steps" for f in forms),
            "tile_groups": sum(f == "concurrent-tiles" for f in forms), "groups": len(forms),
            "bit_identical": bool(same),
        })
    hdr = (f"{'model':14}{'plan':8}{'workspace MiB':>14}{'1T min ms':>11}{'1T med':>9}"
           f"{f'{n}T min ms':>11}{f'{n}T med':>9}{'speedup':>9}{f'pred {n}T':>10}{'split+tiles/groups':>20}"
           f"{'bit-id':>8}")
    print(hdr)
    for row in rows:
        print(f"{row['model']:14}{row['plan']:8}{pe.mib(row['workspace_bytes']):>14}"
              f"{row['t1_min_ms']:>11.2f}{row['t1_median_ms']:>9.2f}{row['tn_min_ms']:>11.2f}"
              f"{row['tn_median_ms']:>9.2f}{row['t1_min_ms'] / row['tn_min_ms']:>8.2f}x"
              f"{row['predicted_tn_ms']:>10.2f}{row['split_groups']:>10}+{row['tile_groups']}/{row['groups']:<5}"
              f"{'yes' if row['bit_identical'] else 'NO':>8}")
    with open(os.path.join(args.out, "threads.json"), "w") as f:
        json.dump({"threads": n, "rounds": args.rounds, "repeat": args.repeat, "rows": rows}, f, indent=1)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows)), 4))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["t1_min_ms"] for r in rows], 0.4, label="1 thread")
    ax.bar(x + 0.2, [r["tn_min_ms"] for r in rows], 0.4, label=f"{n} threads")
    for i, r in enumerate(rows):
        ax.text(i + 0.2, r["tn_min_ms"], f"{r['t1_min_ms'] / r['tn_min_ms']:.2f}x", ha="center",
                va="bottom", fontsize=8)
    ax.set_xticks(x, [f"{r['model']}\n{r['plan']}\n{pe.mib(r['workspace_bytes']).strip()} MiB" for r in rows],
                  fontsize=7)
    ax.set_ylabel("least latency, ms")
    ax.set_title(f"mafat: 1 vs {n} threads (same binary, interleaved rounds)")
    ax.legend()
    fig.tight_layout()
    png = os.path.join(args.out, "threads.png")
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
