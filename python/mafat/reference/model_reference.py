"""PyTorch reference execution and the accuracy check used by end-to-end tests.

:func:`run_reference` runs a :class:`mafat.models.Model`'s torch twin in
float32 on NHWC numpy inputs (converted to NCHW at the boundary) and returns
NHWC numpy outputs, so they compare directly with what a compiled model
writes. :func:`compare` is the one accuracy criterion for all such tests:
max |actual - expected| relative to max |expected| (a per-tensor, not
per-element, relative error, so values near zero do not blow it up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

__all__ = ["run_reference", "Comparison", "compare", "DEFAULT_RTOL_OF_MAX"]

# f32 convolutions summing a few hundred products differ by ~1e-6 relative
# between summation orders; 1e-4 leaves room for that, and for fast-math
# style contractions, while catching any real indexing or padding bug.
DEFAULT_RTOL_OF_MAX = 1e-4


def run_reference(model, inputs: Sequence[np.ndarray], num_threads: int = 1) -> List[np.ndarray]:
    """Outputs of ``model`` on NHWC f32 ``inputs``, as NHWC (or (1, N)) f32 arrays."""
    import torch

    # One thread: deterministic summation order, and no oversubscription
    # when tests run in parallel.
    torch.set_num_threads(num_threads)
    if len(inputs) != len(model.inputs):
        raise ValueError(f"{model.name} takes {len(model.inputs)} inputs, got {len(inputs)}")
    xs = []
    for (name, shape), a in zip(model.inputs, inputs):
        a = np.asarray(a, dtype=np.float32)
        if tuple(a.shape) != tuple(shape):
            raise ValueError(f"input {name!r}: expected shape {shape}, got {a.shape}")
        xs.append(torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2))  # NHWC -> NCHW
    module = model.to_torch()
    with torch.no_grad():
        ys = module(*xs)
    outs = []
    for y in ys:
        if y.dim() == 4:
            y = y.permute(0, 2, 3, 1)  # NCHW -> NHWC
        outs.append(np.ascontiguousarray(y.numpy(), dtype=np.float32))
    return outs


@dataclass
class Comparison:
    max_abs_err: float
    max_abs_ref: float
    rel_err: float  # max_abs_err / max_abs_ref
    tol: float
    passed: bool

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict}: max|err| = {self.max_abs_err:.3e}, max|ref| = {self.max_abs_ref:.3e}, "
            f"ratio = {self.rel_err:.3e} (tol {self.tol:.1e})"
        )


def compare(actual, expected, rtol_of_max: float = DEFAULT_RTOL_OF_MAX) -> Comparison:
    """Pass iff max|actual - expected| <= rtol_of_max * max|expected|.

    Shape mismatches and non-finite values fail outright.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise ValueError(f"shape mismatch: actual {a.shape}, expected {e.shape}")
    max_ref = float(np.max(np.abs(e))) if e.size else 0.0
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        return Comparison(float("inf"), max_ref, float("inf"), rtol_of_max, False)
    err = float(np.max(np.abs(a - e))) if e.size else 0.0
    rel = err / max_ref if max_ref > 0 else (0.0 if err == 0 else float("inf"))
    return Comparison(err, max_ref, rel, rtol_of_max, err <= rtol_of_max * max_ref)
