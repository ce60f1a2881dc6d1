"""Fusion rules of the ONNX importer: which nodes disappear into a producer.

* An activation (Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish,
  Clip) that is the only reader of a Conv, Gemm/MatMul or elementwise result
  becomes that op's epilogue (:meth:`Fusion.fuse_act`), and so do
  ``Mul(x, HardSigmoid(x))`` (HardSwish) and ``Mul(x, Sigmoid(x))`` (SiLU).
* A BatchNormalization that is the only reader of a Conv is folded into the
  Conv's weights and bias (:meth:`Fusion.fold_batchnorm`).
* A zero spatial Pad whose only reader is a Conv becomes the Conv's padding
  (:meth:`Fusion.pad_into_conv`).

A fused node is marked done and has no op of its own; its work carries the
producer's name. Anything unusual about a candidate (an unexpected attribute,
a non-constant parameter) makes the rule give up, and the node is then
converted on its own, which reports the problem.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

from .errors import ImporterError
from .onnx_fold import ConstantFolder
from .onnx_graph import OnnxGraph
from .onnx_layout import PadAlias, Tensor
from .onnx_ops import Act

__all__ = ["Fusion"]


class Fusion:
    """The fusion rules, over an :class:`OnnxGraph` and its constants."""

    def __init__(self, g: OnnxGraph, folder: ConstantFolder):
        self.g = g
        self.folder = folder

    def act_of(self, k: int) -> Optional[Act]:
        """The node as a fusable activation (None if it is not one, or has
        anything unusual -- it is then converted on its own and reports it)."""
        n = self.g.nodes[k]
        op = n.op_type
        try:
            if op == "Relu" and not n.attribute:
                return Act("relu")
            if op == "Sigmoid" and not n.attribute:
                return Act("sigmoid")
            if op == "Tanh" and not n.attribute:
                return Act("tanh")
            if op == "LeakyRelu":
                a = self.g.attrs(k, ("alpha",))
                return Act("leaky", (float(a.get("alpha", 0.01)),))
            if op == "HardSigmoid":
                a = self.g.attrs(k, ("alpha", "beta"))
                return Act("hardsigmoid", (float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))))
            if op == "HardSwish" and not n.attribute:
                return Act("hardswish", (1.0 / 6.0, 0.5))
            if op == "Clip":
                lo, hi = self.clip_bounds(k)
                if lo == 0.0 and hi == 6.0:
                    return Act("relu6")
                if lo == 0.0 and hi is None:
                    return Act("relu")
                return Act("clip", (lo, hi))
        except ImporterError:
            return None
        return None

    def clip_bounds(self, k: int) -> Tuple[Optional[float], Optional[float]]:
        n = self.g.nodes[k]
        if self.g.opset < 11:
            a = self.g.attrs(k, ("min", "max"))
            lo, hi = a.get("min"), a.get("max")
        else:
            self.g.attrs(k, ())
            lo = hi = None
            if len(n.input) > 1 and n.input[1]:
                lo = self.folder.const_input(k, 1, "min")
            if len(n.input) > 2 and n.input[2]:
                hi = self.folder.const_input(k, 2, "max")
        conv = []
        for v in (lo, hi):
            if v is None:
                conv.append(None)
                continue
            v = np.asarray(v).reshape(-1)
            if v.size != 1:
                raise self.g.err(k, "min/max must be scalars")
            f = float(v[0])
            conv.append(None if math.isinf(f) or abs(f) >= 3.4e38 else f)
        return conv[0], conv[1]

    def fuse_act(self, out: str) -> Tuple[Optional[Act], str]:
        """If ``out`` feeds exactly one activation node, claim it."""
        hs = self.hardswish_pattern(out)
        if hs is not None:
            return hs
        c = self.g.sole_consumer(out)
        if c is None:
            return None, out
        act = self.act_of(c)
        if act is None:
            return None, out
        self.g.done[c] = True
        return act, self.g.nodes[c].output[0]

    def hardswish_pattern(self, out: str) -> Optional[Tuple[Act, str]]:
        """``Mul(x, HardSigmoid(x))`` (how exporters write HardSwish before
        opset 14) or ``Mul(x, Sigmoid(x))`` (SiLU/Swish) when ``x`` has no
        other reader: claim both nodes, as one activation."""
        users = self.g.consumers.get(out, [])
        if len(users) != 2 or out in self.g.graph_outputs or len(set(users)) != 2:
            return None
        ops = {self.g.nodes[u].op_type: u for u in users}
        gate = "HardSigmoid" if "HardSigmoid" in ops else "Sigmoid"
        if set(ops) != {gate, "Mul"}:
            return None
        h, m = ops[gate], ops["Mul"]
        hn, mn = self.g.nodes[h], self.g.nodes[m]
        if self.g.done[h] or self.g.done[m]:
            return None
        if hn.domain not in ("", "ai.onnx") or mn.domain not in ("", "ai.onnx") or hn.input[0] != out:
            return None
        hout = hn.output[0]
        if (self.g.consumers.get(hout, []) != [m] or hout in self.g.graph_outputs
                or sorted(mn.input) != sorted([out, hout])):
            return None
        act = self.act_of(h)
        if act is None:
            return None
        self.g.done[h] = self.g.done[m] = True
        if gate == "Sigmoid":
            return Act("silu"), mn.output[0]
        return Act("hardswish", act.params), mn.output[0]

    def bn_params(self, k: int) -> Tuple[np.ndarray, np.ndarray]:
        """(scale, shift) in float64 of an inference BatchNormalization."""
        n = self.g.nodes[k]
        a = self.g.attrs(k, ("epsilon", "momentum", "spatial", "training_mode", "is_test", "consumed_inputs"))
        if a.get("spatial", 1) != 1:
            raise self.g.err(k, "spatial=0 is not supported")
        if a.get("training_mode", 0) != 0:
            raise self.g.err(k, "training_mode=1 is not supported (export the model in eval mode)")
        if any(self.g.used(o) for o in n.output[1:]):
            raise self.g.err(k, "training outputs (running mean/var) are not supported")
        gamma, beta, mean, var = (np.asarray(self.folder.const_input(k, j, w), np.float64).reshape(-1)
                                  for j, w in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
        eps = float(a.get("epsilon", 1e-5))
        scale = gamma / np.sqrt(var + eps)
        return scale, beta - mean * scale

    def fold_batchnorm(self, out: str, W: np.ndarray, bias: Optional[np.ndarray]
                       ) -> Tuple[np.ndarray, Optional[np.ndarray], str]:
        """Fold a BatchNormalization that alone reads a Conv's output ``out``
        into the Conv's float64 weights ``W`` (F, C/group, KH, KW) and
        ``bias``: returns the new weights, bias and output name (unchanged if
        there is nothing to fold)."""
        F = W.shape[0]
        c = self.g.sole_consumer(out)
        if c is not None and self.g.nodes[c].op_type == "BatchNormalization":
            try:
                scale, shift = self.bn_params(c)
            except ImporterError:
                scale = None
            if scale is not None and scale.shape[0] == F:
                W = W * scale[:, None, None, None]
                bias = (np.zeros(F) if bias is None else bias) * scale + shift
                self.g.done[c] = True
                out = self.g.nodes[c].output[0]
        return W, bias, out

    def pad_into_conv(self, out: str, x: Tensor, value: float, lo: Sequence[int],
                      hi: Sequence[int]) -> Optional[PadAlias]:
        """A Pad of ``x`` by ``lo``/``hi`` (logical NCHW) with ``value`` whose
        output ``out`` only a Conv reads, if it pads H and W with zeros: the
        Conv pads instead. None otherwise."""
        c = self.g.sole_consumer(out)
        if (value == 0.0 and len(x.shape) == 4 and lo[:2] == [0, 0] and hi[:2] == [0, 0] and c is not None
                and self.g.nodes[c].op_type == "Conv"):
            return PadAlias(x, (lo[2], hi[2], lo[3], hi[3]))
        return None
