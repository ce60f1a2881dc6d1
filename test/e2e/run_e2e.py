#!/usr/bin/env python3
"""End-to-end numeric test of one model: generate, compile, run, compare.

Usage::

    run_e2e.py --bin DIR --model NAME --workdir DIR
               [--target x86_64-linux-gnu|aarch64-linux-gnu] [--emit lib|exe]
               [--tol 1e-4] [--seed 0] [--mcpu CPU] [-O N]
               [--plans [--budgets F,F,... | --full]]

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

With ``--plans`` steps 3-6 are replaced by a plan sweep
(``mafat.testing.PlanSweep``, all on --target): the unfused build
(``--plan=none``, every group 1x1) checked against PyTorch as in step 4 and
its JSON as in step 5; then the unconstrained search, ``--memory-budget`` at
each budget fraction (0: the smallest feasible workspace, the report's
min_workspace_bytes; 0.5: halfway to the unfused workspace; ``--full`` sweeps
more) and the model's hand-written plans in FIXED_PLANS (an uneven grid with
explicit tiles, and two or more tiled groups). Every planned compile uses
``--verify-memory-model`` and ``--report``. Exact checks per plan: every
output bitwise equal to the unfused build's; the driver's workspace_bytes ==
the report's predicted_workspace_bytes == the header's
``<NAME>_WORKSPACE_BYTES``; workspace <= budget; a fixed plan's groups,
grids and explicit tiles are in the report and it is really tiled.

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
import shlex
import shutil
import sys
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
PY_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "python"))
if PY_DIR not in sys.path:
    sys.path.insert(0, PY_DIR)

import numpy as np  # noqa: E402
from mafat.testing import (  # noqa: E402
    AARCH64_TARGET, DEFAULT_QEMU, HOST_TARGET, Checker, Fatal, PlanSweep, add_plan_args, check_close,
    bitwise_equal, driver_command, header_path, header_workspace, load_npys, plan_fractions, run_cmd, run_driver,
    select_fixed)

from mafat.e2e_models import ALL_MODELS, build_model  # noqa: E402
from mafat.reference import run_reference  # noqa: E402

TARGETS = (HOST_TARGET, AARCH64_TARGET)
STD_RANGE = (1e-3, 1e3)
CROSS_TARGET_TOL = 1e-5


# Hand-written plans for --plans, per model: "uneven", one tiled group whose
# grid does not divide its output (explicit row_tiles/col_tiles), and
# "groups", two or more tiled groups (mobile_net also has "onerow"). Layer names are those printed by
#   mafat-opt MODEL.mlir --mafat-normalize --mafat-print-layer-graph -o /dev/null
# (listed in execution order; within a group only the last layer is read
# outside it). Output sizes of each group's last layer are noted.
FIXED_PLANS = {
    "tiny_cnn": {  # input 32x32x8
        "uneven": {"groups": [  # L2:relu is 8x8: 3 uneven row tiles, 2 uneven column tiles
            {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool", "L2:conv", "L2:relu"],
             "grid": [3, 2], "row_tiles": [[0, 1], [2, 4], [5, 7]], "col_tiles": [[0, 4], [5, 7]]}]},
        "groups": {"groups": [
            {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool"], "grid": [2, 2]},  # 16x16
            {"name": "g1", "layers": ["L2:conv", "L2:relu", "L3:conv", "L3:relu6"], "grid": [3, 3]}]},  # 8x8
        "stream": {"groups": [  # stripes of 3 rows over the 8x8 L2:relu: 3, 3 and a short 2
            {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool", "L2:conv", "L2:relu"],
             "grid": [3, 1], "mode": "stream", "stripe_rows": 3}]},
        "stream_mixed": {"groups": [  # a stream group (16x16 in stripes of 4), then a recompute one
            {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool"], "grid": [4, 1], "mode": "stream",
             "stripe_rows": 4},
            {"name": "g1", "layers": ["L2:conv", "L2:relu", "L3:conv", "L3:relu6"], "grid": [2, 2]}]},
        "stream_hybrid": {"groups": [  # the stream plan in 2 column tiles of the 8x8 L2:relu (hybrid)
            {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool", "L2:conv", "L2:relu"],
             "grid": [3, 2], "mode": "stream", "stripe_rows": 3}]},
        "stream_hybrid_chunk": {"groups": [  # 3 uneven column tiles of the 8x8 L2:relu, the head (L0, L1)
            # in one-row pieces
            {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool", "L2:conv", "L2:relu"],
             "grid": [3, 3], "mode": "stream", "stripe_rows": 3, "chunk_rows": 1,
             "col_tiles": [[0, 2], [3, 5], [6, 7]]},
            {"name": "g1", "layers": ["L3:conv", "L3:relu6"], "grid": [2, 1], "mode": "stream",
             "stripe_rows": 4}]},
    },
    "dw_net": {  # 16x16 throughout
        "uneven": {"groups": [
            {"name": "g0", "layers": ["L0:dwconv", "L1:bn", "L2:conv", "L2:bias", "L3:conv", "L3:relu",
                                            "L4:avgpool", "L4:div", "L5:sigmoid"],
             "grid": [3, 2], "row_tiles": [[0, 4], [5, 10], [11, 15]], "col_tiles": [[0, 6], [7, 15]]}]},
        "groups": {"groups": [
            {"name": "g0", "layers": ["L0:dwconv", "L1:bn", "L2:conv", "L2:bias"], "grid": [2, 2]},
            {"name": "g1", "layers": ["L3:conv", "L3:relu", "L4:avgpool", "L4:div", "L5:sigmoid"],
             "grid": [3, 3]}]},
        "stream": {"groups": [  # 16 rows in stripes of 3 (a short last one); the avgpool's divisor map is sliced
            {"name": "g0", "layers": ["L0:dwconv", "L1:bn", "L2:conv", "L2:bias", "L3:conv", "L3:relu",
                                            "L4:avgpool", "L4:div", "L5:sigmoid"],
             "grid": [6, 1], "mode": "stream", "stripe_rows": 3}]},
    },
    "res_net": {  # input 16x16x8; the residual add and the concat stay inside a group
        "uneven": {"groups": [  # L6:maxpool is 8x8
            {"name": "g0", "layers": ["L0:conv", "L0:relu", "L1:conv", "L1:bias", "L2:add", "L3:conv",
                                            "L3:leaky", "L4:conv", "L4:relu", "L5:concat", "L6:maxpool"],
             "grid": [3, 3], "row_tiles": [[0, 2], [3, 4], [5, 7]]}]},
        "groups": {"groups": [
            {"name": "g0", "layers": ["L0:conv", "L0:relu", "L1:conv", "L1:bias", "L2:add"],
             "grid": [2, 2]},  # 16x16
            {"name": "g1", "layers": ["L3:conv", "L3:leaky", "L4:conv", "L4:relu", "L5:concat",
                                            "L6:maxpool"], "grid": [2, 3]}]},  # 8x8
        "stream": {"groups": [  # the chains around the residual add; the add reads L0:relu from outside
            {"name": "g0", "layers": ["L0:conv", "L0:relu"], "grid": [4, 1], "mode": "stream", "stripe_rows": 4},
            {"name": "g1", "layers": ["L1:conv", "L1:bias", "L2:add"], "grid": [4, 1], "mode": "stream",
             "stripe_rows": 5}]},
        "stream_residual": {"groups": [  # the residual block in one stream group, stripes of 3 of the 16x16
            # L2:add (a short last one): L0:relu is read by L1:conv's window and, a row later, by the add,
            # from one rolling buffer; then the stride-2 conv with bottom padding
            {"name": "g0", "layers": ["L0:conv", "L0:relu", "L1:conv", "L1:bias", "L2:add"], "grid": [6, 1],
             "mode": "stream", "stripe_rows": 3},
            {"name": "g1", "layers": ["L3:conv", "L3:leaky"], "grid": [8, 1], "mode": "stream",
             "stripe_rows": 1}]},
        "stream_residual_one": {"groups": [  # one-row stripes through the block and the stride-2 conv
            {"name": "g0", "layers": ["L0:conv", "L0:relu", "L1:conv", "L1:bias", "L2:add", "L3:conv",
                                      "L3:leaky"], "grid": [8, 1], "mode": "stream", "stripe_rows": 1}]},
    },
    "mobile_net": {  # input 33x33x3
        "uneven": {"groups": [  # L6:maxpool is 5x5
            {"name": "g0", "layers": ["L0:conv", "L1:bn", "L2:dwconv", "L2:relu6", "L3:conv", "L3:relu",
                                            "L4:dwconv", "L5:bn", "L6:maxpool"],
             "grid": [3, 2], "row_tiles": [[0, 0], [1, 3], [4, 4]]}]},
        "groups": {"groups": [
            {"name": "g0", "layers": ["L0:conv", "L1:bn", "L2:dwconv", "L2:relu6"], "grid": [3, 3]},  # 9x9
            {"name": "g1", "layers": ["L3:conv", "L3:relu", "L4:dwconv", "L5:bn", "L6:maxpool"],
             "grid": [2, 2]},  # 5x5
            {"name": "g2", "layers": ["L7:conv", "L7:bias", "L8:avgpool", "L8:div"], "grid": [3, 1]}]},  # 3x3
        "onerow": {"groups": [  # a one-row tile of a 1x1 conv (L3:relu is 9x9)
            {"name": "g0", "layers": ["L3:conv", "L3:relu"], "grid": [2, 1], "row_tiles": [[0, 7], [8, 8]]}]},
        "stream": {"groups": [  # the whole trunk in stripes of 2 of the 5x5 L6:maxpool
            {"name": "g0", "layers": ["L0:conv", "L1:bn", "L2:dwconv", "L2:relu6", "L3:conv", "L3:relu",
                                            "L4:dwconv", "L5:bn", "L6:maxpool"],
             "grid": [3, 1], "mode": "stream", "stripe_rows": 2}]},
        "stream_groups": {"groups": [  # two stream groups, one-row stripes in the second
            {"name": "g0", "layers": ["L0:conv", "L1:bn", "L2:dwconv", "L2:relu6"], "grid": [5, 1],
             "mode": "stream", "stripe_rows": 2},  # 9x9
            {"name": "g1", "layers": ["L3:conv", "L3:relu", "L4:dwconv", "L5:bn", "L6:maxpool"], "grid": [5, 1],
             "mode": "stream", "stripe_rows": 1}]},  # 5x5
        "stream_fill": {"groups": [  # stripes of 3 of the 5x5 L6:maxpool: the steps filling the pipeline
            # are a class of their own that writes no output row, so the output map is live from the
            # second class on (the memory model once counted it from the first: 2048 B over)
            {"name": "g0", "layers": ["L2:dwconv", "L2:relu6", "L3:conv", "L3:relu", "L4:dwconv", "L5:bn",
                                      "L6:maxpool"], "grid": [2, 1], "mode": "stream", "stripe_rows": 3}]},
    },
    "inverted_net": {  # input 20x20x8; MobileNetV2 inverted residual blocks (issue 12)
        "groups": {"groups": [
            {"name": "g0", "layers": ["L0:conv", "L0:relu6", "L1:conv", "L1:relu6", "L2:dwconv", "L2:relu6",
                                      "L3:conv", "L3:bias", "L4:add"], "grid": [3, 3]}]},  # 20x20
        "stream_blocks": {"groups": [  # each residual block with its input in a stream group: the input is
            # read by the expand conv and, a row later (the depthwise halo), by the add, from one buffer
            {"name": "g0", "layers": ["L0:conv", "L0:relu6", "L1:conv", "L1:relu6", "L2:dwconv", "L2:relu6",
                                      "L3:conv", "L3:bias", "L4:add"], "grid": [10, 1], "mode": "stream",
             "stripe_rows": 2},  # 20x20
            {"name": "g1", "layers": ["L5:conv", "L5:relu6", "L6:dwconv", "L6:relu6", "L7:conv", "L7:bias",
                                      "L8:conv", "L8:relu6", "L9:dwconv", "L9:relu6", "L10:conv", "L10:bias",
                                      "L11:add"], "grid": [4, 1], "mode": "stream", "stripe_rows": 3}]},  # 10x10
        "stream_all": {"groups": [  # both blocks and the stride-2 block between them, one-row stripes
            {"name": "g0", "layers": ["L0:conv", "L0:relu6", "L1:conv", "L1:relu6", "L2:dwconv", "L2:relu6",
                                      "L3:conv", "L3:bias", "L4:add", "L5:conv", "L5:relu6", "L6:dwconv",
                                      "L6:relu6", "L7:conv", "L7:bias", "L8:conv", "L8:relu6", "L9:dwconv",
                                      "L9:relu6", "L10:conv", "L10:bias", "L11:add"], "grid": [10, 1],
             "mode": "stream", "stripe_rows": 1}]},  # 10x10
        "stream_gap": {"groups": [  # stream_blocks with the global average pool's sum at the end of g1: it
            # accumulates the add's fresh rows per stripe (3, 3, 3, 1 of the 10x10) into the 1x1x1x24 output
            {"name": "g0", "layers": ["L0:conv", "L0:relu6", "L1:conv", "L1:relu6", "L2:dwconv", "L2:relu6",
                                      "L3:conv", "L3:bias", "L4:add"], "grid": [10, 1], "mode": "stream",
             "stripe_rows": 2},  # 20x20
            {"name": "g1", "layers": ["L5:conv", "L5:relu6", "L6:dwconv", "L6:relu6", "L7:conv", "L7:bias",
                                      "L8:conv", "L8:relu6", "L9:dwconv", "L9:relu6", "L10:conv", "L10:bias",
                                      "L11:add", "L12:gavgpool"], "grid": [1, 1], "mode": "stream",
             "stripe_rows": 3}]},  # 1x1, stripes of the 10x10 it reduces
        "stream_gap_one": {"groups": [  # stream_all with the global pool: every row of the net, one per step
            {"name": "g0", "layers": ["L0:conv", "L0:relu6", "L1:conv", "L1:relu6", "L2:dwconv", "L2:relu6",
                                      "L3:conv", "L3:bias", "L4:add", "L5:conv", "L5:relu6", "L6:dwconv",
                                      "L6:relu6", "L7:conv", "L7:bias", "L8:conv", "L8:relu6", "L9:dwconv",
                                      "L9:relu6", "L10:conv", "L10:bias", "L11:add", "L12:gavgpool"],
             "grid": [1, 1], "mode": "stream", "stripe_rows": 1}]},
        "stream_hybrid": {"groups": [  # stream_blocks with column tiles (hybrid): 3 of the 20x20 (a border
            # class on each side of one interior tile), 2 of the 10x10; the add reads fewer columns of the
            # block input's buffer than the expand conv
            {"name": "g0", "layers": ["L0:conv", "L0:relu6", "L1:conv", "L1:relu6", "L2:dwconv", "L2:relu6",
                                      "L3:conv", "L3:bias", "L4:add"], "grid": [10, 3], "mode": "stream",
             "stripe_rows": 2},  # 20x20
            {"name": "g1", "layers": ["L5:conv", "L5:relu6", "L6:dwconv", "L6:relu6", "L7:conv", "L7:bias",
                                      "L8:conv", "L8:relu6", "L9:dwconv", "L9:relu6", "L10:conv", "L10:bias",
                                      "L11:add"], "grid": [4, 2], "mode": "stream", "stripe_rows": 3}]},  # 10x10
    },
    "branch_net": {  # inputs image 20x24x8 and aux 10x12x4; L5:sigmoid is also the output "feat"
        "uneven": {"groups": [  # L5:sigmoid is 10x12; both inputs feed the group
            {"name": "g0", "layers": ["L0:conv", "L0:relu", "L1:conv", "L2:add", "L3:leaky", "L4:concat",
                                            "L5:conv", "L5:sigmoid"],
             "grid": [3, 5], "row_tiles": [[0, 2], [3, 7], [8, 9]]}]},
        "groups": {"groups": [
            {"name": "g0", "layers": ["L0:conv", "L0:relu", "L1:conv", "L2:add", "L3:leaky", "L4:concat"],
             "grid": [2, 3]},  # 10x12
            {"name": "g1", "layers": ["L5:conv", "L5:sigmoid"], "grid": [3, 2]},  # 10x12
            {"name": "g2", "layers": ["L6:maxpool", "L7:dwconv", "L7:relu"], "grid": [2, 2]}]},  # 3x2
        "stream_concat": {"groups": [  # the 3-way concat (a model input among its operands) in a stream
            # group, stripes of 3 of the 10x12 L5:sigmoid (a short last one): L1:conv is read by the add and
            # by the concat, the concat's rows go into the rolling buffer L5's dilated window reads
            {"name": "g0", "layers": ["L0:conv", "L0:relu", "L1:conv", "L2:add", "L3:leaky", "L4:concat",
                                      "L5:conv", "L5:sigmoid"], "grid": [4, 1], "mode": "stream",
             "stripe_rows": 3}]},
        "stream_concat_hybrid": {"groups": [  # the same in one-row stripes and 3 column tiles
            {"name": "g0", "layers": ["L0:conv", "L0:relu", "L1:conv", "L2:add", "L3:leaky", "L4:concat",
                                      "L5:conv", "L5:sigmoid"], "grid": [10, 3], "mode": "stream",
             "stripe_rows": 1}]},
    },
    "demo_cnn": {  # input 416x416x3
        "uneven": {"groups": [  # L3:maxpool is 104x104
            {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool", "L2:conv", "L2:leaky", "L3:maxpool"],
             "grid": [3, 2], "row_tiles": [[0, 30], [31, 70], [71, 103]], "col_tiles": [[0, 60], [61, 103]]}]},
        "groups": {"groups": [
            {"name": "g0", "layers": ["L0:conv", "L0:leaky", "L1:maxpool"], "grid": [2, 2]},  # 208x208
            {"name": "g1", "layers": ["L2:conv", "L2:leaky", "L3:maxpool", "L4:conv", "L4:leaky", "L5:maxpool"],
             "grid": [3, 3]}]},  # 52x52
    },
}


def compile_model(args, mlir: str, target: str, emit: str, stem: str) -> str:
    """Compile; returns the artifact path (header written next to it)."""
    out = os.path.join(args.workdir, stem + (".so" if emit == "lib" else ""))
    for stale in (out, header_path(out)):
        if os.path.exists(stale):
            os.remove(stale)
    cmd = [os.path.join(args.bin, "mafat-compile"), mlir, "-o", out, f"--emit={emit}", f"--target={target}"]
    run_cmd(cmd + codegen_flags(args, target), f"mafat-compile ({target}, --emit={emit})", args.timeout)
    if not os.path.isfile(out):
        raise Fatal(f"mafat-compile succeeded but wrote no {out}")
    return out


def codegen_flags(args, target: str) -> List[str]:
    flags = [f"-O{args.opt}"] if args.opt is not None else []
    if args.mcpu and target == args.target:
        flags.append(f"--mcpu={args.mcpu}")
    return flags


def run_model(args, artifact: str, target: str, emit: str, inputs: List[str], outputs: List[str]) -> dict:
    """Run a compiled model with the given .npy files; returns the JSON report."""
    return run_driver(driver_command(args.bin, artifact, target, emit, args.qemu), inputs, outputs,
                      f"running the {target} model", args.timeout, repeat=args.repeat, warmup=1, cwd=args.workdir)


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
    value = header_workspace(path, model.name)
    ck.check(value is not None and value == workspace, f"C header {model.name.upper()}_WORKSPACE_BYTES == JSON "
             f"workspace_bytes", f"header {value}, JSON {workspace}")


def check_vs_reference(ck: Checker, model, outs: List[np.ndarray], refs: List[np.ndarray], tol: float,
                       what: str = "", against: str = "PyTorch") -> None:
    for (name, _), o, r in zip(model.outputs, outs, refs):
        check_close(ck, f"{what}output {name!r}", o, r, tol, against)


def check_threads(ck: Checker, args, model, mlir: str, target: str, emit: str, in_paths: List[str],
                  base: List[np.ndarray], label: str, flags: List[str]) -> Optional[dict]:
    """Compiles for --threads=N (with `flags`) and runs it on 1..N+1 threads:
    every output bitwise equal to `base` (the serial, single-thread build),
    the workspace equal to the memory model's prediction and to the header's,
    and the driver reporting the threads it ran on and was compiled for."""
    n = args.threads
    stem = f"{args.model}-{target.split('-')[0]}-{label}"
    art = os.path.join(args.workdir, stem + (".so" if emit == "lib" else ""))
    rep_path = os.path.join(args.workdir, stem + ".report.json")
    for stale in (art, header_path(art), rep_path):
        if os.path.exists(stale):
            os.remove(stale)
    cmd = [os.path.join(args.bin, "mafat-compile"), mlir, "-o", art, f"--emit={emit}", f"--target={target}",
           f"--threads={n}", "--verify-memory-model", f"--report={rep_path}"]
    try:
        run_cmd(cmd + codegen_flags(args, target) + flags, f"{label}: mafat-compile", args.timeout, show_time=True)
        with open(rep_path) as f:
            report = json.load(f)
    except (Fatal, OSError, ValueError) as e:
        ck.check(False, f"{label}: compiles for {n} threads", str(e))
        return None
    hdr = header_workspace(header_path(art), model.name)
    for t in range(1, n + 2):
        outs = [os.path.join(args.workdir, f"out_{name}-{label}-t{t}.npy") for name, _ in model.outputs]
        try:
            run = run_driver(driver_command(args.bin, art, target, emit, args.qemu) + ["--threads", str(t)],
                             in_paths, outs, f"{label}: running on {t} threads", args.timeout, cwd=args.workdir)
            arrays = load_npys(outs)
        except (Fatal, OSError, ValueError) as e:
            ck.check(False, f"{label}: runs on {t} threads", str(e))
            continue
        ck.check(run.get("threads") == t and run.get("compiled_threads") == n,
                 f"{label}: driver ran on {t} threads (compiled for {n})",
                 f"threads {run.get('threads')}, compiled_threads {run.get('compiled_threads')}")
        for (name, _), o, r in zip(model.outputs, arrays, base):
            ok, detail = bitwise_equal(o, r)
            ck.check(ok, f"{label}: {t} threads: output {name!r} bit-identical to the serial build", detail)
        if t == 1:
            pred = report.get("predicted_workspace_bytes")
            ws = run.get("workspace_bytes")
            ck.check(isinstance(ws, int) and ws == pred == hdr, f"{label}: workspace: mafat-run == predicted == header",
                     f"{ws} / {pred} / {hdr} B (exact)")
    return report


def with_slots(plan: dict, slots: int) -> dict:
    """`plan` with every tiled group running min(slots, its tiles) tiles at once (concurrent tiles); a
    stream group runs its stripes in order, so only its column tiles (hybrid) run at once."""
    out = json.loads(json.dumps(plan))
    for g in out["groups"]:
        stream = g.get("mode") == "stream"
        tiles = g["grid"][1] if stream else g["grid"][0] * g["grid"][1]
        if tiles > 1:
            g["slots"] = min(slots, tiles)
    return out


def check_slots(ck: Checker, args, model, mlir: str, emit: str, in_paths: List[str], base: List[np.ndarray],
                name: str, plan: dict) -> None:
    """A hand-written plan in the concurrent-tiles form, compiled for --threads=N with N slots per tiled
    group: check_threads' checks, and the report shows every tiled group with its slots."""
    slotted = with_slots(plan, args.threads)
    path = os.path.join(args.workdir, f"{args.model}-slots-{name}.plan.json")
    with open(path, "w") as f:
        json.dump(slotted, f, indent=1)
    label = f"threads{args.threads}-slots-{name}"
    report = check_threads(ck, args, model, mlir, args.target, emit, in_paths, base, label, [f"--plan={path}"])
    if report is None:
        return
    want = {g["name"]: g["slots"] for g in slotted["groups"] if g.get("slots", 1) > 1}
    got = {g["name"]: (g.get("form"), g.get("slots"), g.get("threads")) for g in report.get("groups", [])}
    ok = bool(want) and all(got.get(k) == ("concurrent-tiles", v, min(v, args.threads)) for k, v in want.items())
    ck.check(ok, f"{label}: report shows the concurrent-tiles groups", f"want slots {want}, report {got}")


class _Done(Exception):
    """--plans finished (skips the default steps 3-6)."""


def run_plans(ck: Checker, args, model, mlir: str, emit: str, in_paths: List[str], refs: List[np.ndarray]) -> None:
    """--plans: the unfused build (checked against PyTorch), then the plans of PlanSweep.run_all."""
    plans = select_fixed(args, FIXED_PLANS.get(args.model, {}))
    sweep = PlanSweep(ck, bin_dir=args.bin, mlir=mlir, workdir=args.workdir,
                      stem=f"{args.model}-{args.target.split('-')[0]}", inputs=in_paths,
                      output_names=[name for name, _ in model.outputs], target=args.target, emit=emit,
                      qemu=args.qemu, timeout=args.timeout, compile_flags=codegen_flags(args, args.target),
                      perturb_base=args.perturb_base)
    base = sweep.baseline()
    if base is None:
        raise Fatal("the unfused build failed: nothing to compare the plans with")
    check_vs_reference(ck, model, base.outputs, refs, args.tol, "none: ")
    check_json(ck, base.run, base.outputs, model)
    sweep.run_all(plans, args.fractions)
    if args.random_stream:
        sweep.random_streams(args.random_stream, args.seed)
    if args.threads > 1:
        check_threads(ck, args, model, mlir, args.target, emit, in_paths, base.outputs, f"threads{args.threads}-none",
                      ["--plan=none"])
        check_threads(ck, args, model, mlir, args.target, emit, in_paths, base.outputs, f"threads{args.threads}-auto",
                      [])
        for name in ("uneven", "groups"):
            if name in plans:
                check_slots(ck, args, model, mlir, emit, in_paths, base.outputs, name, plans[name])
        # Stream plans (issue 12): the split-steps form runs inside each stripe.
        for label, plan in plans.items():
            if not any(g.get("mode") == "stream" for g in plan["groups"]):
                continue
            path = os.path.join(args.workdir, f"{args.model}-threads-{label}.plan.json")
            with open(path, "w") as f:
                json.dump(plan, f, indent=1)
            # A small split threshold, so that the small test models' stripes split at all (the
            # default, 131072 iterations, is what pays on real models: CodegenRules.h).
            rep = check_threads(ck, args, model, mlir, args.target, emit, in_paths, base.outputs,
                                f"threads{args.threads}-{label}", [f"--plan={path}", "--min-parallel-work=2048"])
            if rep is not None:
                forms = [g.get("form") for g in rep.get("groups", []) if g.get("mode") == "stream"]
                ck.check("split-steps" in forms or "concurrent-tiles" in forms,
                         f"threads{args.threads}-{label}: a stream group runs on {args.threads} threads",
                         f"stream group forms {forms}")
            # Hybrid groups also run their column tiles at once, each slot with its own buffers.
            if any(g.get("mode") == "stream" and g["grid"][1] > 1 for g in plan["groups"]):
                check_slots(ck, args, model, mlir, emit, in_paths, base.outputs, label, plan)


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
    ap.add_argument("--threads", type=int, default=2,
                    help="also compile for N threads and check every run on 1..N+1 threads is bit-identical "
                         "to the serial build (default 2; 1 disables)")
    add_plan_args(ap)
    ap.add_argument("--random-stream", type=int, default=0, metavar="N",
                    help="with --plans: also N random stream plans (PlanSweep.random_streams), seeded by --seed")
    ap.add_argument("--perturb-base", action="store_true",
                    help="self-test of --plans: flip the lowest bit of one element of the unfused output "
                         "(every bit-identity check must then fail)")
    args = ap.parse_args(argv)
    try:
        args.fractions = plan_fractions(args)
    except Fatal as e:
        ap.error(str(e))

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

        if args.plans:
            run_plans(ck, args, model, mlir, emit, in_paths, refs)
            raise _Done
        # 3. Compile and run.
        stem = args.model if args.target == HOST_TARGET else f"{args.model}-{args.target.split('-')[0]}"
        artifact = compile_model(args, mlir, args.target, emit, stem)
        out_paths = [os.path.join(args.workdir, f"out_{name}{'' if args.target == HOST_TARGET else '-' + args.target.split('-')[0]}.npy")
                     for name, _ in model.outputs]
        report = run_model(args, artifact, args.target, emit, in_paths, out_paths)
        outs = load_npys(out_paths)

        # 4. Accuracy against PyTorch.
        check_vs_reference(ck, model, outs, refs, args.tol)

        # 5. JSON report and header.
        ws = check_json(ck, report, outs, model)
        check_header(ck, header_path(artifact), model, ws)

        # 5b. Threads: bit-identical to the serial build whatever the thread count.
        if args.threads > 1:
            check_threads(ck, args, model, mlir, args.target, emit, in_paths, outs, f"threads{args.threads}", [])

        # 6. aarch64 against x86-64.
        if args.target != HOST_TARGET:
            x86 = compile_model(args, mlir, HOST_TARGET, "lib", args.model)
            x86_paths = [os.path.join(args.workdir, f"out_{name}.npy") for name, _ in model.outputs]
            run_model(args, x86, HOST_TARGET, "lib", in_paths, x86_paths)
            check_vs_reference(ck, model, outs, load_npys(x86_paths), CROSS_TARGET_TOL, against="x86-64")
    except _Done:
        pass
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
