"""PyTorch twins of :mod:`mafat.models` layers (imported lazily; needs torch).

Everything here works in NCHW with stock torch layers, deliberately not
mirroring how the MLIR emitter lowers things: symmetric padding uses the
layers' own ``padding=`` argument, batch-norm runs from raw statistics in
``nn.BatchNorm2d`` (the MLIR gets it pre-folded), global pooling is
``nn.AdaptiveAvgPool2d``. Only asymmetric padding needs an explicit pad
module, because torch layers cannot express it.
"""

from __future__ import annotations

from typing import List

import numpy as np
import torch
from torch import nn

from ..mlir_emitter import normalize_act, normalize_pad, normalize_pair


def _param(a) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)), requires_grad=False)


def act(spec) -> nn.Module:
    kind, slope = normalize_act(spec)
    if kind == "identity":
        return nn.Identity()
    if kind == "relu":
        return nn.ReLU()
    if kind == "relu6":
        return nn.ReLU6()
    if kind == "leaky":
        return nn.LeakyReLU(slope)
    if kind == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(kind)


def _padding(pad, fill: float):
    """(torch padding arg, optional explicit pad module) for (t, b, l, r)."""
    t, b, l, r = normalize_pad(pad)
    if t == b and l == r:
        return (t, l), None
    return (0, 0), nn.ConstantPad2d((l, r, t, b), fill)  # torch order: W then H


def conv(layer, depthwise: bool) -> nn.Module:
    w = np.asarray(layer.w, dtype=np.float32)
    padding, pad_mod = _padding(layer.pad, 0.0)
    if depthwise:
        kh, kw, c = w.shape
        m = nn.Conv2d(c, c, (kh, kw), normalize_pair(layer.stride), padding,
                      normalize_pair(layer.dilation), groups=c, bias=layer.b is not None)
        m.weight = _param(w.transpose(2, 0, 1)[:, None])  # HWC -> C,1,H,W
    else:
        kh, kw, c, f = w.shape
        m = nn.Conv2d(c, f, (kh, kw), normalize_pair(layer.stride), padding,
                      normalize_pair(layer.dilation), bias=layer.b is not None)
        m.weight = _param(w.transpose(3, 2, 0, 1))  # HWCF -> F,C,H,W
    if layer.b is not None:
        m.bias = _param(np.asarray(layer.b).reshape(-1))
    mods = [pad_mod] if pad_mod is not None else []
    return nn.Sequential(*mods, m, act(layer.act))


def batchnorm(layer) -> nn.Module:
    c = len(layer.gamma)
    m = nn.BatchNorm2d(c, eps=layer.eps)
    m.weight = _param(layer.gamma)
    m.bias = _param(layer.beta)
    m.running_mean.copy_(torch.from_numpy(np.asarray(layer.mean, dtype=np.float32)))
    m.running_var.copy_(torch.from_numpy(np.asarray(layer.var, dtype=np.float32)))
    return nn.Sequential(m, act(layer.act))


def pool(layer, is_max: bool) -> nn.Module:
    k = normalize_pair(layer.k)
    s = k if layer.s is None else normalize_pair(layer.s)
    padding, pad_mod = _padding(layer.pad, float("-inf") if is_max else 0.0)
    if padding[0] * 2 > k[0] or padding[1] * 2 > k[1]:
        # torch only allows pad <= k/2 natively; pad explicitly instead.
        t, b, l, r = normalize_pad(layer.pad)
        padding, pad_mod = (0, 0), nn.ConstantPad2d((l, r, t, b), float("-inf") if is_max else 0.0)
    if is_max:
        m = nn.MaxPool2d(k, s, padding)
    else:
        m = nn.AvgPool2d(k, s, padding, count_include_pad=True)
    return nn.Sequential(*([pad_mod] if pad_mod is not None else []), m)


def global_avgpool() -> nn.Module:
    return nn.AdaptiveAvgPool2d(1)


class _Add(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.act = act(spec)

    def forward(self, a, b):
        return self.act(a + b)


def add(spec) -> nn.Module:
    return _Add(spec)


class _Concat(nn.Module):
    def forward(self, *xs):
        return torch.cat(xs, dim=1)


def concat() -> nn.Module:
    return _Concat()


class _Dense(nn.Module):
    def __init__(self, layer):
        super().__init__()
        w = np.asarray(layer.w, dtype=np.float32)
        self.fc = nn.Linear(w.shape[0], w.shape[1], bias=layer.b is not None)
        self.fc.weight = _param(w.T)
        if layer.b is not None:
            self.fc.bias = _param(np.asarray(layer.b).reshape(-1))
        self.act = act(layer.act)

    def forward(self, x):
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)  # the model flattens in NHWC order
        return self.act(self.fc(torch.flatten(x, 1)))


def dense(layer) -> nn.Module:
    return _Dense(layer)


class GraphModule(nn.Module):
    """Runs a :class:`mafat.models.Model` graph on NCHW tensors."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.mods = nn.ModuleList([l.torch_module() for l in model.layers])
        self.eval()

    def forward(self, *xs: torch.Tensor) -> List[torch.Tensor]:
        inputs = {n: x for (n, _), x in zip(self.model.inputs, xs)}
        return self.model.walk(inputs, lambda i, layer, ys: self.mods[i](*ys))
