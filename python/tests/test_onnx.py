"""Tests for the ONNX importer (mafat.importers.onnx).

Run from the repository root::

    PYTHONPATH=python /usr/bin/python3 -m unittest python/tests/test_onnx.py

Small PyTorch modules, one per supported op or edge case (asymmetric pads,
ceil_mode pools, dilations, groups, depthwise, ReLU6 as Clip, Flatten+Gemm,
nearest Resize, Softmax, ...), are exported with ``torch.onnx.export``
(opset 11 or 13; a few hand-built graphs cover older opsets and ops the
exporter drops) and imported. Each import is checked for

* structure: the MLIR parses and verifies with upstream ``mlir-opt`` and
  passes ``mafat-opt --mafat-normalize`` (the canonical-form checks); every
  layer op has a name location taken from the ONNX node names; the function
  records names and layouts;
* numerics: compiled with ``mafat-compile`` to a shared library, run with
  ``mafat-run`` and compared with PyTorch: max|out - ref| <= 1e-4 * max|ref|,
  with the reference's std checked to be in [1e-3, 1e3].

The mafat tools are taken from ``$MAFAT_BIN`` or ``<repo>/build/bin``; the
numeric tests are skipped if they are missing (or ``MAFAT_ONNX_NUMERIC=0``).
``test/importers/onnx_e2e.py --model edge-cases`` runs the same :data:`CASES`
through the compiler from lit.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
import unittest
import warnings
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
if os.path.join(REPO, "python") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, "python"))

from mafat.importers import ImporterError  # noqa: E402

try:
    import onnx  # noqa: F401
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    HAVE_DEPS = True
except ImportError:  # pragma: no cover - Debian's python3 has them
    HAVE_DEPS = False

LLVM_BIN = os.path.join(os.environ.get("MAFAT_LLVM_ROOT", "/usr/lib/llvm-22"), "bin")
MLIR_OPT = os.path.join(LLVM_BIN, "mlir-opt")
MAFAT_BIN = os.environ.get("MAFAT_BIN", os.path.join(REPO, "build", "bin"))
HAVE_MAFAT = all(os.access(os.path.join(MAFAT_BIN, t), os.X_OK) for t in ("mafat-compile", "mafat-run", "mafat-opt"))
NUMERIC = HAVE_MAFAT and os.environ.get("MAFAT_ONNX_NUMERIC", "1") != "0"
RTOL_OF_MAX = 1e-4
STD_RANGE = (1e-3, 1e3)


# ----------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------


@dataclass
class Case:
    """One small model: a torch module exported to ONNX, or a hand-built graph.

    ``make`` returns a torch module (``ref`` None) or an ``onnx.ModelProto``
    with ``ref`` computing the expected outputs from the NCHW inputs.
    """

    name: str
    make: Callable
    shapes: Sequence[Tuple[int, ...]]
    opset: int = 13
    layout: str = "nchw"
    ref: Optional[Callable] = None
    seed: int = 0
    expect_in_mlir: Sequence[str] = ()
    expect_not_in_mlir: Sequence[str] = ()


if HAVE_DEPS:

    def _seq(*mods):
        return nn.Sequential(*mods)

    def _bn(c):
        bn = nn.BatchNorm2d(c)
        with torch.no_grad():  # random statistics so folding errors show
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
        return bn

    class _Lambda(nn.Module):
        def __init__(self, fn, **mods):
            super().__init__()
            self.fn = fn
            for k, v in mods.items():
                setattr(self, k, v)

        def forward(self, *xs):
            return self.fn(self, *xs)

    class _SE(nn.Module):
        """Squeeze-and-excitation: per-channel Mul of two activations."""

        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(c, c, 3, padding=1)
            self.fc1 = nn.Conv2d(c, 4, 1)
            self.fc2 = nn.Conv2d(4, c, 1)
            self.scale = nn.Parameter(torch.rand(1, c, 1, 1) + 0.5)

        def forward(self, x):
            y = self.conv(x)
            s = torch.sigmoid(self.fc2(torch.relu(self.fc1(F.adaptive_avg_pool2d(y, 1)))))
            return (y * s) * self.scale + 0.25

    class _Shuffle(nn.Module):
        """ShuffleNet's channel shuffle: rank-5 reshape + transpose."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 1)

        def forward(self, x):
            y = self.conv(x)
            n, c, h, w = y.shape
            y = y.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)
            return torch.relu(y)

    class _TwoIO(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3, padding=1)
            self.b = nn.Conv2d(2, 4, 1)
            self.fc = nn.Linear(8, 5)

        def forward(self, x, z):
            y = torch.cat([self.a(x), self.b(z)], 1)
            return y, self.fc(y.mean((2, 3)))

    def _hand_opset9():
        """Upsample-9, Pad-2 attributes, Clip-6 attributes, Dropout, Identity, Sum."""
        from onnx import TensorProto, helper, numpy_helper

        scales = numpy_helper.from_array(np.array([1, 1, 2, 3], np.float32), "scales")
        nodes = [
            helper.make_node("Pad", ["x"], ["p"], name="pad", mode="constant", pads=[0, 0, 1, 0, 0, 0, 0, 2],
                             value=0.5),
            helper.make_node("Clip", ["p"], ["c"], name="clip", min=-0.5, max=0.75),
            helper.make_node("Dropout", ["c"], ["d"], name="drop", ratio=0.3),
            helper.make_node("Identity", ["d"], ["i"], name="ident"),
            helper.make_node("Upsample", ["i", "scales"], ["u"], name="up", mode="nearest"),
            helper.make_node("Sum", ["u", "u", "u"], ["y"], name="sum3"),
        ]
        g = helper.make_graph(nodes, "hand9", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 12, 18])],
                              initializer=[scales])
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)])

    def _ref_opset9(x):
        p = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 2)), constant_values=0.5)
        c = np.clip(p, -0.5, 0.75)
        u = c.repeat(2, axis=2).repeat(3, axis=3)
        return [u + u + u]

    def _hand_gemm():
        """Gemm with transB=0, alpha, beta and a (1, N) C; MatMul of two activations; a 4-row Gemm."""
        from onnx import TensorProto, helper, numpy_helper

        rng = np.random.default_rng(3)
        b = numpy_helper.from_array(rng.standard_normal((6, 4)).astype(np.float32), "B")
        c = numpy_helper.from_array(rng.standard_normal((1, 4)).astype(np.float32), "C")
        b2 = numpy_helper.from_array(rng.standard_normal((3, 4)).astype(np.float32), "B2")
        nodes = [
            helper.make_node("Gemm", ["x", "B", "C"], ["g"], name="gemm", alpha=0.5, beta=2.0),
            helper.make_node("Transpose", ["g"], ["gt"], name="t", perm=[1, 0]),
            helper.make_node("MatMul", ["gt", "g"], ["o"], name="outer"),
            helper.make_node("Gemm", ["o", "B2"], ["y"], name="rows", transB=1),  # M = 4 rows
        ]
        g = helper.make_graph(nodes, "gemm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 3])], initializer=[b, c, b2])
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

    def _ref_gemm(x):
        rng = np.random.default_rng(3)
        b = rng.standard_normal((6, 4)).astype(np.float32)
        c = rng.standard_normal((1, 4)).astype(np.float32)
        b2 = rng.standard_normal((3, 4)).astype(np.float32)
        g = 0.5 * (x.astype(np.float64) @ b) + 2.0 * c
        return [(g.T @ g) @ b2.T]

    def _hand_shape_graph():
        """An exporter-style shape sub-graph (Shape, Gather, Unsqueeze, Slice, Cast, Concat,
        ConstantOfShape) that must fold to constants: Reshape by it, Mul by a ConstantOfShape."""
        from onnx import TensorProto, helper, numpy_helper

        i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)  # noqa: E731
        two = helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])
        nodes = [
            helper.make_node("Shape", ["x"], ["s"], name="shape"),
            helper.make_node("Gather", ["s", "idx"], ["c"], name="gather", axis=0),
            helper.make_node("Cast", ["c"], ["ci"], name="cast", to=TensorProto.INT64),
            helper.make_node("Unsqueeze", ["ci", "zero"], ["u"], name="unsq"),
            helper.make_node("Slice", ["s", "two_i", "four"], ["hw"], name="slice"),
            helper.make_node("ReduceProd", ["hw"], ["p"], name="prod", keepdims=1),
            helper.make_node("Concat", ["one", "u", "p"], ["shape"], name="concat", axis=0),
            helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
            helper.make_node("Relu", ["r"], ["a"], name="relu"),
            helper.make_node("ConstantOfShape", ["u"], ["k"], name="cos", value=two),
            helper.make_node("Unsqueeze", ["k", "one"], ["k2"], name="unsq2"),
            helper.make_node("Mul", ["a", "k2"], ["y"], name="mul"),
        ]
        g = helper.make_graph(nodes, "shapes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 20])],
                              initializer=[i64("one", [1]), i64("zero", [0]), i64("two_i", [2]), i64("four", [4]),
                                           i64("idx", 1)])
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

    def _ref_shape_graph(x):
        return [np.maximum(x.reshape(1, 3, 20), 0) * 2.0]

    CASES: List[Case] = [
        Case("conv_asym_pad", lambda: _seq(nn.ZeroPad2d((1, 2, 0, 1)), nn.Conv2d(4, 8, 3)), [(1, 4, 9, 10)],
             expect_in_mlir=["low[0, 0, 1, 0] high[0, 1, 2, 0]"]),
        Case("pad_value_relu", lambda: _Lambda(lambda s, x: torch.relu(s.c(F.pad(x, (2, 1, 1, 0), value=-0.5))),
                                               c=nn.Conv2d(3, 5, 3, stride=2)), [(1, 3, 11, 8)], opset=11),
        Case("conv_stride_dilation", lambda: _seq(nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2), nn.ReLU()),
             [(1, 4, 13, 12)]),
        Case("conv_bn_relu", lambda: _seq(nn.Conv2d(3, 8, 3, padding=1, bias=False), _bn(8), nn.ReLU()),
             [(1, 3, 10, 10)], expect_not_in_mlir=["BatchNormalization", '/2/Relu"']),
        Case("conv_groups", lambda: _seq(nn.Conv2d(8, 12, 3, padding=1, groups=4), _bn(12), nn.LeakyReLU(0.2)),
             [(1, 8, 7, 9)], expect_in_mlir=["tensor.extract_slice", "tensor.concat"]),
        Case("depthwise_bn_relu6", lambda: _seq(nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False),
                                                _bn(8), nn.ReLU6()), [(1, 8, 12, 12)],
             expect_in_mlir=["linalg.depthwise_conv_2d_nhwc_hwc", "arith.minimumf"]),
        Case("depthwise_multiplier", lambda: _seq(nn.Conv2d(4, 8, 3, padding=1, groups=4)), [(1, 4, 6, 6)]),
        Case("maxpool_ceil", lambda: _seq(nn.Conv2d(4, 4, 1), nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)),
             [(1, 4, 10, 10)]),
        Case("maxpool_ceil_drop_last", lambda: _seq(nn.MaxPool2d(2, 3, padding=1, ceil_mode=True)), [(1, 3, 4, 7)]),
        Case("maxpool_dilation", lambda: _seq(nn.MaxPool2d(3, 1, padding=1, dilation=2)), [(1, 3, 9, 8)]),
        Case("avgpool_ceil_include_pad", lambda: _seq(nn.AvgPool2d(3, 2, padding=1, ceil_mode=True)),
             [(1, 3, 10, 9)]),
        Case("avgpool_exclude_pad", lambda: _seq(nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)),
             [(1, 3, 9, 9)]),
        Case("avgpool_ceil_exclude_pad", lambda: _seq(nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)),
             [(1, 3, 7, 7)]),
        Case("activations", lambda: _seq(nn.Conv2d(3, 6, 3), nn.Hardswish(), nn.Conv2d(6, 6, 1), nn.Hardsigmoid(),
                                         nn.Conv2d(6, 6, 1), nn.Sigmoid(), nn.Conv2d(6, 6, 1), nn.LeakyReLU(0.1),
                                         nn.Conv2d(6, 6, 1), nn.Hardtanh(-0.5, 1.5), nn.Tanh(), nn.Conv2d(6, 6, 1),
                                         nn.SiLU()), [(1, 3, 8, 8)], expect_not_in_mlir=['"/12/Sigmoid"', "/12/Mul"],
             opset=11),
        Case("relu6_clip_opset9", lambda: _seq(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU6()), [(1, 3, 6, 6)], opset=9),
        Case("bn_standalone", lambda: _Lambda(lambda s, x: s.bn(s.pool(x) + 1.0), pool=nn.MaxPool2d(2),
                                              bn=_bn(5)), [(1, 5, 8, 8)]),
        Case("squeeze_excite", lambda: _SE(6), [(1, 6, 8, 8)]),
        Case("concat_flatten_gemm", lambda: _Lambda(
            lambda s, x: s.fc(torch.flatten(torch.cat([s.a(x), s.b(x)], 1), 1)),
            a=nn.Conv2d(3, 4, 3, stride=2), b=nn.Conv2d(3, 2, 3, stride=2), fc=nn.Linear(6 * 4 * 4, 10)),
             [(1, 3, 10, 10)]),
        Case("flatten_relu_matmul", lambda: _Lambda(
            lambda s, x: torch.relu(torch.flatten(s.c(x), 1)) @ s.w,
            c=nn.Conv2d(2, 3, 3), w=nn.Parameter(torch.randn(3 * 4 * 5, 7) * 0.2)), [(1, 2, 6, 7)]),
        Case("resize_nearest", lambda: _Lambda(
            lambda s, x: torch.cat([F.interpolate(s.c(x), scale_factor=2, mode="nearest"), s.d(x)], 1),
            c=nn.Conv2d(3, 4, 3, stride=2, padding=1), d=nn.Conv2d(3, 2, 1)), [(1, 3, 8, 10)],
             expect_in_mlir=["tensor.collapse_shape"]),
        Case("resize_sizes_opset11", lambda: _Lambda(lambda s, x: F.interpolate(x, size=(12, 6), mode="nearest")),
             [(1, 2, 4, 3)], opset=11),
        Case("softmax", lambda: _seq(nn.Flatten(), nn.Linear(3 * 4 * 4, 10), nn.Softmax(dim=1)), [(1, 3, 4, 4)],
             expect_in_mlir=['"reduction"']),
        Case("softmax_channels_logsoftmax", lambda: _Lambda(
            lambda s, x: (F.softmax(s.c(x), dim=1), F.log_softmax(x.flatten(1), dim=1)), c=nn.Conv2d(3, 5, 1)),
             [(1, 3, 4, 6)]),
        Case("channel_shuffle", lambda: _Shuffle(), [(1, 8, 5, 6)]),
        Case("reduce_slice_split", lambda: _Lambda(
            lambda s, x: (x.mean((2, 3)), x[:, 1:, 2:, ::2].amax(dim=2, keepdim=True), *torch.chunk(x, 2, dim=3))),
             [(1, 3, 6, 8)]),
        Case("two_inputs_outputs", lambda: _TwoIO(), [(1, 3, 6, 6), (1, 2, 6, 6)]),
        Case("layout_nhwc", lambda: _seq(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
             [(1, 3, 8, 8)], layout="nhwc", expect_not_in_mlir=["linalg.transpose"]),
        Case("hand_opset9", _hand_opset9, [(1, 3, 5, 4)], opset=9, ref=_ref_opset9),
        Case("hand_gemm_matmul", _hand_gemm, [(1, 6)], ref=_ref_gemm),
        Case("hand_shape_subgraph", _hand_shape_graph, [(1, 3, 4, 5)], ref=_ref_shape_graph,
             expect_not_in_mlir=['loc("shape"', 'loc("gather"', 'loc("cos"', 'loc("concat"']),
    ]
else:  # pragma: no cover
    CASES = []

CASE_BY_NAME = {c.name: c for c in CASES}


# ----------------------------------------------------------------------------
# Running a case
# ----------------------------------------------------------------------------


def quiet_export(module, args, path: str, opset: int, **kw) -> None:
    """torch.onnx.export in eval mode, BatchNorm kept (PRESERVE), no chatter."""
    buf = io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(buf), redirect_stderr(buf):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, path, opset_version=opset,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True, **kw)


@dataclass
class Prepared:
    onnx_path: str
    inputs: List[np.ndarray]  # NCHW (as the ONNX model takes them)
    refs: List[np.ndarray]  # ONNX layout


def prepare(case: Case, workdir: str) -> Prepared:
    """Export (or build) the case's ONNX model and compute the reference."""
    torch.manual_seed(case.seed)
    rng = np.random.default_rng(case.seed + 100)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in case.shapes]
    path = os.path.join(workdir, case.name + ".onnx")
    if case.ref is None:
        module = case.make().eval()
        xs = tuple(torch.from_numpy(a) for a in inputs)
        quiet_export(module, xs if len(xs) > 1 else xs[0], path, case.opset)
        with torch.no_grad():
            ys = module(*xs)
        ys = ys if isinstance(ys, (tuple, list)) else (ys,)
        refs = [y.numpy().astype(np.float32) for y in ys]
    else:
        onnx.save(case.make(), path)
        refs = [np.asarray(r, np.float32) for r in case.ref(*inputs)]
    return Prepared(path, inputs, refs)


def to_layout(a: np.ndarray, layout: str) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if layout == "nhwc" and a.ndim == 4 else a


def compare(out: np.ndarray, ref: np.ndarray) -> Tuple[float, float]:
    """(max|out - ref| / max|ref|, std(ref))."""
    ref64 = ref.astype(np.float64)
    m = float(np.max(np.abs(ref64)))
    return float(np.max(np.abs(out.astype(np.float64) - ref64))) / (m or 1.0), float(np.std(ref64))


def compile_and_run(mlir_path: str, inputs: List[np.ndarray], n_out: int, workdir: str, stem: str,
                    bin_dir: str = MAFAT_BIN) -> List[np.ndarray]:
    so = os.path.join(workdir, stem + ".so")
    p = subprocess.run([os.path.join(bin_dir, "mafat-compile"), mlir_path, "-o", so],
                       capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise RuntimeError(f"mafat-compile failed:\n{p.stderr[-3000:]}")
    cmd = [os.path.join(bin_dir, "mafat-run"), so, "--repeat", "1", "--warmup", "0"]
    outs = []
    for j, a in enumerate(inputs):
        f = os.path.join(workdir, f"{stem}_in{j}.npy")
        np.save(f, a)
        cmd += ["--input", f]
    for j in range(n_out):
        outs.append(os.path.join(workdir, f"{stem}_out{j}.npy"))
        cmd += ["--output", outs[-1]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise RuntimeError(f"mafat-run failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return [np.load(f) for f in outs]


def run_case(case: Case, workdir: str, numeric: bool = True, bin_dir: str = MAFAT_BIN):
    """Import (and compile/run) one case; returns (mlir text, [(rel err, std) per output])."""
    from mafat.importers.onnx import import_onnx

    prep = prepare(case, workdir)
    text = import_onnx(prep.onnx_path, layout=case.layout)
    mlir_path = os.path.join(workdir, case.name + ".mlir")
    with open(mlir_path, "w") as f:
        f.write(text)
    results = []
    if numeric:
        ins = [to_layout(a, case.layout) for a in prep.inputs]
        outs = compile_and_run(mlir_path, ins, len(prep.refs), workdir, case.name, bin_dir)
        for o, r in zip(outs, prep.refs):
            r = to_layout(r, case.layout)
            if o.shape != r.shape:
                raise AssertionError(f"{case.name}: output shape {o.shape}, reference {r.shape}")
            results.append(compare(o, r))
    return text, results


# ----------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------


def mlir_tool(tool: str, text: str, *flags: str) -> subprocess.CompletedProcess:
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        return subprocess.run([tool, path, *flags], capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(path)


def statements(mlir: str) -> List[str]:
    """Top-level statements of the function body (multi-line ops joined)."""
    body = mlir.split("func.func", 1)[1].split("\n  }\n", 1)[0]
    stmts: List[str] = []
    for line in body.splitlines()[1:]:
        if re.match(r"    (%|return)", line):
            stmts.append(line)
        elif stmts:
            stmts[-1] += "\n" + line
    return stmts


LAYER_OP = re.compile(r"= (linalg\.[a-z_0-9]+|tensor\.(?:pad|concat|collapse_shape|expand_shape|extract_slice)) ")


@unittest.skipUnless(HAVE_DEPS, "needs torch and onnx")
class CaseTests(unittest.TestCase):
    """Every case: structure always, numerics through mafat when available."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mafat-onnx-")
        torch.set_num_threads(1)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_case(self, case: Case):
        text, results = run_case(case, self.tmp.name, numeric=NUMERIC)
        if os.access(MLIR_OPT, os.X_OK):
            p = mlir_tool(MLIR_OPT, text, "-o", os.devnull)
            self.assertEqual(p.returncode, 0, f"mlir-opt rejected the import of {case.name}:\n{p.stderr[-3000:]}")
        if HAVE_MAFAT:
            p = mlir_tool(os.path.join(MAFAT_BIN, "mafat-opt"), text, "--mafat-normalize", "-o", os.devnull)
            self.assertEqual(p.returncode, 0, f"not canonical ({case.name}):\n{p.stderr[-3000:]}")
        for stmt in statements(text):
            if LAYER_OP.search(stmt.split("\n", 1)[0]):
                self.assertRegex(stmt, r'loc\("[^"]+"\)\s*$', f"{case.name}: op without a name: {stmt[:300]}")
        self.assertNotRegex(text, r'loc\("L\d+:', "emitter-style names leaked")
        for s in case.expect_in_mlir:
            self.assertIn(s, text, f"{case.name}: expected {s!r} in the MLIR")
        for s in case.expect_not_in_mlir:
            self.assertNotIn(s, text, f"{case.name}: did not expect {s!r} in the MLIR")
        for j, (rel, std) in enumerate(results):
            self.assertTrue(STD_RANGE[0] <= std <= STD_RANGE[1], f"{case.name} output {j}: reference std {std:g}")
            self.assertLessEqual(rel, RTOL_OF_MAX, f"{case.name} output {j}: max|err|/max|ref| = {rel:.3e}")


def _make_test(case: Case):
    def test(self):
        self.check_case(case)

    test.__doc__ = f"ONNX case {case.name} (opset {case.opset}, layout {case.layout})"
    return test


for _c in CASES:
    setattr(CaseTests, f"test_{_c.name}", _make_test(_c))


@unittest.skipUnless(HAVE_DEPS, "needs torch and onnx")
class StructureTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mafat-onnx-s-")
        cls.dir = cls.tmp.name

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def imp(self, case_name: str, **kw) -> str:
        from mafat.importers.onnx import import_onnx

        prep = prepare(CASE_BY_NAME[case_name], self.dir)
        return import_onnx(prep.onnx_path, **kw)

    def test_interface_attributes(self):
        text = self.imp("two_inputs_outputs")
        self.assertIn("func.func @two_inputs_outputs(%arg0: tensor<1x3x6x6xf32>, %arg1: tensor<1x2x6x6xf32>) -> "
                      "(tensor<1x8x6x6xf32>, tensor<1x5xf32>)", text)
        self.assertIn('mafat.input_layouts = ["NCHW", "NCHW"]', text)
        self.assertIn('mafat.output_layouts = ["NCHW", "NC"]', text)
        self.assertRegex(text, r'mafat\.input_names = \["[^"]+", "[^"]+"\]')
        self.assertIn("permutation = [0, 2, 3, 1]", text)  # inputs to NHWC
        self.assertIn("permutation = [0, 3, 1, 2]", text)  # rank-4 output back to NCHW

    def test_nhwc_layout(self):
        text = self.imp("two_inputs_outputs", layout="nhwc")
        self.assertIn("(%arg0: tensor<1x6x6x3xf32>, %arg1: tensor<1x6x6x2xf32>) -> "
                      "(tensor<1x6x6x8xf32>, tensor<1x5xf32>)", text)
        self.assertIn('mafat.input_layouts = ["NHWC", "NHWC"]', text)
        self.assertIn('mafat.output_layouts = ["NHWC", "NC"]', text)
        self.assertNotIn("linalg.transpose", text)

    def test_func_name_and_resources(self):
        from mafat.importers.onnx import import_onnx

        prep = prepare(CASE_BY_NAME["conv_bn_relu"], self.dir)
        small = import_onnx(prep.onnx_path, resource_threshold=64)
        self.assertIn("func.func @conv_bn_relu(", small)
        self.assertIn("dense_resource<", small)
        self.assertIn("dialect_resources", small)
        self.assertNotIn("dense_resource<", import_onnx(prep.onnx_path))
        self.assertIn("func.func @my_net(", import_onnx(prep.onnx_path, func_name="my_net"))

    def test_node_names(self):
        text = self.imp("conv_bn_relu")
        # conv + folded BN + fused ReLU: the conv node names them all.
        self.assertRegex(text, r'linalg\.conv_2d_nhwc_hwcf .* loc\("/0/Conv"\)')
        self.assertRegex(text, r'loc\("/0/Conv\.pad"\)')
        self.assertRegex(text, r'loc\("/0/Conv\.fill"\)')
        self.assertRegex(text, r'loc\("/0/Conv\.relu"\)')
        self.assertIn('loc("input.1.to_nhwc")', text)

    def test_escaped_names(self):
        from mafat.importers.onnx_ops import mlir_string

        self.assertEqual(mlir_string('a"b\\c'), '"a\\"b\\\\c"')
        self.assertEqual(mlir_string("é"), '"\\C3\\A9"')

    def test_unsupported_op(self):
        # GELU exports as x * 0.5 * (1 + Erf(x / sqrt 2)); Erf is not supported.
        from mafat.importers.onnx import import_onnx

        path = os.path.join(self.dir, "gelu.onnx")
        quiet_export(_seq(nn.Conv2d(3, 3, 1), nn.GELU()).eval(), torch.randn(1, 3, 4, 4), path, 13)
        with self.assertRaises(ImporterError) as cm:
            import_onnx(path)
        self.assertRegex(str(cm.exception), r"^node '/1/Erf' \(Erf\): unsupported op$")

    def test_unsupported_attribute_value(self):
        from mafat.importers.onnx import import_onnx

        path = os.path.join(self.dir, "reflect.onnx")
        quiet_export(_Lambda(lambda s, x: F.pad(x, (1, 1, 1, 1), mode="reflect")).eval(),
                     torch.randn(1, 3, 4, 4), path, 13)
        with self.assertRaises(ImporterError) as cm:
            import_onnx(path)
        self.assertRegex(str(cm.exception), r"^node '[^']*Pad[^']*' \(Pad\): mode 'reflect' is not supported")
        path = os.path.join(self.dir, "bilinear.onnx")
        quiet_export(_Lambda(lambda s, x: F.interpolate(x, scale_factor=2, mode="bilinear")).eval(),
                     torch.randn(1, 3, 4, 4), path, 13)
        with self.assertRaises(ImporterError) as cm:
            import_onnx(path)
        self.assertRegex(str(cm.exception), r"\(Resize\): mode 'linear' is not supported")

    def test_dynamic_dims(self):
        from mafat.importers.onnx import import_onnx

        path = os.path.join(self.dir, "dyn.onnx")
        quiet_export(_seq(nn.Conv2d(3, 3, 1)).eval(), torch.randn(1, 3, 4, 4), path, 13,
                     input_names=["image"], dynamic_axes={"image": {0: "batch"}})
        with self.assertRaises(ImporterError) as cm:
            import_onnx(path)
        self.assertIn("graph input 'image': dynamic dimension 'batch'", str(cm.exception))
        path = os.path.join(self.dir, "batch2.onnx")
        quiet_export(_seq(nn.Conv2d(3, 3, 1)).eval(), torch.randn(2, 3, 4, 4), path, 13)
        with self.assertRaises(ImporterError) as cm:
            import_onnx(path)
        self.assertIn("batch 2, mafat supports batch 1 only", str(cm.exception))

    def test_truncated_and_corrupt_files(self):
        from mafat.importers.onnx import import_onnx

        path = os.path.join(self.dir, "full.onnx")
        quiet_export(_seq(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3)).eval(), torch.randn(1, 3, 8, 8),
                     path, 13)
        with open(path, "rb") as f:
            data = f.read()
        for cut in (len(data) // 3, len(data) // 2, len(data) - 7, 10):
            bad = os.path.join(self.dir, f"cut{cut}.onnx")
            with open(bad, "wb") as f:
                f.write(data[:cut])
            with self.assertRaises(ImporterError, msg=f"cut at {cut}") as cm:
                import_onnx(bad)
            self.assertIn("truncated or corrupt", str(cm.exception))
        junk = os.path.join(self.dir, "junk.onnx")
        with open(junk, "wb") as f:
            f.write(b"\x00\xffnot an onnx model\xff" * 10)
        with self.assertRaises(ImporterError):
            import_onnx(junk)
        with self.assertRaises(ImporterError) as cm:
            import_onnx(os.path.join(self.dir, "missing.onnx"))
        self.assertIn("no such file", str(cm.exception))
        with self.assertRaises(ImporterError):
            import_onnx(path, layout="nwhc")

    def test_non_constant_weights(self):
        from mafat.importers.onnx import import_onnx

        path = os.path.join(self.dir, "dynw.onnx")
        quiet_export(_Lambda(lambda s, x, w: F.conv2d(x, w)).eval(),
                     (torch.randn(1, 3, 4, 4), torch.randn(1, 3, 1, 1)), path, 13)
        with self.assertRaises(ImporterError) as cm:
            import_onnx(path)
        self.assertRegex(str(cm.exception), r"\(Conv\): weights must be a constant")


if __name__ == "__main__":
    unittest.main()
