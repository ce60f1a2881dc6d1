"""Constant folding for the ONNX importer.

Exporters surround the layers with constants and shape arithmetic:
initializers, ``Constant`` nodes and sub-graphs such as
``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``. :class:`ConstantFolder`
evaluates them with numpy at import time, lazily: :meth:`ConstantFolder.const`
folds a value's producers the first time a consumer asks whether the value is
a constant. ``Shape`` and ``Size`` of an activation fold to its static shape.
Ops of :data:`FOLDABLE_OPS` whose inputs are not all constant are left to the
op lowering.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .errors import ImporterError
from .onnx_graph import OnnxGraph
from .onnx_layout import PadAlias, Tensor

__all__ = ["FOLDABLE_OPS", "ConstantFolder"]

# Ops evaluated with numpy when all their inputs are constants.
FOLDABLE_OPS = frozenset(
    """Constant Identity Dropout Cast Shape Size Gather Unsqueeze Squeeze Concat Slice ConstantOfShape
    Reshape Flatten Transpose Expand Range Tile Where Add Sub Mul Div Pow Mod Max Min Sum Neg Abs
    Floor Ceil Round Sqrt Exp Log Reciprocal Sign Relu Sigmoid Tanh Clip Not And Or Xor Equal Less
    Greater LessOrEqual GreaterOrEqual ReduceProd ReduceSum ReduceMax ReduceMin ReduceMean Split""".split()
)


class ConstantFolder:
    """Evaluates the constant parts of an :class:`OnnxGraph` with numpy."""

    def __init__(self, g: OnnxGraph):
        self.g = g

    def const(self, name: str) -> Optional[np.ndarray]:
        """The constant value of ``name``, folding its producers lazily; None if not constant."""
        if not name:
            return None
        v = self.g.values.get(name)
        if isinstance(v, np.ndarray):
            return v
        if v is not None:
            return None
        k = self.g.producer.get(name)
        if k is None or self.g.done[k]:
            return None
        n = self.g.nodes[k]
        if n.op_type not in FOLDABLE_OPS or n.domain not in ("", "ai.onnx"):
            return None
        ins = []
        for i in n.input:
            if not i:
                ins.append(None)
            elif n.op_type in ("Shape", "Size") and isinstance(self.g.values.get(i), (Tensor, PadAlias)):
                ins.append(self.g.values[i])
            else:
                c = self.const(i)
                if c is None:
                    return None
                ins.append(c)
        self.fold(k, ins)
        v = self.g.values.get(name)
        return v if isinstance(v, np.ndarray) else None

    def const_input(self, k: int, j: int, what: str, required: bool = True) -> Optional[np.ndarray]:
        """Input ``j`` (the node's ``what``) of node ``k``, which must be a constant."""
        n = self.g.nodes[k]
        if j >= len(n.input) or not n.input[j]:
            if required:
                raise self.g.err(k, f"missing {what}")
            return None
        c = self.const(n.input[j])
        if c is None:
            if n.input[j] not in self.g.values and n.input[j] not in self.g.producer:
                raise self.g.err(k, f"input '{n.input[j]}' is not defined (truncated or corrupt model?)")
            raise self.g.err(k, f"{what} must be a constant (initializer or folded sub-graph)")
        return c

    def fold(self, k: int, ins: List) -> None:
        """Evaluate node ``k`` on its constant inputs ``ins``: its outputs become constants."""
        n = self.g.nodes[k]
        try:
            outs = self.evaluate(k, ins)
        except ImporterError:
            raise
        except Exception as e:
            raise self.g.err(k, f"cannot fold constant inputs: {type(e).__name__}: {e}") from None
        for name, v in zip(n.output, outs):
            if name:
                self.g.values[name] = np.asarray(v)
        self.g.done[k] = True

    def evaluate(self, k: int, ins: List) -> List[np.ndarray]:
        """The outputs of node ``k`` (one of FOLDABLE_OPS) on ``ins``, with numpy."""
        n = self.g.nodes[k]
        op = n.op_type
        a = self.g.attrs(k)

        def axes_arg(j: int, attr: str = "axes"):
            if attr in a:
                return [int(t) for t in a[attr]]
            if len(ins) > j and ins[j] is not None:
                return [int(t) for t in np.asarray(ins[j]).reshape(-1)]
            return None

        if op == "Constant":
            if "value" in a:
                return [self.g.numpy_helper.to_array(a["value"])]
            if "value_float" in a:
                return [np.array(a["value_float"], np.float32)]
            if "value_floats" in a:
                return [np.array(a["value_floats"], np.float32)]
            if "value_int" in a:
                return [np.array(a["value_int"], np.int64)]
            if "value_ints" in a:
                return [np.array(a["value_ints"], np.int64)]
            raise self.g.err(k, f"unsupported Constant attribute {sorted(a)}")
        if op in ("Shape", "Size"):
            x = ins[0]
            shape = list(x.shape)
            if op == "Size":
                return [np.array(int(np.prod(shape)), np.int64)]
            r = len(shape)
            start, end = a.get("start", 0), a.get("end", r)
            return [np.array(shape[slice(start, end)], np.int64)]
        if op == "Identity":
            return [ins[0]]
        if op == "Dropout":
            return [ins[0], np.ones(np.shape(ins[0]), bool)]
        if op == "Cast":
            return [np.asarray(ins[0]).astype(self.g.np_dtype(a["to"]))]
        if op == "Gather":
            return [np.take(ins[0], np.asarray(ins[1]).astype(np.int64), axis=a.get("axis", 0))]
        if op == "Unsqueeze":
            axes = axes_arg(1)
            x = np.asarray(ins[0])
            r = x.ndim + len(axes)
            for ax in sorted(t % r for t in axes):
                x = np.expand_dims(x, ax)
            return [x]
        if op == "Squeeze":
            axes = axes_arg(1)
            x = np.asarray(ins[0])
            if axes is None:
                return [np.squeeze(x)]
            return [np.squeeze(x, axis=tuple(t % x.ndim for t in axes))]
        if op == "Concat":
            return [np.concatenate([np.atleast_1d(t) for t in ins if t is not None], axis=a["axis"])]
        if op == "Slice":
            x = np.asarray(ins[0])
            if self.g.opset < 10:
                starts, ends = a["starts"], a["ends"]
                axes = a.get("axes", list(range(len(starts))))
                steps = [1] * len(starts)
            else:
                starts = [int(t) for t in ins[1]]
                ends = [int(t) for t in ins[2]]
                axes = [int(t) for t in ins[3]] if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
                steps = [int(t) for t in ins[4]] if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
            sl = [slice(None)] * x.ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[ax % x.ndim] = slice(s, e, st)
            return [x[tuple(sl)]]
        if op == "ConstantOfShape":
            v = self.g.numpy_helper.to_array(a["value"]).reshape(-1) if "value" in a else np.zeros(1, np.float32)
            return [np.full([int(t) for t in np.asarray(ins[0]).reshape(-1)], v[0], dtype=v.dtype)]
        if op == "Reshape":
            return [np.reshape(ins[0], self.reshape_target(k, np.shape(ins[0]), ins[1], a.get("allowzero", 0)))]
        if op == "Flatten":
            x = np.asarray(ins[0])
            ax = a.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
            return [x.reshape(int(np.prod(x.shape[:ax])), -1)]
        if op == "Transpose":
            return [np.transpose(ins[0], a.get("perm"))]
        if op == "Expand":
            x = np.asarray(ins[0])
            return [np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(int(t) for t in ins[1]))).copy()]
        if op == "Range":
            return [np.arange(ins[0], ins[1], ins[2]).astype(np.asarray(ins[0]).dtype)]
        if op == "Tile":
            return [np.tile(ins[0], [int(t) for t in ins[1]])]
        if op == "Where":
            return [np.where(ins[0], ins[1], ins[2])]
        if op == "Split":
            x = np.asarray(ins[0])
            ax = a.get("axis", 0) % x.ndim
            split = a.get("split") or (list(ins[1]) if len(ins) > 1 and ins[1] is not None else None)
            if split is None:
                split = [x.shape[ax] // len(n.output)] * len(n.output)
            idx = np.cumsum(split)[:-1]
            return np.split(x, idx, axis=ax)
        if op == "Clip":
            lo = a.get("min", ins[1] if len(ins) > 1 else None)
            hi = a.get("max", ins[2] if len(ins) > 2 else None)
            x = np.asarray(ins[0])
            if lo is not None:
                x = np.maximum(x, lo)
            if hi is not None:
                x = np.minimum(x, hi)
            return [x.astype(np.asarray(ins[0]).dtype)]
        if op in ("ReduceProd", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceMean"):
            x = np.asarray(ins[0])
            axes = axes_arg(1)
            keep = bool(a.get("keepdims", 1))
            ax = None if axes is None else tuple(t % x.ndim for t in axes)
            fn = {"ReduceProd": np.prod, "ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min,
                  "ReduceMean": np.mean}[op]
            return [fn(x, axis=ax, keepdims=keep).astype(x.dtype)]
        unary = {
            "Neg": np.negative, "Abs": np.abs, "Floor": np.floor, "Ceil": np.ceil, "Round": np.round,
            "Sqrt": np.sqrt, "Exp": np.exp, "Log": np.log, "Reciprocal": np.reciprocal, "Sign": np.sign,
            "Relu": lambda x: np.maximum(x, 0).astype(x.dtype), "Tanh": np.tanh,
            "Sigmoid": lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype), "Not": np.logical_not,
        }
        if op in unary:
            return [unary[op](np.asarray(ins[0]))]
        if op == "Div":
            x, y = np.asarray(ins[0]), np.asarray(ins[1])
            if np.issubdtype(x.dtype, np.integer):
                return [np.trunc(x / y).astype(x.dtype)]
            return [(x / y).astype(x.dtype)]
        binary = {
            "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power, "Mod": np.mod,
            "Equal": np.equal, "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
            "GreaterOrEqual": np.greater_equal, "And": np.logical_and, "Or": np.logical_or,
            "Xor": np.logical_xor,
        }
        if op in binary:
            x = np.asarray(ins[0])
            r = binary[op](x, np.asarray(ins[1]))
            return [r.astype(x.dtype) if op in ("Add", "Sub", "Mul", "Pow", "Mod") else r]
        if op in ("Max", "Min", "Sum"):
            fn = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add}[op]
            r = np.asarray(ins[0])
            for t in ins[1:]:
                r = fn(r, t)
            return [r.astype(np.asarray(ins[0]).dtype)]
        raise self.g.err(k, "cannot fold this op")

    def reshape_target(self, k: int, in_shape, shape_arr, allowzero) -> Tuple[int, ...]:
        """The shape a Reshape of ``in_shape`` to ``shape_arr`` gives (0 and -1 resolved)."""
        shape = [int(t) for t in np.asarray(shape_arr).reshape(-1)]
        out = []
        for j, d in enumerate(shape):
            if d == 0 and not allowzero:
                if j >= len(in_shape):
                    raise self.g.err(k, f"reshape target {shape}: 0 at position {j} beyond input rank")
                out.append(int(in_shape[j]))
            else:
                out.append(d)
        total = int(np.prod(in_shape))
        if out.count(-1) > 1:
            raise self.g.err(k, f"reshape target {shape} has more than one -1")
        if -1 in out:
            rest = int(np.prod([d for d in out if d != -1]))
            if rest == 0 or total % rest:
                raise self.g.err(k, f"cannot reshape {list(in_shape)} to {shape}")
            out[out.index(-1)] = total // rest
        if int(np.prod(out)) != total:
            raise self.g.err(k, f"cannot reshape {list(in_shape)} to {shape}")
        return tuple(out)
