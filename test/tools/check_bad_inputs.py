#!/usr/bin/env python3
"""Runs every file of the bad-input corpus (test/tools/Inputs/bad) through the
tool that reads it and checks the diagnostic (Inputs/bad/EXPECTED says how).

Usage::

    check_bad_inputs.py --bin DIR --workdir DIR

Each input must give a non-zero exit that is not a signal, a diagnostic
matching its EXPECTED line (which names the location), and no stack dump,
sanitizer report, Python traceback or importer "internal error". Every file
in the corpus must have an EXPECTED line and every line a file. Prints one
``PASS:``/``FAIL:`` line per input and ``bad inputs: N checked, N failed``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BAD = os.path.join(HERE, "Inputs", "bad")
RELU = os.path.join(HERE, "Inputs", "relu.mlir")
TINY_CFG = os.path.join(ROOT, "test", "importers", "Inputs", "tiny.cfg")
CRASH = re.compile(r"Stack dump|PLEASE submit|LLVM ERROR|Sanitizer|runtime error:|Traceback \(most recent|"
                   r"internal error")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    compile_ = os.path.join(args.bin, "mafat-compile")
    out = os.path.join(args.workdir, "out.so")
    relu_so = os.path.join(args.workdir, "relu.so")
    subprocess.run([compile_, RELU, "-o", relu_so], check=True)

    cases = []  # (label, command, regex)
    listed = set()
    for line in open(os.path.join(BAD, "EXPECTED")):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("flags:"):
            flags, regex = line[len("flags:"):].split("|", 1)
            cases.append((f"flags {flags.strip()}", [compile_, RELU, "-o", out, *shlex.split(flags)],
                          regex.strip()))
            continue
        name, regex = line.split(None, 1)
        listed.add(name)
        path = os.path.join(BAD, name)
        if name.endswith(".weights"):
            cmd = [compile_, TINY_CFG, "--weights", path, "-o", out]
        elif name.endswith(".plan.json"):
            cmd = [compile_, RELU, f"--plan={path}", "-o", out]
        elif name.endswith(".npy"):
            cmd = [os.path.join(args.bin, "mafat-run"), relu_so, "--input", path]
        else:
            cmd = [compile_, path, "-o", out]
        cases.append((name, cmd, regex.strip()))

    failed = 0
    for name in sorted(set(os.listdir(BAD)) - {"EXPECTED"} - listed):
        print(f"FAIL: {name}: no line in Inputs/bad/EXPECTED")
        failed += 1
    for name in sorted(listed - set(os.listdir(BAD))):
        print(f"FAIL: {name}: listed in EXPECTED but missing")
        failed += 1
    for label, cmd, regex in cases:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, errors="replace", cwd=args.workdir, timeout=300)
        problems = []
        if p.returncode == 0:
            problems.append("exit status 0")
        elif p.returncode < 0 or p.returncode >= 128:
            problems.append(f"killed (status {p.returncode})")
        if CRASH.search(p.stdout):
            problems.append("crash output")
        if not re.search(regex, p.stdout):
            problems.append(f"no match for /{regex}/")
        if problems:
            failed += 1
            print(f"FAIL: {label}: {', '.join(problems)}\n  $ {shlex.join(cmd)}\n"
                  + "".join("  | " + l + "\n" for l in p.stdout.splitlines()[:12]))
        else:
            print(f"PASS: {label}")
    print(f"bad inputs: {len(cases)} checked, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
