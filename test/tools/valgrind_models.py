#!/usr/bin/env python3
"""Runs the generated code of every e2e model once under valgrind.

Usage::

    valgrind_models.py --bin DIR --workdir DIR [--models a,b] [--mcpu haswell]

For each model of ``mafat.e2e_models.ALL_MODELS``, the hand-written e2e
input ``test/e2e/Inputs/upsample_reduce.mlir`` and ``Inputs/big-padding.mlir``
(padding wider than the window, which validation accepts): compile a shared library
layer by layer (``--plan=none``) and fused at the smallest feasible budget
(the report's ``min_workspace_bytes``: the most tiles, where an off-by-one
read would be), both with ``--mcpu=haswell`` (valgrind does not decode
AVX-512), then run each once under ``valgrind --error-exitcode=99`` through
``mafat-run`` with random inputs. Any valgrind report (invalid read or
write, use of an uninitialised value, a bad free) is a FAIL. mafat-run's
workspace starts as 0xff bytes, so a read of a never-written workspace byte
is a NaN in the output too: the outputs must be finite.

Prints one ``PASS:``/``FAIL:`` line per run and a last line
``valgrind: N runs, N reports``. Exit status 0 iff no run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402

from mafat.e2e_models import ALL_MODELS, build_model  # noqa: E402

EXTRA_INPUTS = {"upsample_reduce": os.path.join(ROOT, "test", "e2e", "Inputs", "upsample_reduce.mlir"),
                "big_padding": os.path.join(HERE, "Inputs", "big-padding.mlir")}


def run(cmd, timeout=1800):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)


def interface(so: str, kind: str) -> list:
    """Input or output shapes from the generated header (<NAME>_INPUT<i>_SHAPE)."""
    header = os.path.splitext(so)[0] + ".h"
    text = open(header).read()
    shapes = {}
    for m in re.finditer(r"#define \w+_" + kind + r"(\d+)_SHAPE \{([0-9, ]+)\}", text):
        shapes[int(m.group(1))] = [int(x) for x in m.group(2).split(",")]
    return [shapes[i] for i in sorted(shapes)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--models", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--mcpu", default="haswell")
    args = ap.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    names = list(ALL_MODELS) + list(EXTRA_INPUTS)
    if args.models:
        names = [n for n in names if n in args.models.split(",")]
    compile_ = os.path.join(args.bin, "mafat-compile")
    runner = os.path.join(args.bin, "mafat-run")
    runs = reports = failures = 0
    start = time.time()
    for name in names:
        mlir = os.path.join(args.workdir, name + ".mlir")
        if name in EXTRA_INPUTS:
            mlir = EXTRA_INPUTS[name]
        else:
            with open(mlir, "w") as f:
                f.write(build_model(name, 0).to_mlir())
        report = os.path.join(args.workdir, name + ".report.json")
        if os.path.exists(report):
            os.remove(report)
        p = run([compile_, mlir, "-o", os.path.join(args.workdir, name + "-auto.so"), f"--mcpu={args.mcpu}",
                 f"--report={report}"])
        # A model the layer graph does not cover (a reduction) has no report
        # and compiles layer by layer only without plan flags.
        planned = p.returncode == 0 and os.path.exists(report)
        builds = [("none", ["--plan=none"] if planned else [])]
        if planned:
            budget = json.load(open(report)).get("min_workspace_bytes")
            if budget:
                builds.append((f"budget={budget}", [f"--memory-budget={budget}"]))
        for label, flags in builds:
            so = os.path.join(args.workdir, f"{name}-{label.split('=')[0]}.so")
            p = run([compile_, mlir, "-o", so, f"--mcpu={args.mcpu}", *flags])
            what = f"{name} [{label}]"
            if p.returncode != 0:
                print(f"FAIL: {what}: mafat-compile failed\n{p.stderr}")
                failures += 1
                continue
            rng = np.random.RandomState(0)
            ins, outs = [], []
            for i, shape in enumerate(interface(so, "INPUT")):
                ins.append(os.path.join(args.workdir, f"{name}-in{i}.npy"))
                np.save(ins[-1], rng.randn(*shape).astype(np.float32))
            for i, _ in enumerate(interface(so, "OUTPUT")):
                outs.append(os.path.join(args.workdir, f"{name}-{label.split('=')[0]}-out{i}.npy"))
                if os.path.exists(outs[-1]):
                    os.remove(outs[-1])
            # No --track-origins: valgrind 3.19's VEX cannot translate some
            # AVX2 code with it (an internal assertion, not a report).
            cmd = ["valgrind", "--error-exitcode=99", "-q", runner, so]
            for x in ins:
                cmd += ["--input", x]
            for x in outs:
                cmd += ["--output", x]
            cmd += ["--repeat", "1", "--warmup", "0"]
            t = time.time()
            p = run(cmd)
            runs += 1
            errors = len(re.findall(r"^==\d+== (Invalid|Conditional|Use of uninit|Mismatched|Syscall param|"
                                    r"Source and destination|Argument)", p.stderr, re.M))
            finite = all(os.path.exists(o) and bool(np.all(np.isfinite(np.load(o)))) for o in outs)
            if p.returncode == 0 and errors == 0 and finite:
                print(f"PASS: {what}: 0 valgrind reports ({time.time() - t:.1f} s)")
            else:
                reports += max(errors, 1 if p.returncode == 99 else 0)
                failures += 1
                print(f"FAIL: {what}: exit {p.returncode}, {errors} valgrind reports, finite outputs {finite}\n"
                      f"{p.stderr[-4000:]}")
            sys.stdout.flush()
    print(f"valgrind: {runs} runs, {reports} reports, {failures} failures in {time.time() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
