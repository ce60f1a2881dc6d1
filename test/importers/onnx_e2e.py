#!/usr/bin/env python3
"""End-to-end test of the ONNX importer: torchvision model -> ONNX -> mafat -> compare with PyTorch.

Usage::

    onnx_e2e.py --bin DIR --model NAME --workdir DIR
                [--target x86_64-linux-gnu|aarch64-linux-gnu] [--emit lib|exe]
                [--size N] [--opset 11|13] [--layout nchw|nhwc] [--tol 1e-4] [--seed 0]
                [--plans [--budgets F,F,... | --full]]

NAME is a torchvision classifier (resnet18, mobilenet_v2, squeezenet1_1, ...;
any ``torchvision.models.<NAME>(weights=None)``), ``edge-cases``, which runs
the small-module cases of python/tests/test_onnx.py through the compiler, or
``error-models``, which only writes ONNX files the importer must reject into
--workdir (erf, reflect, bilinear, dynamic, truncated, garbage; good.onnx is
the valid model truncated.onnx is cut from).

Steps for a torchvision model (each check prints one ``PASS:``/``FAIL:`` line):

1. Build it with random weights (no downloads), randomise every BatchNorm's
   running mean/var and affine parameters (so that a folding error shows),
   put it in eval mode and export it with ``torch.onnx.export`` at batch 1
   (``training=PRESERVE`` keeps the BatchNormalization nodes, so the importer
   does the folding, not the exporter).
2. Run PyTorch on a seeded NCHW input; the reference must be finite with a
   standard deviation in [1e-3, 1e3], or the relative check means nothing.
3. Import with ``mafat.importers.onnx.import_onnx`` (NCHW interface, as the
   user feeds it, unless --layout nhwc) and check the function attributes.
4. Compile with DIR/mafat-compile: a shared library run by DIR/mafat-run on
   x86-64, or an executable run under ``qemu-aarch64 -L /usr/aarch64-linux-gnu``.
5. Compare: max|out - ref| <= tol * max|ref| (default tol 1e-4), and check
   the driver's JSON report (output names and shapes) and the C header.

With ``--plans`` (torchvision models), steps 4 and 5 are replaced by a plan
sweep (``mafat.testing.PlanSweep``, on --target): the unfused build
(``--plan=none``) checked against PyTorch as in step 5, then the
unconstrained search and ``--memory-budget`` at each budget fraction (0: the
smallest feasible workspace; 0.5: halfway to the unfused workspace), each
compiled with ``--verify-memory-model``; every output must be bitwise equal
to the unfused build's and the driver's workspace_bytes == the report's
predicted_workspace_bytes == the header's ``<NAME>_WORKSPACE_BYTES``.

Exits 0 if every check passed, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import shutil
import sys
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
for _p in (os.path.join(REPO, "python"), os.path.join(REPO, "python", "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import numpy as np  # noqa: E402
from mafat.testing import (  # noqa: E402
    AARCH64_TARGET, DEFAULT_QEMU, HOST_TARGET, Checker, Fatal, PlanSweep, add_plan_args, check_close,
    driver_command, header_path, plan_fractions, run_cmd, run_driver)

STD_RANGE = (1e-3, 1e3)


def randomize_batchnorm(model, gen) -> int:
    import torch

    n = 0
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_((torch.rand(c, generator=gen) - 0.5) * 0.4)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=gen) * 0.6 + 0.7)
                    m.bias.copy_((torch.rand(c, generator=gen) - 0.5) * 0.2)
                n += 1
    return n


def build_torchvision(name: str):
    import torchvision

    ctor = getattr(torchvision.models, name, None)
    if ctor is None or not callable(ctor):
        raise Fatal(f"torchvision has no model {name!r}")
    try:
        return ctor(weights=None)
    except TypeError:  # older torchvision
        return ctor(pretrained=False)


def export(model, x, path: str, opset: int, torch_fold_bn: bool) -> None:
    import torch

    mode = torch.onnx.TrainingMode.EVAL if torch_fold_bn else torch.onnx.TrainingMode.PRESERVE
    buf = io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(buf), redirect_stderr(buf):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=opset, training=mode, input_names=["image"],
                          output_names=["logits"])


def check_vs_reference(ck: Checker, out: np.ndarray, ref: np.ndarray, tol: float, what: str = "") -> None:
    if not check_close(ck, f"{what}output", out, ref, tol) and out.shape != ref.shape:
        return
    ck.check(int(np.argmax(out)) == int(np.argmax(ref)), f"{what}same top-1 class as PyTorch",
             f"{int(np.argmax(out))} vs {int(np.argmax(ref))}")


class _Done(Exception):
    """--plans finished (skips steps 4 and 5)."""


def run_model(args, model_name: str) -> int:
    import torch

    from mafat.importers.onnx import import_onnx

    torch.set_num_threads(1)
    ck = Checker()
    emit = args.emit
    label = f"{model_name} [{args.target}, {emit}, {args.size}x{args.size}, opset {args.opset}, {args.layout}]"
    print(f"=== onnx e2e {label}: tol {args.tol:g}, seed {args.seed}, workdir {args.workdir}", flush=True)
    times = {}
    try:
        # 1. Model with random weights and BatchNorm statistics, exported.
        gen = torch.Generator().manual_seed(args.seed)
        torch.manual_seed(args.seed)
        model = build_torchvision(model_name)
        nbn = randomize_batchnorm(model, gen)
        model.eval()
        x = torch.randn(1, 3, args.size, args.size, generator=gen)
        onnx_path = os.path.join(args.workdir, f"{model_name}.onnx")
        t0 = time.time()
        export(model, x, onnx_path, args.opset, args.torch_fold_bn)
        times["export"] = time.time() - t0
        import onnx

        ops = {}
        graph = onnx.load(onnx_path).graph
        producer = {o: n for n in graph.node for o in n.output}
        readers = {}
        for n in graph.node:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
            for i in n.input:
                readers[i] = readers.get(i, 0) + 1
        # BatchNormalization right after a Conv that nothing else reads: must be folded.
        foldable_bn = [n.name for n in graph.node if n.op_type == "BatchNormalization"
                       and getattr(producer.get(n.input[0]), "op_type", None) == "Conv"
                       and readers.get(n.input[0]) == 1]
        print(f"INFO: {nbn} BatchNorm2d randomised; ONNX ops: "
              + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())), flush=True)

        # 2. Reference.
        with torch.no_grad():
            ref = model(x).numpy().astype(np.float32)
        std = float(np.std(ref.astype(np.float64)))
        ck.check(bool(np.all(np.isfinite(ref))) and STD_RANGE[0] <= std <= STD_RANGE[1], "reference is sane",
                 f"shape {ref.shape}, std {std:.3e} (want {STD_RANGE[0]:g}..{STD_RANGE[1]:g}), "
                 f"max|ref| {float(np.max(np.abs(ref))):.3e}")

        # 3. Import.
        t0 = time.time()
        text = import_onnx(onnx_path, layout=args.layout)
        times["import"] = time.time() - t0
        mlir = os.path.join(args.workdir, f"{model_name}.mlir")
        with open(mlir, "w") as f:
            f.write(text)
        lay = "NCHW" if args.layout == "nchw" else "NHWC"
        head = text[text.find("attributes"):][:600]
        ck.check(f'mafat.input_layouts = ["{lay}"]' in head and 'mafat.input_names = ["image"]' in head
                 and 'mafat.output_names = ["logits"]' in head, "function records names and layouts",
                 head.split("\n")[0][:300])
        if foldable_bn:
            left = [b for b in foldable_bn if f'loc("{b}' in text]
            ck.check(not left, "every BatchNormalization after a Conv folded into it",
                     f"{len(foldable_bn) - len(left)} of {len(foldable_bn)}" + (f"; not: {left[:3]}" if left else ""))

        # 4. Compile and run.
        xin = x.numpy()
        if args.layout == "nhwc":
            xin = np.ascontiguousarray(xin.transpose(0, 2, 3, 1))
        in_path = os.path.join(args.workdir, "in_image.npy")
        np.save(in_path, xin)
        if args.plans:
            t0 = time.time()
            sweep = PlanSweep(ck, bin_dir=args.bin, mlir=mlir, workdir=args.workdir, stem=model_name,
                              inputs=[in_path], output_names=["logits"], target=args.target, emit=emit,
                              qemu=args.qemu, timeout=args.timeout)
            base = sweep.baseline()
            if base is None:
                raise Fatal("the unfused build failed: nothing to compare the plans with")
            check_vs_reference(ck, base.outputs[0], ref, args.tol, "none: ")
            if args.stream_min:
                stream_min(ck, args, sweep, mlir)
            else:
                sweep.run_all({}, args.fractions)
            times["plans"] = time.time() - t0
            raise _Done
        out_path = os.path.join(args.workdir, "out_logits.npy")
        art = os.path.join(args.workdir, model_name + (".so" if emit == "lib" else f"-{args.target.split('-')[0]}"))
        t0 = time.time()
        run_cmd([os.path.join(args.bin, "mafat-compile"), mlir, "-o", art, f"--emit={emit}",
                 f"--target={args.target}", "--print-stats"], "mafat-compile", args.timeout)
        times["compile"] = time.time() - t0
        t0 = time.time()
        report = run_driver(driver_command(args.bin, art, args.target, emit, args.qemu), [in_path], [out_path],
                            f"running the {args.target} model", args.timeout, repeat=args.repeat,
                            cwd=args.workdir)
        times["run"] = time.time() - t0
        if not os.path.isfile(out_path):
            raise Fatal(f"the driver wrote no {out_path}")
        out = np.load(out_path)

        # 5. Accuracy and reports.
        check_vs_reference(ck, out, ref, args.tol)
        outs = report.get("outputs") or [{}]
        ck.check(outs[0].get("name") == "logits" and list(outs[0].get("shape", [])) == list(ref.shape),
                 "driver JSON names the output", f"{outs[0].get('name')!r} {outs[0].get('shape')}")
        header = header_path(art)
        ck.check(os.path.isfile(header) and f"{model_name}_run(" in open(header).read(), "C header declares the model",
                 header)
        lat = report.get("latency_ms", {})
        print(f"INFO: workspace {report.get('workspace_bytes')} B, weights {report.get('weight_bytes')} B, "
              f"latency median {lat.get('median')} ms", flush=True)
    except _Done:
        pass
    except Fatal as e:
        print(f"FAIL: {e}", flush=True)
        print(f"=== onnx e2e {label}: FAILED (a step could not complete after {ck.count} checks)", flush=True)
        return 1
    print("INFO: times " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()), flush=True)
    if ck.failures:
        print(f"=== onnx e2e {label}: FAILED {len(ck.failures)} of {ck.count} checks", flush=True)
        return 1
    print(f"=== onnx e2e {label}: all {ck.count} checks passed", flush=True)
    return 0


def run_edge_cases(args) -> int:
    import test_onnx as T

    ck = Checker()
    print(f"=== onnx e2e edge-cases [{args.target}]: {len(T.CASES)} cases, tol {T.RTOL_OF_MAX:g}", flush=True)
    if args.target != HOST_TARGET:
        print("FAIL: edge-cases run on the host target only", flush=True)
        return 2
    t0 = time.time()
    for case in T.CASES:
        d = os.path.join(args.workdir, case.name)
        os.makedirs(d, exist_ok=True)
        try:
            _, results = T.run_case(case, d, numeric=True, bin_dir=args.bin)
        except Exception as e:  # one failing case must not hide the others
            msg = str(e).strip().splitlines()
            ck.check(False, f"{case.name}", f"{type(e).__name__}: {' | '.join(msg[-6:])}")
            continue
        for j, (rel, std) in enumerate(results):
            ok = rel <= T.RTOL_OF_MAX and STD_RANGE[0] <= std <= STD_RANGE[1]
            ck.check(ok, f"{case.name} output {j} vs PyTorch",
                     f"rel {rel:.3e} (tol {T.RTOL_OF_MAX:g}), ref std {std:.3e}")
    print(f"INFO: edge cases took {time.time() - t0:.1f} s", flush=True)
    if ck.failures:
        print(f"=== onnx e2e edge-cases: FAILED {len(ck.failures)} of {ck.count} checks", flush=True)
        return 1
    print(f"=== onnx e2e edge-cases: all {ck.count} checks passed", flush=True)
    return 0


def write_error_models(args) -> int:
    """Write ONNX files the importer must reject (for onnx-errors.test)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Fn(nn.Module):
        def __init__(self, fn, *mods):
            super().__init__()
            self.fn, self.mods = fn, nn.ModuleList(mods)

        def forward(self, x):
            return self.fn(self, x)

    torch.manual_seed(args.seed)
    x = torch.randn(1, 3, 8, 8)
    d = args.workdir
    cases = {
        "erf": (nn.Sequential(nn.Conv2d(3, 4, 1), nn.GELU()), x, {}),
        "reflect": (Fn(lambda s, t: s.mods[0](F.pad(t, (1, 1, 1, 1), mode="reflect")), nn.Conv2d(3, 4, 3)), x, {}),
        "bilinear": (Fn(lambda s, t: F.interpolate(t, scale_factor=2, mode="bilinear")), x, {}),
        "dynamic": (nn.Sequential(nn.Conv2d(3, 4, 1)), x, {"dynamic_axes": {"image": {0: "batch"}}}),
        "good": (nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 16, 3)), x, {}),
    }
    for name, (m, inp, kw) in cases.items():
        buf = io.StringIO()
        with warnings.catch_warnings(), redirect_stdout(buf), redirect_stderr(buf):
            warnings.simplefilter("ignore")
            torch.onnx.export(m.eval(), inp, os.path.join(d, name + ".onnx"), opset_version=13,
                              input_names=["image"], **kw)
    with open(os.path.join(d, "good.onnx"), "rb") as f:
        data = f.read()
    with open(os.path.join(d, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(d, "garbage.onnx"), "wb") as f:
        f.write(b"this is not an ONNX model\n" * 4)
    # A graph input of 2^40 columns (the fuzzer's importer hang, docs/Hardening.md).
    import onnx
    import onnx.helper as oh
    huge = oh.make_graph([oh.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2])], "huge",
                         [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 2**40])],
                         [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3, 7, 2**40 - 1])])
    onnx.save(oh.make_model(huge, opset_imports=[oh.make_opsetid("", 13)]), os.path.join(d, "huge.onnx"))
    print(f"wrote {len(cases) + 3} models to {d}")
    return 0


def stream_min(ck: Checker, args, sweep: PlanSweep, mlir: str) -> None:
    """--stream-min: the smallest workspace of the search with stream groups
    (read from the infeasible-budget message of a 1-byte budget), built at
    that budget: bit-identical to --plan=none and exact like every sweep
    build, and (issue 12) with a stream group that holds a DAG: on
    mobilenet_v2 a residual block (a torchvision "features.N/Add" and a
    layer of block N-1, whose output is the block's input, read by the
    block's expand conv and by the add); on squeezenet a fire module
    ("features.N/squeeze/Conv", read by the 1x1 and the 3x3 expand convs,
    and "features.N/Concat" of the two, not the group's last layer)."""
    import re
    import subprocess

    probe = subprocess.run([os.path.join(args.bin, "mafat-compile"), mlir, "-o", os.devnull, "--emit=mlir",
                            f"--target={args.target}", "--stream", "--memory-budget=1"],
                           capture_output=True, text=True, timeout=args.timeout)
    m = re.search(r"the smallest workspace any plan in the search space reaches is (\d+) bytes", probe.stderr)
    ck.check(probe.returncode != 0 and m is not None, "stream-min: the search names its smallest workspace",
             probe.stderr.strip().splitlines()[0] if probe.stderr.strip() else f"exit {probe.returncode}")
    if m is None:
        return
    budget = int(m.group(1))
    b = sweep.build("stream-min", ["--stream", f"--memory-budget={budget}"])
    if b is None:
        return
    sweep.compare(b)
    ck.check(isinstance(b.workspace, int) and b.workspace <= budget, "stream-min: workspace <= budget",
             f"{b.workspace} <= {budget} B")
    # The DAG the stream group must hold: mobilenet_v2's residual add with the block's input (its
    # producer in block N-1), squeezenet's fire module (the squeeze read by a 1x1 and a 3x3 conv, their
    # concat) with the concat's reader.
    fire = args.model.startswith("squeezenet")
    found = []
    for g in b.report.get("groups", []):
        if g.get("mode") != "stream":
            continue
        layers = g.get("layers", [])
        for name in layers:
            if fire:
                a = re.search(r"features\.(\d+)/Concat$", name)
                if a and f"/features/features.{a.group(1)}/squeeze/Conv" in layers and name != layers[-1]:
                    found.append(f"{g.get('name')}: {name}")
                continue
            a = re.search(r"features\.(\d+)/Add$", name)
            if a and any(f"/features.{int(a.group(1)) - 1}/" in other for other in layers):
                found.append(f"{g.get('name')}: {name}")
    what = ("a fire module (squeeze, both expands, the concat and its reader)" if fire
            else "a residual block with its input")
    ck.check(bool(found), f"stream-min: a stream group holds {what}", ", ".join(found[:4]) or "none")
    if args.layout == "nchw":
        # The NCHW interface's layout transpose runs as the first layer of a tiled group, so the
        # transposed input (3 x size x size f32) is never whole: the workspace is below it.
        transposed = 3 * args.size * args.size * 4
        first = [g for g in b.report.get("groups", []) if "image.to_nhwc" in g.get("layers", [])]
        grid = first[0].get("grid") if first else None
        ck.check(bool(first) and grid not in (None, [1, 1]) and isinstance(b.workspace, int)
                 and b.workspace < transposed,
                 "stream-min: the input's layout transpose runs in a tiled group",
                 f"group {first[0].get('name') if first else None} grid {grid}, "
                 f"workspace {b.workspace} < transposed input {transposed} B")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory with mafat-compile and mafat-run")
    ap.add_argument("--model", required=True, help="torchvision model name, or 'edge-cases'")
    ap.add_argument("--workdir", required=True, help="scratch directory (created)")
    ap.add_argument("--target", default=HOST_TARGET, choices=(HOST_TARGET, AARCH64_TARGET))
    ap.add_argument("--emit", choices=("lib", "exe"), default=None,
                    help="what to build (default: lib on x86-64, exe on aarch64)")
    ap.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    ap.add_argument("--opset", type=int, default=13, help="ONNX opset to export (default 13)")
    ap.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw", help="interface layout (default nchw)")
    ap.add_argument("--tol", type=float, default=1e-4, help="max|out-ref| <= tol * max|ref| (default 1e-4)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="timed runs (default 1)")
    ap.add_argument("--timeout", type=float, default=600.0, help="per-command timeout in seconds")
    ap.add_argument("--torch-fold-bn", action="store_true",
                    help="let the exporter fold BatchNorm (TrainingMode.EVAL) instead of the importer")
    ap.add_argument("--qemu", default=os.environ.get("MAFAT_QEMU_AARCH64", DEFAULT_QEMU))
    add_plan_args(ap)
    ap.add_argument("--stream-min", action="store_true",
                    help="with --plans: instead of the sweep, one build at the smallest workspace the search with "
                         "stream groups (--stream) reaches; it must stream a residual block (mobilenet_v2) or a "
                         "fire module (squeezenet) in one group")
    args = ap.parse_args(argv)
    try:
        args.fractions = plan_fractions(args)
    except Fatal as e:
        ap.error(str(e))
    if args.plans and args.model in ("edge-cases", "error-models"):
        ap.error("--plans takes a torchvision model")

    args.emit = args.emit or ("exe" if args.target == AARCH64_TARGET else "lib")
    if args.target == AARCH64_TARGET and args.emit != "exe":
        ap.error("aarch64 models can only be run as executables (--emit exe)")
    args.bin = os.path.abspath(args.bin)
    args.workdir = os.path.abspath(args.workdir)
    for tool in ("mafat-compile", "mafat-run"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            ap.error(f"no executable {tool} in {args.bin}")
    if args.target == AARCH64_TARGET and shutil.which(shlex.split(args.qemu)[0]) is None:
        ap.error(f"cannot find {shlex.split(args.qemu)[0]}")
    os.makedirs(args.workdir, exist_ok=True)
    if args.model == "edge-cases":
        return run_edge_cases(args)
    if args.model == "error-models":
        return write_error_models(args)
    return run_model(args, args.model)


if __name__ == "__main__":
    sys.exit(main())
