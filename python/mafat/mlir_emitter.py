"""Text emitter for mafat's canonical model form (linalg on tensors).

mafat compiles CNNs that arrive as one ``func.func`` in a fixed subset of
MLIR (see ``docs/CanonicalForm.md``): batch 1, static shapes, f32, NHWC
activations, HWCF filters, explicit ``tensor.pad`` in front of every padded
window op, and a name location ``loc("L<i>:<kind>")`` on every layer op.
This module writes that form as MLIR *text* -- there are no MLIR Python
bindings in the build environment -- so test generators and model importers
(ONNX, Darknet) can share one emitter instead of each formatting IR on its own.

Typical use::

    em = MlirEmitter("tiny")
    x = em.input((1, 16, 16, 8), name="input")
    y = em.conv2d(x, w_hwcf, bias, stride=1, pad=1, act=("leaky", 0.1))
    y = em.maxpool(y, k=2, s=2)
    em.output(y, name="output")
    text = em.to_mlir()

Every layer method returns a :class:`Value` (SSA name plus static shape) to
feed into later layers, and allocates one layer index ``i``; all the ops it
emits (pad, conv, pool, generic, matmul, concat, ...) get ``loc("L<i>:kind")``.
Pass ``layer=`` to pin the index (e.g. to reuse a Darknet layer number, or to
put a separately emitted batch-norm into the same layer as its conv).

Constants become ``arith.constant dense<...>``; tensors larger than
``resource_threshold`` bytes become ``dense_resource<...>`` blobs in the
module's ``dialect_resources`` section, which keeps big models parseable
quickly and bit-exact. Decimal literals are chosen so that they round-trip to
the exact f32 bit pattern (checked per element, with a fallback).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    "Value",
    "MlirEmitter",
    "ActSpec",
    "normalize_act",
    "normalize_pad",
    "normalize_pair",
    "window_out_size",
    "format_f32",
    "fold_batchnorm",
    "tensor_type",
    "Region",
]

# An activation: None / "identity" / "linear", "relu", "relu6", "sigmoid",
# "leaky" (slope 0.1, Darknet's default) or ("leaky", slope).
ActSpec = Union[None, str, Tuple[str, float]]

# The f32 bit patterns that have no decimal spelling in MLIR.
NEG_INF_HEX = "0xFF800000"

_DEFAULT_LEAKY_SLOPE = 0.1


# ----------------------------------------------------------------------------
# Small helpers shared with models.py / importers (tensor_type and Region
# are also the importers' emitters' building blocks).
# ----------------------------------------------------------------------------


def normalize_pair(v: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """An int or (h, w) pair -> (h, w)."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(t) for t in v)
    if len(v) != 2:
        raise ValueError(f"expected an int or a pair, got {v}")
    return v


def normalize_pad(pad: Union[int, Sequence[int]]) -> Tuple[int, int, int, int]:
    """Padding as (top, bottom, left, right).

    Accepts an int (all sides), a pair (vertical, horizontal) or the explicit
    4-tuple; the 4-tuple is what lets importers express TF/ONNX "SAME_UPPER"
    style asymmetric padding.
    """
    if isinstance(pad, (int, np.integer)):
        p = int(pad)
        return p, p, p, p
    pad = tuple(int(t) for t in pad)
    if len(pad) == 2:
        return pad[0], pad[0], pad[1], pad[1]
    if len(pad) == 4:
        return pad  # type: ignore[return-value]
    raise ValueError(f"padding must be an int, a pair or (top, bottom, left, right), got {pad}")


def window_out_size(size: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Output extent of a window op (floor mode, like linalg and PyTorch's default)."""
    eff = d * (k - 1) + 1
    n = size + lo + hi - eff
    if n < 0:
        raise ValueError(f"window {k} (dilation {d}) larger than padded input {size + lo + hi}")
    return n // s + 1


def normalize_act(act: ActSpec) -> Tuple[str, Optional[float]]:
    """Canonical (kind, slope) of an activation spec; kind 'identity' for none."""
    if act is None:
        return "identity", None
    if isinstance(act, tuple):
        kind, slope = act
        if kind != "leaky":
            raise ValueError(f"only 'leaky' takes a parameter, got {act}")
        return "leaky", float(slope)
    kind = str(act).lower()
    if kind in ("identity", "linear", "none"):
        return "identity", None
    if kind == "leaky":
        return "leaky", _DEFAULT_LEAKY_SLOPE
    if kind in ("relu", "relu6", "sigmoid"):
        return kind, None
    raise ValueError(f"unsupported activation {act!r}")


def format_f32(x) -> str:
    """An MLIR float literal that parses back to exactly this f32 value.

    MLIR reads a decimal literal as a double and rounds it to f32, so the
    shortest f32 repr is checked through that same double path; if it ever
    failed to round-trip, the exact decimal value of the double is used.
    Infinities and NaNs have no decimal form and are written as bit patterns.
    """
    x = np.float32(x)
    if not np.isfinite(x):
        return "0x%08X" % int(np.array(x, dtype=np.float32).view(np.uint32))
    s = np.format_float_scientific(x, unique=True, trim="0")
    if np.float32(float(s)).tobytes() != x.tobytes():
        s = repr(float(x))  # exact: every f32 is a double
    return s


def tensor_type(shape: Sequence[int]) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + "f32>"


def _dense_literal(a: np.ndarray) -> str:
    """Nested-list body of a dense<...> attribute (a splat when uniform)."""
    flat = a.reshape(-1)
    if flat.size > 0 and np.all(flat.view(np.uint32) == flat[:1].view(np.uint32)):
        return format_f32(flat[0])
    strs = [format_f32(v) for v in flat]

    def nest(off: int, dims: Sequence[int]) -> Tuple[str, int]:
        if not dims:
            return strs[off], off + 1
        parts = []
        for _ in range(dims[0]):
            p, off = nest(off, dims[1:])
            parts.append(p)
        return "[" + ", ".join(parts) + "]", off

    text, _ = nest(0, a.shape)
    return text


def _identity_map(rank: int) -> str:
    ds = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({ds}) -> ({ds})>"


def _last_dim_map(rank: int) -> str:
    ds = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({ds}) -> (d{rank - 1})>"


@dataclass(frozen=True)
class Value:
    """An SSA tensor value in the function being emitted."""

    name: str  # including the leading '%'
    shape: Tuple[int, ...]

    @property
    def type(self) -> str:
        return tensor_type(self.shape)


class Region:
    """Builds the scalar body of a linalg.generic.

    Region values are named %0, %1, ... and block arguments %in0.., %out:
    the region is a nested SSA scope, and no function-level name uses these
    spellings, so nothing is shadowed.
    """

    def __init__(self) -> None:
        self.lines: List[str] = []

    def op(self, text: str) -> str:
        name = f"%{len(self.lines)}"
        self.lines.append(f"{name} = {text}")
        return name

    def const(self, v: float) -> str:
        return self.op(f"arith.constant {format_f32(v)} : f32")

    def act(self, x: str, kind: str, slope: Optional[float]) -> str:
        """Scalar activation; the exact op sequences are part of the canonical form."""
        if kind == "identity":
            return x
        if kind == "relu":
            return self.op(f"arith.maximumf {x}, {self.const(0.0)} : f32")
        if kind == "relu6":
            y = self.op(f"arith.maximumf {x}, {self.const(0.0)} : f32")
            return self.op(f"arith.minimumf {y}, {self.const(6.0)} : f32")
        if kind == "leaky":
            pos = self.op(f"arith.cmpf ogt, {x}, {self.const(0.0)} : f32")
            neg = self.op(f"arith.mulf {x}, {self.const(slope)} : f32")
            return self.op(f"arith.select {pos}, {x}, {neg} : f32")
        if kind == "sigmoid":
            # 1 / (1 + exp(-x)): the textbook form, lowered by math-to-llvm.
            n = self.op(f"arith.negf {x} : f32")
            e = self.op(f"math.exp {n} : f32")
            one = self.const(1.0)
            d = self.op(f"arith.addf {one}, {e} : f32")
            return self.op(f"arith.divf {one}, {d} : f32")
        raise ValueError(kind)


class MlirEmitter:
    """Emits one model function in mafat's canonical form as MLIR text.

    Besides the layer methods (``conv2d``, ``maxpool``, ``dense``, ...), the
    building blocks the importers' emitters (``DarknetEmitter``,
    ``OnnxEmitter``) and the ONNX importer extend it with are public:
    ``fresh`` (a new SSA name), ``emit`` (one statement), ``loc``,
    ``begin_layer``, ``map_alias``, ``scalar``, ``empty``, ``filled``,
    ``elementwise_generic`` / ``emit_generic`` (a ``linalg.generic`` whose
    body a :class:`Region` builds), ``bias_act``, ``window_pool`` and
    ``resources`` (the ``dense_resource`` blobs by key).

    Args:
        func_name: symbol name of the emitted ``func.func``.
        resource_threshold: constants with more bytes than this are emitted as
            ``dense_resource`` blobs instead of inline ``dense<...>`` literals.
    """

    def __init__(self, func_name: str = "model", resource_threshold: int = 64 * 1024):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$.]*", func_name):
            raise ValueError(f"not a valid MLIR symbol name: {func_name!r}")
        self.func_name = func_name
        self.resource_threshold = resource_threshold
        self._inputs: List[Tuple[Value, str]] = []
        self._outputs: List[Tuple[Value, str]] = []
        self._body: List[str] = []
        self.resources: Dict[str, str] = {}
        self._used_names: Dict[str, int] = {}
        self._scalar_consts: Dict[str, str] = {}
        self._map_aliases: Dict[str, str] = {}
        self._next_layer = 0

    # ------------------------------------------------------------------ naming

    def fresh(self, hint: str) -> str:
        hint = re.sub(r"[^A-Za-z0-9_]", "_", hint) or "v"
        if hint[0].isdigit():
            hint = "v" + hint
        n = self._used_names.get(hint, 0)
        self._used_names[hint] = n + 1
        return f"%{hint}" if n == 0 else f"%{hint}_{n}"

    def map_alias(self, alias: str, text: str) -> str:
        """Module-level ``#alias = affine_map<...>``: keeps generics readable."""
        self._map_aliases[alias] = text
        return "#" + alias

    def _resource_key(self, hint: str) -> str:
        key = re.sub(r"[^A-Za-z0-9_]", "_", hint)
        base, n = key, 1
        while key in self.resources:
            key = f"{base}_{n}"
            n += 1
        return key

    def begin_layer(self, layer: Optional[int]) -> int:
        if layer is None:
            layer = self._next_layer
        self._next_layer = max(self._next_layer, layer + 1)
        return layer

    @staticmethod
    def loc(layer: int, kind: str) -> str:
        return f'loc("L{layer}:{kind}")'

    def emit(self, line: str) -> None:
        self._body.append(line)

    # --------------------------------------------------------------- constants

    def constant(self, array: np.ndarray, hint: str = "cst") -> Value:
        """An f32 tensor constant (weights); big ones go to dense_resource."""
        a = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
        name = self.fresh(hint)
        ty = tensor_type(a.shape)
        if a.nbytes > self.resource_threshold:
            key = self._resource_key(hint)
            # Blob = 4-byte little-endian alignment, then raw little-endian f32s.
            blob = np.uint32(4).astype("<u4").tobytes() + a.astype("<f4").tobytes()
            self.resources[key] = "0x" + blob.hex().upper()
            self.emit(f"{name} = arith.constant dense_resource<{key}> : {ty}")
        else:
            self.emit(f"{name} = arith.constant dense<{_dense_literal(a)}> : {ty}")
        return Value(name, tuple(a.shape))

    def scalar(self, text: str, hint: str) -> str:
        """A function-level f32 scalar (padding values), emitted once."""
        if text not in self._scalar_consts:
            name = self.fresh(hint)
            self.emit(f"{name} = arith.constant {text} : f32")
            self._scalar_consts[text] = name
        return self._scalar_consts[text]

    def empty(self, shape: Sequence[int], hint: str) -> Value:
        name = self.fresh(hint)
        self.emit(f"{name} = tensor.empty() : {tensor_type(shape)}")
        return Value(name, tuple(shape))

    def filled(self, shape: Sequence[int], value_text: str, layer: int, hint: str) -> Value:
        """linalg.fill of a scalar into tensor.empty: the accumulator init."""
        scalar = self.scalar(value_text, "zero" if value_text == "0.0" else "neg_inf")
        e = self.empty(shape, f"L{layer}_init")
        name = self.fresh(hint)
        ty = tensor_type(shape)
        self.emit(
            f"{name} = linalg.fill ins({scalar} : f32) outs({e.name} : {ty}) -> {ty} "
            + self.loc(layer, "fill")
        )
        return Value(name, tuple(shape))

    # ------------------------------------------------------------------ inputs

    def input(self, shape: Sequence[int], name: Optional[str] = None) -> Value:
        """Declare a function argument (an NHWC activation, batch 1)."""
        if self._body:
            raise RuntimeError("declare all inputs before emitting layers")
        shape = tuple(int(d) for d in shape)
        if shape[0] != 1:
            raise ValueError("only batch 1 is supported")
        idx = len(self._inputs)
        v = Value(f"%arg{idx}", shape)
        self._inputs.append((v, name or ("input" if idx == 0 else f"input{idx}")))
        return v

    def output(self, v: Value, name: Optional[str] = None) -> None:
        """Mark a value as a function result (in call order)."""
        idx = len(self._outputs)
        self._outputs.append((v, name or ("output" if idx == 0 else f"output{idx}")))

    # ------------------------------------------------------------- primitives

    def _pad(self, x: Value, pad4: Tuple[int, int, int, int], value_text: str, layer: int) -> Value:
        """tensor.pad of the H and W dims; a no-op (returns x) without padding."""
        t, b, l, r = pad4
        if min(pad4) < 0:
            raise ValueError(f"negative padding {pad4}")
        if pad4 == (0, 0, 0, 0):
            return x
        scalar = self.scalar(value_text, "zero" if value_text == "0.0" else "neg_inf")
        n, h, w, c = x.shape
        out = (n, h + t + b, w + l + r, c)
        name = self.fresh(f"L{layer}_pad")
        self.emit(
            f"{name} = tensor.pad {x.name} low[0, {t}, {l}, 0] high[0, {b}, {r}, 0] {{\n"
            f"  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):\n"
            f"    tensor.yield {scalar} : f32\n"
            f"  }} : {x.type} to {tensor_type(out)} " + self.loc(layer, "pad")
        )
        return Value(name, out)

    def elementwise_generic(
        self,
        operands: Sequence[Value],
        out_shape: Sequence[int],
        body: Callable[[Region, List[str]], str],
        layer: int,
        kind: str,
    ) -> Value:
        """Elementwise linalg.generic over out_shape.

        Operands of the full shape use the identity map; rank-1 operands are
        per-channel vectors broadcast along the last dim (map to (d_last)).
        """
        rank = len(out_shape)
        maps = []
        for v in operands:
            if tuple(v.shape) == tuple(out_shape):
                maps.append(self.map_alias(f"id{rank}", _identity_map(rank)))
            elif len(v.shape) == 1 and v.shape[0] == out_shape[-1]:
                maps.append(self.map_alias(f"ch{rank}", _last_dim_map(rank)))
            else:
                raise ValueError(f"operand shape {v.shape} does not fit {tuple(out_shape)}")
        maps.append(self.map_alias(f"id{rank}", _identity_map(rank)))
        init = self.empty(out_shape, f"L{layer}_{kind}_init")
        region = Region()
        args = [f"%in{j}" for j in range(len(operands))]
        out_arg = "%out"
        result = body(region, args)
        return self.emit_generic(maps, ["parallel"] * rank, operands, init, region, args + [out_arg],
                                 result, layer, kind)

    def emit_generic(self, maps: List[str], iterators: List[str], operands: List[Value], init: Value,
                     region: "Region", block_args: List[str], result: str, layer: int,
                     kind: str) -> Value:
        """Writes one ``linalg.generic``: ``maps`` for the operands then the
        init, ``block_args`` naming the region's arguments (inputs then the
        output), ``region``'s lines as its body, yielding ``result``. The one
        place generic text is built, for this emitter and its subclasses."""
        name = self.fresh(f"L{layer}_{kind}")
        iters = ", ".join(f'"{t}"' for t in iterators)
        ins = ", ".join(v.name for v in operands)
        ins_ty = ", ".join(v.type for v in operands)
        args = ", ".join(f"{a}: f32" for a in block_args)
        lines = [
            f"{name} = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
            f"iterator_types = [{iters}]}} ins({ins} : {ins_ty}) outs({init.name} : {init.type}) {{",
            f"  ^bb0({args}):",
        ]
        lines += [f"    {l}" for l in region.lines]
        lines += [f"    linalg.yield {result} : f32", f"  }} -> {init.type} " + self.loc(layer, kind)]
        self.emit("\n".join(lines))
        return Value(name, tuple(init.shape))

    def bias_act(self, x: Value, bias: Optional[np.ndarray], act: ActSpec, layer: int) -> Value:
        """Optional per-channel bias plus activation as one generic (or none)."""
        kind, slope = normalize_act(act)
        if bias is None and kind == "identity":
            return x
        operands = [x]
        if bias is not None:
            bias = np.asarray(bias, dtype=np.float32).reshape(-1)
            if bias.shape[0] != x.shape[-1]:
                raise ValueError(f"bias of {bias.shape[0]} for {x.shape[-1]} channels")
            operands.append(self.constant(bias, f"L{layer}_bias"))

        def body(r: Region, a: List[str]) -> str:
            y = a[0]
            if bias is not None:
                y = r.op(f"arith.addf {y}, {a[1]} : f32")
            return r.act(y, kind, slope)

        return self.elementwise_generic(operands, x.shape, body, layer, kind if kind != "identity" else "bias")

    # ------------------------------------------------------------------ layers

    def conv2d(
        self,
        x: Value,
        w_hwcf: np.ndarray,
        bias: Optional[np.ndarray] = None,
        stride: Union[int, Sequence[int]] = 1,
        pad: Union[int, Sequence[int]] = 0,
        dilation: Union[int, Sequence[int]] = 1,
        act: ActSpec = None,
        name: Optional[str] = None,
        layer: Optional[int] = None,
    ) -> Value:
        """Dense 2-D convolution: pad, conv_2d_nhwc_hwcf, then bias+act generic.

        ``w_hwcf`` has shape (KH, KW, C_in, C_out). ``name`` only labels the
        weight constants/blobs; the location is always ``L<i>:conv``.
        """
        i = self.begin_layer(layer)
        w = np.asarray(w_hwcf, dtype=np.float32)
        kh, kw, c, f = w.shape
        if c != x.shape[3]:
            raise ValueError(f"filter expects {c} channels, input has {x.shape[3]}")
        sh, sw = normalize_pair(stride)
        dh, dw = normalize_pair(dilation)
        p = normalize_pad(pad)
        xp = self._pad(x, p, "0.0", i)
        oh = window_out_size(x.shape[1], kh, sh, dh, p[0], p[1])
        ow = window_out_size(x.shape[2], kw, sw, dw, p[2], p[3])
        out = (1, oh, ow, f)
        wv = self.constant(w, f"{name or f'L{i}'}_filter")
        acc = self.filled(out, "0.0", i, f"L{i}_acc")
        res = self.fresh(f"L{i}_conv")
        self.emit(
            f"{res} = linalg.conv_2d_nhwc_hwcf {{dilations = dense<[{dh}, {dw}]> : tensor<2xi64>, "
            f"strides = dense<[{sh}, {sw}]> : tensor<2xi64>}} "
            f"ins({xp.name}, {wv.name} : {xp.type}, {wv.type}) outs({acc.name} : {acc.type}) "
            f"-> {acc.type} " + self.loc(i, "conv")
        )
        return self.bias_act(Value(res, out), bias, act, i)

    def depthwise_conv2d(
        self,
        x: Value,
        w_hwc: np.ndarray,
        bias: Optional[np.ndarray] = None,
        stride: Union[int, Sequence[int]] = 1,
        pad: Union[int, Sequence[int]] = 0,
        dilation: Union[int, Sequence[int]] = 1,
        act: ActSpec = None,
        name: Optional[str] = None,
        layer: Optional[int] = None,
    ) -> Value:
        """Depthwise convolution (groups == channels, multiplier 1), filter HWC."""
        i = self.begin_layer(layer)
        w = np.asarray(w_hwc, dtype=np.float32)
        kh, kw, c = w.shape
        if c != x.shape[3]:
            raise ValueError(f"filter has {c} channels, input has {x.shape[3]}")
        sh, sw = normalize_pair(stride)
        dh, dw = normalize_pair(dilation)
        p = normalize_pad(pad)
        xp = self._pad(x, p, "0.0", i)
        oh = window_out_size(x.shape[1], kh, sh, dh, p[0], p[1])
        ow = window_out_size(x.shape[2], kw, sw, dw, p[2], p[3])
        out = (1, oh, ow, c)
        wv = self.constant(w, f"{name or f'L{i}'}_dwfilter")
        acc = self.filled(out, "0.0", i, f"L{i}_acc")
        res = self.fresh(f"L{i}_dwconv")
        self.emit(
            f"{res} = linalg.depthwise_conv_2d_nhwc_hwc {{dilations = dense<[{dh}, {dw}]> : tensor<2xi64>, "
            f"strides = dense<[{sh}, {sw}]> : tensor<2xi64>}} "
            f"ins({xp.name}, {wv.name} : {xp.type}, {wv.type}) outs({acc.name} : {acc.type}) "
            f"-> {acc.type} " + self.loc(i, "dwconv")
        )
        return self.bias_act(Value(res, out), bias, act, i)

    def batchnorm(
        self,
        x: Value,
        scale: np.ndarray,
        shift: np.ndarray,
        act: ActSpec = None,
        layer: Optional[int] = None,
    ) -> Value:
        """Inference batch-norm already folded to ``scale * x + shift`` per channel.

        Use :func:`fold_batchnorm` to get (scale, shift) from gamma/beta/mean/var.
        """
        i = self.begin_layer(layer)
        c = x.shape[-1]
        scale = np.asarray(scale, dtype=np.float32).reshape(-1)
        shift = np.asarray(shift, dtype=np.float32).reshape(-1)
        if scale.shape[0] != c or shift.shape[0] != c:
            raise ValueError("scale/shift must have one entry per channel")
        sv = self.constant(scale, f"L{i}_bn_scale")
        tv = self.constant(shift, f"L{i}_bn_shift")
        kind, slope = normalize_act(act)

        def body(r: Region, a: List[str]) -> str:
            y = r.op(f"arith.mulf {a[0]}, {a[1]} : f32")
            y = r.op(f"arith.addf {y}, {a[2]} : f32")
            return r.act(y, kind, slope)

        return self.elementwise_generic([x, sv, tv], x.shape, body, i, "bn")

    def activation(self, x: Value, act: ActSpec, layer: Optional[int] = None) -> Value:
        """A standalone activation layer; identity emits nothing and returns x."""
        i = self.begin_layer(layer)
        kind, slope = normalize_act(act)
        if kind == "identity":
            return x
        return self.elementwise_generic([x], x.shape, lambda r, a: r.act(a[0], kind, slope), i, kind)

    def add(self, a: Value, b: Value, act: ActSpec = None, layer: Optional[int] = None) -> Value:
        """Residual add of two same-shaped tensors, optionally followed by act."""
        i = self.begin_layer(layer)
        if a.shape != b.shape:
            raise ValueError(f"add of {a.shape} and {b.shape}")
        kind, slope = normalize_act(act)

        def body(r: Region, s: List[str]) -> str:
            return r.act(r.op(f"arith.addf {s[0]}, {s[1]} : f32"), kind, slope)

        return self.elementwise_generic([a, b], a.shape, body, i, "add")

    def window_pool(self, x, op, k, s, pad, pad_value, init_value, layer, kind) -> Value:
        kh, kw = normalize_pair(k)
        sh, sw = normalize_pair(s)
        p = normalize_pad(pad)
        xp = self._pad(x, p, pad_value, layer)
        oh = window_out_size(x.shape[1], kh, sh, 1, p[0], p[1])
        ow = window_out_size(x.shape[2], kw, sw, 1, p[2], p[3])
        out = (1, oh, ow, x.shape[3])
        window = self.empty((kh, kw), f"L{layer}_window")
        acc = self.filled(out, init_value, layer, f"L{layer}_acc")
        res = self.fresh(f"L{layer}_{kind}")
        self.emit(
            f"{res} = linalg.{op} {{dilations = dense<[1, 1]> : tensor<2xi64>, "
            f"strides = dense<[{sh}, {sw}]> : tensor<2xi64>}} "
            f"ins({xp.name}, {window.name} : {xp.type}, {window.type}) "
            f"outs({acc.name} : {acc.type}) -> {acc.type} " + self.loc(layer, kind)
        )
        return Value(res, out)

    def maxpool(
        self,
        x: Value,
        k: Union[int, Sequence[int]] = 2,
        s: Union[int, Sequence[int], None] = None,
        pad: Union[int, Sequence[int]] = 0,
        layer: Optional[int] = None,
    ) -> Value:
        """Max pool; padding (possibly asymmetric) is -inf, so it never wins."""
        i = self.begin_layer(layer)
        return self.window_pool(
            x, "pooling_nhwc_max", k, k if s is None else s, pad, NEG_INF_HEX, NEG_INF_HEX, i, "maxpool"
        )

    def _divide(self, x: Value, divisor: int, layer: int) -> Value:
        """x / divisor elementwise (a true divf, as PyTorch/ONNX averages do)."""

        def body(r: Region, a: List[str]) -> str:
            return r.op(f"arith.divf {a[0]}, {r.const(float(divisor))} : f32")

        return self.elementwise_generic([x], x.shape, body, layer, "div")

    def avgpool(
        self,
        x: Value,
        k: Union[int, Sequence[int]] = 2,
        s: Union[int, Sequence[int], None] = None,
        pad: Union[int, Sequence[int]] = 0,
        layer: Optional[int] = None,
    ) -> Value:
        """Average pool with count_include_pad semantics.

        The input is zero-padded, summed with pooling_nhwc_sum and every
        window is divided by KH*KW -- padded zeros count, as in PyTorch's
        ``AvgPool2d(count_include_pad=True)`` (its default) and ONNX's
        ``count_include_pad=1``. Importers of count_include_pad=0 models
        must not use this method for padded pools.
        """
        i = self.begin_layer(layer)
        kh, kw = normalize_pair(k)
        y = self.window_pool(x, "pooling_nhwc_sum", (kh, kw), (kh, kw) if s is None else s, pad, "0.0", "0.0", i,
                             "avgpool")
        return self._divide(y, kh * kw, i)

    def global_avgpool(self, x: Value, layer: Optional[int] = None) -> Value:
        """Mean over H and W -> (1, 1, 1, C): a pooling_nhwc_sum with an HxW window."""
        i = self.begin_layer(layer)
        _, h, w, _ = x.shape
        y = self.window_pool(x, "pooling_nhwc_sum", (h, w), 1, 0, "0.0", "0.0", i, "gavgpool")
        return self._divide(y, h * w, i)

    def concat(self, xs: Sequence[Value], layer: Optional[int] = None) -> Value:
        """Channel concatenation (NHWC dim 3) with tensor.concat."""
        i = self.begin_layer(layer)
        if len(xs) < 2:
            raise ValueError("concat needs at least two operands")
        n, h, w, _ = xs[0].shape
        for v in xs:
            if v.shape[:3] != (n, h, w):
                raise ValueError(f"concat of mismatched shapes {[v.shape for v in xs]}")
        out = (n, h, w, sum(v.shape[3] for v in xs))
        res = self.fresh(f"L{i}_concat")
        self.emit(
            f"{res} = tensor.concat dim(3) {', '.join(v.name for v in xs)} : "
            f"({', '.join(v.type for v in xs)}) -> {tensor_type(out)} " + self.loc(i, "concat")
        )
        return Value(res, out)

    def dense(
        self,
        x: Value,
        w_kn: np.ndarray,
        bias: Optional[np.ndarray] = None,
        act: ActSpec = None,
        name: Optional[str] = None,
        layer: Optional[int] = None,
    ) -> Value:
        """Fully connected layer -> (1, N).

        A rank-4 input is flattened in NHWC order (h, w, c) with
        tensor.collapse_shape; importers of NCHW-trained weights must permute
        the K rows of ``w_kn`` accordingly (no-op when H = W = 1).
        """
        i = self.begin_layer(layer)
        w = np.asarray(w_kn, dtype=np.float32)
        k = int(np.prod(x.shape[1:]))
        if w.shape[0] != k:
            raise ValueError(f"weights have K={w.shape[0]}, input flattens to {k}")
        n = w.shape[1]
        if len(x.shape) != 2:
            flat = Value(self.fresh(f"L{i}_flatten"), (1, k))
            groups = "[[0], [" + ", ".join(str(d) for d in range(1, len(x.shape))) + "]]"
            self.emit(
                f"{flat.name} = tensor.collapse_shape {x.name} {groups} : {x.type} into {flat.type} "
                + self.loc(i, "flatten")
            )
            x = flat
        wv = self.constant(w, f"{name or f'L{i}'}_weights")
        acc = self.filled((1, n), "0.0", i, f"L{i}_acc")
        res = self.fresh(f"L{i}_matmul")
        self.emit(
            f"{res} = linalg.matmul ins({x.name}, {wv.name} : {x.type}, {wv.type}) "
            f"outs({acc.name} : {acc.type}) -> {acc.type} " + self.loc(i, "matmul")
        )
        return self.bias_act(Value(res, (1, n)), bias, act, i)

    # ------------------------------------------------------------------ output

    @property
    def inputs(self) -> List[Tuple[Value, str]]:
        return list(self._inputs)

    @property
    def outputs(self) -> List[Tuple[Value, str]]:
        return list(self._outputs)

    def to_mlir(self) -> str:
        """The complete module text (function plus dialect_resources section)."""
        if not self._inputs or not self._outputs:
            raise RuntimeError("a model needs at least one input and one output")

        def names(lst):
            return "[" + ", ".join(f'"{n}"' for _, n in lst) + "]"

        args = ", ".join(f"{v.name}: {v.type}" for v, _ in self._inputs)
        res_types = [v.type for v, _ in self._outputs]
        res_sig = res_types[0] if len(res_types) == 1 else "(" + ", ".join(res_types) + ")"
        out = [f"#{a} = {t}" for a, t in sorted(self._map_aliases.items())]
        out += [
            "module {",
            f"  func.func @{self.func_name}({args}) -> {res_sig} attributes "
            f"{{mafat.input_names = {names(self._inputs)}, mafat.output_names = {names(self._outputs)}}} {{",
        ]
        for stmt in self._body:
            out += ["    " + l for l in stmt.split("\n")]
        out.append(
            "    return "
            + ", ".join(v.name for v, _ in self._outputs)
            + " : "
            + ", ".join(res_types)
        )
        out += ["  }", "}"]
        if self.resources:
            out += ["", "{-#", "  dialect_resources: {", "    builtin: {"]
            items = list(self.resources.items())
            for j, (k, blob) in enumerate(items):
                sep = "," if j + 1 < len(items) else ""
                out.append(f'      {k}: "{blob}"{sep}')
            out += ["    }", "  }", "#-}"]
        return "\n".join(out) + "\n"


def fold_batchnorm(gamma, beta, mean, var, eps: float = 1e-5) -> Tuple[np.ndarray, np.ndarray]:
    """Inference batch-norm parameters -> per-channel (scale, shift), in float64 then f32."""
    gamma, beta, mean, var = (np.asarray(t, dtype=np.float64) for t in (gamma, beta, mean, var))
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    return scale.astype(np.float32), shift.astype(np.float32)

