#!/usr/bin/env python3
"""End-to-end numeric test of one model: generate, compile, run, compare.

Usage::

    run_e2e.py --bin DIR --model NAME --workdir DIR
               [--target x86_64-linux-gnu|aarch64-linux-gnu] [--emit lib|exe]
               [--tol 1e-4] [--seed 0] [--mcpu CPU] [-O N]

Steps (each check prints one ``PASS:``/``FAIL:`` line):

1. Build the model (``mafat.models`` or ``mafat.e2e_models``), write its
   canonical MLIR, a random NHWC input per model input and the PyTorch
   reference output per model output into --workdir.
2. Check every reference is numerically sane: finite, and its standard
   deviation in [1e-3, 1e3] (a vanishing or exploding model would make the
   relative error check meaningless).
3. Compile with DIR/mafat-compile (a shared library run by DIR/mafat-run, or
   an executable with mafat-run's driver; aarch64 executables run under
   ``qemu-aarch64 -L /usr/aarch64-linux-gnu``).
4. Compare every output with its reference: max|out - ref| <= tol * max|ref|.
5. Check the driver's JSON report (workspace_bytes <= naive_bytes, latency
   present and sane, one checksum entry per output agreeing with the .npy)
   and the generated C header (exists, declares ``<name>_run(``, and its
   ``<NAME>_WORKSPACE_BYTES`` equals the JSON's workspace_bytes).
6. For aarch64, also compile and run the same model for x86-64 and require
   max|aarch64 - x86| <= 1e-5 * max|x86| for every output.

Exits 0 if every check passed, 1 if any failed, 2 on a usage error.
Needs /usr/bin/python3 with numpy and torch, and the repository's python/
directory on PYTHONPATH (lit sets it; otherwise it is added from this
script's location).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import sys
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
PY_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "python"))
if PY_DIR not in sys.path:
    sys.path.insert(0, PY_DIR)

import numpy as np  # noqa: E402
from mafat.testing import Checker, Fatal, run_cmd  # noqa: E402

from mafat.e2e_models import ALL_MODELS, build_model  # noqa: E402
from mafat.reference import compare, run_reference  # noqa: E402

HOST_TARGET = "x86_64-linux-gnu"
AARCH64_TARGET = "aarch64-linux-gnu"
TARGETS = (HOST_TARGET, AARCH64_TARGET)
STD_RANGE = (1e-3, 1e3)
CROSS_TARGET_TOL = 1e-5
DEFAULT_QEMU = "qemu-aarch64 -L /usr/aarch64-linux-gnu"


def compile_model(args, mlir: str, target: str, emit: str, stem: str) -> str:
    """Compile; returns the artifact path (header written next to it)."""
    out = os.path.join(args.workdir, stem + (".so" if emit == "lib" else ""))
    for stale in (out, header_path(out)):
        if os.path.exists(stale):
            os.remove(stale)
    cmd = [os.path.join(args.bin, "mafat-compile"), mlir, "-o", out, f"--emit={emit}", f"--target={target}"]
    if args.opt is not None:
        cmd.append(f"-O{args.opt}")
    if args.mcpu and target == args.target:
        cmd.append(f"--mcpu={args.mcpu}")
    run_cmd(cmd, f"mafat-compile ({target}, --emit={emit})", args.timeout)
    if not os.path.isfile(out):
        raise Fatal(f"mafat-compile succeeded but wrote no {out}")
    return out


def header_path(artifact: str) -> str:
    base, ext = os.path.splitext(artifact)
    return (base if ext == ".so" else artifact) + ".h"


def run_model(args, artifact: str, target: str, emit: str, inputs: List[str], outputs: List[str]) -> dict:
    """Run a compiled model with the given .npy files; returns the JSON report."""
    if emit == "lib":
        if target != HOST_TARGET:
            raise Fatal("a shared library can only be run on the host (use --emit exe)")
        cmd = [os.path.join(args.bin, "mafat-run"), artifact]
    elif target == AARCH64_TARGET:
        cmd = shlex.split(args.qemu) + [artifact]
    else:
        cmd = [artifact]
    for path in inputs:
        cmd += ["--input", path]
    for path in outputs:
        cmd += ["--output", path]
    cmd += ["--json", "--repeat", str(args.repeat), "--warmup", "1"]
    for path in outputs:
        if os.path.exists(path):
            os.remove(path)
    p = run_cmd(cmd, f"running the {target} model", args.timeout, cwd=args.workdir)
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise Fatal(f"the driver's --json output is not one JSON object ({e}):\n{p.stdout[-2000:]}") from None


def load_outputs(paths: List[str]) -> List[np.ndarray]:
    arrays = []
    for path in paths:
        if not os.path.isfile(path):
            raise Fatal(f"the driver wrote no {path}")
        arrays.append(np.load(path))
    return arrays


def check_json(ck: Checker, report: dict, outs: List[np.ndarray], model) -> Optional[int]:
    """Checks on the driver's JSON report; returns workspace_bytes if present."""
    ws, naive = report.get("workspace_bytes"), report.get("naive_bytes")
    ws_ok = isinstance(ws, int) and isinstance(naive, int) and 0 <= ws <= naive
    ck.check(ws_ok, "JSON workspace_bytes <= naive_bytes", f"workspace {ws} B, naive {naive} B")
    for key in ("weight_bytes", "stack_bound_bytes", "peak_rss_bytes"):
        v = report.get(key)
        ck.check(isinstance(v, int) and v >= 0, f"JSON {key} present", f"{v}")
    lat = report.get("latency_ms")
    lat_ok = isinstance(lat, dict) and all(
        isinstance(lat.get(k), (int, float)) and math.isfinite(lat[k]) and lat[k] >= 0 for k in ("min", "median", "max")
    )
    if lat_ok:
        lat_ok = lat["min"] <= lat["median"] <= lat["max"]
    shown = {k: lat.get(k) for k in ("min", "median", "max")} if isinstance(lat, dict) else lat
    ck.check(lat_ok, "JSON latency_ms min <= median <= max", f"{shown}")
    ck.check(report.get("model") == model.name, "JSON model name", f"{report.get('model')!r}")
    jouts = report.get("outputs")
    n_ok = isinstance(jouts, list) and len(jouts) == len(outs)
    ck.check(n_ok, "JSON lists every output", f"{len(jouts) if isinstance(jouts, list) else jouts} of {len(outs)}")
    if n_ok:
        for (name, _), jo, a in zip(model.outputs, jouts, outs):
            absmax = float(np.max(np.abs(a))) if a.size else 0.0
            jmax = jo.get("absmax")
            agree = (
                jo.get("name") == name
                and list(jo.get("shape", [])) == list(a.shape)
                and jo.get("nonfinite", 0) == 0
                and isinstance(jmax, (int, float))
                and abs(jmax - absmax) <= 1e-6 * max(1.0, absmax)
            )
            ck.check(agree, f"JSON output {name!r} matches the .npy",
                     f"name {jo.get('name')!r}, shape {jo.get('shape')}, absmax {jmax} vs {absmax}, "
                     f"nonfinite {jo.get('nonfinite')}")
    return ws if isinstance(ws, int) else None


def check_header(ck: Checker, path: str, model, workspace: Optional[int]) -> None:
    if not ck.check(os.path.isfile(path), "C header exists", path):
        return
    with open(path) as f:
        text = f.read()
    fn = f"{model.name}_run("
    ck.check(fn in text, f"C header declares {fn}")
    macro = f"{model.name.upper()}_WORKSPACE_BYTES"
    m = re.search(rf"^\s*#\s*define\s+{re.escape(macro)}\s+(\d+)[uUlL]*\s*$", text, re.M)
    value = int(m.group(1)) if m else None
    ck.check(m is not None and value == workspace, f"C header {macro} == JSON workspace_bytes",
             f"header {value}, JSON {workspace}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory with mafat-compile and mafat-run")
    ap.add_argument("--model", required=True, choices=sorted(ALL_MODELS), help="model to test")
    ap.add_argument("--workdir", required=True, help="scratch directory (created; files are overwritten)")
    ap.add_argument("--target", default=HOST_TARGET, choices=TARGETS)
    ap.add_argument("--emit", choices=("lib", "exe"), default=None,
                    help="what to build (default: lib on x86-64, exe on aarch64)")
    ap.add_argument("--tol", type=float, default=1e-4, help="max|out-ref| <= tol * max|ref| (default 1e-4)")
    ap.add_argument("--seed", type=int, default=0, help="weights and input seed (default 0)")
    ap.add_argument("--mcpu", default=None, help="--mcpu for the tested target's build")
    ap.add_argument("-O", dest="opt", type=int, choices=range(4), default=None, help="optimization level")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    ap.add_argument("--timeout", type=float, default=300.0, help="per-command timeout in seconds")
    ap.add_argument("--qemu", default=os.environ.get("MAFAT_QEMU_AARCH64", DEFAULT_QEMU),
                    help=f"how to run aarch64 executables (default {DEFAULT_QEMU!r})")
    ap.add_argument("--perturb-ref", type=float, default=0.0, metavar="EPS",
                    help="self-test: add EPS*max|ref| to one reference element (the run must then fail)")
    args = ap.parse_args(argv)

    emit = args.emit or ("exe" if args.target == AARCH64_TARGET else "lib")
    if args.target == AARCH64_TARGET and emit != "exe":
        ap.error("aarch64 models can only be run as executables (--emit exe)")
    args.bin = os.path.abspath(args.bin)
    args.workdir = os.path.abspath(args.workdir)
    for tool in ("mafat-compile",) + (("mafat-run",) if emit == "lib" or args.target != HOST_TARGET else ()):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            ap.error(f"no executable {tool} in {args.bin}")
    if args.target == AARCH64_TARGET and shutil.which(shlex.split(args.qemu)[0]) is None:
        ap.error(f"cannot find {shlex.split(args.qemu)[0]} to run aarch64 executables")
    if os.path.exists(args.workdir) and not os.path.isdir(args.workdir):
        os.remove(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)

    ck = Checker()
    label = f"{args.model} [{args.target}, {emit}]"
    print(f"=== e2e {label}: tol {args.tol:g}, seed {args.seed}, workdir {args.workdir}", flush=True)
    try:
        # 1. Model, inputs, reference.
        model = build_model(args.model, args.seed)
        mlir = os.path.join(args.workdir, f"{args.model}.mlir")
        with open(mlir, "w") as f:
            f.write(model.to_mlir())
        inputs = model.random_inputs(args.seed)
        in_paths = []
        for (name, _), a in zip(model.inputs, inputs):
            in_paths.append(os.path.join(args.workdir, f"in_{name}.npy"))
            np.save(in_paths[-1], a)
        refs = run_reference(model, inputs)
        for (name, _), r in zip(model.outputs, refs):
            np.save(os.path.join(args.workdir, f"ref_{name}.npy"), r)
        if args.perturb_ref:
            flat = refs[0].reshape(-1)
            flat[flat.size // 2] += np.float32(args.perturb_ref * float(np.max(np.abs(flat))))

        # 2. Reference sanity.
        for (name, _), r in zip(model.outputs, refs):
            std = float(np.std(r.astype(np.float64)))
            ok = bool(np.all(np.isfinite(r))) and STD_RANGE[0] <= std <= STD_RANGE[1]
            ck.check(ok, f"reference {name!r} is sane",
                     f"shape {r.shape}, std {std:.3e} (want {STD_RANGE[0]:g}..{STD_RANGE[1]:g}), "
                     f"max|ref| {float(np.max(np.abs(r))):.3e}")

        # 3. Compile and run.
        stem = args.model if args.target == HOST_TARGET else f"{args.model}-{args.target.split('-')[0]}"
        artifact = compile_model(args, mlir, args.target, emit, stem)
        out_paths = [os.path.join(args.workdir, f"out_{name}{'' if args.target == HOST_TARGET else '-' + args.target.split('-')[0]}.npy")
                     for name, _ in model.outputs]
        report = run_model(args, artifact, args.target, emit, in_paths, out_paths)
        outs = load_outputs(out_paths)

        # 4. Accuracy against PyTorch.
        for (name, _), o, r in zip(model.outputs, outs, refs):
            if o.shape != r.shape:
                ck.check(False, f"output {name!r} vs PyTorch", f"shape {o.shape}, reference {r.shape}")
                continue
            c = compare(o, r, args.tol)
            ck.check(c.passed, f"output {name!r} vs PyTorch",
                     f"max|err| {c.max_abs_err:.3e}, max|ref| {c.max_abs_ref:.3e}, "
                     f"rel {c.rel_err:.3e} (tol {args.tol:g})")

        # 5. JSON report and header.
        ws = check_json(ck, report, outs, model)
        check_header(ck, header_path(artifact), model, ws)

        # 6. aarch64 against x86-64.
        if args.target != HOST_TARGET:
            x86 = compile_model(args, mlir, HOST_TARGET, "lib", args.model)
            x86_paths = [os.path.join(args.workdir, f"out_{name}.npy") for name, _ in model.outputs]
            run_model(args, x86, HOST_TARGET, "lib", in_paths, x86_paths)
            for (name, _), o, x in zip(model.outputs, outs, load_outputs(x86_paths)):
                if o.shape != x.shape:
                    ck.check(False, f"output {name!r} vs x86-64", f"shape {o.shape}, x86-64 {x.shape}")
                    continue
                c = compare(o, x, CROSS_TARGET_TOL)
                ck.check(c.passed, f"output {name!r} vs x86-64",
                         f"max|err| {c.max_abs_err:.3e}, max|x86| {c.max_abs_ref:.3e}, "
                         f"rel {c.rel_err:.3e} (tol {CROSS_TARGET_TOL:g})")
    except Fatal as e:
        print(f"FAIL: {e}", flush=True)
        print(f"=== e2e {label}: FAILED (a step could not complete after {ck.count} checks)", flush=True)
        return 1

    if ck.failures:
        print(f"=== e2e {label}: FAILED {len(ck.failures)} of {ck.count} checks:", flush=True)
        for line in ck.failures:
            print(f"  {line}", flush=True)
        return 1
    print(f"=== e2e {label}: all {ck.count} checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
