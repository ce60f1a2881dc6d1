"""ONNX importer: an ``.onnx`` file to MLIR in mafat's canonical form.

Entry point: :func:`import_onnx` (used by ``mafat.import_cli onnx``)::

    text = import_onnx("resnet18.onnx", layout="nchw")

What comes out (docs/CanonicalForm.md): one ``func.func`` named after the
file's stem, batch 1, static f32 shapes, NHWC activations inside, weights as
``arith.constant`` (``dense_resource`` blobs above the emitter's threshold).

* **Interface layout.** With ``layout="nchw"`` (the default) rank-4 model
  inputs and outputs keep the ONNX layout (NCHW): the function takes and
  returns NCHW tensors and ``linalg.transpose`` ops convert at the boundary.
  With ``layout="nhwc"`` rank-4 inputs/outputs are NHWC and nothing is
  transposed. The function attributes record it:
  ``mafat.input_layouts`` / ``mafat.output_layouts`` (``"NCHW"``/``"NHWC"``
  for rank 4, ``"NC"`` for rank 2, ``"dense"`` otherwise) next to
  ``mafat.input_names`` / ``mafat.output_names`` (the ONNX names).
* **Names.** Every op carries the name of the ONNX node it comes from:
  ``loc("<node>")`` on the node's main op, ``loc("<node>.<kind>")`` on the
  others (``conv1.pad``, ``conv1.fill``, ``conv1.relu`` ...). A node fused
  into its producer (BatchNormalization folded into a Conv, an activation
  fused into a Conv/Gemm/Add epilogue, a zero Pad folded into a Conv) has no
  op of its own: its work is in the producer's ops. Layout conversions are
  named after the converted value: ``loc("<value>.to_nhwc")`` /
  ``loc("<value>.to_nchw")``.
* **Constant folding.** Initializers, ``Constant`` nodes and the shape
  sub-graphs exporters emit (Shape, Gather, Unsqueeze, Concat, Slice, Cast,
  ConstantOfShape, arithmetic, ...) are evaluated with numpy at import time;
  ``Shape`` of an activation is its static shape.
* **Errors.** Anything unsupported -- an op, an attribute value, a dynamic
  dimension, a non-constant weight -- raises :class:`ImporterError` with the
  node named: ``node 'Conv_3' (Conv): ...``. A truncated or corrupt file
  raises :class:`ImporterError` too.

The supported ops are listed in :data:`SUPPORTED_OPS`.

The importer is split by concern: :mod:`.onnx_graph` indexes the model and
holds the per-value state, :mod:`.onnx_fold` evaluates constants and shape
sub-graphs, :mod:`.onnx_layout` tracks and converts NCHW/NHWC layouts,
:mod:`.onnx_fusion` decides which nodes fuse into a producer, and the op
lowering is here (:class:`_Importer`, one ``op_<OpType>`` method per op) on
top of :mod:`.onnx_ops`'s emitter.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import ImporterError
from .onnx_fold import FOLDABLE_OPS, ConstantFolder
from .onnx_fusion import Fusion
from .onnx_graph import OnnxGraph
from .onnx_layout import NCHW_PERM, NHWC_PERM, PHYS_AXIS, Layouts, PadAlias, Tensor, cheap_perm
from .onnx_ops import OnnxEmitter
from ..mlir_emitter import Value

__all__ = ["import_onnx", "load_onnx", "SUPPORTED_OPS", "FOLDABLE_OPS"]

LAYOUTS = ("nchw", "nhwc")

# Ops on activations (the supported-ops table of the docs).
SUPPORTED_OPS = {
    "Conv": "2-D; pads (incl. asymmetric), auto_pad, strides, dilations; group 1, depthwise "
            "(group = C_in = C_out), other groups as per-group convs + concat; constant weights; "
            "a following BatchNormalization is folded in, a following activation fused",
    "BatchNormalization": "inference; folded into the producing Conv, else a per-channel scale/shift",
    "Relu": "", "LeakyRelu": "", "Sigmoid": "", "Tanh": "", "HardSigmoid": "",
    "HardSwish": "also Mul(x, HardSigmoid(x)) as one activation; Mul(x, Sigmoid(x)) becomes SiLU",
    "Clip": "min/max as attributes (opset < 11) or constant inputs; 0..6 is ReLU6",
    "PRelu": "constant or broadcastable slope",
    "Exp": "", "Log": "", "Sqrt": "", "Neg": "", "Abs": "", "Reciprocal": "", "Floor": "", "Ceil": "",
    "Add": "numpy broadcasting (per-channel, scalar, full tensors, activations)", "Sub": "", "Mul": "",
    "Div": "", "Max": "", "Min": "", "Sum": "", "Pow": "",
    "MaxPool": "2-D; pads, auto_pad, strides, dilations, ceil_mode (PyTorch's rule); no Indices output",
    "AveragePool": "2-D; pads, auto_pad, strides, ceil_mode, count_include_pad 0/1",
    "GlobalAveragePool": "", "GlobalMaxPool": "",
    "ReduceMean": "any axes (H,W as a global average pool)", "ReduceSum": "", "ReduceMax": "",
    "ReduceMin": "",
    "Concat": "any axis", "Flatten": "", "Reshape": "", "Squeeze": "", "Unsqueeze": "",
    "Transpose": "", "Slice": "positive steps", "Split": "", "Expand": "",
    "Gemm": "transA = 0; B constant (or an activation)", "MatMul": "rank-2 operands",
    "Pad": "constant mode; zero spatial pads before a Conv are folded into it",
    "Resize": "nearest, integer scale factors on H and W (any coordinate mode that amounts to "
              "floor(i / scale))",
    "Upsample": "nearest, integer scale factors on H and W",
    "Softmax": "any axis (opset < 13: the flattened trailing axes)", "LogSoftmax": "",
    "Identity": "", "Dropout": "inference (the mask output must be unused)",
    "Cast": "to float32 on activations", "Shape": "folded", "Size": "folded",
    "Constant": "folded",
}

_F32 = 1  # TensorProto.FLOAT


# ----------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------


# mafat's per-tensor limit (lib/Analysis/LayerGraph.cpp, docs/Hardening.md).
MAX_TENSOR_BYTES = 2 ** 31

def load_onnx(path: str):
    """Parse and check an ONNX file; every failure is an ImporterError."""
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - Debian's python3-onnx is installed
        raise ImporterError(f"the ONNX importer needs the 'onnx' Python package: {e}") from None
    if not os.path.isfile(path):
        raise ImporterError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ImporterError(f"{path}: cannot read: {e}") from None
    if not data:
        raise ImporterError(f"{path}: empty file, not an ONNX model")
    try:
        model = onnx.ModelProto()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # protobuf's "Unexpected end-group tag" on junk
            model.ParseFromString(data)
    except Exception as e:  # google.protobuf.message.DecodeError and friends
        raise ImporterError(
            f"{path}: not a valid ONNX model (truncated or corrupt file?): {type(e).__name__}: {e}"
        ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise ImporterError(f"{path}: not a valid ONNX model (no graph or no nodes; truncated or corrupt file?)")
    try:
        from onnx.external_data_helper import load_external_data_for_model, uses_external_data

        if any(uses_external_data(t) for t in model.graph.initializer):
            load_external_data_for_model(model, os.path.dirname(os.path.abspath(path)))
    except Exception as e:
        raise ImporterError(f"{path}: cannot load external weight data: {type(e).__name__}: {e}") from None
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        msg = str(e).strip().splitlines()
        raise ImporterError(
            f"{path}: the ONNX checker rejects the model (truncated or corrupt file, or newer than the "
            f"installed onnx {onnx.__version__} understands?): {msg[0] if msg else type(e).__name__}"
        ) from None
    return model


def import_onnx(path: str, layout: str = "nchw", *, func_name: Optional[str] = None,
                resource_threshold: int = 64 * 1024) -> str:
    """Import an ONNX model file; returns canonical MLIR text.

    Args:
        path: the ``.onnx`` file (external data is read from its directory).
        layout: ``"nchw"`` keeps the ONNX interface layout for rank-4 inputs
            and outputs (transposes at the boundary); ``"nhwc"`` makes them NHWC.
        func_name: symbol of the function (default: the file's stem made a
            valid identifier; ``mafat-compile`` names the C API after it).
        resource_threshold: weights above this many bytes become
            ``dense_resource`` blobs.

    Raises:
        ImporterError: unsupported op/attribute, dynamic dimension, corrupt file.
    """
    layout = str(layout).lower()
    if layout not in LAYOUTS:
        raise ImporterError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    model = load_onnx(path)
    if func_name is None:
        stem = os.path.splitext(os.path.basename(path))[0]
        func_name = re.sub(r"[^A-Za-z0-9_]", "_", stem) or "model"
        if not re.match(r"[A-Za-z_]", func_name):
            func_name = "m_" + func_name
    return _Importer(model, layout, func_name, resource_threshold).run()


# ----------------------------------------------------------------------------
# The importer
# ----------------------------------------------------------------------------


class _Importer(OnnxGraph):
    """Lowers an :class:`OnnxGraph`'s nodes, in file order, to canonical MLIR."""

    def __init__(self, model, layout: str, func_name: str, resource_threshold: int):
        super().__init__(model)
        self.layout = layout
        self.em = OnnxEmitter(func_name, resource_threshold)
        self.folder = ConstantFolder(self)
        self.layouts = Layouts(self.em)
        self.fusion = Fusion(self, self.folder)
        # Pools whose ceil_mode window starting in the right padding was dropped
        # (PyTorch's rule; shape inference before ONNX 1.16 counts that window).
        self.dropped_windows: List[str] = []

    # -------------------------------------------------------------- values

    def get(self, k: int, name: str):
        if name not in self.values:
            c = self.folder.const(name)
            if c is None:
                raise self.err(k, f"input '{name}' is not defined (truncated or corrupt model?)")
        return self.values[name]

    def tensor(self, k: int, j: int) -> Tensor:
        """Input ``j`` of node ``k`` as an activation (constants are an error here)."""
        n = self.nodes[k]
        if j >= len(n.input) or not n.input[j]:
            raise self.err(k, f"missing input #{j}")
        v = self.get(k, n.input[j])
        if isinstance(v, PadAlias):  # only Conv consumes these
            v = self.layouts.materialize_pad(v)
            self.values[n.input[j]] = v
        if isinstance(v, np.ndarray):
            return self.const_tensor(v, n.input[j])
        return v

    def const_tensor(self, a: np.ndarray, name: str) -> Tensor:
        a = np.asarray(a, dtype=np.float32)
        if a.ndim == 4:
            v = self.em.constant(a.transpose(NHWC_PERM), f"{name}")
            return Tensor(v, tuple(a.shape), "nhwc", name)
        return Tensor(self.em.constant(a.reshape(a.shape), name), tuple(a.shape), "plain", name)

    def set_tensor(self, name: str, v: Value, shape: Sequence[int], layout: str, chw=None) -> Tensor:
        t = Tensor(v, tuple(int(d) for d in shape), layout, name, chw)
        self.values[name] = t
        return t

    # ----------------------------------------------------------------- run

    def run(self) -> str:
        init_names = set()
        for t in self.graph.initializer:
            try:
                self.values[t.name] = self.numpy_helper.to_array(t)
            except Exception as e:
                raise ImporterError(f"initializer '{t.name}': cannot decode: {e}") from None
            init_names.add(t.name)
        for t in getattr(self.graph, "sparse_initializer", []):
            raise ImporterError(f"sparse initializer '{t.values.name}' is not supported")
        self.declare_inputs(init_names)
        for k in range(len(self.nodes)):
            if self.done[k]:
                continue
            try:
                self.convert(k)
            except ImporterError:
                raise
            except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError, OverflowError) as e:
                raise self.err(k, f"cannot import: {type(e).__name__}: {e}") from None
            self.done[k] = True
        self.declare_outputs()
        return self.em.to_mlir()

    def declare_inputs(self, init_names) -> None:
        for inp in self.graph.input:
            if inp.name in init_names:
                continue
            tt = inp.type.tensor_type
            if not inp.type.HasField("tensor_type"):
                raise ImporterError(f"graph input '{inp.name}': only tensor inputs are supported")
            if tt.elem_type != _F32:
                raise ImporterError(
                    f"graph input '{inp.name}': element type {self.onnx.TensorProto.DataType.Name(tt.elem_type)} "
                    "is not supported (float32 only)")
            if not tt.HasField("shape"):
                raise ImporterError(f"graph input '{inp.name}': no shape (mafat needs static shapes)")
            dims = []
            for d in tt.shape.dim:
                if d.HasField("dim_value") and d.dim_value > 0:
                    dims.append(int(d.dim_value))
                else:
                    what = f"'{d.dim_param}'" if d.dim_param else "of unknown size"
                    raise ImporterError(
                        f"graph input '{inp.name}': dynamic dimension {what} (mafat needs static shapes; "
                        "export with fixed sizes, e.g. torch.onnx.export without dynamic_axes)")
            if not dims:
                raise ImporterError(f"graph input '{inp.name}': scalar inputs are not supported")
            # The compiler's per-tensor limit (docs/Hardening.md), checked here
            # too: later steps (pool divisors, layouts) walk the input's extent.
            nbytes = 4 * math.prod(dims)
            if nbytes > MAX_TENSOR_BYTES:
                raise ImporterError(
                    f"graph input '{inp.name}': shape {'x'.join(map(str, dims))} takes {nbytes} bytes, "
                    f"more than mafat's limit of {MAX_TENSOR_BYTES} bytes per tensor")
            if len(dims) in (2, 4) and dims[0] != 1:
                raise ImporterError(f"graph input '{inp.name}': batch {dims[0]}, mafat supports batch 1 only")
            if len(dims) == 4:
                lay = "NCHW" if self.layout == "nchw" else "NHWC"
                if self.layout == "nhwc":
                    v = self.em.input(tuple(dims[p] for p in NHWC_PERM), name=inp.name)
                    self.values[inp.name] = Tensor(v, tuple(dims), "nhwc", inp.name)
                else:
                    v = self.em.input(tuple(dims), name=inp.name)
                    self.values[inp.name] = Tensor(v, tuple(dims), "plain", inp.name)
            else:
                lay = "NC" if len(dims) == 2 else "dense"
                if dims[0] != 1:
                    raise ImporterError(f"graph input '{inp.name}': leading dimension {dims[0]}, mafat supports batch 1 only")
                v = self.em.input(tuple(dims), name=inp.name)
                self.values[inp.name] = Tensor(v, tuple(dims), "plain", inp.name)
            self.em.input_layouts.append(lay)
        if not self.em.inputs:
            raise ImporterError("the model has no (non-initializer) inputs")

    def declare_outputs(self) -> None:
        for out in self.graph.output:
            v = self.values.get(out.name)
            if v is None:
                raise ImporterError(f"graph output '{out.name}' is not computed by any node")
            if isinstance(v, PadAlias):
                v = self.layouts.materialize_pad(v)
            if isinstance(v, np.ndarray):
                v = self.const_tensor(v, out.name)
            tt = out.type.tensor_type
            if out.type.HasField("tensor_type") and tt.elem_type not in (0, _F32):
                raise ImporterError(f"graph output '{out.name}': only float32 outputs are supported")
            if tt.HasField("shape"):
                dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
                if len(dims) != len(v.shape) or (
                        any(a is not None and a != b for a, b in zip(dims, v.shape)) and not self.dropped_windows):
                    raise ImporterError(
                        f"graph output '{out.name}': declared shape {dims}, computed {list(v.shape)}")
            if len(v.shape) == 4:
                if self.layout == "nhwc":
                    v = self.layouts.nhwc(v)
                    lay = "NHWC"
                else:
                    v = self.layouts.plain(v)
                    lay = "NCHW"
            else:
                v = self.layouts.plain(v)
                lay = "NC" if len(v.shape) == 2 else "dense"
            if len(v.shape) == 0:
                raise ImporterError(f"graph output '{out.name}': scalar outputs are not supported")
            self.em.output(v.value, name=out.name)
            self.em.output_layouts.append(lay)

    # ------------------------------------------------------------- dispatch

    def convert(self, k: int) -> None:
        n = self.nodes[k]
        if n.domain not in ("", "ai.onnx"):
            raise self.err(k, f"unsupported op (domain '{n.domain}')")
        op = n.op_type
        if op in ("Shape", "Size"):
            x = self.get(k, n.input[0])
            self.folder.fold(k, [x])
            return
        if op in FOLDABLE_OPS:
            ins = []
            all_const = True
            for i in n.input:
                if not i:
                    ins.append(None)
                    continue
                c = self.folder.const(i)
                if c is None:
                    self.get(k, i)  # raises if undefined
                    all_const = False
                    break
                ins.append(c)
            if all_const:
                self.folder.fold(k, ins)
                return
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            if op in FOLDABLE_OPS:
                raise self.err(k, "supported only on constants (shape sub-graphs), not on activations")
            raise self.err(k, "unsupported op")
        handler(k)

    # ---------------------------------------------------------- conv & co

    def window_pads(self, k: int, a: dict, in_hw, kernel, strides, dil) -> Tuple[int, int, int, int]:
        auto = a.get("auto_pad", "NOTSET")
        if auto == "NOTSET":
            p = [int(t) for t in a.get("pads", [0, 0, 0, 0])]
            if len(p) != 4:
                raise self.err(k, f"pads {p}: only 2-D windows are supported")
            if min(p) < 0:
                raise self.err(k, f"negative pads {p} are not supported")
            return p[0], p[2], p[1], p[3]
        if auto == "VALID":
            return 0, 0, 0, 0
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            res = []
            for size, kk, s, d in zip(in_hw, kernel, strides, dil):
                out = -(-size // s)
                total = max((out - 1) * s + (kk - 1) * d + 1 - size, 0)
                small, big = total // 2, total - total // 2
                res.append((small, big) if auto == "SAME_UPPER" else (big, small))
            return res[0][0], res[0][1], res[1][0], res[1][1]
        raise self.err(k, f"unsupported auto_pad '{auto}'")

    def window_params(self, k: int, a: dict, kernel=None):
        ks = a.get("kernel_shape", kernel)
        if ks is None:
            raise self.err(k, "missing kernel_shape")
        ks = [int(t) for t in ks]
        if len(ks) != 2:
            raise self.err(k, f"kernel_shape {ks}: only 2-D windows are supported")
        if kernel is not None and list(kernel) != ks:
            raise self.err(k, f"kernel_shape {ks} does not match the weights' {list(kernel)}")
        st = [int(t) for t in a.get("strides", [1, 1])]
        dl = [int(t) for t in a.get("dilations", [1, 1])]
        if len(st) != 2 or len(dl) != 2 or min(st + dl) < 1:
            raise self.err(k, f"bad strides {st} / dilations {dl}")
        return ks, st, dl

    def input4(self, k: int, x) -> None:
        if len(x.shape) != 4 or x.shape[0] != 1:
            raise self.err(k, f"expects a 1xCxHxW input, got shape {list(x.shape)}")

    def op_Conv(self, k: int) -> None:
        n = self.nodes[k]
        name = self.names[k]
        a = self.attrs(k, ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"))
        x = self.get(k, n.input[0])
        pre = (0, 0, 0, 0)
        if isinstance(x, PadAlias):
            pre, xin = x.pad4, x
            x = x.src
        else:
            if isinstance(x, np.ndarray):
                raise self.err(k, "a convolution of a constant is not supported")
            xin = x
        self.input4(k, xin)
        W = np.asarray(self.folder.const_input(k, 1, "weights"), np.float64)
        if W.ndim != 4:
            raise self.err(k, f"weights of shape {list(W.shape)}: only 2-D convolutions are supported")
        B = self.folder.const_input(k, 2, "bias", required=False)
        _, C, H, Wd = xin.shape
        F, Cg, KH, KW = W.shape
        group = int(a.get("group", 1))
        if group < 1 or Cg * group != C or F % group:
            raise self.err(k, f"group {group} does not fit {C} input channels and weights {list(W.shape)}")
        ks, st, dl = self.window_params(k, a, (KH, KW))
        p = self.window_pads(k, a, (H, Wd), ks, st, dl)
        pad4 = (p[0] + pre[0], p[1] + pre[1], p[2] + pre[2], p[3] + pre[3])
        for size, kk, d, lo, hi in ((H, KH, dl[0], p[0], p[1]), (Wd, KW, dl[1], p[2], p[3])):
            if size + lo + hi < d * (kk - 1) + 1:
                raise self.err(k, "the window is larger than the padded input")
        bias = None if B is None else np.asarray(B, np.float64).reshape(-1)
        W, bias, out = self.fusion.fold_batchnorm(n.output[0], W, bias)
        act, out = self.fusion.fuse_act(out)
        i = self.em.begin_node(name)
        xv = self.layouts.nhwc(x).value
        b32 = None if bias is None else bias.astype(np.float32)
        if group == 1:
            y = self.em.conv2d(xv, W.transpose(2, 3, 1, 0), b32, st, pad4, dl, act, name=name, layer=i)
        elif group == C and F == C:
            y = self.em.depthwise_conv2d(xv, W[:, 0].transpose(1, 2, 0), b32, st, pad4, dl, act,
                                         name=name, layer=i)
        else:
            fg = F // group
            ys = []
            for g in range(group):
                xs = self.em.extract_slice(xv, (0, 0, 0, g * Cg), (1, xv.shape[1], xv.shape[2], Cg), (1, 1, 1, 1),
                                           i, "group")
                ys.append(self.em.conv2d(xs, W[g * fg:(g + 1) * fg].transpose(2, 3, 1, 0), None, st, pad4,
                                         dl, None, name=f"{name}_g{g}", layer=i))
            y = self.em.concat_dim(ys, 3, i)
            y = self.em.bias_act(y, b32, act, i)
        self.set_tensor(out, y, (1, F, y.shape[1], y.shape[2]), "nhwc")

    def op_BatchNormalization(self, k: int) -> None:
        n = self.nodes[k]
        scale, shift = self.fusion.bn_params(k)
        x = self.tensor(k, 0)
        if len(x.shape) < 2 or x.shape[1] != scale.shape[0]:
            raise self.err(k, f"{scale.shape[0]} channels for an input of shape {list(x.shape)}")
        r = len(x.shape)
        bshape = (1, -1) + (1,) * (r - 2)
        self.eltwise(k, [x, scale.reshape(bshape).astype(np.float32), shift.reshape(bshape).astype(np.float32)],
                     lambda rg, s: rg.op(f"arith.addf {rg.op(f'arith.mulf {s[0]}, {s[1]} : f32')}, {s[2]} : f32"),
                     "bn", out=n.output[0])

    # ---------------------------------------------------------- elementwise

    def eltwise(self, k: int, operands: List, body, kind: str, out: Optional[str] = None,
                fuse: bool = True, out_shape: Optional[Sequence[int]] = None) -> Tensor:
        """A broadcasting elementwise generic over Tensors and constants.

        ``body(region, args)`` gets one SSA name per operand (constants of one
        element become immediates). An activation consuming the result alone
        is fused into the same generic.
        """
        n = self.nodes[k]
        out = out or n.output[0]
        tensors = [o for o in operands if isinstance(o, Tensor)]
        shapes = [tuple(np.shape(o)) if isinstance(o, np.ndarray) else o.shape for o in operands]
        try:
            log = tuple(int(d) for d in np.broadcast_shapes(*shapes, *(([tuple(out_shape)]) if out_shape else [])))
        except ValueError:
            raise self.err(k, f"shapes {[list(s) for s in shapes]} do not broadcast") from None
        rank = len(log)
        layout = "nhwc" if rank == 4 and any(t.layout == "nhwc" for t in tensors) else "plain"
        phys = tuple(log[p] for p in NHWC_PERM) if layout == "nhwc" else log
        act, out = self.fusion.fuse_act(out) if fuse else (None, out)
        i = self.em.begin_node(self.names[k], primary=kind)
        specs: List[Tuple[Value, Tuple[int, ...]]] = []
        slots: List = []  # per operand: int index into specs, or a float immediate
        for j, o in enumerate(operands):
            if isinstance(o, Tensor):
                t = o
                if len(t.shape) < rank:
                    t = self.layouts.reshape_tensor(self.layouts.plain(t), (1,) * (rank - len(t.shape)) + t.shape, i,
                                            t.name)
                t = self.layouts.in_layout(t, layout)
                ps = t.value.shape
                if tuple(ps) == phys:
                    specs.append((t.value, tuple(range(rank))))
                else:
                    keep = tuple(d for d in range(rank) if ps[d] != 1)
                    v = self.em.reshape(t.value, [ps[d] for d in keep], i, "broadcast")
                    specs.append((v, keep))
                slots.append(len(specs) - 1)
            else:
                c = np.asarray(o, np.float32)
                c = c.reshape((1,) * (rank - c.ndim) + c.shape)
                if layout == "nhwc":
                    c = c.transpose(NHWC_PERM)
                if c.size == 1:
                    slots.append(float(c.reshape(-1)[0]))
                    continue
                if c.shape == phys:
                    specs.append((self.em.constant(c, f"{self.names[k]}_cst{j}"), tuple(range(rank))))
                else:
                    keep = tuple(d for d in range(rank) if c.shape[d] != 1)
                    cv = self.em.constant(c.reshape([c.shape[d] for d in keep]), f"{self.names[k]}_cst{j}")
                    specs.append((cv, keep))
                slots.append(len(specs) - 1)

        def full_body(r, args):
            xs = [args[s] if isinstance(s, int) else r.const(s) for s in slots]
            y = body(r, xs)
            return act.apply(r, y) if act is not None else y

        y = self.em.generic(specs, phys, full_body, i, kind)
        return self.set_tensor(out, y, log, layout)

    def operands(self, k: int, names: Sequence[str]) -> List:
        res = []
        for nm in names:
            v = self.get(k, nm)
            if isinstance(v, PadAlias):
                v = self.layouts.materialize_pad(v)
            if isinstance(v, np.ndarray):
                if not np.issubdtype(v.dtype, np.floating):
                    raise self.err(k, f"constant '{nm}' of type {v.dtype} used as float data")
            elif isinstance(v, Tensor) and v.layout == "nhwc_flat":
                v = self.layouts.plain(v)
            res.append(v)
        return res

    _BINARY = {"Add": "arith.addf", "Sub": "arith.subf", "Mul": "arith.mulf", "Div": "arith.divf",
               "Max": "arith.maximumf", "Min": "arith.minimumf", "Sum": "arith.addf"}

    def _binary(self, k: int) -> None:
        n = self.nodes[k]
        op = n.op_type
        self.attrs(k, ())
        names = [i for i in n.input if i]
        if not names:
            raise self.err(k, "no inputs")
        ins = self.operands(k, names)
        if len(ins) == 1:
            self.values[n.output[0]] = ins[0]
            return
        if op in ("Add", "Sub", "Mul", "Div", "Pow") and len(ins) != 2:
            raise self.err(k, "expects two inputs")
        fn = self._BINARY[op]

        def body(r, s):
            y = s[0]
            for t in s[1:]:
                y = r.op(f"{fn} {y}, {t} : f32")
            return y

        self.eltwise(k, ins, body, op.lower())

    op_Add = op_Sub = op_Mul = op_Div = op_Max = op_Min = op_Sum = _binary

    def op_Pow(self, k: int) -> None:
        n = self.nodes[k]
        self.attrs(k, ())
        e = self.folder.const(n.input[1])
        x = self.operands(k, [n.input[0]])[0]
        if e is not None and np.size(e) == 1:
            ev = float(np.asarray(e).reshape(-1)[0])
            if ev == 2.0:
                self.eltwise(k, [x], lambda r, s: r.op(f"arith.mulf {s[0]}, {s[0]} : f32"), "pow")
                return
            if ev == 0.5:
                self.eltwise(k, [x], lambda r, s: r.op(f"math.sqrt {s[0]} : f32"), "pow")
                return
            if ev == 1.0:
                self.values[n.output[0]] = x
                return
        ins = self.operands(k, [n.input[0], n.input[1]])
        self.eltwise(k, ins, lambda r, s: r.op(f"math.powf {s[0]}, {s[1]} : f32"), "pow")

    def op_PRelu(self, k: int) -> None:
        n = self.nodes[k]
        self.attrs(k, ())
        x, slope = self.operands(k, [n.input[0], n.input[1]])
        if isinstance(slope, np.ndarray) and isinstance(x, Tensor) and len(x.shape) >= 2 \
                and slope.ndim == 1 and slope.shape[0] == x.shape[1] and slope.shape[0] != 1:
            # ONNX broadcasting is numpy's, but exporters write a per-channel (C,) slope for NCHW.
            slope = slope.reshape((-1,) + (1,) * (len(x.shape) - 2))

        def body(r, s):
            pos = r.op(f"arith.cmpf ogt, {s[0]}, {r.const(0.0)} : f32")
            neg = r.op(f"arith.mulf {s[0]}, {s[1]} : f32")
            return r.op(f"arith.select {pos}, {s[0]}, {neg} : f32")

        self.eltwise(k, [x, slope], body, "prelu")

    _UNARY = {"Sqrt": "math.sqrt", "Exp": "math.exp", "Log": "math.log", "Neg": "arith.negf",
              "Abs": "math.absf", "Floor": "math.floor", "Ceil": "math.ceil"}

    def _unary(self, k: int) -> None:
        n = self.nodes[k]
        self.attrs(k, ())
        fn = self._UNARY[n.op_type]
        self.eltwise(k, self.operands(k, [n.input[0]]), lambda r, s: r.op(f"{fn} {s[0]} : f32"),
                     n.op_type.lower())

    op_Sqrt = op_Exp = op_Log = op_Neg = op_Abs = op_Floor = op_Ceil = _unary

    def op_Reciprocal(self, k: int) -> None:
        n = self.nodes[k]
        self.attrs(k, ())
        self.eltwise(k, self.operands(k, [n.input[0]]),
                     lambda r, s: r.op(f"arith.divf {r.const(1.0)}, {s[0]} : f32"), "reciprocal")

    def _activation(self, k: int) -> None:
        n = self.nodes[k]
        act = self.fusion.act_of(k)
        if act is None:
            # Re-run the checks that made act_of give up, so they report.
            if n.op_type == "Clip":
                self.fusion.clip_bounds(k)
            self.attrs(k, {"LeakyRelu": ("alpha",), "HardSigmoid": ("alpha", "beta")}.get(n.op_type, ()))
            raise self.err(k, "unsupported activation")
        x = self.operands(k, [n.input[0]])[0]
        self.eltwise(k, [x], lambda r, s: act.apply(r, s[0]), act.kind)

    op_Relu = op_LeakyRelu = op_Sigmoid = op_Tanh = op_HardSigmoid = op_HardSwish = op_Clip = _activation

    def op_Identity(self, k: int) -> None:
        n = self.nodes[k]
        self.values[n.output[0]] = self.get(k, n.input[0])

    def op_Dropout(self, k: int) -> None:
        n = self.nodes[k]
        if len(n.output) > 1 and self.used(n.output[1]):
            raise self.err(k, "the mask output is not supported")
        if len(n.input) > 2 and n.input[2]:
            tm = self.folder.const(n.input[2])
            if tm is None or bool(np.asarray(tm).reshape(-1)[0]):
                raise self.err(k, "training_mode must be a constant false")
        self.values[n.output[0]] = self.get(k, n.input[0])

    def op_Cast(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("to", "saturate"))
        if a.get("to") != _F32:
            raise self.err(k, "only casts to float32 are supported on activations")
        self.values[n.output[0]] = self.get(k, n.input[0])

    # -------------------------------------------------------------- pooling

    def _pool_geometry(self, k: int, a: dict, x, dilation_ok: bool):
        self.input4(k, x)
        _, C, H, W = x.shape
        ks, st, dl = self.window_params(k, a)
        if not dilation_ok and dl != [1, 1]:
            raise self.err(k, f"dilations {dl} are not supported")
        p = list(self.window_pads(k, a, (H, W), ks, st, dl))
        ceil_mode = int(a.get("ceil_mode", 0))
        extra = [0, 0]
        outs = []
        for j, (size, kk, s, d) in enumerate(zip((H, W), ks, st, dl)):
            lo, hi = p[2 * j], p[2 * j + 1]
            eff = d * (kk - 1) + 1
            span = size + lo + hi - eff
            if span < 0:
                raise self.err(k, "the window is larger than the padded input")
            o = span // s + 1
            if ceil_mode:
                o = -(-span // s) + 1
                if (o - 1) * s >= size + lo:  # PyTorch: the last window must start inside
                    o -= 1
                    self.dropped_windows.append(self.names[k])
                extra[j] = max(0, (o - 1) * s + eff - (size + lo + hi))
            outs.append(o)
        pad4 = (p[0], p[1] + extra[0], p[2], p[3] + extra[1])
        return (H, W), ks, st, dl, (p[0], p[1], p[2], p[3]), pad4, outs

    def op_MaxPool(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"))
        if len(n.output) > 1 and self.used(n.output[1]):
            raise self.err(k, "the Indices output is not supported")
        x = self.tensor(k, 0)
        _, ks, st, dl, _, pad4, outs = self._pool_geometry(k, a, x, True)
        i = self.em.begin_node(self.names[k])
        y = self.em.pool(self.layouts.nhwc(x).value, "pooling_nhwc_max", ks, st, dl, pad4, -math.inf, i, "maxpool")
        assert list(y.shape[1:3]) == outs
        self.set_tensor(n.output[0], y, (1, x.shape[1], y.shape[1], y.shape[2]), "nhwc")

    def op_AveragePool(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"))
        x = self.tensor(k, 0)
        (H, W), ks, st, dl, p, pad4, outs = self._pool_geometry(k, a, x, False)
        include = int(a.get("count_include_pad", 0))
        divs = []
        for j, (size, kk, s) in enumerate(zip((H, W), ks, st)):
            lo, hi = p[2 * j], p[2 * j + 1]
            d = []
            for o in range(outs[j]):
                start = o * s - lo
                if include:
                    d.append(min(start + kk, size + hi) - start)
                else:
                    d.append(min(start + kk, size) - max(start, 0))
            divs.append(np.array(d, np.float64))
        div = np.outer(divs[0], divs[1])
        if np.any(div <= 0):
            raise self.err(k, "a window covers only padding")
        i = self.em.begin_node(self.names[k])
        y = self.em.pool(self.layouts.nhwc(x).value, "pooling_nhwc_sum", ks, st, dl, pad4, 0.0, i, "avgpool")
        y = self.em.divide_by(y, div.astype(np.float32), i, "div")
        self.set_tensor(n.output[0], y, (1, x.shape[1], y.shape[1], y.shape[2]), "nhwc")

    def op_GlobalAveragePool(self, k: int) -> None:
        n = self.nodes[k]
        self.attrs(k, ())
        x = self.tensor(k, 0)
        self.input4(k, x)
        i = self.em.begin_node(self.names[k], primary="gavgpool")
        y = self.em.global_avgpool(self.layouts.nhwc(x).value, layer=i)
        self.set_tensor(n.output[0], y, (1, x.shape[1], 1, 1), "nhwc")

    def op_GlobalMaxPool(self, k: int) -> None:
        n = self.nodes[k]
        self.attrs(k, ())
        x = self.tensor(k, 0)
        self.input4(k, x)
        i = self.em.begin_node(self.names[k])
        _, _, H, W = x.shape
        y = self.em.pool(self.layouts.nhwc(x).value, "pooling_nhwc_max", (H, W), 1, 1, 0, -math.inf, i, "maxpool")
        self.set_tensor(n.output[0], y, (1, x.shape[1], 1, 1), "nhwc")

    def _reduce(self, k: int) -> None:
        n = self.nodes[k]
        op = n.op_type
        a = self.attrs(k, ("axes", "keepdims", "noop_with_empty_axes"))
        x = self.operands(k, [n.input[0]])[0]
        if isinstance(x, np.ndarray):  # pragma: no cover - folded before
            raise self.err(k, "constant input")
        r = len(x.shape)
        axes = a.get("axes")
        if axes is None and len(n.input) > 1 and n.input[1]:
            axes = [int(t) for t in np.asarray(self.folder.const_input(k, 1, "axes")).reshape(-1)]
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                self.values[n.output[0]] = x
                return
            axes = list(range(r))
        axes = sorted(set(int(t) % r for t in axes))
        keepdims = bool(a.get("keepdims", 1))
        kept_shape = tuple(1 if d in axes else s for d, s in enumerate(x.shape))
        final_shape = kept_shape if keepdims else tuple(s for d, s in enumerate(x.shape) if d not in axes)
        if op == "ReduceMean" and r == 4 and axes == [2, 3] and x.layout == "nhwc":
            i = self.em.begin_node(self.names[k], primary="gavgpool")
            y = self.em.global_avgpool(x.value, layer=i)
            t = Tensor(y, kept_shape, "nhwc", n.output[0])
        else:
            i = self.em.begin_node(self.names[k], primary=op.lower())
            phys = x.value.shape
            red = sorted(PHYS_AXIS[d] if x.layout == "nhwc" else d for d in axes)
            comb, init = {"ReduceMean": ("arith.addf", 0.0), "ReduceSum": ("arith.addf", 0.0),
                          "ReduceMax": ("arith.maximumf", -math.inf), "ReduceMin": ("arith.minimumf", math.inf)}[op]
            kind = "sum" if op == "ReduceMean" else op.lower()
            y = self.em.generic([(x.value, tuple(range(r)))], phys,
                                lambda rg, s: rg.op(f"{comb} {s[0]}, {s[1]} : f32"), i, kind,
                                reduce_dims=red, init=init)
            if op == "ReduceMean":
                cnt = float(np.prod([x.shape[d] for d in axes]))
                y = self.em.generic([(y, tuple(range(len(y.shape))))], y.shape,
                                    lambda rg, s: rg.op(f"arith.divf {s[0]}, {rg.const(cnt)} : f32"), i,
                                    op.lower())
            kept_phys = tuple(kept_shape[p] for p in NHWC_PERM) if x.layout == "nhwc" else kept_shape
            y = self.em.reshape(y, kept_phys, i)
            t = Tensor(y, kept_shape, x.layout, n.output[0])
        if not keepdims:
            t = self.layouts.reshape_tensor(t, final_shape, i, n.output[0])
        self.values[n.output[0]] = t

    op_ReduceMean = op_ReduceSum = op_ReduceMax = op_ReduceMin = _reduce

    # -------------------------------------------------------------- shapes

    def op_Flatten(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("axis",))
        x = self.tensor(k, 0)
        r = len(x.shape)
        ax = int(a.get("axis", 1))
        ax = ax + r if ax < 0 else ax
        shape = (int(np.prod(x.shape[:ax])), int(np.prod(x.shape[ax:])))
        i = self.em.begin_node(self.names[k])
        self.values[n.output[0]] = self.layouts.reshape_tensor(x, shape, i, n.output[0])

    def op_Reshape(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("allowzero",))
        x = self.tensor(k, 0)
        shape = self.folder.reshape_target(k, x.shape, self.folder.const_input(k, 1, "shape"), a.get("allowzero", 0))
        i = self.em.begin_node(self.names[k])
        self.values[n.output[0]] = self.layouts.reshape_tensor(x, shape, i, n.output[0])

    def _squeeze(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("axes",))
        x = self.tensor(k, 0)
        axes = a.get("axes")
        if axes is None and len(n.input) > 1 and n.input[1]:
            axes = [int(t) for t in np.asarray(self.folder.const_input(k, 1, "axes")).reshape(-1)]
        if n.op_type == "Squeeze":
            r = len(x.shape)
            ax = set(range(r)) if axes is None else {int(t) % r for t in axes}
            ax = {d for d in ax if x.shape[d] == 1} if axes is None else ax
            if any(x.shape[d] != 1 for d in ax):
                raise self.err(k, f"cannot squeeze axes {sorted(ax)} of shape {list(x.shape)}")
            shape = tuple(s for d, s in enumerate(x.shape) if d not in ax)
        else:
            if axes is None:
                raise self.err(k, "missing axes")
            r = len(x.shape) + len(axes)
            shape = list(x.shape)
            for d in sorted(int(t) % r for t in axes):
                shape.insert(d, 1)
            shape = tuple(shape)
        i = self.em.begin_node(self.names[k])
        self.values[n.output[0]] = self.layouts.reshape_tensor(x, shape, i, n.output[0])

    op_Squeeze = op_Unsqueeze = _squeeze

    def op_Transpose(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("perm",))
        x = self.tensor(k, 0)
        if x.layout == "nhwc_flat":
            x = self.layouts.plain(x)
        r = len(x.shape)
        perm = [int(p) for p in a.get("perm", list(range(r))[::-1])]
        if sorted(perm) != list(range(r)):
            raise self.err(k, f"bad perm {perm}")
        out = tuple(x.shape[p] for p in perm)
        i = self.em.begin_node(self.names[k])
        # Candidate physical permutations of x's value for a plain / an nhwc result.
        src_pos = list(PHYS_AXIS) if x.layout == "nhwc" else list(range(r))
        cands = [("plain", [src_pos[p] for p in perm])]
        if r == 4:
            cands.append(("nhwc", [src_pos[perm[q]] for q in NHWC_PERM]))
        for lay, q in cands:
            if q == list(range(r)):
                self.values[n.output[0]] = Tensor(x.value, out, lay, n.output[0])
                return
        for lay, q in cands:
            if cheap_perm(x.value.shape, q):
                v = self.em.reshape(x.value, [x.value.shape[p] for p in q], i)
                self.values[n.output[0]] = Tensor(v, out, lay, n.output[0])
                return
        lay, q = cands[-1] if r == 4 else cands[0]
        v = self.em.transpose(x.value, q, i)
        self.values[n.output[0]] = Tensor(v, out, lay, n.output[0])

    def op_Concat(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("axis",))
        ins = self.operands(k, [i for i in n.input if i])
        r = len(np.shape(ins[0])) if isinstance(ins[0], np.ndarray) else len(ins[0].shape)
        ax = int(a["axis"]) % r
        tensors = [t for t in ins if isinstance(t, Tensor)]
        layout = "nhwc" if r == 4 and any(t.layout == "nhwc" for t in tensors) else "plain"
        i = self.em.begin_node(self.names[k])
        vals = []
        for j, t in enumerate(ins):
            if isinstance(t, np.ndarray):
                c = np.asarray(t, np.float32)
                if c.size == 0:
                    continue
                vals.append(self.em.constant(c.transpose(NHWC_PERM) if layout == "nhwc" else c,
                                             f"{self.names[k]}_cst{j}"))
            else:
                if t.shape[ax] == 0:
                    continue
                vals.append(self.layouts.in_layout(t, layout).value)
        dim = PHYS_AXIS[ax] if layout == "nhwc" else ax
        y = self.em.concat_dim(vals, dim, i)
        shape = tuple(y.shape[p] for p in NCHW_PERM) if layout == "nhwc" else y.shape
        self.set_tensor(n.output[0], y, shape, layout)

    def _slice_tensor(self, k: int, x: Tensor, ranges: Dict[int, Tuple[int, int, int]], out: str, i: int) -> None:
        r = len(x.shape)
        offs, sizes, strides = [0] * r, list(x.value.shape), [1] * r
        log = list(x.shape)
        for d, (s, e, st) in ranges.items():
            cnt = len(range(s, e, st))
            if cnt <= 0:
                raise self.err(k, f"empty slice on axis {d}")
            p = PHYS_AXIS[d] if x.layout == "nhwc" else d
            offs[p], sizes[p], strides[p] = s, cnt, st
            log[d] = cnt
        v = self.em.extract_slice(x.value, offs, sizes, strides, i)
        self.set_tensor(out, v, log, x.layout)

    def op_Slice(self, k: int) -> None:
        n = self.nodes[k]
        x = self.tensor(k, 0)
        if x.layout == "nhwc_flat":
            x = self.layouts.plain(x)
        r = len(x.shape)
        if self.opset < 10:
            a = self.attrs(k, ("starts", "ends", "axes"))
            starts, ends = list(a["starts"]), list(a["ends"])
            axes = list(a.get("axes", range(len(starts))))
            steps = [1] * len(starts)
        else:
            self.attrs(k, ())
            starts = [int(t) for t in np.asarray(self.folder.const_input(k, 1, "starts")).reshape(-1)]
            ends = [int(t) for t in np.asarray(self.folder.const_input(k, 2, "ends")).reshape(-1)]
            ax = self.folder.const_input(k, 3, "axes", required=False)
            axes = list(range(len(starts))) if ax is None else [int(t) for t in np.asarray(ax).reshape(-1)]
            stp = self.folder.const_input(k, 4, "steps", required=False)
            steps = [1] * len(starts) if stp is None else [int(t) for t in np.asarray(stp).reshape(-1)]
        ranges = {}
        for s, e, d, st in zip(starts, ends, axes, steps):
            d = int(d) % r
            if st <= 0:
                raise self.err(k, f"step {st}: only positive steps are supported")
            s0, e0, _ = slice(int(s), int(e), int(st)).indices(x.shape[d])
            ranges[d] = (s0, e0, int(st))
        i = self.em.begin_node(self.names[k])
        self._slice_tensor(k, x, ranges, n.output[0], i)

    def op_Split(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("axis", "split", "num_outputs"))
        x = self.tensor(k, 0)
        if x.layout == "nhwc_flat":
            x = self.layouts.plain(x)
        r = len(x.shape)
        ax = int(a.get("axis", 0)) % r
        split = a.get("split")
        if split is None and len(n.input) > 1 and n.input[1]:
            split = [int(t) for t in np.asarray(self.folder.const_input(k, 1, "split")).reshape(-1)]
        nout = len(n.output)
        if split is None:
            if x.shape[ax] % nout:
                raise self.err(k, f"axis of size {x.shape[ax]} does not split in {nout}")
            split = [x.shape[ax] // nout] * nout
        if len(split) != nout or sum(split) != x.shape[ax]:
            raise self.err(k, f"split {split} does not fit axis size {x.shape[ax]}")
        i = self.em.begin_node(self.names[k])
        off = 0
        for o, s in zip(n.output, split):
            if o:
                self._slice_tensor(k, x, {ax: (off, off + s, 1)}, o, i)
            off += s

    def op_Expand(self, k: int) -> None:
        n = self.nodes[k]
        self.attrs(k, ())
        x = self.operands(k, [n.input[0]])[0]
        shape = tuple(int(t) for t in np.asarray(self.folder.const_input(k, 1, "shape")).reshape(-1))
        self.eltwise(k, [x], lambda r, s: s[0], "expand", fuse=False, out_shape=shape)

    # -------------------------------------------------------------- matmul

    def _rank2(self, k: int, x: Tensor) -> Tensor:
        if len(x.shape) != 2:
            raise self.err(k, f"only rank-2 operands are supported, got shape {list(x.shape)}")
        return x

    def _dense(self, k: int, x: Tensor, w_kn: np.ndarray, bias: Optional[np.ndarray]) -> None:
        n = self.nodes[k]
        if x.shape[1] != w_kn.shape[0]:
            raise self.err(k, f"input of shape {list(x.shape)} and weights {list(w_kn.shape)} do not match")
        if x.layout == "nhwc_flat":
            c, h, w = x.chw
            w_kn = w_kn.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(h * w * c, -1)
        act, out = self.fusion.fuse_act(n.output[0])
        i = self.em.begin_node(self.names[k], primary="matmul")
        if x.shape[0] == 1:
            y = self.em.dense(x.value, w_kn, bias, act, name=self.names[k], layer=i)
        else:  # M rows: not a batch-1 dense layer, a plain matmul
            wv = self.em.constant(np.asarray(w_kn, np.float32), f"{self.names[k]}_weights")
            y = self.em.matmul_values(self.layouts.plain(x).value, wv, i)
            y = self.em.bias_act(y, bias, act, i)
        self.set_tensor(out, y, y.shape, "plain")

    def op_Gemm(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("alpha", "beta", "transA", "transB", "broadcast"))
        if a.get("transA", 0):
            raise self.err(k, "transA=1 is not supported")
        alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
        x = self._rank2(k, self.tensor(k, 0))
        B = self.folder.const(n.input[1])
        C = self.folder.const_input(k, 2, "C", required=False)
        if B is None:
            b = self._rank2(k, self.tensor(k, 1))
            if C is not None and np.size(C) > 0 and np.any(C):
                raise self.err(k, "a bias with non-constant B is not supported")
            i = self.em.begin_node(self.names[k], primary="matmul")
            bv = self.layouts.plain(b).value
            if a.get("transB", 0):
                bv = self.em.transpose(bv, (1, 0), i)
            xv = self.layouts.plain(x).value
            if alpha != 1.0:
                raise self.err(k, "alpha != 1 with non-constant B is not supported")
            y = self.em.matmul_values(xv, bv, i)
            self.set_tensor(n.output[0], y, y.shape, "plain")
            return
        w = np.asarray(B, np.float64)
        if w.ndim != 2:
            raise self.err(k, f"B of shape {list(w.shape)}")
        if a.get("transB", 0):
            w = w.T
        w = w * alpha
        bias = None
        if C is not None and beta != 0.0:
            N = w.shape[1]
            try:
                bias = np.broadcast_to(np.asarray(C, np.float64) * beta, (1, N)).reshape(N)
            except ValueError:
                raise self.err(k, f"C of shape {list(np.shape(C))} does not broadcast to (1, {N})") from None
        self._dense(k, x, w.astype(np.float32), None if bias is None else bias.astype(np.float32))

    def op_MatMul(self, k: int) -> None:
        n = self.nodes[k]
        self.attrs(k, ())
        A = self.folder.const(n.input[0])
        B = self.folder.const(n.input[1])
        if A is None and B is not None and np.ndim(B) == 2:
            x = self._rank2(k, self.tensor(k, 0))
            self._dense(k, x, np.asarray(B, np.float32), None)
            return
        a = self._rank2(k, self.tensor(k, 0))
        b = self._rank2(k, self.tensor(k, 1))
        i = self.em.begin_node(self.names[k], primary="matmul")
        y = self.em.matmul_values(self.layouts.plain(a).value, self.layouts.plain(b).value, i)
        self.set_tensor(n.output[0], y, y.shape, "plain")

    # ---------------------------------------------------------------- misc

    def op_Pad(self, k: int) -> None:
        n = self.nodes[k]
        if self.opset < 11:
            a = self.attrs(k, ("mode", "pads", "value", "paddings"))
            pads = [int(t) for t in a.get("pads", a.get("paddings", []))]
            value = float(a.get("value", 0.0))
        else:
            a = self.attrs(k, ("mode",))
            pads = [int(t) for t in np.asarray(self.folder.const_input(k, 1, "pads")).reshape(-1)]
            cv = self.folder.const_input(k, 2, "constant_value", required=False)
            value = 0.0 if cv is None or np.size(cv) == 0 else float(np.asarray(cv).reshape(-1)[0])
            if len(n.input) > 3 and n.input[3]:
                raise self.err(k, "the axes input is not supported")
        mode = a.get("mode", "constant")
        if mode != "constant":
            raise self.err(k, f"mode '{mode}' is not supported (constant only)")
        x = self.tensor(k, 0)
        if x.layout == "nhwc_flat":
            x = self.layouts.plain(x)
        r = len(x.shape)
        if len(pads) != 2 * r:
            raise self.err(k, f"{len(pads)} pads for rank {r}")
        if min(pads) < 0:
            raise self.err(k, f"negative pads {pads} are not supported")
        lo, hi = pads[:r], pads[r:]
        out = n.output[0]
        alias = self.fusion.pad_into_conv(out, x, value, lo, hi)
        if alias is not None:
            self.values[out] = alias
            return
        i = self.em.begin_node(self.names[k], primary="pad")
        if x.layout == "nhwc":
            lo, hi = [lo[p] for p in NHWC_PERM], [hi[p] for p in NHWC_PERM]
        v = self.em.pad_nd(x.value, lo, hi, value, i)
        shape = tuple(v.shape[p] for p in NCHW_PERM) if x.layout == "nhwc" else v.shape
        self.set_tensor(out, v, shape, x.layout)

    def _nearest_factors(self, k: int, x, scales: Optional[Sequence[float]], sizes: Optional[Sequence[int]],
                         ctm: str, nearest_mode: str) -> Tuple[int, int]:
        r = len(x.shape)
        if scales is not None and len(scales) != r or sizes is not None and len(sizes) != r:
            raise self.err(k, f"scales/sizes must have {r} entries")
        factors = []
        for d in range(r):
            n_in = x.shape[d]
            if sizes is not None:
                n_out = int(sizes[d])
                s = n_out / n_in
            else:
                s = float(scales[d])
                n_out = int(math.floor(n_in * s))
            f = n_out // n_in if n_out % n_in == 0 else 0
            if f < 1:
                raise self.err(k, f"scale {s:g} on axis {d}: only integer upsampling factors are supported")
            if d < 2 and f != 1:
                raise self.err(k, f"scale {f} on axis {d}: only H and W can be resized")
            # Check the ONNX coordinate mapping really is floor(i / f).
            i = np.arange(n_out, dtype=np.float64)
            if ctm in ("half_pixel",):
                xo = (i + 0.5) / s - 0.5
            elif ctm == "pytorch_half_pixel":
                xo = (i + 0.5) / s - 0.5 if n_out > 1 else np.zeros_like(i)
            elif ctm == "align_corners":
                xo = i * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros_like(i)
            elif ctm == "asymmetric":
                xo = i / s
            elif ctm == "tf_half_pixel_for_nn":
                xo = (i + 0.5) / s
            else:
                raise self.err(k, f"coordinate_transformation_mode '{ctm}' is not supported")
            if nearest_mode == "round_prefer_floor":
                idx = np.where(xo - np.floor(xo) == 0.5, np.floor(xo), np.round(xo))
            elif nearest_mode == "round_prefer_ceil":
                idx = np.where(xo - np.floor(xo) == 0.5, np.ceil(xo), np.round(xo))
            elif nearest_mode == "floor":
                idx = np.floor(xo)
            elif nearest_mode == "ceil":
                idx = np.ceil(xo)
            else:
                raise self.err(k, f"nearest_mode '{nearest_mode}' is not supported")
            idx = np.clip(idx, 0, n_in - 1).astype(np.int64)
            if not np.array_equal(idx, np.arange(n_out) // f):
                raise self.err(k, f"nearest resize with coordinate_transformation_mode '{ctm}' and nearest_mode "
                                  f"'{nearest_mode}' is not a plain integer upsampling on axis {d}")
            factors.append(f)
        return factors[2], factors[3]

    def _upsample(self, k: int, x: Tensor, fh: int, fw: int) -> None:
        n = self.nodes[k]
        if fh == 1 and fw == 1:
            self.values[n.output[0]] = x
            return
        i = self.em.begin_node(self.names[k], primary="upsample")
        y = self.em.upsample_nearest(self.layouts.nhwc(x).value, fh, fw, i)
        self.set_tensor(n.output[0], y, (1, x.shape[1], y.shape[1], y.shape[2]), "nhwc")

    def op_Resize(self, k: int) -> None:
        a = self.attrs(k, ("mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                           "exclude_outside", "extrapolation_value"))
        mode = a.get("mode", "nearest")
        if mode != "nearest":
            raise self.err(k, f"mode '{mode}' is not supported (nearest only)")
        if a.get("exclude_outside", 0):
            raise self.err(k, "exclude_outside=1 is not supported")
        x = self.tensor(k, 0)
        self.input4(k, x)
        if self.opset < 11:
            scales = self.folder.const_input(k, 1, "scales")
            sizes = None
            ctm, nm = "asymmetric", "floor"
        else:
            sc = self.folder.const_input(k, 2, "scales", required=False)
            sz = self.folder.const_input(k, 3, "sizes", required=False)
            scales = None if sc is None or np.size(sc) == 0 else [float(t) for t in np.asarray(sc).reshape(-1)]
            sizes = None if sz is None or np.size(sz) == 0 else [int(t) for t in np.asarray(sz).reshape(-1)]
            if scales is None and sizes is None:
                raise self.err(k, "needs constant scales or sizes")
            ctm = a.get("coordinate_transformation_mode", "half_pixel")
            nm = a.get("nearest_mode", "round_prefer_floor")
        if scales is not None and not isinstance(scales, list):
            scales = [float(t) for t in np.asarray(scales).reshape(-1)]
        fh, fw = self._nearest_factors(k, x, scales, sizes, ctm, nm)
        self._upsample(k, x, fh, fw)

    def op_Upsample(self, k: int) -> None:
        a = self.attrs(k, ("mode", "scales", "height_scale", "width_scale"))
        mode = a.get("mode", "nearest")
        if mode != "nearest":
            raise self.err(k, f"mode '{mode}' is not supported (nearest only)")
        x = self.tensor(k, 0)
        self.input4(k, x)
        if "scales" in a:
            scales = [float(t) for t in a["scales"]]
        elif "height_scale" in a:
            scales = [1.0, 1.0, float(a["height_scale"]), float(a.get("width_scale", 1.0))]
        else:
            scales = [float(t) for t in np.asarray(self.folder.const_input(k, 1, "scales")).reshape(-1)]
        fh, fw = self._nearest_factors(k, x, scales, None, "asymmetric", "floor")
        self._upsample(k, x, fh, fw)

    def _softmax(self, k: int) -> None:
        n = self.nodes[k]
        a = self.attrs(k, ("axis",))
        x = self.tensor(k, 0)
        if x.layout == "nhwc_flat":
            x = self.layouts.plain(x)
        r = len(x.shape)
        if self.opset >= 13:
            axes = [int(a.get("axis", -1)) % r]
        else:
            axes = list(range(int(a.get("axis", 1)) % r, r))
        red = sorted(PHYS_AXIS[d] if x.layout == "nhwc" else d for d in axes)
        phys = x.value.shape
        keep = tuple(d for d in range(r) if d not in red)
        full = tuple(range(r))
        kind = n.op_type.lower()
        i = self.em.begin_node(self.names[k], primary=kind)
        em = self.em
        m = em.generic([(x.value, full)], phys, lambda rg, s: rg.op(f"arith.maximumf {s[0]}, {s[1]} : f32"),
                       i, "max", reduce_dims=red, init=-math.inf)
        e = em.generic([(x.value, full), (m, keep)], phys,
                       lambda rg, s: rg.op(f"math.exp {rg.op(f'arith.subf {s[0]}, {s[1]} : f32')} : f32"), i, "exp")
        sm = em.generic([(e, full)], phys, lambda rg, s: rg.op(f"arith.addf {s[0]}, {s[1]} : f32"),
                        i, "sum", reduce_dims=red, init=0.0)
        if kind == "softmax":
            y = em.generic([(e, full), (sm, keep)], phys, lambda rg, s: rg.op(f"arith.divf {s[0]}, {s[1]} : f32"),
                           i, kind)
        else:
            def body(rg, s):
                d = rg.op(f"arith.subf {s[0]}, {s[1]} : f32")
                return rg.op(f"arith.subf {d}, {rg.op(f'math.log {s[2]} : f32')} : f32")

            y = em.generic([(x.value, full), (m, keep), (sm, keep)], phys, body, i, kind)
        self.set_tensor(n.output[0], y, x.shape, x.layout)

    op_Softmax = op_LogSoftmax = _softmax
