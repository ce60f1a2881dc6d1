"""PyTorch reference for Darknet networks, built from the same cfg + .weights.

Deliberately independent of the importer's emitter and of its weight
handling: only the cfg *text* parser (:func:`mafat.importers.darknet.parse_cfg`)
is shared. This module reads the ``.weights`` file itself, keeps Darknet's
NCHW layout and runs each layer the way Darknet's CPU forward pass does,
with plain torch ops:

* batch-norm is *not* folded: ``(x - mean) / (sqrt(var) + .000001) * scale + bias``
  after a bias-free convolution (Darknet's ``normalize_cpu``);
* maxpool follows ``forward_maxpool_layer``: windows start at
  ``i * stride - padding / 2``, out-of-range elements are ignored, the
  output size is ``(h + padding - size) / stride + 1``;
* reorg is a literal port of ``reorg_cpu(..., forward=0)``'s index
  arithmetic (a gather);
* upsample repeats each element ``stride`` times (``repeat_interleave``);
* connected flattens NCHW, as Darknet does;
* ``[region]`` / ``[yolo]`` pass their input through (the raw head tensor).

:func:`run_reference` takes and returns NHWC numpy arrays, in the same
output order as the importer (see :mod:`mafat.importers.darknet`).
"""

from __future__ import annotations

import struct
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..importers.darknet import parse_cfg

__all__ = ["DarknetReference", "run_reference", "reorg_cpu_numpy"]


def reorg_cpu_numpy(x: np.ndarray, w: int, h: int, c: int, batch: int, stride: int, forward: int) -> np.ndarray:
    """Direct port of Darknet's ``reorg_cpu`` on a flat buffer (vectorized, same index formulas)."""
    x = np.asarray(x).reshape(-1)
    out = np.empty_like(x)
    out_c = c // (stride * stride)
    b, k, j, i = np.meshgrid(np.arange(batch), np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    in_index = i + w * (j + h * (k + c * b))
    c2 = k % out_c
    offset = k // out_c
    w2 = i * stride + offset % stride
    h2 = j * stride + offset // stride
    out_index = w2 + w * stride * (h2 + h * stride * (c2 + out_c * b))
    if forward:
        out[out_index.reshape(-1)] = x[in_index.reshape(-1)]
    else:
        out[in_index.reshape(-1)] = x[out_index.reshape(-1)]
    return out


def _act(x: torch.Tensor, a: str) -> torch.Tensor:
    if a == "linear":
        return x
    if a == "leaky":
        return F.leaky_relu(x, 0.1)
    if a == "relu":
        return F.relu(x)
    if a == "relu6":
        return torch.clamp(x, 0.0, 6.0)
    if a == "logistic":
        return torch.sigmoid(x)
    if a == "mish":
        return x * torch.tanh(F.softplus(x))  # softplus threshold 20, as Darknet's mish
    if a == "swish":
        return x * torch.sigmoid(x)
    raise ValueError(f"activation {a!r}")


class _Reader:
    def __init__(self, path: str):
        with open(path, "rb") as f:
            self.data = f.read()
        major, minor, revision = struct.unpack_from("<iii", self.data, 0)
        self.off = 20 if (major * 10 + minor) >= 2 and major < 1000 and minor < 1000 else 16
        self.transpose = major > 1000 or minor > 1000

    def take(self, n: int) -> torch.Tensor:
        if self.off + 4 * n > len(self.data):
            raise ValueError("weights file too short")
        a = np.frombuffer(self.data, dtype="<f4", count=n, offset=self.off).astype(np.float32)
        self.off += 4 * n
        return torch.from_numpy(a)


class DarknetReference(torch.nn.Module):
    """Runs a Darknet cfg with weights from a ``.weights`` file, NCHW, batch 1."""

    def __init__(self, cfg_path: str, weights_path: str, input_size: Optional[Tuple[int, int]] = None,
                 layers: Optional[Tuple[int, int]] = None):
        super().__init__()
        with open(cfg_path) as f:
            secs = parse_cfg(f.read(), cfg_path)
        net, self.secs = secs[0].options, [s for s in secs[1:]]
        h, w = input_size if input_size is not None else (int(net["height"]), int(net["width"]))
        self.in_chw = (int(net.get("channels", 3)), h, w)
        n = len(self.secs)
        self.first, self.last = layers if layers is not None else (0, n - 1)
        self.cut = layers is not None and (self.first, self.last) != (0, n - 1)
        # Walk once on shapes to load the weights in file order.
        rd = _Reader(weights_path)
        self.params: Dict[int, Dict[str, torch.Tensor]] = {}
        shapes: List[Tuple[int, int, int]] = []
        c, hh, ww = self.in_chw
        for i, s in enumerate(self.secs[: self.last + 1]):
            o = s.options
            if i > 0:
                c, hh, ww = shapes[i - 1]
            t = s.type
            if t == "convolutional":
                nf, k = int(o.get("filters", 1)), int(o.get("size", 1))
                st = int(o.get("stride", 1))
                pad = k // 2 if int(o.get("pad", 0)) else int(o.get("padding", 0))
                g = int(o.get("groups", 1))
                bn = int(o.get("batch_normalize", 0))
                prm = {"b": rd.take(nf)}
                if bn:
                    prm.update(scale=rd.take(nf), mean=rd.take(nf), var=rd.take(nf))
                prm["w"] = rd.take(nf * (c // g) * k * k).reshape(nf, c // g, k, k)
                self.params[i] = prm
                shapes.append((nf, (hh + 2 * pad - k) // st + 1, (ww + 2 * pad - k) // st + 1))
            elif t == "connected":
                nout = int(o.get("output", 1))
                nin = c * hh * ww
                prm = {"b": rd.take(nout)}
                wt = rd.take(nout * nin)
                prm["w"] = wt.reshape(nin, nout).t().contiguous() if rd.transpose else wt.reshape(nout, nin)
                if int(o.get("batch_normalize", 0)):
                    prm.update(scale=rd.take(nout), mean=rd.take(nout), var=rd.take(nout))
                self.params[i] = prm
                shapes.append((nout, 1, 1))
            elif t == "batchnorm":
                self.params[i] = dict(scale=rd.take(c), mean=rd.take(c), var=rd.take(c))
                shapes.append((c, hh, ww))
            elif t == "maxpool":
                st = int(o.get("stride", 1))
                k = int(o.get("size", st))
                P = int(o.get("padding", k - 1))
                shapes.append((c, (hh + P - k) // st + 1, (ww + P - k) // st + 1))
            elif t == "avgpool":
                shapes.append((c, 1, 1))
            elif t == "route":
                idx = [int(v) for v in o["layers"].split(",")]
                idx = [i + v if v < 0 else v for v in idx]
                g = int(o.get("groups", 1))
                shapes.append((sum(shapes[j][0] // g for j in idx), shapes[idx[0]][1], shapes[idx[0]][2]))
            elif t == "reorg":
                st = int(o.get("stride", 1))
                shapes.append((c * st * st, hh // st, ww // st))
            elif t == "upsample":
                st = int(o.get("stride", 2))
                shapes.append((c, hh * st, ww * st))
            else:
                shapes.append((c, hh, ww))
        self.shapes = shapes

    @staticmethod
    def _bn(x, prm):
        shp = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
        x = (x - prm["mean"].reshape(shp)) / (torch.sqrt(prm["var"]).reshape(shp) + 0.000001)
        return x * prm["scale"].reshape(shp)

    def output_layers(self) -> List[int]:
        """Layer index of each output, in order (the importer's rule)."""
        n = len(self.secs)
        if self.cut:
            return [self.last]
        end = n - 1
        while end > 0 and self.secs[end].type == "cost":
            end -= 1
        res = [i for i, s in enumerate(self.secs) if s.type in ("region", "yolo")]
        if self.secs[end].type not in ("region", "yolo"):
            res.append(end)
        return res

    def forward(self, x: torch.Tensor, trace: Optional[Dict[int, torch.Tensor]] = None) -> List[torch.Tensor]:
        """Outputs (NCHW) in :meth:`output_layers` order; ``trace`` receives every layer's output."""
        outs: Dict[int, torch.Tensor] = {self.first - 1: x}
        for i in range(self.first, self.last + 1):
            s = self.secs[i]
            o, t = s.options, s.type
            x = outs[i - 1]
            if t == "convolutional":
                prm = self.params[i]
                k = int(o.get("size", 1))
                st = int(o.get("stride", 1))
                pad = k // 2 if int(o.get("pad", 0)) else int(o.get("padding", 0))
                y = F.conv2d(x, prm["w"], None, st, pad, 1, int(o.get("groups", 1)))
                if int(o.get("batch_normalize", 0)):
                    y = self._bn(y, prm)
                y = _act(y + prm["b"].reshape(1, -1, 1, 1), o.get("activation", "logistic"))
            elif t == "connected":
                prm = self.params[i]
                y = x.reshape(1, -1) @ prm["w"].t()
                if int(o.get("batch_normalize", 0)):
                    y = self._bn(y, prm)
                y = _act(y + prm["b"].reshape(1, -1), o.get("activation", "logistic"))
                y = y.reshape(1, -1, 1, 1)
            elif t == "batchnorm":
                y = self._bn(x, self.params[i])
            elif t == "activation":
                y = _act(x, o.get("activation", "linear"))
            elif t == "maxpool":
                st = int(o.get("stride", 1))
                k = int(o.get("size", st))
                P = int(o.get("padding", k - 1))
                _, oh, ow = self.shapes[i]
                lo = P // 2
                # -inf all around (generously on the far side), pool, keep Darknet's output size.
                xp = F.pad(x, (lo, P + k, lo, P + k), value=float("-inf"))
                y = F.max_pool2d(xp, k, st)[:, :, :oh, :ow]
            elif t == "avgpool":
                y = x.mean(dim=(2, 3), keepdim=True)
            elif t == "route":
                idx = [int(v) for v in o["layers"].split(",")]
                idx = [i + v if v < 0 else v for v in idx]
                g, gid = int(o.get("groups", 1)), int(o.get("group_id", 0))
                parts = []
                for j in idx:
                    cj = outs[j].shape[1] // g
                    parts.append(outs[j][:, gid * cj:(gid + 1) * cj])
                y = torch.cat(parts, dim=1)
            elif t == "reorg":
                st = int(o.get("stride", 1))
                _, c, hh, ww = x.shape
                flat = reorg_cpu_numpy(x.contiguous().numpy(), ww, hh, c, 1, st, 0)
                y = torch.from_numpy(flat).reshape(1, c * st * st, hh // st, ww // st)
            elif t == "shortcut":
                j = int(o["from"])
                j = i + j if j < 0 else j
                y = _act(x + outs[j], o.get("activation", "linear"))
            elif t == "upsample":
                st = int(o.get("stride", 2))
                y = x.repeat_interleave(st, dim=2).repeat_interleave(st, dim=3) * float(o.get("scale", 1))
            elif t == "softmax":
                g = int(o.get("groups", 1))
                temp = float(o.get("temperature", 1))
                y = torch.softmax(x.reshape(g, -1) / temp, dim=1).reshape(x.shape)
            else:  # dropout, cost, region, yolo
                y = x
            outs[i] = y
        if trace is not None:
            trace.update(outs)
        return [outs[i] for i in self.output_layers()]


def run_reference(cfg_path: str, weights_path: str, inputs_nhwc: np.ndarray,
                  input_size: Optional[Tuple[int, int]] = None, layers: Optional[Tuple[int, int]] = None,
                  num_threads: Optional[int] = None) -> List[np.ndarray]:
    """NHWC outputs of the reference on one NHWC input (f32, batch 1)."""
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    model = DarknetReference(cfg_path, weights_path, input_size, layers).eval()
    x = torch.from_numpy(np.ascontiguousarray(inputs_nhwc, dtype=np.float32)).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        ys = model(x)
    return [np.ascontiguousarray(y.permute(0, 2, 3, 1).numpy(), dtype=np.float32) for y in ys]
