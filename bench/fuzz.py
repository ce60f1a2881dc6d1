#!/usr/bin/env python3
"""Mutation fuzzer for mafat's front ends: ``mafat-opt``, ``mafat-compile`` and
the importers (``scripts/mafat-import``).

Usage::

    bench/fuzz.py --minutes N [--bin build/bin] [--out DIR] [--seed S]
                  [--jobs J] [--timeout SEC] [--rlimit-mb MB]

Seeds: every ``test/**/*.mlir`` (split at ``// -----``), the Darknet cfgs in
``test/importers/Inputs`` and a handful of small ONNX models built here with
the ``onnx`` package. Each round takes a seed, mutates it (integers, shapes,
attributes, op names, lines, bytes; for ONNX the protobuf's attributes,
shapes and nodes) and runs it through one of:

- ``mafat-opt`` with the flags of the seed file's own RUN line (or a mafat
  pipeline: normalize, print-layer-graph, plan, tensor codegen, lower to LLVM);
- ``mafat-compile --emit=obj`` (and ``--plan=none`` / ``--memory-budget``);
- ``mafat-import darknet|onnx`` (cfgs, ONNX models, and mafat-compile on them).

A run is a *crash* if it died of a signal, printed an LLVM stack dump,
``LLVM ERROR``, a sanitizer report, or (importers) a Python traceback or an
``internal error`` (``MAFAT_IMPORT_TRACEBACK=1`` is set, so the traceback is
there). A run past ``--timeout`` is a *hang*. Crashes are bucketed by their
first frame (the innermost frame of mafat's code in a stack dump or
sanitizer report, the raising frame of a traceback). A crash of an MLIR
input is *upstream* if ``mlir-opt`` (LLVM 22) crashes on the same input too;
those are counted but not kept. Every other bucket gets a reproducer in
``OUT/crashes/<bucket>/``: the input, the command (``cmd.sh``) and its
stderr. ``OUT/summary.json`` holds the counts; the last line printed is
``fuzz: N inputs, N crashes (N buckets), N upstream, N hangs in M min``.

Exit status 0 if no mafat crash or hang was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LLVM_BIN = "/usr/lib/llvm-22/bin"
MLIR_OPT = os.path.join(LLVM_BIN, "mlir-opt")
PYTHON = "/usr/bin/python3"

INTERESTING = [0, -1, -2, 1, 2, 3, 7, 64, 255, 1023, 65536, 100000, 2 ** 31 - 1, 2 ** 31,
               2 ** 32, 2 ** 62, 2 ** 63 - 1, -(2 ** 31), -(2 ** 63)]
OP_NAMES = ["linalg.conv_2d_nhwc_hwcf", "linalg.depthwise_conv_2d_nhwc_hwc", "linalg.pooling_nhwc_max",
            "linalg.pooling_nhwc_sum", "linalg.matmul", "linalg.generic", "linalg.fill",
            "linalg.transpose", "tensor.pad", "tensor.concat", "tensor.extract_slice",
            "tensor.insert_slice", "tensor.collapse_shape", "tensor.expand_shape", "tensor.empty",
            "linalg.conv_2d_nhwc_fhwc", "arith.addf", "arith.constant"]
OPT_PIPELINES = [
    ["--mafat-normalize"],
    ["--mafat-print-layer-graph"],
    ["--mafat-normalize", "--mafat-plan"],
    ["--mafat-plan=plan=none", "--mafat-tensor-codegen"],
    ["--mafat-tensor-codegen", "--mafat-bufferize"],
    ["--mafat-lower-to-llvm"],
]
CRASH_MARKERS = ("Stack dump", "PLEASE submit a bug report", "LLVM ERROR", "ERROR: AddressSanitizer",
                 "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer", "Assertion",
                 "terminate called", "Segmentation fault")
PY_CRASH_MARKERS = ("Traceback (most recent call last)", "internal error")


# ----------------------------------------------------------------------------
# Seeds
# ----------------------------------------------------------------------------

def run_flags(text: str) -> Optional[List[str]]:
    """The mafat-opt flags of a lit file's first ``mafat-opt %s`` RUN line."""
    for line in text.splitlines():
        m = re.search(r"RUN:.*?mafat-opt\s+(.*?)(\||$)", line)
        if not m:
            continue
        flags = []
        for tok in m.group(1).split():
            if tok in ("%s", "--split-input-file", "--verify-diagnostics") or tok.startswith(">") \
                    or tok.startswith("2>") or "%" in tok:
                continue
            flags.append(tok.strip("'\""))
        return flags
    return None


def mlir_seeds() -> List[Tuple[str, str, Optional[List[str]]]]:
    seeds = []
    for path in sorted(glob.glob(os.path.join(ROOT, "test", "**", "*.mlir"), recursive=True)):
        text = open(path, errors="replace").read()
        flags = run_flags(text)
        for i, part in enumerate(re.split(r"^// -----\s*$", text, flags=re.M)):
            # Drop expected-* annotations: they only matter to --verify-diagnostics.
            if "func.func" in part or "module" in part:
                seeds.append((f"{os.path.relpath(path, ROOT)}#{i}", part, flags))
    return seeds


def cfg_seeds() -> List[Tuple[str, str]]:
    paths = sorted(glob.glob(os.path.join(ROOT, "test", "importers", "Inputs", "*.cfg")))
    return [(os.path.relpath(p, ROOT), open(p).read()) for p in paths]


def onnx_seeds(workdir: str) -> List[Tuple[str, bytes]]:
    """Small ONNX models (opset 13) of each op kind the importer lowers."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.RandomState(0)

    def w(name, *shape):
        return numpy_helper.from_array(rng.randn(*shape).astype(np.float32) * 0.1, name)

    def model(name, nodes, inits, out_shape, in_shape=(1, 3, 8, 8)):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        return m.SerializeToString()

    Node = helper.make_node
    models = {
        "conv_relu": model("conv_relu", [
            Node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1],
                 dilations=[1, 1]),
            Node("Relu", ["c"], ["y"])], [w("w", 8, 3, 3, 3), w("b", 8)], (1, 8, 8, 8)),
        "conv_stride_pool": model("conv_stride_pool", [
            Node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
            Node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
            [w("w", 4, 3, 3, 3)], (1, 4, 2, 2)),
        "depthwise_avgpool": model("depthwise_avgpool", [
            Node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=3),
            Node("AveragePool", ["c"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])],
            [w("w", 3, 1, 3, 3)], (1, 3, 4, 4)),
        "gemm": model("gemm", [
            Node("GlobalAveragePool", ["x"], ["g"]),
            Node("Flatten", ["g"], ["f"], axis=1),
            Node("Gemm", ["f", "w", "b"], ["y"], transB=1)],
            [w("w", 5, 3), w("b", 5)], (1, 5)),
        "add_concat": model("add_concat", [
            Node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
            Node("Add", ["c", "x"], ["a"]),
            Node("Concat", ["a", "x"], ["y"], axis=1)],
            [w("w", 3, 3, 1, 1)], (1, 6, 8, 8)),
        "resize_pad": model("resize_pad", [
            Node("Pad", ["x", "p"], ["q"], mode="constant"),
            Node("Resize", ["q", "", "s"], ["y"], mode="nearest")],
            [numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "p"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s")], (1, 3, 20, 20)),
    }
    seeds = []
    for name, data in models.items():
        seeds.append((f"onnx:{name}", data))
        with open(os.path.join(workdir, name + ".onnx"), "wb") as f:
            f.write(data)
    return seeds


# ----------------------------------------------------------------------------
# Mutators
# ----------------------------------------------------------------------------

INT_RE = re.compile(r"(?<![\w.#%@])-?\d+(?![\w.])")
SHAPE_RE = re.compile(r"(tensor|memref)<([0-9x?]+)x(f32|f16|i64|i32|i8|index)>")


def interesting(rng: random.Random, old: Optional[int] = None) -> int:
    r = rng.random()
    if old is not None and r < 0.3:
        return old + rng.choice([-2, -1, 1, 2])
    if old is not None and r < 0.4:
        return -old
    return rng.choice(INTERESTING) if r < 0.8 else rng.randint(-100, 100)


def mutate_text(text: str, rng: random.Random, pool: List[str], numeric_only: bool = False) -> str:
    """One to three mutations of a text input (MLIR or a Darknet cfg)."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        lines = text.split("\n")
        if kind < 0.35 or numeric_only:
            ints = list(INT_RE.finditer(text))
            if ints:
                m = rng.choice(ints)
                text = text[:m.start()] + str(interesting(rng, int(m.group()))) + text[m.end():]
        elif kind < 0.5:
            shapes = list(SHAPE_RE.finditer(text))
            if shapes:
                m = rng.choice(shapes)
                dims = m.group(2).split("x")
                i = rng.randrange(len(dims))
                dims[i] = rng.choice(["1", "2", "3", "0", "?", "100000", "4611686018427387904",
                                      str(int(dims[i]) * 2 if dims[i].isdigit() else 2)])
                text = text[:m.start()] + f"{m.group(1)}<{'x'.join(dims)}x{m.group(3)}>" + text[m.end():]
        elif kind < 0.6:
            names = [n for n in OP_NAMES if n in text]
            if names:
                text = text.replace(rng.choice(names), rng.choice(OP_NAMES), 1)
        elif kind < 0.7 and len(lines) > 2:
            i = rng.randrange(len(lines))
            del lines[i]
            text = "\n".join(lines)
        elif kind < 0.78 and len(lines) > 2:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines.insert(j, lines[i])
            text = "\n".join(lines)
        elif kind < 0.85 and pool:
            other = rng.choice(pool).split("\n")
            if other:
                k = rng.randrange(len(other))
                lines.insert(rng.randrange(len(lines) + 1), other[k])
                text = "\n".join(lines)
        elif kind < 0.92 and text:
            i = rng.randrange(len(text))
            j = min(len(text), i + rng.randint(1, 16))
            text = text[:i] + text[j:]
        elif text:
            i = rng.randrange(len(text))
            text = text[:i] + rng.choice(["-", "0", "[", "]", "(", ")", "<", ">", ",", "x", "%",
                                          "\"", "{", "}", "#", ":"]) + text[i:]
    return text


def mutate_onnx(data: bytes, rng: random.Random) -> bytes:
    """Structural mutations of an ONNX model, sometimes a byte flip."""
    import onnx
    if rng.random() < 0.15:
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        if rng.random() < 0.3:
            b = b[:rng.randrange(len(b) + 1)]
        return bytes(b)
    m = onnx.load_from_string(data)
    g = m.graph
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.5:
            attrs = [(n, a) for n in g.node for a in n.attribute if a.ints or a.type == a.INT]
            if attrs:
                _, a = rng.choice(attrs)
                if a.ints:
                    i = rng.randrange(len(a.ints))
                    a.ints[i] = max(-(2 ** 62), min(2 ** 62, interesting(rng, a.ints[i])))
                else:
                    a.i = max(-(2 ** 62), min(2 ** 62, interesting(rng, a.i)))
        elif r < 0.65:
            vis = list(g.input) + list(g.output)
            dims = [d for v in vis for d in v.type.tensor_type.shape.dim]
            if dims:
                rng.choice(dims).dim_value = rng.choice([0, 1, 2, 7, 64, 100000, 2 ** 40])
        elif r < 0.75 and len(g.node) > 1:
            del g.node[rng.randrange(len(g.node))]
        elif r < 0.85 and g.node:
            rng.choice(g.node).op_type = rng.choice(["Conv", "MaxPool", "AveragePool", "Gemm", "Relu", "Add",
                                                     "Concat", "Pad", "Resize", "Flatten", "Reshape",
                                                     "Transpose", "MatMul", "Softmax", "Erf"])
        elif g.initializer:
            t = rng.choice(g.initializer)
            if t.dims:
                t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 2, 3, 9, 100000])
    return m.SerializeToString()


# ----------------------------------------------------------------------------
# Running and classifying
# ----------------------------------------------------------------------------

def limit_memory(mb: int):
    def apply():
        if mb > 0:
            resource.setrlimit(resource.RLIMIT_AS, (mb << 20, mb << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run(cmd: List[str], timeout: float, rlimit_mb: int, env: Dict[str, str]) -> Tuple[Optional[int], str]:
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=timeout, preexec_fn=limit_memory(rlimit_mb), env=env)
        return p.returncode, p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stderr or b"").decode(errors="replace")


FRAME_RE = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ (?:in )?(.*)$", re.M)
SKIP_FRAME = re.compile(r"llvm::sys::|SignalHandler|__restore_rt|libc\.so|raise|abort|__asan|__ubsan|"
                        r"__sanitizer|__interceptor|llvm::report_fatal_error|llvm_unreachable|"
                        r"llvm::llvm_unreachable_internal|std::terminate|__cxa_|libstdc\+\+|<unknown>|"
                        r"libclang_rt|^\(|^0x")


def is_oom(stderr: str) -> bool:
    return ("out of memory" in stderr or "std::bad_alloc" in stderr or "MemoryError" in stderr
            or "Cannot allocate memory" in stderr)


def classify(rc: Optional[int], stderr: str, python: bool) -> Optional[str]:
    """None for a clean run (any exit status with a diagnostic), else a bucket key.
    `python`: the run may go through an importer (its tracebacks count)."""
    if rc is None:
        return "hang"  # record() adds the tool
    py_crash = python and any(m in stderr for m in PY_CRASH_MARKERS)
    cxx_crash = rc < 0 or rc >= 128 or any(m in stderr for m in CRASH_MARKERS)
    if not py_crash and not cxx_crash:
        return None
    if py_crash and is_oom(stderr):
        return "oom"
    if py_crash and "Traceback (most recent call last)" in stderr:
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', stderr)
        exc = [l for l in stderr.strip().splitlines() if re.match(r"^\w[\w.]*(Error|Exception)\b", l)]
        etype = exc[-1].split(":")[0] if exc else "?"
        if frames:
            f, line, fn = frames[-1]
            return f"py:{etype}@{os.path.basename(f)}:{fn}"
        return f"py:{etype}"
    if py_crash:
        m = re.search(r"internal error \((\w+)", stderr)
        return f"py:{m.group(1) if m else '?'}@internal-error"
    if is_oom(stderr):
        return "oom"
    ub = re.search(r"([\w/.+-]+:\d+):\d+: runtime error: ([^\n]*)", stderr)
    if ub:
        return f"ubsan:{os.path.basename(ub.group(1))}:{re.sub(r'[0-9]+', 'N', ub.group(2))[:60]}"
    for m in FRAME_RE.finditer(stderr):
        frame = m.group(2).strip()
        if SKIP_FRAME.search(frame):
            continue
        frame = re.sub(r"\s+/.*$", "", frame)          # drop file:line
        frame = re.sub(r"\(.*", "", frame)             # drop arguments
        frame = re.sub(r"\+0x[0-9a-f]+", "", frame)
        return "frame:" + frame[:120]
    first = next((l for l in stderr.splitlines() if "LLVM ERROR" in l or "Assertion" in l), "")
    if first:
        return "msg:" + re.sub(r"[0-9]+", "N", first)[:100]
    return f"signal:{-rc if rc < 0 else rc}"


def upstream_crashes(path: str, timeout: float, env: Dict[str, str]) -> bool:
    """Whether mlir-opt (parse, verify, print) crashes on the same input."""
    rc, err = run([MLIR_OPT, path, "-o", os.devnull], timeout, 0, env)
    return rc is None or rc < 0 or any(m in err for m in CRASH_MARKERS)


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.out = os.path.abspath(args.out)
        self.work = tempfile.mkdtemp(prefix="mafat-fuzz-")
        self.env = dict(os.environ)
        self.env["PATH"] = LLVM_BIN + os.pathsep + self.env.get("PATH", "")
        self.env["PYTHONPATH"] = os.path.join(ROOT, "python")
        self.env["MAFAT_IMPORT_TRACEBACK"] = "1"
        # Sanitizer builds (-DMAFAT_SANITIZE): a report aborts the run. See
        # scripts/test.sh for why user poisoning is off.
        self.env.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=0:allow_user_poisoning=0")
        self.env.setdefault("UBSAN_OPTIONS", "abort_on_error=1:halt_on_error=1:print_stacktrace=1")
        self.env.setdefault("ASAN_SYMBOLIZER_PATH", os.path.join(LLVM_BIN, "llvm-symbolizer"))
        self.lock = threading.Lock()
        self.mlir = mlir_seeds()
        self.cfgs = cfg_seeds()
        self.onnx = onnx_seeds(self.work)
        self.pool = [t for _, t, _ in self.mlir]
        self.stats = {"inputs": 0, "clean": 0, "crashes": 0, "upstream": 0, "hangs": 0, "oom": 0,
                      "by_tool": {}, "buckets": {}, "upstream_buckets": {}}
        self.counter = 0

    def case(self, rng: random.Random, n: int) -> Tuple[str, List[str], bool, bool]:
        """(input path, command, is_python, is_mlir) for round n."""
        r = rng.random()
        d = os.path.join(self.work, str(n % (self.args.jobs * 4)))
        os.makedirs(d, exist_ok=True)
        out = os.path.join(d, "out")
        if r < 0.72:
            name, text, flags = rng.choice(self.mlir)
            path = os.path.join(d, "in.mlir")
            with open(path, "w") as f:
                f.write(mutate_text(text, rng, self.pool))
            r2 = rng.random()
            if r2 < 0.5 and flags:
                return path, [os.path.join(self.bin, "mafat-opt"), path, *flags, "-o", os.devnull], False, True
            if r2 < 0.8:
                return path, [os.path.join(self.bin, "mafat-opt"), path, *rng.choice(OPT_PIPELINES),
                              "-o", os.devnull], False, True
            extra = rng.choice([[], ["--plan=none"], ["--memory-budget=64KiB"], ["-O0"],
                                ["--target=aarch64-linux-gnu"]])
            return path, [os.path.join(self.bin, "mafat-compile"), path, "--emit=obj", "-o", out + ".o",
                          *extra], False, True
        if r < 0.88:
            name, text = rng.choice(self.cfgs)
            path = os.path.join(d, "in.cfg")
            with open(path, "w") as f:
                f.write(mutate_text(text, rng, [t for _, t in self.cfgs], numeric_only=rng.random() < 0.6))
            extra = []
            if rng.random() < 0.2:
                extra = ["--input-size", rng.choice(["0x0", "8x8", "-8x8", "100000x3", "7x9", "abc"])]
            if rng.random() < 0.15:
                wpath = os.path.join(d, "in.weights")
                with open(wpath, "wb") as f:
                    f.write(bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 3, 16, 20, 504, 1744, 4000]))))
                extra += ["--weights", wpath]
            if rng.random() < 0.25:
                return path, [os.path.join(self.bin, "mafat-compile"), path, "--emit=obj", "-o", out + ".o",
                              *extra], True, False
            return path, [PYTHON, "-m", "mafat.import_cli", "darknet", path, *extra, "-o", out + ".mlir"], \
                True, False
        name, data = rng.choice(self.onnx)
        path = os.path.join(d, "in.onnx")
        with open(path, "wb") as f:
            f.write(mutate_onnx(data, rng))
        extra = ["--layout", "nhwc"] if rng.random() < 0.3 else []
        if rng.random() < 0.25:
            return path, [os.path.join(self.bin, "mafat-compile"), path, "--emit=obj", "-o", out + ".o",
                          *extra], True, False
        return path, [PYTHON, "-m", "mafat.import_cli", "onnx", path, *extra, "-o", out + ".mlir"], True, False

    def one(self, n: int) -> None:
        rng = random.Random(self.args.seed * 1000003 + n)
        path, cmd, python, is_mlir = self.case(rng, n)
        tool = "mafat-import " + cmd[3] if cmd[0] == PYTHON else os.path.basename(cmd[0])
        steps = [cmd]
        if python and cmd[0] != PYTHON and not self.args.rlimit_mb:
            # Without a memory limit (sanitizer builds) mafat-compile's own
            # importer child would be unbounded: import first, with a limit.
            mlir = os.path.join(os.path.dirname(path), "imported.mlir")
            kind = "onnx" if path.endswith(".onnx") else "darknet"
            extra = cmd[cmd.index("-o") + 2:]
            steps = [[PYTHON, "-m", "mafat.import_cli", kind, path, *extra, "-o", mlir],
                     [cmd[0], mlir, *cmd[2:cmd.index("-o")], "-o", cmd[cmd.index("-o") + 1]]]
        for step in steps:
            # The importers always run under a limit: one that expands a
            # huge shape into Python lists would take the machine's memory.
            limit = self.args.rlimit_mb or (8192 if step[0] == PYTHON else 0)
            rc, err = run(step, self.args.timeout, limit, self.env)
            key = classify(rc, err, python)
            if key is not None or rc != 0:
                cmd = step
                break
        upstream = key not in (None, "oom", "hang") and is_mlir and upstream_crashes(
            path, self.args.timeout, self.env)
        with self.lock:
            self.record(key, upstream, tool, path, cmd, err)

    def record(self, key, upstream, tool, path, cmd, err) -> None:
        s = self.stats
        s["inputs"] += 1
        s["by_tool"][tool] = s["by_tool"].get(tool, 0) + 1
        if key is None:
            s["clean"] += 1
            return
        if key == "oom":
            s["oom"] += 1  # the rlimit, not a bug: reported, not bucketed
            return
        if key == "hang":
            key = f"hang:{tool}"
            s["hangs"] += 1
        elif upstream:
            s["upstream"] += 1
            s["upstream_buckets"][key] = s["upstream_buckets"].get(key, 0) + 1
            return
        else:
            s["crashes"] += 1
        bucket = s["buckets"].setdefault(key, {"count": 0, "tool": tool})
        bucket["count"] += 1
        if bucket["count"] == 1:
            self.save(key, path, cmd, err)

    def save(self, key: str, path: str, cmd: List[str], err: str) -> None:
        h = hashlib.sha1(key.encode()).hexdigest()[:10]
        d = os.path.join(self.out, "crashes", h)
        os.makedirs(d, exist_ok=True)
        ext = os.path.splitext(path)[1]
        dst = os.path.join(d, "input" + ext)
        shutil.copy(path, dst)
        cmd = [dst if c == path else c for c in cmd]
        for i, c in enumerate(cmd):
            if c.startswith(self.work):
                cmd[i] = os.path.join(d, os.path.basename(c))
                # Inputs (weights, an imported model) travel with it; outputs not.
                if os.path.isfile(c) and (i == 0 or cmd[i - 1] != "-o"):
                    shutil.copy(c, cmd[i])
        with open(os.path.join(d, "cmd.sh"), "w") as f:
            f.write("#!/bin/sh\n# bucket: " + key + "\n")
            f.write(f"PYTHONPATH={os.path.join(ROOT, 'python')} MAFAT_IMPORT_TRACEBACK=1 "
                    + " ".join(subprocess.list2cmdline([c]) for c in cmd) + "\n")
        with open(os.path.join(d, "stderr.txt"), "w") as f:
            f.write(err[-20000:])
        print(f"fuzz: new bucket {key} ({h})", flush=True)

    def main(self) -> int:
        os.makedirs(self.out, exist_ok=True)
        start = time.time()
        deadline = start + self.args.minutes * 60
        n = 0
        with ThreadPoolExecutor(self.args.jobs) as pool:
            running = []
            while time.time() < deadline:
                while len(running) < self.args.jobs and time.time() < deadline:
                    running.append(pool.submit(self.one, n))
                    n += 1
                running[0].result()
                running.pop(0)
            for f in running:
                f.result()
        minutes = (time.time() - start) / 60
        s = self.stats
        s["minutes"] = round(minutes, 2)
        s["seed"] = self.args.seed
        s["jobs"] = self.args.jobs
        s["seeds"] = {"mlir": len(self.mlir), "cfg": len(self.cfgs), "onnx": len(self.onnx)}
        with open(os.path.join(self.out, "summary.json"), "w") as f:
            json.dump(s, f, indent=1, sort_keys=True)
        shutil.rmtree(self.work, ignore_errors=True)
        print(json.dumps(s["by_tool"], sort_keys=True))
        for key, b in sorted(s["buckets"].items()):
            print(f"  {b['count']:5d}  {key}  [{b['tool']}]")
        for key, c in sorted(s["upstream_buckets"].items()):
            print(f"  {c:5d}  upstream {key}")
        print(f"fuzz: {s['inputs']} inputs, {s['crashes']} crashes ({len(s['buckets'])} buckets), "
              f"{s['upstream']} upstream, {s['hangs']} hangs, {s['oom']} out of memory in {minutes:.1f} min")
        return 1 if s["crashes"] or s["hangs"] else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--out", default="fuzz-out", help="reproducers and summary.json (default: ./fuzz-out)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per run (default 60)")
    ap.add_argument("--rlimit-mb", type=int, default=8192,
                    help="address-space limit per run in MiB (0: none; use 0 for sanitizer builds)")
    args = ap.parse_args(argv)
    if not os.path.isfile(os.path.join(args.bin, "mafat-opt")):
        print(f"fuzz: error: no mafat-opt in {args.bin} (build first or pass --bin)", file=sys.stderr)
        return 2
    return Fuzzer(args).main()


if __name__ == "__main__":
    sys.exit(main())
