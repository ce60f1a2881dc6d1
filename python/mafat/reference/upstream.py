"""Execute canonical-form MLIR with *upstream* MLIR only (no mafat passes).

This is the independent oracle for the emitter: if the emitted IR, lowered by
the stock one-shot-bufferize -> loops -> LLVM pipeline and JIT-run by
``mlir-runner``, matches the PyTorch reference, then the IR means what the
model says -- whatever mafat's own compiler later does with it.

The harness appends a ``@main`` to the module that

* materializes each input as a ``dense_resource`` constant (bit-exact, and
  fast to parse even for large inputs),
* calls the model function,
* bitcasts every f32 result to i32 and prints it with ``printMemrefI32`` from
  the runner utils, so results come back bit-exact rather than rounded to
  the 6 digits ``printMemrefF32`` shows.

It relies on the module layout the emitter produces (one ``module { ... }``
followed by an optional ``{-# dialect_resources: { builtin: {...} } #-}``).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["LLVM_BIN", "LOWERING_PIPELINE", "parse_signature", "build_driver_module", "run_upstream"]

LLVM_PREFIX = os.environ.get("MAFAT_LLVM_ROOT", "/usr/lib/llvm-22")
LLVM_BIN = os.path.join(LLVM_PREFIX, "bin")
RUNNER_LIBS = [
    os.path.join(LLVM_PREFIX, "lib", "libmlir_runner_utils.so"),
    os.path.join(LLVM_PREFIX, "lib", "libmlir_c_runner_utils.so"),  # memrefCopy
]

# Stock passes only. Bufferization turns tensor.pad into alloc + linalg.map +
# memref.copy into a subview and tensor.concat into copies into subviews;
# the strided copies become calls to memrefCopy in libmlir_c_runner_utils.
LOWERING_PIPELINE: List[str] = [
    "--one-shot-bufferize=bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map",
    "--buffer-results-to-out-params",
    "--convert-linalg-to-loops",
    "--lower-affine",
    "--convert-scf-to-cf",
    "--expand-strided-metadata",
    "--lower-affine",  # expand-strided-metadata introduces affine.apply
    "--finalize-memref-to-llvm",
    "--convert-math-to-llvm",
    "--convert-arith-to-llvm",
    "--convert-cf-to-llvm",
    "--convert-func-to-llvm",
    "--convert-index-to-llvm",
    "--reconcile-unrealized-casts",
]

_TENSOR_RE = re.compile(r"tensor<((?:\d+x)*)f32>")


def _shapes(text: str) -> List[Tuple[int, ...]]:
    return [tuple(int(d) for d in m.group(1).split("x") if d) for m in _TENSOR_RE.finditer(text)]


def parse_signature(mlir: str, func_name: Optional[str] = None):
    """(name, input shapes, output shapes) of the (first / named) func.func."""
    pat = r"func\.func @(%s)\((.*?)\) -> (\(.*?\)|tensor<[^>]*>)" % (
        re.escape(func_name) if func_name else r"[\w$.]+"
    )
    m = re.search(pat, mlir)
    if not m:
        raise ValueError("no model func.func found in the module")
    return m.group(1), _shapes(m.group(2)), _shapes(m.group(3))


def _tensor_type(shape, elt="f32") -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elt + ">"


def _blob(a: np.ndarray) -> str:
    return "0x" + (np.uint32(4).astype("<u4").tobytes() + a.astype("<f4").tobytes()).hex().upper()


def build_driver_module(mlir: str, inputs: Sequence[np.ndarray], func_name: Optional[str] = None) -> str:
    """The model module plus a @main that runs it on `inputs` and prints results."""
    name, in_shapes, out_shapes = parse_signature(mlir, func_name)
    if len(inputs) != len(in_shapes):
        raise ValueError(f"@{name} takes {len(in_shapes)} inputs, got {len(inputs)}")
    for a, s in zip(inputs, in_shapes):
        if tuple(a.shape) != s:
            raise ValueError(f"input shape {a.shape} != {s}")
    in_tys = [_tensor_type(s) for s in in_shapes]
    out_tys = [_tensor_type(s) for s in out_shapes]
    lines = [
        "  func.func private @printMemrefI32(tensor<*xi32>)",
        "  func.func @main() {",
    ]
    for j, ty in enumerate(in_tys):
        lines.append(f"    %in{j} = arith.constant dense_resource<__driver_in{j}> : {ty}")
    res = "%r" if len(out_tys) == 1 else f"%r:{len(out_tys)}"
    sig = "(" + ", ".join(in_tys) + ") -> (" + ", ".join(out_tys) + ")"
    args = ", ".join(f"%in{j}" for j in range(len(in_tys)))
    lines.append(f"    {res} = func.call @{name}({args}) : {sig}")
    for j, (s, ty) in enumerate(zip(out_shapes, out_tys)):
        r = "%r" if len(out_tys) == 1 else f"%r#{j}"
        ity = _tensor_type(s, "i32")
        # arith.bitcast on tensors does not bufferize; do it per element.
        rank = len(s)
        ds = ", ".join(f"d{k}" for k in range(rank))
        idmap = f"affine_map<({ds}) -> ({ds})>"
        iters = ", ".join(['"parallel"'] * rank)
        lines.append(f"    %e{j} = tensor.empty() : {ity}")
        lines.append(
            f"    %bits{j} = linalg.generic {{indexing_maps = [{idmap}, {idmap}], "
            f"iterator_types = [{iters}]}} "
            f"ins({r} : {ty}) outs(%e{j} : {ity}) {{"
        )
        lines.append("    ^bb0(%x: f32, %o: i32):")
        lines.append("      %b = arith.bitcast %x : f32 to i32")
        lines.append("      linalg.yield %b : i32")
        lines.append(f"    }} -> {ity}")
        lines.append(f"    %u{j} = tensor.cast %bits{j} : {ity} to tensor<*xi32>")
        lines.append(f"    func.call @printMemrefI32(%u{j}) : (tensor<*xi32>) -> ()")
    lines += ["    return", "  }"]
    driver = "\n".join(lines) + "\n"
    blobs = "".join(
        f'      __driver_in{j}: "{_blob(np.asarray(a, dtype=np.float32))}",\n' for j, a in enumerate(inputs)
    )

    head, sep, resources = mlir.partition("{-#")
    end = head.rstrip().rfind("}")  # closing brace of the module
    if end < 0:
        raise ValueError("module text has no closing brace")
    head = head[:end] + driver + "}\n"
    if sep:
        m = re.search(r"builtin\s*:\s*\{\n?", resources)
        if not m:
            raise ValueError("resource section without a builtin entry")
        resources = resources[: m.end()] + blobs + resources[m.end():]
        return head + "\n" + sep + resources
    return head + "\n{-#\n  dialect_resources: {\n    builtin: {\n" + blobs.rstrip(",\n") + "\n    }\n  }\n#-}\n"


def _parse_printed(text: str, out_shapes: Sequence[Tuple[int, ...]]) -> List[np.ndarray]:
    chunks = text.split("Unranked Memref")[1:]
    if len(chunks) != len(out_shapes):
        raise RuntimeError(f"expected {len(out_shapes)} printed memrefs, got {len(chunks)}:\n{text[:2000]}")
    outs = []
    for chunk, shape in zip(chunks, out_shapes):
        data = chunk.split("data =", 1)[1]
        ints = np.array([int(t) for t in re.findall(r"-?\d+", data)], dtype=np.int64)
        if ints.size != int(np.prod(shape)):
            raise RuntimeError(f"printed {ints.size} values for shape {shape}")
        outs.append(ints.astype(np.int32).view(np.float32).reshape(shape))
    return outs


def run_upstream(
    mlir: str,
    inputs: Sequence[np.ndarray],
    func_name: Optional[str] = None,
    timeout: float = 600.0,
    keep_dir: Optional[str] = None,
) -> List[np.ndarray]:
    """Lower `mlir` with upstream passes, JIT-run it on `inputs`, return the outputs.

    ``keep_dir`` keeps the intermediate files (driver.mlir, lowered.mlir) there.
    """
    _, _, out_shapes = parse_signature(mlir, func_name)
    with tempfile.TemporaryDirectory(prefix="mafat-upstream-") as tmp:
        d = keep_dir or tmp
        os.makedirs(d, exist_ok=True)
        src = os.path.join(d, "driver.mlir")
        low = os.path.join(d, "lowered.mlir")
        with open(src, "w") as f:
            f.write(build_driver_module(mlir, [np.asarray(a, np.float32) for a in inputs], func_name))
        opt = [os.path.join(LLVM_BIN, "mlir-opt"), src, *LOWERING_PIPELINE, "-o", low]
        p = subprocess.run(opt, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"mlir-opt failed ({p.returncode}):\n{p.stderr[-4000:]}")
        run = [
            os.path.join(LLVM_BIN, "mlir-runner"),
            low,
            "-e", "main",
            "-entry-point-result=void",
            "-O3",
            "-shared-libs=" + ",".join(RUNNER_LIBS),
        ]
        p = subprocess.run(run, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"mlir-runner failed ({p.returncode}):\n{p.stderr[-4000:]}")
        return _parse_printed(p.stdout, out_shapes)
