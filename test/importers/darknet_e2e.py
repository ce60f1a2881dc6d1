#!/usr/bin/env python3
"""End-to-end test of the Darknet importer on one cfg: import, compile, run, compare with PyTorch.

Usage::

    darknet_e2e.py --bin DIR --cfg NAME --size HxW [--layers A-B] --workdir DIR
                   [--target aarch64-linux-gnu] [--tol 1e-4] [--seed 0]
                   [--plans [--budgets F,F,... | --full]]

Steps (each check prints one ``PASS:``/``FAIL:`` line):

1. Find the cfg: NAME is a path, or a file name in ``<repo>/models/darknet``
   (``.cfg`` optional).
2. Write seeded random weights in Darknet's ``.weights`` format
   (``mafat.importers.darknet.random_weights`` + ``write_weights``) and a
   seeded uniform [0, 1) NHWC input image.
3. Import with the CLI (``python -m mafat.import_cli darknet ... --weights``).
4. PyTorch reference (:mod:`mafat.reference.darknet_reference`, which reads
   the same cfg and .weights on its own) and a sanity check: every output
   finite with std in [1e-2, 1e2] (for a softmax output: its logits' std,
   and no class above 0.99), so the relative check means something.
5. ``mafat-compile`` to a shared library, ``mafat-run`` it, and require
   ``max|out - ref| <= tol * max|ref|`` for every output.
6. With ``--target aarch64-linux-gnu``: also compile an executable for
   aarch64, run it under ``qemu-aarch64 -L /usr/aarch64-linux-gnu`` and
   require ``max|aarch64 - x86| <= 1e-5 * max|x86|``.

With ``--plans``, steps 5 and 6 are replaced by a plan sweep
(``mafat.testing.PlanSweep``, on --target): the unfused build
(``--plan=none``) checked against PyTorch as in step 5, then the
unconstrained search, ``--memory-budget`` at each budget fraction (0: the
smallest feasible workspace; 0.5: halfway to the unfused workspace) and the
cfg's hand-written plan in FIXED_PLANS (two tiled groups), each compiled with
``--verify-memory-model``; every output must be bitwise equal to the unfused
build's and the driver's workspace_bytes == the report's
predicted_workspace_bytes == the header's ``<NAME>_WORKSPACE_BYTES``.

Times of each step are printed as ``TIME:`` lines. Exits 0 if every check
passed, 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from typing import Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
PY_DIR = os.path.join(REPO, "python")
if PY_DIR not in sys.path:
    sys.path.insert(0, PY_DIR)

import numpy as np  # noqa: E402
from mafat.testing import (  # noqa: E402
    AARCH64_TARGET, Checker, Fatal, PlanSweep, add_plan_args, check_close, plan_fractions, run_cmd, select_fixed)

from mafat.importers.darknet import (  # noqa: E402
    load_network, parse_input_size, parse_layer_range, random_weights, write_weights)

CFG_DIR = os.path.join(REPO, "models", "darknet")
STD_RANGE = (1e-2, 1e2)
CROSS_TARGET_TOL = 1e-5
QEMU = "qemu-aarch64 -L /usr/aarch64-linux-gnu"

# Hand-written plans for --plans, by cfg. yolov2 and yolov2-tiny begin alike
# (L0 conv, L1 maxpool, L2 conv, L3 maxpool, L4 conv, L5 maxpool in
# yolov2-tiny / L4-L6 convs and L7 maxpool in yolov2; names from
# mafat-opt --mafat-normalize --mafat-print-layer-graph), so one two-group plan
# covers any input size and any --layers range that reaches L7.
_YOLOV2_GROUPS = {"groups": [
    {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool", "L2:conv", "L2:leaky", "L3:maxpool"],
     "grid": [4, 4]},
    {"name": "g1", "layers": ["L4:conv", "L4:leaky", "L5:conv", "L5:leaky", "L6:conv", "L6:leaky", "L7:maxpool"],
     "grid": [2, 2]}]}
_YOLOV2_TINY_GROUPS = {"groups": [
    _YOLOV2_GROUPS["groups"][0],
    {"name": "g1", "layers": ["L4:conv", "L4:leaky", "L5:maxpool", "L6:conv", "L6:leaky", "L7:maxpool"],
     "grid": [2, 2]}]}
# Rematerialization: L2's map recomputed from L1's for the route, the copy
# fused with the concat and the last conv in a 2x2 grid.
_ROUTE_NET_REMAT = {"rematerialize": ["L2:leaky"], "groups": [
    {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool"], "grid": [2, 2]},
    {"name": "g1", "layers": ["L2:conv.remat", "L2:leaky.remat", "L7:concat", "L8:conv", "L8:bias"],
     "grid": [2, 2]}]}
_ROUTE_NET_REMAT_STREAM = {"rematerialize": ["L2:leaky"], "groups": [
    _ROUTE_NET_REMAT["groups"][0],
    dict(_ROUTE_NET_REMAT["groups"][1], grid=[4, 1], mode="stream", stripe_rows=2)]}
# Upsampling fused (phase: how far a tile's upsampled rows or columns start
# into their first input row or column):
# - up-tile: L5's 1x1 conv, its upsampling and the route in a 3x2 recompute
#   grid; the last tile row's upsampled rows 5-7 and the second tile
#   column's columns 3-7 start at phase 1.
# - up-stream: the upsampling of L5's map streamed with the route in
#   three-row stripes: the concat's rows 0-2, 3-5 (phase 1), 6-7.
# - up-remat-hybrid: both at once with L2 recomputed for the route, in
#   two-row stripes of 2 column tiles (the second at phase 1).
_ROUTE_NET_UP_TILE = {"groups": [
    {"name": "g0", "layers": ["L5:conv", "L5:leaky", "L6:upsample", "L7:concat", "L8:conv", "L8:bias"],
     "grid": [3, 2]}]}
_ROUTE_NET_UP_STREAM = {"groups": [
    {"name": "g0", "layers": ["L6:upsample", "L7:concat", "L8:conv", "L8:bias"],
     "grid": [3, 1], "mode": "stream", "stripe_rows": 3}]}
_ROUTE_NET_UP_REMAT_HYBRID = {"rematerialize": ["L2:leaky"], "groups": [
    _ROUTE_NET_REMAT["groups"][0],
    {"name": "g1", "layers": ["L6:upsample", "L2:conv.remat", "L2:leaky.remat", "L7:concat", "L8:conv", "L8:bias"],
     "grid": [4, 2], "mode": "stream", "stripe_rows": 2}]}
FIXED_PLANS = {"yolov2": {"groups": _YOLOV2_GROUPS}, "yolov2-tiny": {"groups": _YOLOV2_TINY_GROUPS},
               "route-net": {"remat": _ROUTE_NET_REMAT, "remat-stream": _ROUTE_NET_REMAT_STREAM,
                             "up-tile": _ROUTE_NET_UP_TILE, "up-stream": _ROUTE_NET_UP_STREAM,
                             "up-remat-hybrid": _ROUTE_NET_UP_REMAT_HYBRID}}
# YOLOv2 layers 0-15 as one stream group (issue 12) in one-row stripes: added
# for --layers 0-15, where the output has size / 16 rows.
_YOLOV2_0_15 = ("L0:conv L0:leaky L1:maxpool L2:conv L2:leaky L3:maxpool L4:conv L4:leaky L5:conv L5:leaky "
                "L6:conv L6:leaky L7:maxpool L8:conv L8:leaky L9:conv L9:leaky L10:conv L10:leaky L11:maxpool "
                "L12:conv L12:leaky L13:conv L13:leaky L14:conv L14:leaky L15:conv L15:leaky").split()


def yolov2_stream_plan(out_rows: int, chunk_rows: int = 0) -> dict:
    group = {"name": "g0", "layers": _YOLOV2_0_15, "grid": [out_rows, 1], "mode": "stream", "stripe_rows": 1}
    if chunk_rows:
        group["chunk_rows"] = chunk_rows
    return {"groups": [group]}


def run(cmd: Sequence[str], what: str, timeout: float, env=None):
    return run_cmd(cmd, what, timeout, env=env, show_time=True)


def find_cfg(name: str) -> Optional[str]:
    if os.sep in name:
        return name if os.path.isfile(name) else None
    for cand in (name, name + ".cfg"):
        path = os.path.join(CFG_DIR, cand)
        if os.path.isfile(path):
            return path
    return None


def check_outputs(ck: Checker, outs, refs, tol: float, what: str = "", against: str = "PyTorch") -> None:
    for k, (a, r) in enumerate(zip(outs, refs)):
        check_close(ck, f"{what}output {k} {a.shape}", a, r, tol, against)


class _Done(Exception):
    """--plans finished (skips steps 5 and 6)."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory with mafat-compile and mafat-run")
    ap.add_argument("--cfg", required=True, help="cfg path, or a name in models/darknet")
    ap.add_argument("--size", required=True, metavar="HxW", help="input size passed as --input-size")
    ap.add_argument("--layers", default=None, metavar="A-B", help="import only layers A..B")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--target", default="x86_64-linux-gnu", choices=("x86_64-linux-gnu", "aarch64-linux-gnu"))
    ap.add_argument("--tol", type=float, default=1e-4, help="max|out-ref| <= tol * max|ref| (default 1e-4)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=900.0, help="per-command timeout in seconds")
    ap.add_argument("--qemu", default=os.environ.get("MAFAT_QEMU_AARCH64", QEMU))
    add_plan_args(ap)
    args = ap.parse_args(argv)
    try:
        fractions = plan_fractions(args)
    except Fatal as e:
        ap.error(str(e))
    plans = dict(FIXED_PLANS.get(os.path.splitext(os.path.basename(args.cfg))[0], {}))
    if os.path.splitext(os.path.basename(args.cfg))[0] == "yolov2" and args.layers == "0-15":
        plans["stream"] = yolov2_stream_plan(parse_input_size(args.size)[0] // 16)
        # The head (L0 conv, leaky, L1 maxpool) in pieces of one pool row, and
        # of 3 (8 pool rows per step: 3, 3 and a short 2).
        plans["stream-chunk1"] = yolov2_stream_plan(parse_input_size(args.size)[0] // 16, 1)
        plans["stream-chunk3"] = yolov2_stream_plan(parse_input_size(args.size)[0] // 16, 3)
    try:
        fixed = select_fixed(args, plans)
    except Fatal as e:
        ap.error(str(e))

    cfg = find_cfg(args.cfg)
    if cfg is None:
        ap.error(f"cannot find cfg {args.cfg!r} (looked in {CFG_DIR})")
    size = parse_input_size(args.size)
    args.bin = os.path.abspath(args.bin)
    os.makedirs(args.workdir, exist_ok=True)
    wd = os.path.abspath(args.workdir)
    ck = Checker()
    label = f"{os.path.basename(cfg)} {size[0]}x{size[1]}" + (f" layers {args.layers}" if args.layers else "")
    print(f"=== darknet e2e {label} [{args.target}]: tol {args.tol:g}, seed {args.seed}", flush=True)
    try:
        # 2. Weights and input.
        t0 = time.time()
        net = load_network(cfg, size)
        layers = parse_layer_range(args.layers, len(net.layers)) if args.layers else None
        upto = layers[1] if layers else None
        wpath = os.path.join(wd, "model.weights")
        nbytes = write_weights(wpath, net, random_weights(net, args.seed, upto=upto), upto=upto, seen=32013312)
        rng = np.random.default_rng([args.seed, 0x1A9])
        c, h, w = net.layers[layers[0]].in_shape if layers and layers[0] > 0 else net.input_shape
        x = rng.random((1, h, w, c), dtype=np.float32)
        in_path = os.path.join(wd, "in.npy")
        np.save(in_path, x)
        print(f"TIME: weights ({nbytes / 2**20:.1f} MiB) and input: {time.time() - t0:.2f} s", flush=True)

        # 3. Import through the CLI.
        mlir = os.path.join(wd, "model.mlir")
        env = dict(os.environ)
        env["PYTHONPATH"] = PY_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        cmd = [sys.executable, "-m", "mafat.import_cli", "darknet", cfg, "--weights", wpath,
               "--input-size", f"{size[0]}x{size[1]}", "-o", mlir]
        if args.layers:
            cmd += ["--layers", args.layers]
        run(cmd, "import", args.timeout, env)
        print(f"INFO: {mlir}: {os.path.getsize(mlir) / 2**20:.1f} MiB", flush=True)

        # 4. Reference and its sanity.
        from mafat.reference.darknet_reference import DarknetReference
        import torch

        torch.set_num_threads(1)
        t0 = time.time()
        ref_model = DarknetReference(cfg, wpath, size, layers).eval()
        trace = {}
        with torch.no_grad():
            ys = ref_model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), trace=trace)
        refs = [np.ascontiguousarray(y.permute(0, 2, 3, 1).numpy()) for y in ys]
        print(f"TIME: PyTorch reference: {time.time() - t0:.2f} s", flush=True)
        out_layers = ref_model.output_layers()
        for k, (r, li) in enumerate(zip(refs, out_layers)):
            finite = bool(np.all(np.isfinite(r)))
            if ref_model.secs[li].type == "softmax":
                logits = trace[li - 1].numpy()
                std = float(np.std(logits.astype(np.float64)))
                ok = finite and STD_RANGE[0] <= std <= STD_RANGE[1] and float(r.max()) < 0.99
                ck.check(ok, f"reference output {k} (softmax of layer {li}) is sane",
                         f"logits std {std:.3e}, max prob {float(r.max()):.3e}")
            else:
                std = float(np.std(r.astype(np.float64)))
                ok = finite and STD_RANGE[0] <= std <= STD_RANGE[1]
                ck.check(ok, f"reference output {k} (layer {li}) is sane",
                         f"shape {r.shape}, std {std:.3e} (want {STD_RANGE[0]:g}..{STD_RANGE[1]:g}), "
                         f"max|ref| {float(np.max(np.abs(r))):.3e}")

        if args.plans:
            sweep = PlanSweep(ck, bin_dir=args.bin, mlir=mlir, workdir=wd, stem="model", inputs=[in_path],
                              output_names=[f"out{k}" for k in range(len(refs))], target=args.target,
                              emit="exe" if args.target == AARCH64_TARGET else "lib", qemu=args.qemu,
                              timeout=args.timeout)
            base = sweep.baseline()
            if base is None:
                raise Fatal("the unfused build failed: nothing to compare the plans with")
            check_outputs(ck, base.outputs, refs, args.tol, "none: ")
            sweep.run_all(fixed, fractions)
            # Chunked segments split across threads (split steps inside each
            # piece): the same plan compiled for 2 threads, run on 2.
            chunked = os.path.join(wd, "model-stream-chunk1.plan.json")
            if "stream-chunk1" in fixed and os.path.exists(chunked):
                b = sweep.build("stream-chunk1-t2", [f"--plan={chunked}", "--threads=2"])
                if b is not None:
                    sweep.compare(b)
            raise _Done

        # 5. Compile, run, compare.
        lib = os.path.join(wd, "model.so")
        run([os.path.join(args.bin, "mafat-compile"), mlir, "-o", lib], "mafat-compile (x86-64 lib)", args.timeout)
        outs = [os.path.join(wd, f"out{k}.npy") for k in range(len(refs))]
        cmd = [os.path.join(args.bin, "mafat-run"), lib, "--input", in_path]
        for o in outs:
            cmd += ["--output", o]
        p = run(cmd + ["--json", "--repeat", "1", "--warmup", "0"], "mafat-run (x86-64)", args.timeout)
        try:
            rep = json.loads(p.stdout)
            print(f"INFO: latency {rep['latency_ms']['median']:.1f} ms, workspace {rep['workspace_bytes']} B, "
                  f"weights {rep['weight_bytes']} B", flush=True)
        except (ValueError, KeyError, TypeError):
            ck.check(False, "mafat-run --json report", p.stdout[-500:])
        x86 = [np.load(o) for o in outs]
        check_outputs(ck, x86, refs, args.tol)

        # 6. aarch64 under qemu against the x86-64 build.
        if args.target == "aarch64-linux-gnu":
            exe = os.path.join(wd, "model-aarch64")
            run([os.path.join(args.bin, "mafat-compile"), mlir, "-o", exe, "--emit=exe",
                 "--target=aarch64-linux-gnu"], "mafat-compile (aarch64 exe)", args.timeout)
            aouts = [os.path.join(wd, f"out{k}-aarch64.npy") for k in range(len(refs))]
            cmd = shlex.split(args.qemu) + [exe, "--input", in_path]
            for o in aouts:
                cmd += ["--output", o]
            run(cmd + ["--repeat", "1", "--warmup", "0"], "run under qemu-aarch64", args.timeout)
            a64 = [np.load(o) for o in aouts]
            check_outputs(ck, a64, x86, CROSS_TARGET_TOL, "aarch64 ", "x86-64")
            check_outputs(ck, a64, refs, args.tol, "aarch64 ")
    except _Done:
        pass
    except Fatal as e:
        print(f"FAIL: {e}", flush=True)
        print(f"=== darknet e2e {label}: FAILED (a step could not complete)", flush=True)
        return 1
    if ck.failures:
        print(f"=== darknet e2e {label}: FAILED {len(ck.failures)} of {ck.count} checks", flush=True)
        return 1
    print(f"=== darknet e2e {label}: all {ck.count} checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
