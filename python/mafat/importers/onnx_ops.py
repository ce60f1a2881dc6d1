"""Canonical-form ops the ONNX importer needs on top of :class:`MlirEmitter`.

:class:`OnnxEmitter` keeps the base emitter's layers (conv, depthwise conv,
pools, batch-norm, dense, ...) and adds

* **node-named locations**: every op of an ONNX node carries
  ``loc("<node name>")`` (the node's main op) or ``loc("<node name>.<kind>")``
  (its pads, fills, epilogues, ...) instead of the emitter's ``L<i>:<kind>``;
* general elementwise ``linalg.generic`` ops with broadcasting through
  projected-permutation maps (per-channel vectors, scalars as immediates,
  unit dims dropped), and reductions over any set of dims (softmax, reduce);
* layout plumbing: ``linalg.transpose``, ``tensor.collapse_shape`` /
  ``tensor.expand_shape`` reshapes, ``tensor.extract_slice``, ``tensor.pad``
  and ``tensor.concat`` along any dim;
* windows with dilation and per-position average-pool divisors, nearest
  upsampling by integer factors (a gather-free broadcast generic plus a
  collapse), and ``linalg.matmul`` of two activations;
* activations beyond the emitter's fixed set (general Clip, HardSigmoid,
  HardSwish, PRelu-style bodies) through :class:`Act`;
* ``mafat.input_layouts`` / ``mafat.output_layouts`` in the function's
  attributes and escaped names.

Everything it writes is in the op set of docs/CanonicalForm.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..mlir_emitter import (
    MlirEmitter,
    Value,
    Region,
    tensor_type,
    format_f32,
    normalize_act,
    normalize_pad,
    normalize_pair,
    window_out_size,
)

__all__ = ["Act", "OnnxEmitter", "mlir_string", "reshape_reassociation"]

# Ops of a node that are never its "main" op: they get the ".<kind>" suffix.
_AUX_KINDS = frozenset({"pad", "fill"})


def mlir_string(s: str) -> str:
    """``s`` as an MLIR string literal (quotes included)."""
    out = []
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend("\\%02X" % b for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def reshape_reassociation(big: Sequence[int], small: Sequence[int]) -> Optional[List[List[int]]]:
    """Reassociation groups that collapse shape ``big`` into ``small``, or None.

    Each dim of ``small`` must be the product of a run of consecutive dims of
    ``big``; unit dims of ``big`` left over at the end join the last group.
    """
    big, small = list(big), list(small)
    if int(np.prod(big)) != int(np.prod(small)):
        return None
    if not small:
        return [] if all(d == 1 for d in big) else None
    groups: List[List[int]] = []
    i = 0
    for d in small:
        if i >= len(big):
            return None
        g, p = [i], big[i]
        i += 1
        while p < d and i < len(big):
            p *= big[i]
            g.append(i)
            i += 1
        if p != d:
            return None
        groups.append(g)
    while i < len(big):
        if big[i] != 1:
            return None
        groups[-1].append(i)
        i += 1
    return groups


def common_shape(a: Sequence[int], b: Sequence[int]) -> List[int]:
    """The finest shape both ``a`` and ``b`` collapse into (same element count)."""
    a = [int(d) for d in a if d != 1]
    b = [int(d) for d in b if d != 1]
    i = j = 0
    res: List[int] = []
    while i < len(a) and j < len(b):
        pa, pb = a[i], b[j]
        i, j = i + 1, j + 1
        while pa != pb:
            if pa < pb:
                pa *= a[i]
                i += 1
            else:
                pb *= b[j]
                j += 1
        res.append(pa)
    return res


@dataclass(frozen=True)
class Act:
    """An activation fused into a generic body.

    ``kind`` is one of the emitter's (``relu``, ``relu6``, ``leaky``,
    ``sigmoid``, whose op sequences are canonical) or ``clip`` (params lo,
    hi; either may be None), ``hardsigmoid`` (alpha, beta), ``hardswish``
    (alpha, beta: x * hardsigmoid(x)), ``silu`` (x * sigmoid(x)), ``tanh``.
    """

    kind: str
    params: Tuple[Optional[float], ...] = ()

    def apply(self, r: Region, x: str) -> str:
        k = self.kind
        if k in ("relu", "relu6", "sigmoid"):
            return r.act(x, k, None)
        if k == "leaky":
            return r.act(x, "leaky", float(self.params[0]))
        if k == "clip":
            lo, hi = self.params
            y = x
            if lo is not None:
                y = r.op(f"arith.maximumf {y}, {r.const(lo)} : f32")
            if hi is not None:
                y = r.op(f"arith.minimumf {y}, {r.const(hi)} : f32")
            return y
        if k == "tanh":
            return r.op(f"math.tanh {x} : f32")
        if k == "silu":  # x * sigmoid(x), sigmoid with the emitter's op sequence
            return r.op(f"arith.mulf {x}, {r.act(x, 'sigmoid', None)} : f32")
        if k in ("hardsigmoid", "hardswish"):
            alpha, beta = self.params
            t = r.op(f"arith.mulf {x}, {r.const(alpha)} : f32")
            t = r.op(f"arith.addf {t}, {r.const(beta)} : f32")
            t = r.op(f"arith.maximumf {t}, {r.const(0.0)} : f32")
            t = r.op(f"arith.minimumf {t}, {r.const(1.0)} : f32")
            if k == "hardswish":
                t = r.op(f"arith.mulf {x}, {t} : f32")
            return t
        raise ValueError(f"unknown activation {k!r}")


def as_act(act) -> Optional[Act]:
    """An :class:`Act`, an emitter ActSpec or None -> Act or None (identity)."""
    if act is None or isinstance(act, Act):
        return act
    kind, slope = normalize_act(act)
    if kind == "identity":
        return None
    return Act(kind, (slope,) if kind == "leaky" else ())


def _affine_map(rank: int, dims: Sequence[int]) -> str:
    ds = ", ".join(f"d{i}" for i in range(rank))
    res = ", ".join(f"d{i}" for i in dims)
    return f"affine_map<({ds}) -> ({res})>"


class OnnxEmitter(MlirEmitter):
    """:class:`MlirEmitter` plus the ops and naming the ONNX importer needs.

    Call :meth:`begin_node` for each ONNX node (or boundary conversion) and
    pass the returned index as ``layer=`` to the emitter's layer methods and
    to the methods here; all the ops get the node's name as location.
    """

    def __init__(self, func_name: str = "model", resource_threshold: int = 64 * 1024):
        super().__init__(func_name, resource_threshold)
        self._node_names: Dict[int, str] = {}
        self._node_primary: Dict[int, Optional[str]] = {}
        self._bare_used: Dict[int, bool] = {}
        self.input_layouts: List[str] = []
        self.output_layouts: List[str] = []

    # ------------------------------------------------------------------ naming

    def begin_node(self, name: str, primary: Optional[str] = None) -> int:
        """A new layer index whose ops are named after ``name``.

        The node's main op gets ``loc("name")``: the op of kind ``primary``
        if given, else the first op that is not a pad or fill. All other ops
        get ``loc("name.<kind>")``.
        """
        i = self.begin_layer(None)
        self._node_names[i] = name
        self._node_primary[i] = primary
        self._bare_used[i] = False
        return i

    def loc(self, layer: int, kind: str) -> str:  # overrides the static base method
        name = self._node_names.get(layer)
        if name is None:
            return f'loc("L{layer}:{kind}")'
        primary = self._node_primary.get(layer)
        bare = (not self._bare_used[layer]) and (kind == primary if primary else kind not in _AUX_KINDS)
        if bare:
            self._bare_used[layer] = True
            return f"loc({mlir_string(name)})"
        return f"loc({mlir_string(name + '.' + kind)})"

    def _scalar_f32(self, v: float) -> str:
        text = "0.0" if (v == 0 and math.copysign(1.0, v) > 0) else format_f32(v)
        hint = "zero" if text == "0.0" else ("neg_inf" if text == "0xFF800000" else "cst_f32")
        return self.scalar(text, hint)

    # -------------------------------------------------------- generic builder

    def generic(
        self,
        operands: Sequence[Tuple[Value, Sequence[int]]],
        out_shape: Sequence[int],
        body: Callable[[Region, List[str]], str],
        layer: int,
        kind: str,
        reduce_dims: Sequence[int] = (),
        init: Optional[float] = None,
    ) -> Value:
        """A linalg.generic over the loop space ``out_shape`` (all dims).

        Each operand is ``(value, dims)``: the loop dims its own dims map to,
        in increasing order (a projected permutation; a full-rank operand
        uses all dims). With ``reduce_dims`` the result drops those dims,
        they iterate as reductions, and the accumulator starts as a fill of
        ``init``; the body then gets the accumulator as its last argument.
        """
        rank = len(out_shape)
        maps = []
        for v, dims in operands:
            dims = tuple(dims)
            if len(dims) != len(v.shape) or any(out_shape[d] != s for d, s in zip(dims, v.shape)):
                raise ValueError(f"operand {v.shape} does not map to {tuple(out_shape)} via {dims}")
            maps.append(self._map(rank, dims))
        red = sorted(set(reduce_dims))
        keep = [d for d in range(rank) if d not in red]
        res_shape = tuple(out_shape[d] for d in keep)
        maps.append(self._map(rank, tuple(keep)))
        if red:
            if init is None:
                raise ValueError("a reduction needs an init value")
            scalar = self._scalar_f32(init)
            e = self.empty(res_shape, f"L{layer}_{kind}_init")
            acc = Value(self.fresh(f"L{layer}_{kind}_acc"), res_shape)
            self.emit(
                f"{acc.name} = linalg.fill ins({scalar} : f32) outs({e.name} : {e.type}) -> {e.type} "
                + self.loc(layer, "fill")
            )
        else:
            acc = self.empty(res_shape, f"L{layer}_{kind}_init")
        region = Region()
        args = [f"%in{j}" for j in range(len(operands))]
        result = body(region, args + (["%out"] if red else []))
        iters = ["reduction" if d in red else "parallel" for d in range(rank)]
        return self.emit_generic(maps, iters, [v for v, _ in operands], acc, region, args + ["%out"],
                                 result, layer, kind)

    def _map(self, rank: int, dims: Tuple[int, ...]) -> str:
        if dims == tuple(range(rank)):
            alias = f"id{rank}"
        elif dims == (rank - 1,):
            alias = f"ch{rank}"
        else:
            alias = f"m{rank}_" + ("_".join(str(d) for d in dims) if dims else "s")
        return self.map_alias(alias, _affine_map(rank, dims))

    def bias_act(self, x: Value, bias: Optional[np.ndarray], act, layer: int) -> Value:
        """Per-channel bias plus any :class:`Act` (overrides the base method,
        which only knows the emitter's fixed activations)."""
        a = as_act(act)
        if bias is None and a is None:
            return x
        rank = len(x.shape)
        operands = [(x, tuple(range(rank)))]
        if bias is not None:
            bias = np.asarray(bias, dtype=np.float32).reshape(-1)
            if bias.shape[0] != x.shape[-1]:
                raise ValueError(f"bias of {bias.shape[0]} for {x.shape[-1]} channels")
            operands.append((self.constant(bias, f"L{layer}_bias"), (rank - 1,)))

        def body(r: Region, s: List[str]) -> str:
            y = s[0]
            if bias is not None:
                y = r.op(f"arith.addf {y}, {s[1]} : f32")
            return a.apply(r, y) if a is not None else y

        return self.generic(operands, x.shape, body, layer, a.kind if a is not None else "bias")

    # --------------------------------------------------------- shape plumbing

    def transpose(self, x: Value, perm: Sequence[int], layer: int, kind: str = "transpose") -> Value:
        perm = [int(p) for p in perm]
        out = tuple(x.shape[p] for p in perm)
        e = self.empty(out, f"L{layer}_{kind}_init")
        name = self.fresh(f"L{layer}_{kind}")
        self.emit(
            f"{name} = linalg.transpose ins({x.name} : {x.type}) outs({e.name} : {e.type}) "
            f"permutation = [{', '.join(str(p) for p in perm)}] " + self.loc(layer, kind)
        )
        return Value(name, out)

    def _groups_text(self, groups: List[List[int]]) -> str:
        return "[" + ", ".join("[" + ", ".join(str(d) for d in g) + "]" for g in groups) + "]"

    def collapse(self, x: Value, groups: List[List[int]], layer: int, kind: str = "reshape") -> Value:
        out = tuple(int(np.prod([x.shape[d] for d in g])) for g in groups)
        name = self.fresh(f"L{layer}_{kind}")
        self.emit(
            f"{name} = tensor.collapse_shape {x.name} {self._groups_text(groups)} : "
            f"{x.type} into {tensor_type(out)} " + self.loc(layer, kind)
        )
        return Value(name, out)

    def expand(self, x: Value, groups: List[List[int]], out_shape: Sequence[int], layer: int,
               kind: str = "reshape") -> Value:
        out = tuple(int(d) for d in out_shape)
        name = self.fresh(f"L{layer}_{kind}")
        self.emit(
            f"{name} = tensor.expand_shape {x.name} {self._groups_text(groups)} "
            f"output_shape [{', '.join(str(d) for d in out)}] : {x.type} into {tensor_type(out)} "
            + self.loc(layer, kind)
        )
        return Value(name, out)

    def reshape(self, x: Value, shape: Sequence[int], layer: int, kind: str = "reshape") -> Value:
        """Row-major reshape with collapse_shape/expand_shape (via 1-D if needed)."""
        shape = tuple(int(d) for d in shape)
        if int(np.prod(shape)) != int(np.prod(x.shape)):
            raise ValueError(f"cannot reshape {x.shape} to {shape}")
        if shape == tuple(x.shape):
            return x
        g = reshape_reassociation(x.shape, shape)
        if g is not None:
            return self.collapse(x, g, layer, kind)
        g = reshape_reassociation(shape, x.shape)
        if g is not None:
            return self.expand(x, g, shape, layer, kind)
        mid = common_shape(x.shape, shape)
        y = self.collapse(x, reshape_reassociation(x.shape, mid), layer, kind)
        return self.expand(y, reshape_reassociation(shape, mid), shape, layer, kind)

    def extract_slice(self, x: Value, offsets: Sequence[int], sizes: Sequence[int],
                      strides: Sequence[int], layer: int, kind: str = "slice") -> Value:
        sizes = tuple(int(s) for s in sizes)
        name = self.fresh(f"L{layer}_{kind}")
        j = lambda v: ", ".join(str(int(t)) for t in v)  # noqa: E731
        self.emit(
            f"{name} = tensor.extract_slice {x.name}[{j(offsets)}] [{j(sizes)}] [{j(strides)}] : "
            f"{x.type} to {tensor_type(sizes)} " + self.loc(layer, kind)
        )
        return Value(name, sizes)

    def pad_nd(self, x: Value, lo: Sequence[int], hi: Sequence[int], value: float, layer: int,
               kind: str = "pad") -> Value:
        """tensor.pad of any dims with a constant; a no-op without padding."""
        lo, hi = [int(t) for t in lo], [int(t) for t in hi]
        if min(lo + hi) < 0:
            raise ValueError(f"negative padding {lo} {hi}")
        if not any(lo) and not any(hi):
            return x
        scalar = self._scalar_f32(value)
        out = tuple(d + a + b for d, a, b in zip(x.shape, lo, hi))
        rank = len(x.shape)
        idx = ", ".join(f"%i{k}: index" for k in range(rank))
        name = self.fresh(f"L{layer}_{kind}")
        self.emit(
            f"{name} = tensor.pad {x.name} low[{', '.join(map(str, lo))}] high[{', '.join(map(str, hi))}] {{\n"
            f"  ^bb0({idx}):\n"
            f"    tensor.yield {scalar} : f32\n"
            f"  }} : {x.type} to {tensor_type(out)} " + self.loc(layer, kind)
        )
        return Value(name, out)

    def concat_dim(self, xs: Sequence[Value], dim: int, layer: int) -> Value:
        """tensor.concat along ``dim`` (a single operand is returned as is)."""
        if len(xs) == 1:
            return xs[0]
        ref = list(xs[0].shape)
        for v in xs:
            if len(v.shape) != len(ref) or any(a != b for k, (a, b) in enumerate(zip(v.shape, ref)) if k != dim):
                raise ValueError(f"concat of mismatched shapes {[v.shape for v in xs]} along {dim}")
        out = list(ref)
        out[dim] = sum(v.shape[dim] for v in xs)
        name = self.fresh(f"L{layer}_concat")
        self.emit(
            f"{name} = tensor.concat dim({dim}) {', '.join(v.name for v in xs)} : "
            f"({', '.join(v.type for v in xs)}) -> {tensor_type(out)} " + self.loc(layer, "concat")
        )
        return Value(name, tuple(out))

    # ------------------------------------------------------------- layer ops

    def pool(self, x: Value, op: str, k, s, d, pad4, pad_value: float, layer: int, kind: str) -> Value:
        """linalg.pooling_nhwc_{max,sum} with dilations and explicit padding."""
        kh, kw = normalize_pair(k)
        sh, sw = normalize_pair(s)
        dh, dw = normalize_pair(d)
        p = normalize_pad(pad4)
        xp = self.pad_nd(x, (0, p[0], p[2], 0), (0, p[1], p[3], 0), pad_value, layer)
        oh = window_out_size(x.shape[1], kh, sh, dh, p[0], p[1])
        ow = window_out_size(x.shape[2], kw, sw, dw, p[2], p[3])
        out = (1, oh, ow, x.shape[3])
        window = self.empty((kh, kw), f"L{layer}_window")
        init = "0xFF800000" if op == "pooling_nhwc_max" else "0.0"  # -inf or 0
        acc = self.filled(out, init, layer, f"L{layer}_acc")
        res = self.fresh(f"L{layer}_{kind}")
        self.emit(
            f"{res} = linalg.{op} {{dilations = dense<[{dh}, {dw}]> : tensor<2xi64>, "
            f"strides = dense<[{sh}, {sw}]> : tensor<2xi64>}} "
            f"ins({xp.name}, {window.name} : {xp.type}, {window.type}) "
            f"outs({acc.name} : {acc.type}) -> {acc.type} " + self.loc(layer, kind)
        )
        return Value(res, out)

    def divide_by(self, x: Value, divisor: np.ndarray, layer: int, kind: str = "div") -> Value:
        """x / divisor, where divisor is a scalar or an (OH, OW) map of an NHWC x."""
        divisor = np.asarray(divisor, dtype=np.float32)
        if divisor.ndim == 0 or np.all(divisor == divisor.flat[0]):
            c = float(divisor.flat[0])
            return self.generic([(x, (0, 1, 2, 3))], x.shape,
                                lambda r, a: r.op(f"arith.divf {a[0]}, {r.const(c)} : f32"), layer, kind)
        dv = self.constant(divisor, f"L{layer}_divisor")
        return self.generic([(x, (0, 1, 2, 3)), (dv, (1, 2))], x.shape,
                            lambda r, a: r.op(f"arith.divf {a[0]}, {a[1]} : f32"), layer, kind)

    def upsample_nearest(self, x: Value, sh: int, sw: int, layer: int) -> Value:
        """NHWC nearest upsample by integer factors: out[h, w] = in[h // sh, w // sw].

        A broadcast generic into (1, H, sh, W, sw, C) (every map a projected
        permutation, no gather) and a collapse_shape to (1, H*sh, W*sw, C).
        """
        n, h, w, c = x.shape
        big = (n, h, sh, w, sw, c)
        y = self.generic([(x, (0, 1, 3, 5))], big, lambda r, a: a[0], layer, "upsample")
        return self.collapse(y, [[0], [1, 2], [3, 4], [5]], layer, "upsample_collapse")

    def matmul_values(self, a: Value, b: Value, layer: int) -> Value:
        """linalg.matmul of two rank-2 values."""
        m, k = a.shape
        k2, n = b.shape
        if k != k2:
            raise ValueError(f"matmul of {a.shape} and {b.shape}")
        acc = self.filled((m, n), "0.0", layer, f"L{layer}_acc")
        res = self.fresh(f"L{layer}_matmul")
        self.emit(
            f"{res} = linalg.matmul ins({a.name}, {b.name} : {a.type}, {b.type}) "
            f"outs({acc.name} : {acc.type}) -> {acc.type} " + self.loc(layer, "matmul")
        )
        return Value(res, (m, n))

    # ------------------------------------------------------------------ output

    def to_mlir(self) -> str:
        """The module, with escaped names and the layout attributes added."""
        text = super().to_mlir()

        def arr(xs):
            return "[" + ", ".join(mlir_string(t) for t in xs) + "]"

        def names(lst):  # exactly what the base class writes
            return "[" + ", ".join(f'"{n}"' for _, n in lst) + "]"

        old = (f"{{mafat.input_names = {names(self.inputs)}, "
               f"mafat.output_names = {names(self.outputs)}}}")
        attrs = [f"mafat.input_names = {arr([n for _, n in self.inputs])}",
                 f"mafat.output_names = {arr([n for _, n in self.outputs])}"]
        if self.input_layouts:
            attrs.append(f"mafat.input_layouts = {arr(self.input_layouts)}")
        if self.output_layouts:
            attrs.append(f"mafat.output_layouts = {arr(self.output_layouts)}")
        new = "{" + ", ".join(attrs) + "}"
        if old not in text:  # pragma: no cover - the base format changed
            raise RuntimeError("unexpected function header from MlirEmitter.to_mlir")
        return text.replace(old, new, 1)
