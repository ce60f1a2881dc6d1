"""Tests for the canonical-form MLIR emitter and the fixed test models.

Run from the repository root::

    PYTHONPATH=python /usr/bin/python3 -m unittest discover -s python/tests

Two kinds of checks, both independent of mafat's own compiler:

* structure: every fixed model parses and verifies with upstream
  ``mlir-opt``; layer ops carry ``loc("L<i>:<kind>")``; big weights become
  ``dense_resource`` blobs; float literals round-trip bit-exactly through the
  MLIR parser;
* numerics: the emitted MLIR is lowered with stock upstream passes, JIT-run
  with ``mlir-runner`` (:mod:`mafat.reference.upstream`) and compared with the PyTorch
  reference: max|err| <= 1e-4 * max|ref|, with the reference's std checked to
  be in a range where that comparison means something.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from mafat import mlir_emitter as E
from mafat.models import (
    MODELS,
    Activation,
    AvgPool,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    DepthwiseConv2d,
    MaxPool,
    Model,
    build_model,
)
from mafat.reference.upstream import LLVM_BIN, run_upstream

MLIR_OPT = os.path.join(LLVM_BIN, "mlir-opt")
HAVE_MLIR = os.access(MLIR_OPT, os.X_OK) and os.access(os.path.join(LLVM_BIN, "mlir-runner"), os.X_OK)
try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:  # pragma: no cover - the Debian python3 has it
    HAVE_TORCH = False

RTOL_OF_MAX = 1e-4
LAYER_OPS = re.compile(r"= (linalg\.[a-z_0-9]+|tensor\.(?:pad|concat|collapse_shape)) ")


def mlir_opt(text: str, *flags: str) -> subprocess.CompletedProcess:
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        return subprocess.run([MLIR_OPT, path, *flags], capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(path)


def statements(mlir: str):
    """Top-level statements of the function body (multi-line ops joined)."""
    body = mlir.split("func.func", 1)[1]
    stmts, cur = [], []
    for line in body.splitlines()[1:]:
        if re.match(r"    (%|return)", line):
            if cur:
                stmts.append("\n".join(cur))
            cur = [line]
        elif cur:
            cur.append(line)
    if cur:
        stmts.append("\n".join(cur))
    return stmts


def multi_io_model(seed: int = 7) -> Model:
    """Two inputs, two outputs, and the layer variants the fixed models skip."""
    rng = np.random.default_rng(seed)

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    layers = [
        Concat(src=("a", "b")),  # L0 8x8x8
        Conv2d(w=he((3, 3, 8, 8), 72), b=he(8, 8) * 0.1, pad=(1, 1, 0, 2), act="relu"),  # L1 asym W pad
        DepthwiseConv2d(w=he((3, 3, 8), 9), b=he(8, 8) * 0.1, stride=2, pad=(1, 0, 1, 0), act="relu6"),  # L2 4x4
        BatchNorm(gamma=np.linspace(0.5, 1.5, 8, dtype=np.float32), beta=np.full(8, 0.1, np.float32),
                  mean=np.full(8, 0.2, np.float32), var=np.linspace(0.5, 2.0, 8, dtype=np.float32),
                  act=("leaky", 0.2)),  # L3
        Activation(act="identity"),  # L4 emits nothing
        MaxPool(k=3, s=1, pad=1),  # L5 symmetric -inf padding
        AvgPool(k=2, s=2),  # L6 2x2
        Dense(w=he((2 * 2 * 8, 5), 32), b=he(5, 5) * 0.1, act="sigmoid"),  # L7 NHWC flatten of a 2x2x8
    ]
    return Model("multi_io", [("a", (1, 8, 8, 4)), ("b", (1, 8, 8, 4))], layers,
                 outputs=[("feat", 5), ("prob", -1)])


class FormatTest(unittest.TestCase):
    def test_format_f32_roundtrips_through_double(self):
        rng = np.random.default_rng(0)
        vals = np.concatenate([
            rng.standard_normal(2000).astype(np.float32),
            (rng.standard_normal(200) * 1e-40).astype(np.float32),  # subnormals
            np.array([0.0, -0.0, 1.0, 0.1, 3.4028235e38, 1.1754944e-38, 1e-45], np.float32),
            rng.integers(0, 2**32, 2000, dtype=np.uint64).astype(np.uint32).view(np.float32),
        ])
        for v in vals:
            s = E.format_f32(v)
            if np.isfinite(v):
                self.assertEqual(np.float32(float(s)).tobytes(), v.tobytes(), s)
            else:
                self.assertTrue(s.startswith("0x"), s)

    def test_normalize_pad(self):
        self.assertEqual(E.normalize_pad(1), (1, 1, 1, 1))
        self.assertEqual(E.normalize_pad((1, 2)), (1, 1, 2, 2))
        self.assertEqual(E.normalize_pad((0, 1, 2, 3)), (0, 1, 2, 3))
        self.assertEqual(E.window_out_size(16, 3, 2, 1, 0, 1), 8)
        self.assertEqual(E.window_out_size(16, 3, 1, 2, 2, 2), 16)


@unittest.skipUnless(HAVE_MLIR, "needs mlir-opt/mlir-runner from LLVM 22")
class StructureTest(unittest.TestCase):
    def test_fixed_models_parse_and_verify(self):
        for name in MODELS:
            with self.subTest(model=name):
                p = mlir_opt(build_model(name).to_mlir(), "-o", os.devnull)
                self.assertEqual(p.returncode, 0, p.stderr[-3000:])

    def test_float_literals_exact_through_mlir_parser(self):
        # Parse inline decimal literals with MLIR and have it print the
        # attribute as hex: the bytes must be the original f32 bits.
        rng = np.random.default_rng(1)
        a = np.concatenate([rng.standard_normal(500), rng.standard_normal(20) * 1e-41,
                            [0.1, -0.0, 6.0, 3.4028235e38]]).astype(np.float32)
        em = E.MlirEmitter("lit", resource_threshold=1 << 30)
        x = em.input((1, 1, 1, a.size))
        em.output(em.add(x, em.constant(a.reshape(1, 1, 1, -1), "vals")))
        p = mlir_opt(em.to_mlir(), "--mlir-print-elementsattrs-with-hex-if-larger=1")
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(r'dense<"0x([0-9A-F]+)"> : tensor<1x1x1x%dxf32>' % a.size, p.stdout)
        self.assertIsNotNone(m, p.stdout[:2000])
        self.assertEqual(bytes.fromhex(m.group(1)), a.astype("<f4").tobytes())

    def test_func_signature_and_names(self):
        text = multi_io_model().to_mlir()
        self.assertIn(
            "func.func @multi_io(%arg0: tensor<1x8x8x4xf32>, %arg1: tensor<1x8x8x4xf32>) -> "
            "(tensor<1x4x4x8xf32>, tensor<1x5xf32>) attributes "
            '{mafat.input_names = ["a", "b"], mafat.output_names = ["feat", "prob"]}',
            text,
        )
        p = mlir_opt(text, "-o", os.devnull)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])

    def test_every_layer_op_has_a_layer_location(self):
        for name in list(MODELS) + ["multi_io"]:
            model = multi_io_model() if name == "multi_io" else build_model(name)
            for st in statements(model.to_mlir()):
                if LAYER_OPS.search(st.splitlines()[0]):
                    with self.subTest(model=name, op=st.splitlines()[0][:80]):
                        self.assertRegex(st.rstrip(), r'loc\("L\d+:[a-z0-9_]+"\)$')

    def test_tiny_cnn_layer_kinds(self):
        locs = re.findall(r'loc\("(L\d+:[a-z0-9_]+)"\)', build_model("tiny_cnn").to_mlir())
        for expected in ["L0:pad", "L0:conv", "L0:leaky", "L1:maxpool", "L2:pad", "L2:conv",
                         "L2:relu", "L3:conv", "L3:relu6"]:
            self.assertIn(expected, locs)
        self.assertNotIn("L3:pad", locs)  # 1x1 conv: no padding op

    def test_large_weights_use_dense_resource(self):
        model = build_model("conv64")
        text = model.to_mlir()
        self.assertIn("arith.constant dense_resource<L0_filter> : tensor<3x3x64x64xf32>", text)
        m = re.search(r'L0_filter: "0x([0-9A-F]+)"', text)
        self.assertIsNotNone(m)
        blob = bytes.fromhex(m.group(1))
        self.assertEqual(blob[:4], b"\x04\x00\x00\x00")  # alignment header
        self.assertEqual(blob[4:], model.layers[0].w.astype("<f4").tobytes())
        # The 256-byte bias stays inline.
        self.assertRegex(text, r"arith\.constant dense<\[.*\]> : tensor<64xf32>")

    def test_emitter_rejects_bad_shapes(self):
        em = E.MlirEmitter("bad")
        x = em.input((1, 8, 8, 4))
        with self.assertRaises(ValueError):
            em.conv2d(x, np.zeros((3, 3, 5, 8), np.float32))
        with self.assertRaises(ValueError):
            em.add(x, em.maxpool(x, 2))
        with self.assertRaises(ValueError):
            em.activation(x, "gelu")


@unittest.skipUnless(HAVE_MLIR and HAVE_TORCH, "needs LLVM 22 MLIR tools and torch")
class UpstreamNumericsTest(unittest.TestCase):
    """Emitted MLIR, run by upstream MLIR, against the PyTorch reference."""

    def check(self, model: Model, seed: int = 0, **emit_kw):
        from mafat.reference import compare, run_reference

        inputs = model.random_inputs(seed)
        refs = run_reference(model, inputs)
        outs = run_upstream(model.to_mlir(**emit_kw), inputs)
        self.assertEqual(len(outs), len(refs))
        results = []
        for j, (out, ref) in enumerate(zip(outs, refs)):
            # A reference that vanished or exploded would make the relative
            # check meaningless.
            self.assertTrue(1e-3 < float(ref.std()) < 1e3, f"{model.name} output {j}: std {ref.std()}")
            c = compare(out, ref, RTOL_OF_MAX)
            print(f"\n  {model.name}[{j}] {ref.shape}: std {ref.std():.3f}, {c}", file=sys.stderr, end="")
            self.assertTrue(c.passed, f"{model.name} output {j}: {c}")
            results.append(out)
        return results

    def test_fixed_models(self):
        for name in MODELS:
            with self.subTest(model=name):
                self.check(build_model(name))

    def test_multi_input_multi_output(self):
        self.check(multi_io_model(), seed=3)

    def test_resources_and_inline_constants_agree(self):
        model = build_model("dw_net")
        inline = self.check(model)
        blobs = self.check(model, resource_threshold=0)  # every constant as a blob
        for a, b in zip(inline, blobs):
            np.testing.assert_array_equal(a, b)

    def test_comparison_detects_a_wrong_weight(self):
        # Negative control: one perturbed weight must fail the tolerance.
        from mafat.reference import compare, run_reference

        model = build_model("tiny_cnn")
        inputs = model.random_inputs(0)
        out = run_upstream(model.to_mlir(), inputs)[0]
        model.layers[2].w[1, 1, 3, 5] += 0.02
        self.assertFalse(compare(out, run_reference(model, inputs)[0], RTOL_OF_MAX).passed)


@unittest.skipUnless(HAVE_TORCH, "needs torch")
class CliTest(unittest.TestCase):
    def test_make_model_writes_mlir_input_and_reference(self):
        env = dict(os.environ)
        pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__import__("mafat").__file__)))
        env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
        with tempfile.TemporaryDirectory() as d:
            out, inp, ref = (os.path.join(d, f) for f in ("m.mlir", "in.npy", "ref.npy"))
            p = subprocess.run(
                [sys.executable, "-m", "mafat.make_model", "tiny_cnn", "-o", out,
                 "--input-npy", inp, "--ref-npy", ref, "--seed", "5"],
                capture_output=True, text=True, env=env, timeout=300,
            )
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                self.assertIn("func.func @tiny_cnn(", f.read())
            x, y = np.load(inp), np.load(ref)
            self.assertEqual((x.dtype, x.shape), (np.float32, (1, 32, 32, 8)))
            self.assertEqual((y.dtype, y.shape), (np.float32, (1, 8, 8, 16)))
            model = build_model("tiny_cnn", 5)
            np.testing.assert_array_equal(x, model.random_inputs(5)[0])


if __name__ == "__main__":
    unittest.main()
