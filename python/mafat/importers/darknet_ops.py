"""Emitter extensions for the Darknet importer.

:class:`DarknetEmitter` is an :class:`~mafat.mlir_emitter.MlirEmitter` with
the few extra ops Darknet networks need. Everything it writes stays inside
mafat's canonical form (docs/CanonicalForm.md); no gathers, no control flow:

* :meth:`~DarknetEmitter.activation_ext` / extended ``act=`` kinds on
  conv, dense, add: Darknet's ``mish`` and ``swish`` on top of the base
  emitter's relu/leaky/sigmoid (Darknet's ``logistic``), as elementwise
  ``linalg.generic`` bodies of arith/math ops.
* :meth:`~DarknetEmitter.slice_channels`: ``tensor.extract_slice`` of a
  channel range (grouped convolutions, ``[route] groups=``).
* :meth:`~DarknetEmitter.upsample`: nearest-neighbour upsampling as a
  broadcasting all-parallel ``linalg.generic`` plus ``tensor.collapse_shape``
  (or, optionally, one generic with a ``floordiv`` input map).
* :meth:`~DarknetEmitter.reorg`: Darknet's ``[reorg]`` (see
  :func:`reorg_plan`) as permuting all-parallel generics and
  ``tensor.collapse_shape`` / ``tensor.expand_shape`` only.
* :meth:`~DarknetEmitter.softmax`: Darknet's softmax over the whole tensor:
  the max and the sum as pooling ops over a column view, exp and divide as
  elementwise generics.

Three forms are avoided on purpose because mafat's codegen currently
mishandles them (each is noted where it matters): ``linalg.transpose`` of
tens of thousands of elements (vectorized whole; mafat-compile runs for
minutes), reduction ``linalg.generic`` (the ``vector.multi_reduction`` it
becomes is not lowered to LLVM), and ``floordiv`` input maps (register
blocking leaves them untiled: tiling would divide the tile's local index).
* :meth:`~DarknetEmitter.to_nhwc_vector`: ``(1, N)`` -> ``(1, 1, 1, N)`` with
  ``tensor.expand_shape`` (a ``[connected]`` output as a 1x1xN map).
* :meth:`~DarknetEmitter.write`: streams the module to a file, so a
  194 MiB YOLOv2 does not need the whole text in memory twice.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from ..mlir_emitter import MlirEmitter, Value, tensor_type, normalize_act

__all__ = ["DarknetEmitter", "EXTENDED_ACTS", "reorg_plan", "apply_plan"]

# Activations the base emitter does not know, with their scalar bodies.
EXTENDED_ACTS = ("mish", "swish")

# Darknet (AlexeyAB) computes mish with softplus(x) = x above this threshold.
MISH_THRESHOLD = 20.0


def _ext_act(r, x: str, kind: str) -> str:
    """Scalar body of an extended activation; ``r`` is the emitter's region builder."""
    if kind == "swish":
        # x * sigmoid(x) = x / (1 + exp(-x))
        n = r.op(f"arith.negf {x} : f32")
        e = r.op(f"math.exp {n} : f32")
        d = r.op(f"arith.addf {r.const(1.0)}, {e} : f32")
        return r.op(f"arith.divf {x}, {d} : f32")
    if kind == "mish":
        # mish(x) = x * tanh(softplus(x)). With e = exp(x):
        # tanh(log(1 + e)) = ((1+e)^2 - 1) / ((1+e)^2 + 1) = n / (n + 2), n = e * (e + 2),
        # which has no cancellation for negative x. Above the threshold
        # softplus(x) = x and tanh(x) = 1 in f32, so mish(x) = x (and the
        # select also hides the inf/inf of exp overflowing).
        e = r.op(f"math.exp {x} : f32")
        two = r.const(2.0)
        ep2 = r.op(f"arith.addf {e}, {two} : f32")
        n = r.op(f"arith.mulf {e}, {ep2} : f32")
        np2 = r.op(f"arith.addf {n}, {two} : f32")
        t = r.op(f"arith.divf {n}, {np2} : f32")
        y = r.op(f"arith.mulf {x}, {t} : f32")
        big = r.op(f"arith.cmpf ogt, {x}, {r.const(MISH_THRESHOLD)} : f32")
        return r.op(f"arith.select {big}, {x}, {y} : f32")
    raise ValueError(kind)


def _is_ext(act) -> bool:
    return isinstance(act, str) and act in EXTENDED_ACTS


def _act_body(r, x: str, act) -> str:
    if _is_ext(act):
        return _ext_act(r, x, act)
    kind, slope = normalize_act(act)
    return r.act(x, kind, slope)


def _act_kind(act) -> str:
    return act if _is_ext(act) else normalize_act(act)[0]


def reorg_plan(shape: Sequence[int], stride: int) -> List[Tuple[str, Tuple[int, ...]]]:
    """Darknet's ``[reorg]`` on an NHWC ``(1, h, w, c)`` tensor as reshapes and transposes.

    Darknet runs ``reorg_cpu(input, w, h, c, batch, stride, forward=0, output)``
    with the *input's* w, h, c. That loop reads the NCHW input buffer as if it
    were ``(c / s^2, h * s, w * s)`` and writes an NCHW ``(c, h, w)``-shaped
    buffer, which the next layer then reads as ``(c * s^2, h / s, w / s)``.
    In index form, with ``oc = c / s^2`` and the input viewed as
    ``(oc, h, s, w, s)`` = ``[c2, j, dy, i, dx]``, the output viewed as
    ``(s, s, oc, h, w)`` is ``out[dy, dx, c2, j, i] = in[c2, j, dy, i, dx]``.
    (This is not the space-to-depth of other frameworks: the channel and
    spatial factors are interleaved differently.)

    Returns the steps as ``("transpose", perm)`` / ``("reshape", shape)``;
    :func:`apply_plan` runs them with numpy (tests), and
    :meth:`DarknetEmitter.reorg` emits them.
    """
    n, h, w, c = (int(d) for d in shape)
    s = int(stride)
    oc = c // (s * s)
    total = h * w * c
    return [
        ("transpose", (0, 3, 1, 2)),  # NHWC -> NCHW, Darknet's buffer order
        ("reshape", (total,)),
        ("reshape", (oc, h, s, w, s)),  # [c2, j, dy, i, dx]
        ("transpose", (2, 4, 0, 1, 3)),  # -> [dy, dx, c2, j, i]
        ("reshape", (total,)),
        ("reshape", (1, c * s * s, h // s, w // s)),  # Darknet's output, NCHW
        ("transpose", (0, 2, 3, 1)),  # -> NHWC
    ]


def apply_plan(x: np.ndarray, plan) -> np.ndarray:
    """Runs a :func:`reorg_plan` on a numpy array (C-order reshapes)."""
    for kind, arg in plan:
        x = np.transpose(x, arg) if kind == "transpose" else np.reshape(np.ascontiguousarray(x), arg)
    return np.ascontiguousarray(x)


def _affine(rank: int, exprs: Sequence[str]) -> str:
    ds = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({ds}) -> ({', '.join(exprs)})>"


class DarknetEmitter(MlirEmitter):
    """:class:`MlirEmitter` plus the ops Darknet layers need (see the module doc)."""

    # ------------------------------------------------------ activations

    def bias_act(self, x: Value, bias: Optional[np.ndarray], act, layer: int) -> Value:
        if not _is_ext(act):
            return super().bias_act(x, bias, act, layer)
        operands = [x]
        if bias is not None:
            bias = np.asarray(bias, dtype=np.float32).reshape(-1)
            if bias.shape[0] != x.shape[-1]:
                raise ValueError(f"bias of {bias.shape[0]} for {x.shape[-1]} channels")
            operands.append(self.constant(bias, f"L{layer}_bias"))

        def body(r, a: List[str]) -> str:
            y = a[0]
            if bias is not None:
                y = r.op(f"arith.addf {y}, {a[1]} : f32")
            return _ext_act(r, y, act)

        return self.elementwise_generic(operands, x.shape, body, layer, act)

    def activation_ext(self, x: Value, act, layer: Optional[int] = None) -> Value:
        """A standalone activation, including mish/swish; identity returns x."""
        i = self.begin_layer(layer)
        if _act_kind(act) == "identity":
            return x
        return self.elementwise_generic([x], x.shape, lambda r, a: _act_body(r, a[0], act), i, _act_kind(act))

    def add_ext(self, a: Value, b: Value, act=None, layer: Optional[int] = None) -> Value:
        """Residual add (Darknet ``[shortcut]``), then any activation."""
        i = self.begin_layer(layer)
        if a.shape != b.shape:
            raise ValueError(f"add of {a.shape} and {b.shape}")

        def body(r, s: List[str]) -> str:
            return _act_body(r, r.op(f"arith.addf {s[0]}, {s[1]} : f32"), act)

        return self.elementwise_generic([a, b], a.shape, body, i, "add")

    # ------------------------------------------------- general generic

    def _generic_maps(
        self,
        operands: Sequence[Tuple[Value, str]],
        out_shape: Sequence[int],
        body: Callable[[object, List[str], str], str],
        layer: int,
        kind: str,
        iterators: Optional[Sequence[str]] = None,
        init: Optional[Value] = None,
        out_map: Optional[str] = None,
    ) -> Value:
        """A ``linalg.generic`` with explicit indexing maps.

        ``operands`` pairs each input with its ``affine_map<...>`` text; the
        loop space is ``out_shape`` unless ``iterators``/``out_map`` describe
        a reduction (then ``init`` is the accumulator and its shape the
        result's). ``body(region, in_args, out_arg)`` returns the yielded value.
        """
        from ..mlir_emitter import Region  # the base emitter's region builder

        rank = len(out_shape)
        iterators = list(iterators or ["parallel"] * rank)
        if out_map is None:
            out_map = _affine(rank, [f"d{j}" for j in range(rank)])
        if init is None:
            init = self.empty(out_shape, f"L{layer}_{kind}_init")
        region = Region()
        args = [f"%in{j}" for j in range(len(operands))]
        result = body(region, args, "%out")
        return self.emit_generic([m for _, m in operands] + [out_map], iterators,
                                 [v for v, _ in operands], init, region, args + ["%out"], result,
                                 layer, kind)

    # ------------------------------------------------------ layout ops

    def slice_channels(self, x: Value, start: int, size: int, layer: Optional[int] = None) -> Value:
        """Channels [start, start + size) of an NHWC tensor (tensor.extract_slice)."""
        i = self.begin_layer(layer)
        n, h, w, c = x.shape
        if start < 0 or size <= 0 or start + size > c:
            raise ValueError(f"channel slice [{start}, {start + size}) of {c} channels")
        if start == 0 and size == c:
            return x
        out = (n, h, w, size)
        res = self.fresh(f"L{i}_slice")
        self.emit(
            f"{res} = tensor.extract_slice {x.name}[0, 0, 0, {start}] [{n}, {h}, {w}, {size}] [1, 1, 1, 1] "
            f": {x.type} to {tensor_type(out)} " + self.loc(i, "slice")
        )
        return Value(res, out)

    def _reshape(self, x: Value, shape: Sequence[int], layer: int) -> Value:
        """A reshape through rank 1: collapse to 1-D and/or expand from 1-D."""
        shape = tuple(int(d) for d in shape)
        if int(np.prod(shape)) != int(np.prod(x.shape)):
            raise ValueError(f"reshape {x.shape} -> {shape}")
        if shape == x.shape:
            return x
        if len(x.shape) != 1 and len(shape) == 1:
            res = self.fresh(f"L{layer}_flat")
            grp = "[[" + ", ".join(str(d) for d in range(len(x.shape))) + "]]"
            self.emit(f"{res} = tensor.collapse_shape {x.name} {grp} : {x.type} into {tensor_type(shape)} "
                      + self.loc(layer, "reshape"))
            return Value(res, shape)
        if len(x.shape) == 1:
            res = self.fresh(f"L{layer}_view")
            grp = "[[" + ", ".join(str(d) for d in range(len(shape))) + "]]"
            self.emit(
                f"{res} = tensor.expand_shape {x.name} {grp} output_shape [{', '.join(map(str, shape))}] "
                f": {x.type} into {tensor_type(shape)} " + self.loc(layer, "reshape")
            )
            return Value(res, shape)
        return self._reshape(self._reshape(x, (int(np.prod(x.shape)),), layer), shape, layer)

    def _transpose(self, x: Value, perm: Sequence[int], layer: int) -> Value:
        """out = transpose(x, perm), i.e. out[i0, ..] = x[.., i_k at position perm[k], ..].

        Written as an all-parallel ``linalg.generic`` whose input map is the
        inverse permutation, not as ``linalg.transpose``: mafat register-
        blocks all-parallel generics, while a ``linalg.transpose`` is
        vectorized whole, which for a 26x26x64 reorg (43264 elements)
        made mafat-compile run for over ten minutes.
        """
        rank = len(perm)
        out = tuple(x.shape[p] for p in perm)
        # out dim k iterates x dim perm[k]: x index j is the loop dim k with perm[k] == j.
        inv = [0] * rank
        for k, p in enumerate(perm):
            inv[p] = k
        in_map = _affine(rank, [f"d{inv[j]}" for j in range(rank)])
        out_map = _affine(rank, [f"d{j}" for j in range(rank)])
        return self._generic_maps([(x, in_map)], out, lambda r, a, o: a[0], layer, "transpose", out_map=out_map)

    def reorg(self, x: Value, stride: int, layer: Optional[int] = None) -> Value:
        """Darknet ``[reorg]`` (element order of ``reorg_cpu(..., forward=0)``, see :func:`reorg_plan`)."""
        i = self.begin_layer(layer)
        _, h, w, c = x.shape
        s = int(stride)
        if s < 1 or h % s or w % s or c % (s * s):
            raise ValueError(f"reorg stride {s} does not divide {x.shape}")
        y = x
        for kind, arg in reorg_plan(x.shape, s):
            y = self._transpose(y, arg, i) if kind == "transpose" else self._reshape(y, arg, i)
        return y

    def upsample(self, x: Value, stride: int, scale: float = 1.0, layer: Optional[int] = None,
                 method: str = "broadcast") -> Value:
        """Nearest upsampling by an integer factor: out[n, y, x, c] = scale * in[n, y/s, x/s, c].

        Gather-free. ``method="broadcast"`` (the default) writes a rank-6
        ``(1, h, s, w, s, c)`` all-parallel generic whose input map
        ``(d0, d1, d3, d5)`` is a plain broadcast, then
        ``tensor.collapse_shape`` merges (h, s) and (w, s).
        ``method="floordiv"`` is one rank-4 generic whose input map is
        ``(d0, d1 floordiv s, d2 floordiv s, d3)``; register blocking
        leaves that map untiled (tiling it would divide the tile's local
        index, wrong when a tile does not start at a multiple of s), so it is
        not the default. Fused groups compute either form piece by piece
        with the piece's phase (docs/Fusion.md, "Upsampling in groups").
        """
        i = self.begin_layer(layer)
        n, h, w, c = x.shape
        s = int(stride)
        out = (n, h * s, w * s, c)

        def body(r, a, _out):
            if scale == 1.0:
                return a[0]
            return r.op(f"arith.mulf {a[0]}, {r.const(scale)} : f32")

        if method == "floordiv":
            in_map = self.map_alias(f"up{s}", _affine(4, ["d0", f"d1 floordiv {s}", f"d2 floordiv {s}", "d3"]))
            out_map = self.map_alias("id4", _affine(4, ["d0", "d1", "d2", "d3"]))
            return self._generic_maps([(x, in_map)], out, body, i, "upsample", out_map=out_map)
        if method != "broadcast":
            raise ValueError(f"unknown upsample method {method!r}")
        in_map = self.map_alias("bcast6", _affine(6, ["d0", "d1", "d3", "d5"]))
        out_map = self.map_alias("id6", _affine(6, [f"d{j}" for j in range(6)]))
        y = self._generic_maps([(x, in_map)], (n, h, s, w, s, c), body, i, "upsample", out_map=out_map)
        res = self.fresh(f"L{i}_upsampled")
        self.emit(
            f"{res} = tensor.collapse_shape {y.name} [[0], [1, 2], [3, 4], [5]] : {y.type} into {tensor_type(out)} "
            + self.loc(i, "reshape")
        )
        return Value(res, out)

    def to_nhwc_vector(self, x: Value, layer: Optional[int] = None) -> Value:
        """``(1, N)`` -> ``(1, 1, 1, N)`` (tensor.expand_shape, no data movement)."""
        i = self.begin_layer(layer)
        if len(x.shape) != 2:
            return x
        out = (1, 1, 1, x.shape[1])
        res = self.fresh(f"L{i}_nhwc")
        self.emit(
            f"{res} = tensor.expand_shape {x.name} [[0, 1, 2], [3]] output_shape [1, 1, 1, {x.shape[1]}] "
            f": {x.type} into {tensor_type(out)} " + self.loc(i, "reshape")
        )
        return Value(res, out)

    # ---------------------------------------------------------- softmax

    def _reduce_all(self, x: Value, op: str, layer: int, kind: str) -> Value:
        """Max or sum of every element of ``x`` -> ``tensor<1xf32>``.

        Written as a pooling op over a ``(1, N, 1, 1)`` view of x with an
        N x 1 window, not as a reduction ``linalg.generic``: mafat's codegen
        does not lower the ``vector.multi_reduction`` a vectorized reduction
        generic becomes (LLVM translation fails on an unrealized cast).
        """
        total = int(np.prod(x.shape))
        col = self._reshape(x, (1, total, 1, 1), layer)
        y = self.window_pool(col, op, (total, 1), 1, 0, "0.0", "0xFF800000" if op.endswith("max") else "0.0",
                             layer, kind)
        return self._reshape(y, (1,), layer)

    def softmax(self, x: Value, temperature: float = 1.0, layer: Optional[int] = None) -> Value:
        """Darknet's softmax over every element of ``x`` (``[softmax] groups=1``).

        Like Darknet's ``softmax()``: ``e = exp(x/T - max/T)``, then
        ``e / sum(e)``. The max and the sum are pooling ops over a column
        view (see :meth:`_reduce_all`); the rest are elementwise generics
        that read the scalar through a ``(d0, ..) -> (d0)`` broadcast map.
        """
        i = self.begin_layer(layer)
        rank = len(x.shape)
        ident = self.map_alias(f"id{rank}", _affine(rank, [f"d{j}" for j in range(rank)]))
        first = self.map_alias(f"first{rank}", _affine(rank, ["d0"]))
        t = float(temperature)

        mx = self._reduce_all(x, "pooling_nhwc_max", i, "max")

        def exp_body(r, a, _o):
            if t == 1.0:
                d = r.op(f"arith.subf {a[0]}, {a[1]} : f32")
            else:
                tc = r.const(t)
                d = r.op(f"arith.subf {r.op(f'arith.divf {a[0]}, {tc} : f32')}, "
                         f"{r.op(f'arith.divf {a[1]}, {tc} : f32')} : f32")
            return r.op(f"math.exp {d} : f32")

        e = self._generic_maps([(x, ident), (mx, first)], x.shape, exp_body, i, "exp", out_map=ident)
        sm = self._reduce_all(e, "pooling_nhwc_sum", i, "sum")
        return self._generic_maps(
            [(e, ident), (sm, first)], x.shape, lambda r, a, o: r.op(f"arith.divf {a[0]}, {a[1]} : f32"),
            i, "softmax", out_map=ident)

    # ----------------------------------------------------------- output

    def write(self, path: str) -> None:
        """Writes :meth:`to_mlir`'s text to ``path`` without building it in one string."""
        resources = self.resources
        self.resources = {}
        try:
            head = self.to_mlir()  # function text only: resources taken out
        finally:
            self.resources = resources
        with open(path, "w") as f:
            f.write(head)
            if resources:
                f.write("\n{-#\n  dialect_resources: {\n    builtin: {\n")
                items = list(resources.items())
                for j, (k, blob) in enumerate(items):
                    f.write(f'      {k}: "')
                    f.write(blob)
                    f.write('",\n' if j + 1 < len(items) else '"\n')
                f.write("    }\n  }\n#-}\n")
