"""``mafat-import``: Darknet or ONNX model files to mafat's canonical MLIR.

Usage::

    mafat-import darknet MODEL.cfg [--weights FILE.weights] [--input-size HxW]
                         [--layers FIRST-LAST] [--seed N] -o OUT.mlir
    mafat-import onnx MODEL.onnx [--layout nchw|nhwc] -o OUT.mlir

Run as ``python3 -m mafat.import_cli`` (``scripts/mafat-import`` wraps
that). Bad or unsupported input prints ``mafat-import: error: <message>`` on
stderr and exits 1 (never a traceback); usage errors exit 2. Warnings (e.g.
cfg options that were ignored) go to stderr as ``mafat-import: warning: ...``.
An unexpected exception (an importer bug) is reported the same way as an
"internal error"; ``MAFAT_IMPORT_TRACEBACK=1`` shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

PROG = "mafat-import"


class _Fail(Exception):
    pass


def _err(msg: str) -> int:
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return 1


def _check_readable(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise _Fail(f"{what} {path}: no such file")
    if os.path.isdir(path):
        raise _Fail(f"{what} {path}: is a directory")
    if not os.access(path, os.R_OK):
        raise _Fail(f"{what} {path}: permission denied")


def _write_text(path: str, text: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise _Fail(f"cannot write {path}: {e.strerror or e}") from None


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def _darknet(args) -> int:
    from .importers.darknet import import_darknet_to_file, parse_input_size

    _check_readable(args.model, "cfg file")
    if args.weights is not None:
        _check_readable(args.weights, "weights file")
    size = parse_input_size(args.input_size) if args.input_size is not None else None
    net = import_darknet_to_file(args.model, args.output, weights_path=args.weights, input_size=size,
                                 layers=args.layers, seed=args.seed)
    for w in net.warnings:
        print(f"{PROG}: warning: {w}", file=sys.stderr)
    return 0


def _onnx(args) -> int:
    _check_readable(args.model, "ONNX file")
    try:
        from .importers.onnx import import_onnx
    except ImportError as e:
        missing = getattr(e, "name", None) or ""
        if missing.endswith("importers.onnx"):
            raise _Fail("the ONNX importer (mafat.importers.onnx) is not available in this build") from None
        if missing == "onnx" or missing.startswith("onnx."):
            raise _Fail("the ONNX importer needs the 'onnx' Python package (Debian: python3-onnx)") from None
        raise _Fail(f"cannot load the ONNX importer: {e}") from None
    text = import_onnx(args.model, layout=args.layout)
    _write_text(args.output, text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG, description="Import a Darknet or ONNX model as mafat canonical MLIR.")
    sub = ap.add_subparsers(dest="format", metavar="{darknet,onnx}")
    sub.required = True

    d = sub.add_parser("darknet", help="a Darknet .cfg (+ optional .weights)",
                       description="Import a Darknet network (NHWC, batch 1). Without --weights the weights "
                                   "are deterministic pseudo-random values from --seed (He-scaled). The outputs "
                                   "are the raw tensors each [region]/[yolo] layer consumes (decoding boxes is "
                                   "the caller's job), plus the last layer's output if it is not such a layer; "
                                   "with --layers, the one output is LAST's output.")
    d.add_argument("model", metavar="MODEL.cfg")
    d.add_argument("--weights", metavar="FILE.weights", help="Darknet weights file (default: seeded random)")
    d.add_argument("--input-size", metavar="HxW", help="input height x width (default: the cfg's [net])")
    d.add_argument("--layers", metavar="FIRST-LAST", help="import only these layers (e.g. 0-15); "
                                                          "the output is LAST's output")
    d.add_argument("--seed", type=_seed, default=0, help="seed for random weights (default 0)")
    d.add_argument("-o", "--output", required=True, metavar="OUT.mlir")
    d.set_defaults(run=_darknet)

    o = sub.add_parser("onnx", help="an ONNX model", description="Import an ONNX model.")
    o.add_argument("model", metavar="MODEL.onnx")
    o.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw",
                   help="interface layout of the compiled model (default: nchw, as in the ONNX model)")
    o.add_argument("-o", "--output", required=True, metavar="OUT.mlir")
    o.set_defaults(run=_onnx)
    return ap


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)  # exits 2 on usage errors
    from .importers.errors import ImporterError

    try:
        return args.run(args)
    except _Fail as e:
        return _err(str(e))
    except ImporterError as e:
        return _err(str(e))
    except MemoryError:
        return _err("out of memory")
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug, or input no check anticipated: still no bare traceback
        if os.environ.get("MAFAT_IMPORT_TRACEBACK"):
            raise
        return _err(f"internal error ({type(e).__name__}: {e}); set MAFAT_IMPORT_TRACEBACK=1 for the traceback")


if __name__ == "__main__":
    sys.exit(main())
