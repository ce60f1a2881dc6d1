"""Write a fixed test model as canonical MLIR, plus optional input/reference .npy.

Usage (from the repository, with python/ on PYTHONPATH)::

    /usr/bin/python3 -m mafat.make_model NAME -o OUT.mlir \\
        [--input-npy IN.npy ...] [--ref-npy REF.npy ...] [--seed N]

NAME is one of ``mafat.models.MODELS`` (tiny_cnn, dw_net, res_net, conv64).
``--seed`` picks both the weights and the random input (separate RNG
streams). ``--input-npy`` / ``--ref-npy`` may be repeated, once per model
input / output in signature order; all arrays are float32, NHWC (a dense
output is (1, N)). The reference comes from the PyTorch twin of the model
(``mafat.reference``), so writing it needs torch; the MLIR alone does not.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .models import MODELS, build_model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m mafat.make_model", description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=sorted(MODELS), help="fixed model to emit")
    ap.add_argument("-o", "--output", required=True, help="MLIR file to write ('-' for stdout)")
    ap.add_argument("--input-npy", action="append", default=[], metavar="IN.npy",
                    help="write the random input here (repeat per model input)")
    ap.add_argument("--ref-npy", action="append", default=[], metavar="REF.npy",
                    help="write the torch reference output here (repeat per model output)")
    ap.add_argument("--seed", type=int, default=0, help="seed for weights and input (default 0)")
    ap.add_argument("--resource-threshold", type=int, default=64 * 1024, metavar="BYTES",
                    help="constants larger than this become dense_resource blobs (default 65536)")
    args = ap.parse_args(argv)

    model = build_model(args.name, args.seed)
    text = model.to_mlir(args.resource_threshold)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)

    if not args.input_npy and not args.ref_npy:
        return 0
    for flag, paths, n in (("--input-npy", args.input_npy, len(model.inputs)),
                           ("--ref-npy", args.ref_npy, len(model.outputs))):
        if paths and len(paths) != n:
            ap.error(f"{args.name} has {n} {'inputs' if flag == '--input-npy' else 'outputs'}; "
                     f"give {flag} {n} time(s)")
    inputs = model.random_inputs(args.seed)
    for path, a in zip(args.input_npy, inputs):
        np.save(path, a)
    if args.ref_npy:
        from .reference import run_reference

        for path, a in zip(args.ref_npy, run_reference(model, inputs)):
            np.save(path, a.astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
