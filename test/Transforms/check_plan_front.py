#!/usr/bin/python3
"""The plan search picks the fastest plan that fits, at every budget.

Plans MODEL (canonical MLIR) with ``mafat-opt --mafat-normalize --mafat-plan``
unconstrained, then at budgets around every point of the reported Pareto
front (the point's exact workspace, one byte below it, 4 KiB above it), and
checks at each budget, against that budget's own report:

* the chosen plan's exact workspace fits the budget;
* no point of the front whose exact workspace fits is faster than the
  chosen plan (the search's answer is at least as fast as every plan it
  knows to fit);
* the largest group workspace (footprint in the packed arena) equals the
  plan's workspace;
* a budget below ``min_workspace_bytes`` is rejected;
* without a report (no Pareto front asked for) the smallest workspace is the
  same: a budget of exactly ``min_workspace_bytes`` is met, one byte less is
  rejected with a message naming ``min_workspace_bytes`` (the search once
  named its smallest-peak plan's 5.48 MiB there while a 4.35 MiB plan
  existed).

Prints ``PASS: ...`` / ``FAIL: ...`` lines and a summary; exits 1 on a FAIL.
Usage: check_plan_front.py MAFAT_OPT MODEL.mlir WORKDIR [PASS OPTIONS...]
"""

import json
import os
import subprocess
import sys


def plan(opt, model, workdir, options):
    report = os.path.join(workdir, "report.json")
    if os.path.exists(report):
        os.remove(report)
    proc = subprocess.run([opt, model, "--mafat-normalize",
                           f"--mafat-plan={options} report={report}", "-o", os.devnull],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr
    with open(report) as f:
        return json.load(f), ""


def plan_without_report(opt, model, options):
    proc = subprocess.run([opt, model, "--mafat-normalize", f"--mafat-plan={options}",
                           "-o", os.devnull], capture_output=True, text=True)
    return proc.returncode, proc.stderr


def main():
    opt, model, workdir, extra = sys.argv[1], sys.argv[2], sys.argv[3], " ".join(sys.argv[4:])
    os.makedirs(workdir, exist_ok=True)
    fastest, err = plan(opt, model, workdir, extra)
    if fastest is None:
        sys.exit(f"unconstrained plan failed:\n{err}")
    front = fastest["pareto"]
    smallest = fastest["min_workspace_bytes"]
    failures, budgets = 0, set()
    for point in front:
        ws = point["workspace_bytes"]
        budgets.update({ws, ws - 1, ws + 4096})
    for budget in sorted(budgets):
        report, err = plan(opt, model, workdir, f"{extra} memory-budget={budget}")
        if budget < smallest:
            ok = report is None and "infeasible" in err
            failures += not ok
            if not ok:
                print(f"FAIL: budget {budget} < smallest workspace {smallest} is not rejected")
            continue
        if report is None:
            failures += 1
            print(f"FAIL: budget {budget}: no plan:\n{err}")
            continue
        ws, ms = report["predicted_workspace_bytes"], report["predicted_latency_ms"]
        fits = [p for p in report["pareto"] if p["workspace_bytes"] <= budget]
        best = min(fits, key=lambda p: p["latency_ms"])
        if ws > budget:
            failures += 1
            print(f"FAIL: budget {budget}: chosen plan needs {ws} bytes")
        footprint = max(g["workspace_bytes"] for g in report["groups"])
        if footprint != ws:
            failures += 1
            print(f"FAIL: budget {budget}: largest group workspace {footprint} != plan's {ws}")
        if ms > best["latency_ms"] * (1 + 1e-12):
            failures += 1
            print(f"FAIL: budget {budget}: chosen plan {ms:.4f} ms ({ws} B) is slower than the "
                  f"front's {best['latency_ms']:.4f} ms ({best['workspace_bytes']} B), which fits")
    rc, err = plan_without_report(opt, model, f"{extra} memory-budget={smallest}")
    if rc != 0:
        failures += 1
        print(f"FAIL: without a report, budget {smallest} (the smallest workspace) has no plan:\n{err}")
    rc, err = plan_without_report(opt, model, f"{extra} memory-budget={smallest - 1}")
    if rc == 0 or f"reaches is {smallest} bytes" not in err:
        failures += 1
        print(f"FAIL: without a report, budget {smallest - 1} is not rejected naming {smallest} bytes:\n{err}")
    print(f"{'PASS' if not failures else 'FAIL'}: {len(budgets)} budgets around "
          f"{len(front)} front points, {failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
