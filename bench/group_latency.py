#!/usr/bin/python3
"""The latency model, group by group: predicted vs measured time per group.

Compiles a model twice with the same plan: once with ``--profile-groups``
(a mark before every fusion group) and ``--report`` (the plan report with each
group's predicted ``latency_ms``), and once without marks. Runs the profiled
build with ``mafat-run --profile --json`` and prints, per group, the
predicted and the measured time (the least over the timed runs: noise on a
shared machine only slows runs down) and their ratio; then the totals, and
the cost of the marks (profiled vs unprofiled whole-model latency, and
whether both builds give the same output checksums).

A conv or pool and the bias/activation layer that register blocking fuses
into it cannot be timed apart when each is its own (1x1) group: the driver
reports them as one unit named ``"A + B"``, and the prediction of a unit is
the sum of its groups' predictions.

Default workload: YOLOv2 layers 0-15 at 224x224 (seeded weights) under a
2 MiB workspace budget, which the search meets with three tiled groups.

With ``--threads N`` (N > 1) the plan is made for N cores
(``mafat-compile --threads=N``) and the profiled build runs on 1 and on N
threads in ``--rounds`` interleaved rounds: the table adds each group's form
(serial, split steps, concurrent tiles), its least time on 1 thread and on N,
and the speedup, so the groups that do not scale stand out; a PNG of the
per-group speedups goes to ``--png``. ``--cross-core`` first runs
``bench/cross_core.py``'s probe: how fast one core reads a block of memory it
wrote itself, and one the other core wrote (the cost a thread pays for a
map another thread produced), for 256 KiB, 1.6 MiB and 8 MiB blocks.

Usage (from the checkout, after building):
    /usr/bin/python3 bench/group_latency.py [--cfg yolov2.cfg] [--layers 0-15]
        [--input-size 224x224] [--memory-budget 2MiB | --plan FILE.json|none]
        [--repeat 20] [--out DIR] [--json OUT.json]
        [--threads N --rounds 3 --png OUT.png] [--cross-core]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cross_core  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DARKNET = os.path.join(ROOT, "models", "darknet")

# The separator the mafat-profile-groups pass puts between the names of
# groups timed as one unit.
UNIT_SEPARATOR = " + "


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit("command failed (%d): %s\n%s%s" % (result.returncode, " ".join(cmd),
                                                   result.stdout, result.stderr))
    return result


def compile_model(args, out: str, profile: bool, report: str | None) -> None:
    bindir = args.bin
    model = args.model or os.path.join(DARKNET, args.cfg)
    cmd = [os.path.join(bindir, "mafat-compile"), model, "-o", out]
    if model.endswith(".cfg"):
        cmd += ["--input-size", args.input_size]
        if args.layers:
            cmd += ["--layers", args.layers]
    if args.plan:
        cmd += ["--plan", args.plan]
    elif args.memory_budget:
        cmd += ["--memory-budget", args.memory_budget]
    if report:
        cmd += ["--report", report]
    if profile:
        cmd += ["--profile-groups"]
    if args.threads > 1:
        cmd += ["--threads=%d" % args.threads]
    run(cmd)


def run_model(args, lib: str, profile: bool, threads: int | None = None) -> dict:
    cmd = [os.path.join(args.bin, "mafat-run"), lib, "--json", "--repeat", str(args.repeat),
           "--warmup", str(args.warmup)]
    if profile:
        cmd.append("--profile")
    if threads:
        cmd += ["--threads", str(threads)]
    return json.loads(run(cmd).stdout)


def cross_core_probe(work: str) -> list[tuple[int, float, float]]:
    """bench/cross_core.py's table: (bytes, us reading own data, other core's)."""
    exe = cross_core.build(work)
    if not exe:
        print("cross-core probe: not available (one CPU, or no clang-22)")
        return []
    return cross_core.print_table(exe, [256 << 10, 1600 << 10, 8 << 20])


def threaded_rows(args, profiled: str, rows: list[dict], report: dict) -> dict:
    """Each group's least time on 1 and on N threads, interleaved rounds."""
    best = {1: {}, args.threads: {}}
    totals = {1: float("inf"), args.threads: float("inf")}
    for _ in range(args.rounds):
        for t in (1, args.threads):
            r = run_model(args, profiled, True, t)
            totals[t] = min(totals[t], r["latency_ms"]["min"])
            for unit in r["groups"]:
                best[t][unit["name"]] = min(best[t].get(unit["name"], float("inf")), unit["ms"])
    by_name = {g["name"]: g for g in report["groups"]}
    for row in rows:
        forms = {by_name[n].get("form", "serial") for n in row["name"].split(UNIT_SEPARATOR)}
        row["form"] = "/".join(sorted(forms))
        row["ms_1"] = best[1][row["name"]]
        row["ms_n"] = best[args.threads][row["name"]]
    return totals


def print_threaded(args, rows: list[dict], totals: dict, width: int) -> None:
    n = args.threads
    print("\nthe same build on 1 and %d threads, least time over %d rounds x %d runs"
          % (n, args.rounds, args.repeat))
    print("%-*s  %-16s  %12s  %10s  %10s  %7s" % (width, "group", "form", "pred ms (%dT)" % n,
                                                 "1T ms", "%dT ms" % n, "speedup"))
    for r in rows:
        print("%-*s  %-16s  %12.4f  %10.4f  %10.4f  %7.2f"
              % (width, r["name"], r["form"][:16], r["predicted_ms"], r["ms_1"], r["ms_n"],
                 r["ms_1"] / r["ms_n"] if r["ms_n"] > 0 else float("nan")))
    s1, sn = sum(r["ms_1"] for r in rows), sum(r["ms_n"] for r in rows)
    print("%-*s  %-16s  %12s  %10.4f  %10.4f  %7.2f" % (width, "sum", "", "", s1, sn, s1 / sn))
    print("whole run: %.4f ms on 1 thread, %.4f ms on %d (%.2fx)"
          % (totals[1], totals[n], n, totals[1] / totals[n]))
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(max(6, 0.25 * len(rows)), 4))
        def color(form: str) -> str:  # a unit of several groups takes its parallel form
            return ("tab:orange" if "concurrent" in form else
                    "tab:blue" if "split" in form else "grey")
        ax.bar(range(len(rows)), [r["ms_1"] / r["ms_n"] for r in rows],
               color=[color(r["form"]) for r in rows])
        ax.axhline(n, color="black", linewidth=0.5)
        ax.set_xlabel("group (execution order; grey serial, blue split steps, "
                      "orange concurrent tiles)")
        ax.set_ylabel("speedup on %d threads" % n)
        ax.set_title("%s: per-group speedup, %.2fx overall" % (args.model or args.cfg,
                                                                 totals[1] / totals[n]))
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        print("wrote %s" % args.png)


def units(report: dict, measured: list[dict]) -> list[dict]:
    """Joins each measured unit with the report's groups it covers."""
    by_name = {g["name"]: g for g in report["groups"]}
    rows = []
    for unit in measured:
        names = unit["name"].split(UNIT_SEPARATOR)
        missing = [n for n in names if n not in by_name]
        if missing:
            sys.exit("group(s) %s are not in the report" % ", ".join(missing))
        groups = [by_name[n] for n in names]
        tiled = [g for g in groups if g["grid"] != [1, 1]]
        rows.append({
            "name": unit["name"],
            "layers": sum(len(g["layers"]) for g in groups),
            "span": groups[0]["layers"][0] + (".." + groups[-1]["layers"][-1]
                                              if sum(len(g["layers"]) for g in groups) > 1
                                              else ""),
            "grid": "x".join(map(str, tiled[0]["grid"])) if tiled else "1x1",
            "predicted_ms": sum(g["latency_ms"] for g in groups),
            "measured_ms": unit["ms"],
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--model", help="a .mlir, .cfg or .onnx model (default: --cfg)")
    parser.add_argument("--cfg", default="yolov2.cfg", help="Darknet cfg in %s" % DARKNET)
    parser.add_argument("--layers", default="0-15")
    parser.add_argument("--input-size", default="224x224")
    parser.add_argument("--memory-budget", default="2MiB")
    parser.add_argument("--plan", help="auto, none or a plan JSON (overrides the budget)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", help="keep the builds and reports here")
    parser.add_argument("--json", help="write the table as JSON here")
    parser.add_argument("--threads", type=int, default=1,
                        help="plan for N cores and time every group on 1 and N threads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (--threads)")
    parser.add_argument("--png", help="per-group speedup plot (--threads)")
    parser.add_argument("--cross-core", action="store_true",
                        help="first measure reading memory another core wrote")
    args = parser.parse_args()

    work = args.out or tempfile.mkdtemp(prefix="mafat-group-latency-")
    os.makedirs(work, exist_ok=True)
    probe = cross_core_probe(work) if args.cross_core else []
    report_path = os.path.join(work, "report.json")
    profiled = os.path.join(work, "profiled.so")
    plain = os.path.join(work, "plain.so")
    compile_model(args, profiled, True, report_path)
    compile_model(args, plain, False, None)
    with open(report_path) as f:
        report = json.load(f)
    prof = run_model(args, profiled, True)
    base = run_model(args, plain, False)

    rows = units(report, prof["groups"])
    width = max([len(r["name"]) for r in rows] + [5])
    span = max([len(r["span"]) for r in rows] + [6])
    print("%s: predicted workspace %d B, measured workspace %d B, %d runs (least time)"
          % (report.get("model", "model"), report["predicted_workspace_bytes"],
             prof["workspace_bytes"], args.repeat))
    print("%-*s  %-*s  %6s  %5s  %12s  %12s  %8s" % (width, "group", span, "layers", "count",
                                                    "grid", "predicted ms", "measured ms",
                                                    "meas/pred"))
    for r in rows:
        ratio = r["measured_ms"] / r["predicted_ms"] if r["predicted_ms"] > 0 else float("nan")
        r["ratio"] = ratio
        print("%-*s  %-*s  %6d  %5s  %12.4f  %12.4f  %8.2f"
              % (width, r["name"], span, r["span"], r["layers"], r["grid"], r["predicted_ms"],
                 r["measured_ms"], ratio))
    pred_total = report["predicted_latency_ms"]
    group_total = sum(r["measured_ms"] for r in rows)
    prof_total = prof["latency_ms"]["min"]
    base_total = base["latency_ms"]["min"]
    print("%-*s  %-*s  %6d  %5s  %12.4f  %12.4f  %8.2f"
          % (width, "sum", span, "", sum(r["layers"] for r in rows), "", pred_total,
             group_total, group_total / pred_total))
    print("whole run: profiled %.4f ms, unprofiled %.4f ms (marks cost %+.2f%%)"
          % (prof_total, base_total, 100.0 * (prof_total / base_total - 1.0)))
    same = [(a["sum"], a["absmax"]) for a in prof["outputs"]] == \
        [(a["sum"], a["absmax"]) for a in base["outputs"]]
    print("output checksums: %s" % ("identical" if same else "DIFFERENT"))
    totals = {}
    if args.threads > 1:
        totals = threaded_rows(args, profiled, rows, report)
        print_threaded(args, rows, totals, width)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"groups": rows, "predicted_total_ms": pred_total,
                       "measured_groups_ms": group_total, "profiled_ms": prof_total,
                       "unprofiled_ms": base_total, "same_outputs": same,
                       "threads": args.threads,
                       "whole_run_ms": {str(k): v for k, v in totals.items()},
                       "cross_core_us": probe}, f, indent=1)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
