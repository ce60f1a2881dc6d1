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

Usage (from the checkout, after building):
    /usr/bin/python3 bench/group_latency.py [--cfg yolov2.cfg] [--layers 0-15]
        [--input-size 224x224] [--memory-budget 2MiB | --plan FILE.json|none]
        [--repeat 20] [--out DIR] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

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
    run(cmd)


def run_model(args, lib: str, profile: bool) -> dict:
    cmd = [os.path.join(args.bin, "mafat-run"), lib, "--json", "--repeat", str(args.repeat),
           "--warmup", str(args.warmup)]
    if profile:
        cmd.append("--profile")
    return json.loads(run(cmd).stdout)


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
    args = parser.parse_args()

    work = args.out or tempfile.mkdtemp(prefix="mafat-group-latency-")
    os.makedirs(work, exist_ok=True)
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
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"groups": rows, "predicted_total_ms": pred_total,
                       "measured_groups_ms": group_total, "profiled_ms": prof_total,
                       "unprofiled_ms": base_total, "same_outputs": same}, f, indent=1)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
