"""Tests for the Darknet importer (mafat.importers.darknet and friends).

Run from the repository root::

    PYTHONPATH=python /usr/bin/python3 -m unittest python/tests/test_darknet.py

What is checked here, without mafat's own compiler (the lit tests in
test/importers compile and run whole networks):

* cfg parsing (Darknet's whitespace/comment rules, aliases, errors);
* shapes of the cfgs shipped in ``models/darknet``;
* the ``.weights`` format: write/read round trip, both header variants,
  transposed connected weights, truncated files, leftover bytes;
* the layout ops against direct numpy ports of Darknet's C loops
  (``reorg_cpu``, ``upsample_cpu``, ``forward_maxpool_layer``), both as
  index plans and as emitted MLIR run by upstream ``mlir-runner``;
* a whole cfg with every supported section, emitted MLIR run upstream
  against the PyTorch reference (:mod:`mafat.reference.darknet_reference`);
* batch-norm folding, random-weight statistics over YOLOv2's 31 layers;
* the ``mafat-import`` CLI's exit codes and messages.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from mafat.importers import ImporterError
from mafat.importers import darknet as D
from mafat.importers.darknet_ops import DarknetEmitter, apply_plan, reorg_plan
from mafat.reference.upstream import LLVM_BIN, run_upstream

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
PY_DIR = os.path.join(REPO, "python")
CFG_DIR = os.path.join(REPO, "models", "darknet")
INPUTS = os.path.join(REPO, "test", "importers", "Inputs")
HAVE_MLIR = all(os.access(os.path.join(LLVM_BIN, t), os.X_OK) for t in ("mlir-opt", "mlir-runner"))
try:
    import torch

    HAVE_TORCH = True
except ImportError:  # pragma: no cover - the Debian python3 has it
    HAVE_TORCH = False


def darknet_cfg(name: str) -> str:
    return os.path.join(CFG_DIR, name)


# ----------------------------------------------------------------------------
# Direct numpy ports of Darknet's C loops (src/blas.c, upsample_layer.c,
# maxpool_layer.c), kept as literal as possible: they are the oracle.
# ----------------------------------------------------------------------------


def reorg_cpu(x, w, h, c, batch, stride, forward):
    out = np.zeros_like(x)
    out_c = c // (stride * stride)
    for b in range(batch):
        for k in range(c):
            for j in range(h):
                for i in range(w):
                    in_index = i + w * (j + h * (k + c * b))
                    c2 = k % out_c
                    offset = k // out_c
                    w2 = i * stride + offset % stride
                    h2 = j * stride + offset // stride
                    out_index = w2 + w * stride * (h2 + h * stride * (c2 + out_c * b))
                    if forward:
                        out[out_index] = x[in_index]
                    else:
                        out[in_index] = x[out_index]
    return out


def upsample_cpu(inp, w, h, c, batch, stride, scale):
    out = np.zeros(batch * c * h * w * stride * stride, np.float32)
    for b in range(batch):
        for k in range(c):
            for j in range(h * stride):
                for i in range(w * stride):
                    in_index = b * w * h * c + k * w * h + (j // stride) * w + i // stride
                    out_index = b * w * h * c * stride * stride + k * w * h * stride * stride + j * w * stride + i
                    out[out_index] = scale * inp[in_index]
    return out


def forward_maxpool(inp, w, h, c, size, stride, pad):
    out_w = (w + pad - size) // stride + 1
    out_h = (h + pad - size) // stride + 1
    w_offset = h_offset = -(pad // 2)  # C: -l.pad/2 with pad >= 0
    out = np.zeros(c * out_h * out_w, np.float32)
    for k in range(c):
        for i in range(out_h):
            for j in range(out_w):
                best = -np.finfo(np.float32).max
                for n in range(size):
                    for m in range(size):
                        cur_h = h_offset + i * stride + n
                        cur_w = w_offset + j * stride + m
                        valid = 0 <= cur_h < h and 0 <= cur_w < w
                        val = inp[cur_w + w * (cur_h + h * k)] if valid else -np.finfo(np.float32).max
                        best = max(best, val)
                out[j + out_w * (i + out_h * k)] = best
    return out, out_h, out_w


def nhwc_to_flat(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2)).reshape(-1)


def net_from_text(text: str, name: str = "t", input_size=None) -> D.Network:
    return D.build_network(D.parse_cfg(text, name), input_size, name)


# ----------------------------------------------------------------------------


class CfgParseTest(unittest.TestCase):
    def test_darknet_whitespace_and_comments(self):
        secs = D.parse_cfg("[net]\n width = 4 \n height=4\n# c\n;c\n\n[conv]\nfilters = 8\n"
                           "anchors = 1, 2,  3\n[MaxPool]\nsize=2\n")
        self.assertEqual([s.type for s in secs], ["net", "convolutional", "maxpool"])
        self.assertEqual([s.index for s in secs], [-1, 0, 1])
        self.assertEqual(secs[0].options, {"width": "4", "height": "4"})
        self.assertEqual(secs[1].options["anchors"], "1,2,3")
        self.assertEqual(secs[1].raw, "conv")

    def test_errors(self):
        cases = {
            "filters=3\n[net]\n": "outside of any section",
            "[convolutional]\nfilters=3\n": "first section must be [net]",
            "[net]\nwidth\n[conv]\n": "expected key=value",
            "[net\n": "malformed section header",
            "": "no sections",
            "[net]\nwidth=3\n": "no layers",
        }
        for text, msg in cases.items():
            with self.subTest(text=text), self.assertRaisesRegex(ImporterError, re.escape(msg)):
                D.parse_cfg(text, "x.cfg")

    def test_unsupported_section_and_options(self):
        text = "[net]\nwidth=8\nheight=8\n[convolutional]\nfilters=2\n[lstm]\noutput=3\n"
        with self.assertRaisesRegex(ImporterError, r"layer 1 \[lstm\]: section type not supported"):
            net_from_text(text)
        bad = {
            "[convolutional]\nfilters=2\nactivation=elu\n": r"layer 0 \[convolutional\]: activation 'elu'",
            "[convolutional]\nfilters=2\nbinary=1\n": r"option binary=1 is not supported",
            "[convolutional]\nfilters=2\nsize=x\n": r"option size='x' is not an integer",
            "[convolutional]\nfilters=3\ngroups=2\n": r"groups=2 does not divide",
            "[reorg]\nstride=3\n": r"layer 0 \[reorg\]: stride=3 does not divide",
            "[reorg]\nstride=2\nreverse=1\n": r"reverse=1 is not supported",
            "[route]\nlayers=0\n": r"refers to layer 0, which is not an earlier layer",
            "[upsample]\nstride=-2\n": r"downsampling",
            "[softmax]\ngroups=3\n": r"groups=3 must divide",
            "[shortcut]\nfrom=-1\n": r"refers to layer -1",
        }
        for body, msg in bad.items():
            with self.subTest(body=body), self.assertRaisesRegex(ImporterError, msg):
                net_from_text("[net]\nwidth=8\nheight=8\nchannels=4\n" + body)

    def test_unknown_options_warn(self):
        net = net_from_text("[net]\nwidth=8\nheight=8\n[convolutional]\nfilters=2\nfoo=1\nlearning_rate=2\n")
        self.assertEqual(net.warnings, ["layer 0 [convolutional]: option 'foo' ignored"])

    def test_maxpool_and_conv_shapes(self):
        net = net_from_text("[net]\nwidth=13\nheight=13\nchannels=2\n"
                            "[maxpool]\nsize=2\nstride=1\n"  # 13 -> 13 (padding 1)
                            "[maxpool]\nsize=2\nstride=2\n"  # 13 -> 7 (Darknet rounds up)
                            "[maxpool]\nsize=3\nstride=2\npadding=0\n"  # 7 -> 3
                            "[convolutional]\nfilters=5\nsize=3\nstride=2\npad=1\n"  # 3 -> 2
                            "[convolutional]\nfilters=5\nsize=1\npad=1\n")  # pad=1 with size 1 is 0
        self.assertEqual([l.out_shape for l in net.layers], [(2, 13, 13), (2, 7, 7), (2, 3, 3), (5, 2, 2), (5, 2, 2)])

    def test_input_size_and_ranges(self):
        self.assertEqual(D.parse_input_size("320x416"), (320, 416))
        self.assertEqual(D.parse_input_size("224"), (224, 224))
        self.assertEqual(D.parse_layer_range("0-15", 32), (0, 15))
        self.assertEqual(D.parse_layer_range("7", 32), (0, 7))
        for bad, msg in (("5-2", "after LAST"), ("0-40", "has 32 layers"), ("a-b", "expected FIRST-LAST")):
            with self.subTest(bad=bad), self.assertRaisesRegex(ImporterError, msg):
                D.parse_layer_range(bad, 32)
        with self.assertRaisesRegex(ImporterError, "expected HxW"):
            D.parse_input_size("big")

    def test_darknet_cfg_shapes(self):
        y2 = D.load_network(darknet_cfg("yolov2.cfg"), (416, 416))
        self.assertEqual(len(y2.layers), 32)
        self.assertEqual(y2.layers[15].out_shape, (256, 26, 26))
        self.assertEqual(y2.layers[16].out_shape, (512, 26, 26))
        self.assertEqual((y2.layers[27].type, y2.layers[27].in_shape, y2.layers[27].out_shape),
                         ("reorg", (64, 26, 26), (256, 13, 13)))
        self.assertEqual(y2.layers[28].out_shape, (1280, 13, 13))
        self.assertEqual(y2.layers[30].out_shape, (425, 13, 13))
        self.assertEqual(D.output_layers(y2, 0, 31), [(31, "region31")])
        self.assertEqual(D.load_network(darknet_cfg("yolov2.cfg")).input_shape, (3, 608, 608))
        tiny = D.load_network(darknet_cfg("yolov2-tiny.cfg"))
        self.assertEqual(tiny.layers[11].out_shape, (512, 13, 13))  # the size-2 stride-1 maxpool
        v3 = D.load_network(darknet_cfg("yolov3-tiny.cfg"))
        self.assertEqual([(i, v3.layers[i].out_shape) for i, _ in D.output_layers(v3, 0, 23)],
                         [(16, (255, 13, 13)), (23, (255, 26, 26))])
        d19 = D.load_network(darknet_cfg("darknet19.cfg"))
        self.assertEqual(D.output_layers(d19, 0, len(d19.layers) - 1)[-1][1], "output")
        self.assertEqual(d19.layers[-1].out_shape, (1000, 1, 1))


class WeightsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.net = D.load_network(os.path.join(INPUTS, "all-ops.cfg"))

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_round_trip_both_headers(self):
        w = D.random_weights(self.net, seed=3)
        self.assertEqual(sorted(w), [0, 2, 3, 4, 8, 13, 18, 23])
        for major, minor, seen_size in ((0, 2, 8), (0, 1, 4), (1, 0, 8)):
            with self.subTest(version=(major, minor)):
                n = D.write_weights(self.path("a.weights"), self.net, w, major, minor, 7, seen=123456)
                floats = sum(int(np.prod(s)) for l in self.net.layers for _, s in D._weights_parts(l))
                self.assertEqual(n, 12 + seen_size + 4 * floats)
                wf = D.read_weights(self.path("a.weights"), self.net)
                self.assertEqual((wf.major, wf.minor, wf.revision, wf.seen, wf.leftover_bytes),
                                 (major, minor, 7, 123456, 0))
                for i, lw in w.items():
                    for name in ("biases", "weights", "scales", "mean", "var"):
                        a, b = getattr(lw, name), getattr(wf.layers[i], name)
                        self.assertEqual(a is None, b is None, (i, name))
                        if a is not None:
                            np.testing.assert_array_equal(a, b)
        # The grouped conv (layer 3: 32 filters, 16 / 4 channels per group, 3x3).
        self.assertEqual(wf.layers[3].weights.shape, (32, 4, 3, 3))
        self.assertIsNone(wf.layers[3].scales)
        self.assertEqual(wf.layers[18].weights.shape, (40, 56 * 8 * 8))

    def test_file_layout_is_darknets(self):
        # Layer 0: biases, scales, rolling mean, rolling variance, then weights (F, C, KH, KW).
        w = D.random_weights(self.net, seed=1)
        D.write_weights(self.path("b.weights"), self.net, w)
        raw = open(self.path("b.weights"), "rb").read()
        self.assertEqual(struct.unpack_from("<iiiq", raw), (0, 2, 0, 0))
        f = np.frombuffer(raw, "<f4", offset=20)
        lw = w[0]
        expect = np.concatenate([lw.biases, lw.scales, lw.mean, lw.var, lw.weights.reshape(-1)])
        np.testing.assert_array_equal(f[: expect.size], expect)

    def test_transposed_connected(self):
        text = "[net]\nwidth=2\nheight=1\nchannels=3\n[connected]\noutput=4\nactivation=linear\n"
        net = net_from_text(text)
        wt = np.arange(24, dtype=np.float32).reshape(6, 4)  # stored (inputs, outputs)
        with open(self.path("t.weights"), "wb") as f:
            f.write(struct.pack("<iiii", 0, 1001, 0, 0))  # minor > 1000: transposed, int32 seen
            f.write(np.arange(4, dtype="<f4").tobytes() + wt.astype("<f4").tobytes())
        wf = D.read_weights(self.path("t.weights"), net)
        np.testing.assert_array_equal(wf.layers[0].weights, wt.T)

    def test_truncated_file_names_the_layer(self):
        w = D.random_weights(self.net, seed=0)
        n = D.write_weights(self.path("full.weights"), self.net, w)
        data = open(self.path("full.weights"), "rb").read()
        # Cut inside layer 13 (the first one after the connected-free middle part).
        off = 20 + 4 * sum(int(np.prod(s)) for l in self.net.layers[:13] for _, s in D._weights_parts(l))
        for cut, layer in ((off + 40, r"weights end in layer 13 \[convolutional\]: its biases need 24 floats, "
                                      r"only 10 left"),
                           (off + 4 * 24 + 8, r"layer 13 \[convolutional\]: its weights need 17280 floats, only 2"),
                           (n - 4, r"layer 23 \[connected\]: its weights need"),
                           (30, r"layer 0 \[convolutional\]: its biases need"),
                           (14, r"too short for a Darknet weights header")):
            with self.subTest(cut=cut):
                with open(self.path("cut.weights"), "wb") as f:
                    f.write(data[:cut])
                with self.assertRaisesRegex(ImporterError, layer):
                    D.read_weights(self.path("cut.weights"), self.net)
        # Reading only up to layer 12 needs nothing of layer 13.
        with open(self.path("cut.weights"), "wb") as f:
            f.write(data[:off])
        self.assertEqual(sorted(D.read_weights(self.path("cut.weights"), self.net, upto=12).layers), [0, 2, 3, 4, 8])

    def test_leftover_bytes(self):
        w = D.random_weights(self.net, seed=0)
        D.write_weights(self.path("x.weights"), self.net, w)
        with open(self.path("x.weights"), "ab") as f:
            f.write(b"\0" * 12)
        self.assertEqual(D.read_weights(self.path("x.weights"), self.net).leftover_bytes, 12)

    def test_random_weights_deterministic(self):
        a, b = D.random_weights(self.net, 5), D.random_weights(self.net, 5)
        c = D.random_weights(self.net, 6)
        np.testing.assert_array_equal(a[13].weights, b[13].weights)
        self.assertFalse(np.array_equal(a[13].weights, c[13].weights))
        # Independent of a --layers cut.
        np.testing.assert_array_equal(D.random_weights(self.net, 5, upto=4)[4].weights, a[4].weights)

    def test_fold_bn_matches_darknet_formula(self):
        rng = np.random.default_rng(0)
        lw = D.LayerWeights(biases=rng.normal(size=3).astype(np.float32),
                            weights=rng.normal(size=(3, 2, 1, 1)).astype(np.float32),
                            scales=rng.uniform(0.5, 2, 3).astype(np.float32),
                            mean=rng.normal(size=3).astype(np.float32),
                            var=rng.uniform(0.01, 2, 3).astype(np.float32))
        x = rng.normal(size=2)
        conv = lw.weights[:, :, 0, 0].astype(np.float64) @ x
        expect = (conv - lw.mean) / (np.sqrt(lw.var) + 0.000001) * lw.scales + lw.biases
        wf, bf = D.fold_bn(lw, True)
        np.testing.assert_allclose(wf[:, :, 0, 0] @ x + bf, expect, rtol=1e-5)


class LayoutOpsTest(unittest.TestCase):
    """The index arithmetic of reorg / upsample / maxpool against Darknet's C loops."""

    def test_reorg_plan_matches_reorg_cpu(self):
        rng = np.random.default_rng(0)
        for (h, w, c, s) in ((4, 4, 8, 2), (26, 26, 64, 2), (6, 4, 8, 2), (6, 6, 18, 3), (2, 2, 3, 1)):
            with self.subTest(shape=(h, w, c), stride=s):
                x = rng.standard_normal((1, h, w, c)).astype(np.float32)
                flat = reorg_cpu(nhwc_to_flat(x), w, h, c, 1, s, 0)
                expect = flat.reshape(1, c * s * s, h // s, w // s).transpose(0, 2, 3, 1)
                np.testing.assert_array_equal(apply_plan(x, reorg_plan(x.shape, s)), expect)

    def test_reorg_is_not_plain_space_to_depth(self):
        # Negative control: the usual space-to-depth (e.g. TF's) is a different order.
        x = np.arange(4 * 4 * 8, dtype=np.float32).reshape(1, 4, 4, 8)
        s2d = x.reshape(1, 2, 2, 2, 2, 8).transpose(0, 1, 3, 2, 4, 5).reshape(1, 2, 2, 32)
        self.assertFalse(np.array_equal(apply_plan(x, reorg_plan(x.shape, 2)), s2d))

    def test_reference_reorg_port(self):
        from mafat.reference.darknet_reference import reorg_cpu_numpy

        x = np.random.default_rng(1).standard_normal(2 * 8 * 4 * 6).astype(np.float32)
        for fwd in (0, 1):
            np.testing.assert_array_equal(reorg_cpu_numpy(x, 6, 4, 8, 2, 2, fwd), reorg_cpu(x, 6, 4, 8, 2, 2, fwd))

    def emit_one(self, cfg_body: str, shape, seed=0):
        c, h, w = shape
        net = net_from_text(f"[net]\nwidth={w}\nheight={h}\nchannels={c}\n" + cfg_body)
        return D.emit_network(net, D.random_weights(net, seed)).to_mlir(), net

    @unittest.skipUnless(HAVE_MLIR, "needs upstream mlir-opt and mlir-runner")
    def test_emitted_layout_ops_upstream(self):
        """Emitted reorg / upsample / maxpool, JIT-run by upstream MLIR, against the C-loop ports."""
        rng = np.random.default_rng(2)
        cases = [
            ("[reorg]\nstride=2\n", (8, 6, 4)),
            ("[reorg]\nstride=3\n", (18, 6, 3)),
            ("[upsample]\nstride=2\n", (3, 5, 7)),
            ("[upsample]\nstride=3\nscale=0.5\n", (2, 3, 2)),
            ("[maxpool]\nsize=2\nstride=1\n", (3, 5, 6)),
            ("[maxpool]\nsize=2\nstride=2\n", (2, 7, 5)),
            ("[maxpool]\nsize=3\nstride=2\n", (2, 7, 8)),
            ("[maxpool]\nsize=3\nstride=1\npadding=4\n", (1, 4, 5)),
        ]
        for body, (c, h, w) in cases:
            with self.subTest(layer=body.replace("\n", " ")):
                mlir, net = self.emit_one(body, (c, h, w))
                x = rng.standard_normal((1, h, w, c)).astype(np.float32)
                (out,) = run_upstream(mlir, [x])
                p = net.layers[0].p
                flat = nhwc_to_flat(x)
                if net.layers[0].type == "reorg":
                    s = p["stride"]
                    e = reorg_cpu(flat, w, h, c, 1, s, 0).reshape(1, c * s * s, h // s, w // s)
                elif net.layers[0].type == "upsample":
                    s = p["stride"]
                    e = upsample_cpu(flat, w, h, c, 1, s, np.float32(p["scale"])).reshape(1, c, h * s, w * s)
                else:
                    e, oh, ow = forward_maxpool(flat, w, h, c, p["size"], p["stride"][0], p["padding"])
                    e = e.reshape(1, c, oh, ow)
                np.testing.assert_array_equal(out, e.transpose(0, 2, 3, 1))

    def test_upsample_floordiv_form_text(self):
        em = DarknetEmitter("m")
        x = em.input((1, 2, 3, 4))
        em.output(em.upsample(x, 2, method="floordiv", layer=0))
        text = em.to_mlir()
        self.assertIn("affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d2 floordiv 2, d3)>", text)
        self.assertNotIn("gather", text)


@unittest.skipUnless(HAVE_TORCH, "needs torch")
class NetworkTest(unittest.TestCase):
    def test_every_layer_op_is_named_and_big_weights_are_blobs(self):
        text = D.import_darknet(os.path.join(INPUTS, "all-ops.cfg"), seed=1)
        body = text.split("{-#")[0]
        self.assertEqual(len(re.findall(r'\} : tensor<[0-9x]+f32> to tensor<[0-9x]+f32> loc\("L\d+:pad"\)', body)),
                         body.count("tensor.pad"))
        for line in body.splitlines():
            m = re.match(r"\s+%\S+ = (linalg\.[a-z_0-9]+|tensor\.(?:pad|concat|extract_slice|expand_shape|"
                         r"collapse_shape)) ", line)
            if m and not line.rstrip().endswith("{"):
                self.assertRegex(line, r'loc\("L\d+:[a-z]+"\)\s*$', line)
        locs = set(re.findall(r'loc\("L(\d+):', text))
        # Every layer that computes something has a location; pass-through layers have none.
        self.assertEqual(sorted(map(int, locs)), [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 20, 21,
                                                  23, 24])
        self.assertIn("dense_resource<L18_weights>", text)  # 3584 x 40 floats
        self.assertIn('mafat.output_names = ["yolo16", "output"]', text)
        self.assertIn('mafat.input_names = ["image"]', text)
        self.assertNotRegex(text, r"gather|tensor\.extract |scf\.")

    @unittest.skipUnless(HAVE_MLIR, "needs upstream mlir-opt and mlir-runner")
    def test_all_ops_upstream_vs_pytorch(self):
        """The whole all-ops.cfg, emitted, JIT-run upstream, against the PyTorch reference."""
        from mafat.reference.darknet_reference import run_reference
        from mafat.reference import compare

        cfg = os.path.join(INPUTS, "all-ops.cfg")
        net = D.load_network(cfg)
        with tempfile.TemporaryDirectory() as d:
            wpath = os.path.join(d, "a.weights")
            D.write_weights(wpath, net, D.random_weights(net, 4))
            text = D.import_darknet(cfg, wpath)
            x = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
            refs = run_reference(cfg, wpath, x, num_threads=1)
            outs = run_upstream(text, [x])
            for layers in ((0, 12), (3, 9)):  # prefixes and a middle cut: model input = layer a-1's output
                cut_text = D.import_darknet(cfg, wpath, layers=layers)
                a, b = layers
                if a == 0:
                    xin = x
                else:
                    from mafat.reference.darknet_reference import DarknetReference

                    m = DarknetReference(cfg, wpath, None, (0, a - 1)).eval()
                    with torch.no_grad():
                        xin = m(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())[0].permute(0, 2, 3, 1).numpy()
                    xin = np.ascontiguousarray(xin)
                ref_cut = run_reference(cfg, wpath, xin, layers=layers, num_threads=1)
                self.assertEqual(len(ref_cut), 1)
                c = compare(run_upstream(cut_text, [xin])[0], ref_cut[0], 1e-4)
                self.assertTrue(c.passed, f"layers {layers}: {c}")
        self.assertEqual([o.shape for o in outs], [(1, 16, 16, 56), (1, 1, 1, 20)])
        for o, r in zip(outs, refs):
            self.assertTrue(1e-2 < float(r.std()) < 1e2 or r.shape[-1] == 20, r.std())
            c = compare(o, r, 1e-4)
            self.assertTrue(c.passed, str(c))
        # The softmax groups each sum to 1.
        np.testing.assert_allclose(outs[1].reshape(2, 10).sum(axis=1), [1, 1], rtol=1e-5)

    def test_cut_errors(self):
        cfg = os.path.join(INPUTS, "all-ops.cfg")
        with self.assertRaisesRegex(ImporterError, r"layer 11 \[route\]: refers to layer 6, outside the imported "
                                                   r"range 8-12"):
            D.import_darknet(cfg, layers=(8, 12))
        with self.assertRaisesRegex(ImporterError, r"network has 26 layers"):
            D.import_darknet(cfg, layers="0-26")

    def test_yolov2_random_weights_keep_activations_sane(self):
        """He-scaled random weights: every one of YOLOv2's 31 layer outputs has std in [1e-2, 1e2]."""
        from mafat.reference.darknet_reference import DarknetReference

        cfg = darknet_cfg("yolov2.cfg")
        size = (160, 160)  # small input, same layers (reorg 10x10 -> 5x5)
        net = D.load_network(cfg, size)
        with tempfile.TemporaryDirectory() as d:
            wpath = os.path.join(d, "y.weights")
            D.write_weights(wpath, net, D.random_weights(net, 0))
            m = DarknetReference(cfg, wpath, size).eval()
        x = np.random.default_rng(0).random((1, 3) + size, dtype=np.float32)
        trace = {}
        torch.set_num_threads(1)
        with torch.no_grad():
            m(torch.from_numpy(x), trace=trace)
        stds = {i: float(t.double().std()) for i, t in trace.items() if i >= 0}
        self.assertEqual(len(stds), 32)
        bad = {i: s for i, s in stds.items() if not 1e-2 <= s <= 1e2}
        self.assertFalse(bad, f"layer output std out of range: {bad}")
        self.assertTrue(0.1 < stds[31] < 10, stds[31])


class CliTest(unittest.TestCase):
    def run_cli(self, *args):
        env = dict(os.environ)
        env["PYTHONPATH"] = PY_DIR + os.pathsep + env.get("PYTHONPATH", "")
        return subprocess.run([sys.executable, "-m", "mafat.import_cli", *args], capture_output=True, text=True,
                              env=env, timeout=300)

    def test_success_and_errors(self):
        tiny = os.path.join(INPUTS, "tiny.cfg")
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "t.mlir")
            p = self.run_cli("darknet", tiny, "--seed", "3", "-o", out)
            self.assertEqual((p.returncode, p.stderr), (0, ""))
            self.assertIn("func.func @tiny(%arg0: tensor<1x16x16x3xf32>) -> tensor<1x8x8x12xf32>", open(out).read())
            cases = [
                (("darknet", os.path.join(INPUTS, "unsupported.cfg"), "-o", out), 1,
                 r"^mafat-import: error: layer 2 \[lstm\]: section type not supported"),
                (("darknet", tiny, "--layers", "0-9", "-o", out), 1, r"the network has 4 layers \(0-3\)"),
                (("darknet", tiny, "--layers", "3-3", "-o", out), 1,
                 r"layer 3 \[route\]: refers to layer 1, outside the imported range 3-3"),
                (("darknet", tiny, "--input-size", "0x4", "-o", out), 1, r"must be positive"),
                (("darknet", os.path.join(d, "nope.cfg"), "-o", out), 1, r"cfg file .*nope.cfg: no such file"),
                (("darknet", tiny, "--weights", d, "-o", out), 1, r"weights file .*: is a directory"),
                (("darknet", tiny, "-o", os.path.join(d, "no", "such", "dir.mlir")), 1, r"cannot write"),
                (("onnx", os.path.join(d, "nope.onnx"), "-o", out), 1, r"ONNX file .*nope.onnx: no such file"),
                (("darknet", tiny), 2, r"required: -o"),
                (("caffe", tiny, "-o", out), 2, r"invalid choice"),
            ]
            for args, code, msg in cases:
                with self.subTest(args=args):
                    p = self.run_cli(*args)
                    self.assertEqual(p.returncode, code, p.stderr)
                    self.assertRegex(p.stderr, re.compile(msg, re.M))
                    self.assertNotIn("Traceback", p.stderr)

    def test_wrapper_script(self):
        script = os.path.join(REPO, "scripts", "mafat-import")
        self.assertTrue(os.access(script, os.X_OK))
        p = subprocess.run([script, "darknet", "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--input-size", p.stdout)


if __name__ == "__main__":
    unittest.main()
