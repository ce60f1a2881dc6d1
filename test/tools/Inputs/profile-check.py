"""Checks a `mafat-run --profile --json` report against the plan report.

usage: profile-check.py RUN.json REPORT.json NAME...

The groups must be exactly NAME... in order, each with a positive finite
time (min <= median, both <= the whole run's slowest), and together they
must cover every group of the plan report once: a unit "A + B" stands for
the groups A and B timed together.
"""
import json
import math
import sys

run_path, report_path, *expected = sys.argv[1:]
with open(run_path) as f:
    run = json.load(f)
with open(report_path) as f:
    report = json.load(f)

groups = run["groups"]
names = [g["name"] for g in groups]
assert names == expected, "groups %r, expected %r" % (names, expected)
slowest = run["latency_ms"]["max"]
for g in groups:
    ms, median = g["ms"], g["median_ms"]
    assert ms is not None and math.isfinite(ms) and ms > 0, g
    assert ms <= median <= slowest, g
covered = [part for name in names for part in name.split(" + ")]
planned = [g["name"] for g in report["groups"]]
assert covered == planned, "units cover %r, the plan has %r" % (covered, planned)
print("profile-check: %d units, %d groups, %.4f ms in groups of %.4f ms" %
      (len(groups), len(planned), sum(g["ms"] for g in groups),
       run["latency_ms"]["min"]))
