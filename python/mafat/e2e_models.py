"""Extra end-to-end test models that cover what the fixed models do not.

The fixed models in :mod:`mafat.models` (tiny_cnn, dw_net, res_net, conv64)
already exercise stride-1/2 convolutions, symmetric and asymmetric padding,
dilation, 1x1 convolutions, a stride-1 depthwise convolution, max pool
(2x2 s2, 2x2 s1 with asymmetric padding), average pool (3x3 s1 p1), bias,
a folded batch-norm, leaky ReLU / ReLU / ReLU6 / sigmoid, a residual add,
a channel concat, global average pooling and a fully connected layer.

The two models here add the remaining cases from the end-to-end coverage
list and some shapes that tend to break vectorization and memory planning:

``mobile_net``
    odd input size (33x33) with 3 channels (a vector tail everywhere),
    a conv without bias followed by a separate batch-norm + leaky ReLU
    (batch-norm folded after a *dense* conv), a stride-2 depthwise conv with
    bias + ReLU6, channel counts that are not multiples of 8 (20), a dilated
    depthwise conv, max pool 3x3 s2 p1 (-inf padding reaches the output
    window), average pool 3x3 s2 p1 (padded zeros counted), and two
    chained fully connected layers (the second one takes a rank-2 input).

``branch_net``
    two model inputs and two model outputs (one of them an intermediate
    tensor that later layers also read), non-square kernels, strides,
    dilations and pooling windows, a residual add with no activation,
    a standalone activation layer, a three-way concat that includes a model
    input directly, a stride-2 depthwise conv with asymmetric padding,
    global average pooling and a dense head.

Both use the same seeded He-style initialisation as the fixed models, so
activations stay O(1) and a relative error check is meaningful.
"""

from __future__ import annotations

from typing import Callable, Dict

from .models import (
    Activation,
    Add,
    AvgPool,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    DepthwiseConv2d,
    GlobalAvgPool,
    MaxPool,
    Model,
    _Init,
)
from .models import MODELS as _BASE_MODELS

__all__ = ["mobile_net", "branch_net", "inverted_net", "MODELS", "ALL_MODELS", "build_model"]


def mobile_net(seed: int = 0) -> Model:
    """MobileNet-style stem: stride-2 depthwise, 3x3 s2 pools, dense chain."""
    g = _Init(seed)
    layers = [
        Conv2d(w=g.conv(3, 3, 3, 16), stride=2, pad=1),  # L0 17x17x16, no bias
        BatchNorm(**g.bn(16), act=("leaky", 0.1)),  # L1 folded BN after a conv
        DepthwiseConv2d(w=g.dw(3, 3, 16), b=g.bias(16), stride=2, pad=1, act="relu6"),  # L2 9x9x16
        Conv2d(w=g.conv(1, 1, 16, 20), b=g.bias(20), act="relu"),  # L3 9x9x20
        DepthwiseConv2d(w=g.dw(3, 3, 20, gain=1.0), pad=2, dilation=2),  # L4 9x9x20 dilated
        BatchNorm(**g.bn(20), act="relu"),  # L5
        MaxPool(k=3, s=2, pad=1),  # L6 5x5x20
        Conv2d(w=g.conv(1, 1, 20, 24, gain=1.0), b=g.bias(24)),  # L7 5x5x24 linear
        AvgPool(k=3, s=2, pad=1),  # L8 3x3x24, count_include_pad
        Dense(w=g.dense(3 * 3 * 24, 32, gain=2.0), b=g.bias(32), act="relu6"),  # L9 1x32
        Dense(w=g.dense(32, 10), b=g.bias(10), act=("leaky", 0.1)),  # L10 1x10, rank-2 input
    ]
    return Model("mobile_net", [("input", (1, 33, 33, 3))], layers)


def branch_net(seed: int = 0) -> Model:
    """Two inputs, two outputs, non-square windows, 3-way concat, plain add."""
    g = _Init(seed)
    layers = [
        # L0: 5-wide kernel, stride 2, pads (1,1,2,2): 20x24x8 -> 10x12x12
        Conv2d(src=("image",), w=g.conv(3, 5, 8, 12), b=g.bias(12), stride=2, pad=(1, 1, 2, 2), act="relu"),
        # L1: 1x1 on the second input, no bias: 10x12x4 -> 10x12x12
        Conv2d(src=("aux",), w=g.conv(1, 1, 4, 12, gain=1.0)),
        Add(src=(0, 1)),  # L2 residual add, no activation
        Activation(act=("leaky", 0.2)),  # L3 standalone activation
        Concat(src=(3, 1, "aux")),  # L4 10x12x28, includes a model input
        # L5: dilation (2, 1) with matching padding -> 10x12x16 (also output "feat")
        Conv2d(w=g.conv(3, 3, 28, 16), b=g.bias(16), pad=(2, 2, 1, 1), dilation=(2, 1), act="sigmoid"),
        MaxPool(k=(2, 3), s=(2, 3)),  # L6 5x4x16
        # L7: stride-2 depthwise, TF-SAME style bottom/right padding -> 3x2x16
        DepthwiseConv2d(w=g.dw(3, 3, 16), b=g.bias(16), stride=2, pad=(1, 1, 0, 1), act="relu"),
        GlobalAvgPool(),  # L8 1x1x1x16
        Dense(w=g.dense(16, 5), b=g.bias(5)),  # L9 1x5
    ]
    return Model(
        "branch_net",
        [("image", (1, 20, 24, 8)), ("aux", (1, 10, 12, 4))],
        layers,
        outputs=[("feat", 5), ("logits", 9)],
    )


def inverted_net(seed: int = 0) -> Model:
    """MobileNetV2 inverted residual blocks (expand 1x1 + ReLU6, depthwise 3x3
    + ReLU6, linear project 1x1, residual add of the block input), one at each
    resolution with a stride-2 block between them, then GAP and a dense head:
    the DAG stream groups of issue 12 (a block input read by the expand conv
    and, a row later, by the add)."""
    g = _Init(seed)
    layers = [
        Conv2d(w=g.conv(3, 3, 8, 16), b=g.bias(16), pad=1, act="relu6"),  # L0 20x20x16, block input
        Conv2d(w=g.conv(1, 1, 16, 48), b=g.bias(48), act="relu6"),  # L1 expand
        DepthwiseConv2d(w=g.dw(3, 3, 48), b=g.bias(48), pad=1, act="relu6"),  # L2
        Conv2d(w=g.conv(1, 1, 48, 16, gain=1.0), b=g.bias(16)),  # L3 linear project
        Add(src=(0, 3)),  # L4 residual
        Conv2d(w=g.conv(1, 1, 16, 48), b=g.bias(48), act="relu6"),  # L5 expand
        DepthwiseConv2d(w=g.dw(3, 3, 48), b=g.bias(48), stride=2, pad=1, act="relu6"),  # L6 10x10x48
        Conv2d(w=g.conv(1, 1, 48, 24, gain=1.0), b=g.bias(24)),  # L7 project, block input
        Conv2d(w=g.conv(1, 1, 24, 72), b=g.bias(72), act="relu6"),  # L8 expand
        DepthwiseConv2d(w=g.dw(3, 3, 72), b=g.bias(72), pad=1, act="relu6"),  # L9
        Conv2d(w=g.conv(1, 1, 72, 24, gain=1.0), b=g.bias(24)),  # L10 project
        Add(src=(7, 10)),  # L11 residual
        GlobalAvgPool(),  # L12
        Dense(w=g.dense(24, 10), b=g.bias(10)),  # L13
    ]
    return Model("inverted_net", [("input", (1, 20, 20, 8))], layers)


MODELS: Dict[str, Callable[[int], Model]] = {
    "mobile_net": mobile_net,
    "branch_net": branch_net,
    "inverted_net": inverted_net,
}

# The fixed models plus these: what test/e2e/run_e2e.py can build.
ALL_MODELS: Dict[str, Callable[[int], Model]] = {**_BASE_MODELS, **MODELS}


def build_model(name: str, seed: int = 0) -> Model:
    """Any fixed or e2e model by name."""
    try:
        return ALL_MODELS[name](seed)
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(ALL_MODELS)}") from None
