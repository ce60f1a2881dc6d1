"""Model descriptions that emit canonical MLIR and build a PyTorch twin.

A :class:`Model` is a list of layers with numpy weights in mafat's layouts
(NHWC activations, HWCF / HWC filters, KxN dense weights). From that one
description it can

* emit MLIR in mafat's canonical form through :class:`~mafat.mlir_emitter.MlirEmitter`
  (layer ``i`` of the model gets locations ``L<i>:...``), and
* build an equivalent ``torch.nn.Module`` out of stock PyTorch layers
  (``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.MaxPool2d``, ...), which works in
  NCHW. The two paths share only the weights, so the torch module is an
  independent reference for what the MLIR should compute.

Layers read their inputs through ``src`` references: a negative int is
relative to the layer (``-1`` = previous layer, Darknet style), a non-negative
int is an absolute layer index and a string names a model input. The first
layer's ``-1`` is the first model input.

The fixed test models (:data:`MODELS`) are generated from a seed with
He-style scaling (std = sqrt(2 / fan_in)) so activations stay O(1) through
the network: neither exploding nor vanishing, which would make a relative
error check meaningless.

torch is imported only when a torch module is built, so emitting MLIR does
not need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from .mlir_emitter import ActSpec, MlirEmitter, Value, fold_batchnorm

Ref = Union[int, str]

__all__ = [
    "Layer",
    "Conv2d",
    "DepthwiseConv2d",
    "BatchNorm",
    "Activation",
    "MaxPool",
    "AvgPool",
    "GlobalAvgPool",
    "Add",
    "Concat",
    "Dense",
    "Model",
    "MODELS",
    "build_model",
]


# ----------------------------------------------------------------------------
# Layers. Each knows how to emit itself and how to build its torch twin.
# ----------------------------------------------------------------------------


@dataclass
class Layer:
    src: Tuple[Ref, ...] = (-1,)

    def emit(self, em: MlirEmitter, xs: List[Value], i: int) -> Value:
        raise NotImplementedError

    def torch_module(self):
        """An nn.Module whose forward takes the NCHW inputs (one per src)."""
        raise NotImplementedError


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


@dataclass
class Conv2d(Layer):
    w: np.ndarray = None  # (KH, KW, C_in, C_out)
    b: Optional[np.ndarray] = None
    stride: Union[int, Tuple[int, int]] = 1
    pad: Union[int, Tuple[int, ...]] = 0  # int, (v, h) or (top, bottom, left, right)
    dilation: Union[int, Tuple[int, int]] = 1
    act: ActSpec = None

    def emit(self, em, xs, i):
        return em.conv2d(xs[0], self.w, self.b, self.stride, self.pad, self.dilation, self.act, layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.conv(self, depthwise=False)


@dataclass
class DepthwiseConv2d(Layer):
    w: np.ndarray = None  # (KH, KW, C)
    b: Optional[np.ndarray] = None
    stride: Union[int, Tuple[int, int]] = 1
    pad: Union[int, Tuple[int, ...]] = 0
    dilation: Union[int, Tuple[int, int]] = 1
    act: ActSpec = None

    def emit(self, em, xs, i):
        return em.depthwise_conv2d(
            xs[0], self.w, self.b, self.stride, self.pad, self.dilation, self.act, layer=i
        )

    def torch_module(self):
        from .reference import torch_layers as T

        return T.conv(self, depthwise=True)


@dataclass
class BatchNorm(Layer):
    """Inference batch-norm from raw statistics; the MLIR gets it folded."""

    gamma: np.ndarray = None
    beta: np.ndarray = None
    mean: np.ndarray = None
    var: np.ndarray = None
    eps: float = 1e-5
    act: ActSpec = None

    def emit(self, em, xs, i):
        scale, shift = fold_batchnorm(self.gamma, self.beta, self.mean, self.var, self.eps)
        return em.batchnorm(xs[0], scale, shift, self.act, layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.batchnorm(self)


@dataclass
class Activation(Layer):
    act: ActSpec = "relu"

    def emit(self, em, xs, i):
        return em.activation(xs[0], self.act, layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.act(self.act)


@dataclass
class MaxPool(Layer):
    k: Union[int, Tuple[int, int]] = 2
    s: Union[int, Tuple[int, int], None] = None  # default: k
    pad: Union[int, Tuple[int, ...]] = 0

    def emit(self, em, xs, i):
        return em.maxpool(xs[0], self.k, self.s, self.pad, layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.pool(self, is_max=True)


@dataclass
class AvgPool(Layer):
    """Average pool, count_include_pad semantics (padded zeros count)."""

    k: Union[int, Tuple[int, int]] = 2
    s: Union[int, Tuple[int, int], None] = None
    pad: Union[int, Tuple[int, ...]] = 0

    def emit(self, em, xs, i):
        return em.avgpool(xs[0], self.k, self.s, self.pad, layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.pool(self, is_max=False)


@dataclass
class GlobalAvgPool(Layer):
    def emit(self, em, xs, i):
        return em.global_avgpool(xs[0], layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.global_avgpool()


@dataclass
class Add(Layer):
    src: Tuple[Ref, ...] = (-2, -1)
    act: ActSpec = None

    def emit(self, em, xs, i):
        return em.add(xs[0], xs[1], self.act, layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.add(self.act)


@dataclass
class Concat(Layer):
    src: Tuple[Ref, ...] = (-2, -1)

    def emit(self, em, xs, i):
        return em.concat(xs, layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.concat()


@dataclass
class Dense(Layer):
    """Fully connected; a rank-4 input is flattened in NHWC (h, w, c) order."""

    w: np.ndarray = None  # (K, N)
    b: Optional[np.ndarray] = None
    act: ActSpec = None

    def emit(self, em, xs, i):
        return em.dense(xs[0], self.w, self.b, self.act, layer=i)

    def torch_module(self):
        from .reference import torch_layers as T

        return T.dense(self)


# ----------------------------------------------------------------------------
# The model.
# ----------------------------------------------------------------------------


@dataclass
class Model:
    """A batch-1 f32 CNN: named NHWC inputs, layers, named outputs."""

    name: str
    inputs: List[Tuple[str, Tuple[int, ...]]]
    layers: List[Layer]
    outputs: List[Tuple[str, Ref]] = field(default_factory=lambda: [("output", -1)])

    # -- graph plumbing shared by both back ends

    def resolve(self, ref: Ref, at: int) -> Tuple[str, Union[int, str]]:
        """('layer', index) or ('input', name) for a reference made at layer `at`."""
        names = [n for n, _ in self.inputs]
        if isinstance(ref, str):
            if ref not in names:
                raise ValueError(f"unknown model input {ref!r}")
            return "input", ref
        idx = at + ref if ref < 0 else ref
        if idx == -1 and at == 0:
            return "input", names[0]
        if not 0 <= idx < at:
            raise ValueError(f"layer {at} refers to layer {idx}, which is not earlier")
        return "layer", idx

    def walk(self, inputs: Dict[str, object], apply: Callable[[int, Layer, list], object]) -> List[object]:
        """Evaluates the graph: ``apply(i, layer, xs)`` for each layer in order, on the values
        of its sources (model inputs by name from ``inputs``); returns the model's outputs.
        The MLIR emission and the PyTorch twin (:mod:`mafat.reference.torch_layers`) both
        walk the graph this way."""
        vals: List[object] = []
        for i, layer in enumerate(self.layers):
            xs = []
            for ref in layer.src:
                kind, key = self.resolve(ref, i)
                xs.append(inputs[key] if kind == "input" else vals[key])
            vals.append(apply(i, layer, xs))
        outs = []
        for _, ref in self.outputs:
            kind, key = self.resolve(ref, len(self.layers))
            outs.append(inputs[key] if kind == "input" else vals[key])
        return outs

    # -- MLIR

    def emit(self, em: Optional[MlirEmitter] = None) -> MlirEmitter:
        em = em or MlirEmitter(self.name)
        args = {n: em.input(shape, name=n) for n, shape in self.inputs}
        outs = self.walk(args, lambda i, layer, xs: layer.emit(em, xs, i))
        for (n, _), v in zip(self.outputs, outs):
            em.output(v, name=n)
        return em

    def to_mlir(self, resource_threshold: int = 64 * 1024) -> str:
        return self.emit(MlirEmitter(self.name, resource_threshold)).to_mlir()

    def output_shapes(self) -> List[Tuple[int, ...]]:
        em = self.emit()
        return [v.shape for v, _ in em.outputs]

    # -- PyTorch

    def to_torch(self):
        """An nn.Module (eval mode, f32) taking and returning NCHW tensors."""
        from .reference import torch_layers as T

        return T.GraphModule(self)

    def random_inputs(self, seed: int = 0) -> List[np.ndarray]:
        """Standard-normal NHWC f32 inputs (own RNG stream, independent of weights)."""
        rng = np.random.default_rng([seed, 0x1A9])
        return [rng.standard_normal(shape).astype(np.float32) for _, shape in self.inputs]


# ----------------------------------------------------------------------------
# Fixed test models.
# ----------------------------------------------------------------------------


class _Init:
    """Seeded He-style weight generator."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def conv(self, kh, kw, c, f, gain=2.0):
        return _f32(self.rng.standard_normal((kh, kw, c, f)) * np.sqrt(gain / (kh * kw * c)))

    def dw(self, kh, kw, c, gain=2.0):
        return _f32(self.rng.standard_normal((kh, kw, c)) * np.sqrt(gain / (kh * kw)))

    def dense(self, k, n, gain=1.0):
        return _f32(self.rng.standard_normal((k, n)) * np.sqrt(gain / k))

    def bias(self, n, std=0.1):
        return _f32(self.rng.standard_normal(n) * std)

    def bn(self, c):
        return dict(
            gamma=_f32(self.rng.uniform(0.5, 1.5, c)),
            beta=_f32(self.rng.standard_normal(c) * 0.1),
            mean=_f32(self.rng.standard_normal(c) * 0.1),
            var=_f32(self.rng.uniform(0.5, 1.5, c)),
        )


def tiny_cnn(seed: int = 0) -> Model:
    """conv3x3+bias+leaky(0.1), maxpool2, conv3x3 s2 + relu, conv1x1 + relu6."""
    g = _Init(seed)
    layers = [
        Conv2d(w=g.conv(3, 3, 8, 16), b=g.bias(16), pad=1, act=("leaky", 0.1)),  # 32x32x16
        MaxPool(k=2, s=2),  # 16x16x16
        Conv2d(w=g.conv(3, 3, 16, 32), b=g.bias(32), stride=2, pad=1, act="relu"),  # 8x8x32
        Conv2d(w=g.conv(1, 1, 32, 16), b=g.bias(16), act="relu6"),  # 8x8x16
    ]
    return Model("tiny_cnn", [("input", (1, 32, 32, 8))], layers)


def dw_net(seed: int = 0) -> Model:
    """depthwise 3x3 + bn + relu6, 1x1 conv, dilated conv, avgpool 3x3 s1 p1, sigmoid."""
    g = _Init(seed)
    layers = [
        DepthwiseConv2d(w=g.dw(3, 3, 16), pad=1),  # 16x16x16
        BatchNorm(**g.bn(16), act="relu6"),
        Conv2d(w=g.conv(1, 1, 16, 24, gain=1.0), b=g.bias(24)),  # linear bottleneck
        Conv2d(w=g.conv(3, 3, 24, 16), b=g.bias(16), pad=2, dilation=2, act="relu"),
        AvgPool(k=3, s=1, pad=1),
        Activation(act="sigmoid"),
    ]
    return Model("dw_net", [("input", (1, 16, 16, 16))], layers)


def res_net(seed: int = 0) -> Model:
    """Residual add, asymmetric-pad stride-2 conv, concat, asymmetric maxpool, GAP, FC."""
    g = _Init(seed)
    layers = [
        Conv2d(w=g.conv(3, 3, 8, 16), b=g.bias(16), pad=1, act="relu"),  # L0 16x16x16
        Conv2d(w=g.conv(3, 3, 16, 16, gain=1.0), b=g.bias(16), pad=1),  # L1
        Add(src=(0, 1), act="relu"),  # L2 residual
        # TF "SAME" for stride 2 on an even size: pad only bottom/right.
        Conv2d(w=g.conv(3, 3, 16, 16), b=g.bias(16), stride=2, pad=(0, 1, 0, 1), act=("leaky", 0.1)),  # L3 8x8x16
        Conv2d(w=g.conv(1, 1, 16, 8), b=g.bias(8), act="relu"),  # L4 8x8x8
        Concat(src=(3, 4)),  # L5 8x8x24
        MaxPool(k=2, s=1, pad=(0, 1, 0, 1)),  # L6 Darknet-style size-preserving pool
        GlobalAvgPool(),  # L7 1x1x1x24
        Dense(w=g.dense(24, 10), b=g.bias(10)),  # L8 1x10
    ]
    return Model("res_net", [("input", (1, 16, 16, 8))], layers)


def conv64(seed: int = 0) -> Model:
    """The benchmark layer: 1x104x104x64, conv3x3 pad 1, 64 -> 64, bias + leaky(0.1)."""
    g = _Init(seed)
    layers = [Conv2d(w=g.conv(3, 3, 64, 64), b=g.bias(64), pad=1, act=("leaky", 0.1))]
    return Model("conv64", [("input", (1, 104, 104, 64))], layers)


def demo_cnn(seed: int = 0) -> Model:
    """The demo network: the first layers of YOLOv2-tiny at 416x416 (conv3x3 +
    leaky with folded batch-norm, maxpool 2x2 s2), ending in a 1x1 head."""
    g = _Init(seed)
    layers = []
    c = 3
    for f in (16, 32, 64, 128):
        layers.append(Conv2d(w=g.conv(3, 3, c, f), b=g.bias(f), pad=1, act=("leaky", 0.1)))
        layers.append(MaxPool(k=2, s=2))
        c = f
    layers.append(Conv2d(w=g.conv(1, 1, c, 32, gain=1.0), b=g.bias(32)))
    return Model("demo_cnn", [("input", (1, 416, 416, 3))], layers)


MODELS: Dict[str, Callable[[int], Model]] = {
    "tiny_cnn": tiny_cnn,
    "dw_net": dw_net,
    "res_net": res_net,
    "conv64": conv64,
    "demo_cnn": demo_cnn,
}


def build_model(name: str, seed: int = 0) -> Model:
    try:
        return MODELS[name](seed)
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
