"""Layouts of activations in the ONNX importer.

ONNX tensors are logically NCHW; mafat's canonical form computes in NHWC. A
:class:`Tensor` pairs an emitted SSA value with the logical ONNX shape and
says how the value stores it (``plain``, ``nhwc`` or ``nhwc_flat``), and
:class:`Layouts` converts between them on demand, caching every conversion on
the tensor so each is emitted at most once. A :class:`PadAlias` stands for a
zero spatial Pad that a Conv absorbs (see :mod:`.onnx_fusion`); it is
materialized only if something else ends up reading it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

from ..mlir_emitter import Value
from .onnx_ops import OnnxEmitter

__all__ = ["NHWC_PERM", "NCHW_PERM", "PHYS_AXIS", "Tensor", "PadAlias", "cheap_perm", "Layouts"]

NHWC_PERM = (0, 2, 3, 1)  # physical NHWC from logical NCHW
NCHW_PERM = (0, 3, 1, 2)  # logical NCHW from physical NHWC
PHYS_AXIS = (0, 3, 1, 2)  # logical NCHW axis -> its position in NHWC


@dataclass(eq=False)
class Tensor:
    """An activation: an SSA value plus its logical ONNX shape.

    ``layout`` says how the physical value stores the logical tensor:
    ``plain`` (as is), ``nhwc`` (a logical rank-4 NCHW tensor stored NHWC) or
    ``nhwc_flat`` (a logical (1, C*H*W) flatten of an NCHW tensor stored in
    NHWC order (h, w, c); ``chw`` holds (C, H, W)). Conversions are cached.
    """

    value: Value
    shape: Tuple[int, ...]
    layout: str
    name: str
    chw: Optional[Tuple[int, int, int]] = None
    cache: Dict[str, "Tensor"] = field(default_factory=dict)


@dataclass(eq=False)
class PadAlias:
    """A zero spatial Pad whose only consumer is a Conv: folded into it."""

    src: Tensor
    pad4: Tuple[int, int, int, int]  # top, bottom, left, right

    @property
    def shape(self):
        n, c, h, w = self.src.shape
        t, b, l, r = self.pad4
        return (n, c, h + t + b, w + l + r)


def cheap_perm(shape: Sequence[int], perm: Sequence[int]) -> bool:
    """A transpose by ``perm`` only moves unit dims (a reshape does it)."""
    nonunit = [p for p in perm if shape[p] != 1]
    return nonunit == sorted(nonunit)


class Layouts:
    """Converts :class:`Tensor` layouts with the importer's emitter."""

    def __init__(self, em: OnnxEmitter):
        self.em = em

    def nhwc(self, t: Tensor) -> Tensor:
        if t.layout == "nhwc":
            return t
        if t.layout == "nhwc_flat" or len(t.shape) != 4:
            raise ValueError(f"'{t.name}' of shape {t.shape} is not a rank-4 NCHW tensor")
        if "nhwc" not in t.cache:
            i = self.em.begin_node(f"{t.name}.to_nhwc")
            shape = tuple(t.shape[p] for p in NHWC_PERM)
            if cheap_perm(t.shape, NHWC_PERM):
                v = self.em.reshape(t.value, shape, i)
            else:
                v = self.em.transpose(t.value, NHWC_PERM, i)
            r = Tensor(v, t.shape, "nhwc", t.name)
            r.cache["plain"] = t
            t.cache["nhwc"] = r
        return t.cache["nhwc"]

    def plain(self, t: Tensor) -> Tensor:
        if t.layout == "plain":
            return t
        if "plain" not in t.cache:
            i = self.em.begin_node(f"{t.name}.to_nchw")
            if t.layout == "nhwc":
                shape = tuple(t.value.shape[p] for p in NCHW_PERM)
                if cheap_perm(t.value.shape, NCHW_PERM):
                    v = self.em.reshape(t.value, shape, i)
                else:
                    v = self.em.transpose(t.value, NCHW_PERM, i)
            else:  # nhwc_flat
                c, h, w = t.chw
                x = self.em.expand(t.value, [[0], [1, 2, 3]], (1, h, w, c), i)
                x = self.em.transpose(x, NCHW_PERM, i)
                v = self.em.collapse(x, [[0], [1, 2, 3]], i)
            r = Tensor(v, t.shape, "plain", t.name)
            r.cache[t.layout] = t
            t.cache["plain"] = r
        return t.cache["plain"]

    def in_layout(self, t: Tensor, layout: str) -> Tensor:
        return self.nhwc(t) if layout == "nhwc" else self.plain(t)

    def materialize_pad(self, p: PadAlias) -> Tensor:
        x = self.nhwc(p.src)
        t, b, l, r = p.pad4
        i = self.em.begin_node(f"{p.src.name}.pad")
        v = self.em.pad_nd(x.value, (0, t, l, 0), (0, b, r, 0), 0.0, i)
        return Tensor(v, p.shape, "nhwc", p.src.name)

    def reshape_tensor(self, t: Tensor, shape: Sequence[int], i: int, name: str) -> Tensor:
        """``t`` reshaped (row-major, logical) as a plain tensor named ``name``."""
        shape = tuple(int(d) for d in shape)
        if t.layout == "nhwc" and len(shape) == 2 and shape[0] == 1 and not cheap_perm(t.shape, NCHW_PERM):
            # NCHW flatten of an NHWC tensor: keep NHWC order, let consumers adapt.
            _, c, h, w = t.shape
            v = self.em.collapse(t.value, [[0], [1, 2, 3]], i, "flatten")
            return Tensor(v, shape, "nhwc_flat", name, (c, h, w))
        if t.layout == "nhwc" and cheap_perm(t.shape, NCHW_PERM):
            p = t  # NHWC and NCHW orders agree: reshape the value directly
        else:
            p = self.plain(t)
        return Tensor(self.em.reshape(p.value, shape, i), shape, "plain", name)
