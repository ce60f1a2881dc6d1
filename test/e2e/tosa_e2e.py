#!/usr/bin/env python3
"""End-to-end test of TOSA input: mafat-compile lowers TOSA through the
upstream tosa-to-linalg pipelines into the canonical form, then compiles as
usual. The model (conv2d with bias and FHWC filters, clamp = ReLU6,
max_pool2d, a second conv with stride 2 and asymmetric padding) is written here as TOSA text with
seeded random weights; PyTorch is the reference.

Usage: tosa_e2e.py --bin DIR --workdir DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch


def dense(a):
    return "dense<" + np.array2string(
        a, separator=", ", threshold=sys.maxsize, floatmode="unique",
        max_line_width=sys.maxsize).replace("\n", "") + ">"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--workdir", required=True)
    args = p.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    rng = np.random.default_rng(7)
    w1 = (rng.standard_normal((8, 3, 3, 4)) * np.sqrt(2 / 36)).astype(np.float32)  # FHWC
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((6, 3, 3, 8)) * np.sqrt(2 / 72)).astype(np.float32)
    b2 = (rng.standard_normal(6) * 0.1).astype(np.float32)
    x = rng.standard_normal((1, 16, 16, 4)).astype(np.float32)

    mlir = f"""
func.func @tosa_net(%x: tensor<1x16x16x4xf32>) -> tensor<1x4x4x6xf32> {{
  %w1 = "tosa.const"() <{{values = {dense(w1)} : tensor<8x3x3x4xf32>}}> : () -> tensor<8x3x3x4xf32>
  %b1 = "tosa.const"() <{{values = {dense(b1)} : tensor<8xf32>}}> : () -> tensor<8xf32>
  %w2 = "tosa.const"() <{{values = {dense(w2)} : tensor<6x3x3x8xf32>}}> : () -> tensor<6x3x3x8xf32>
  %b2 = "tosa.const"() <{{values = {dense(b2)} : tensor<6xf32>}}> : () -> tensor<6xf32>
  %zp = "tosa.const"() <{{values = dense<0.0> : tensor<1xf32>}}> : () -> tensor<1xf32>
  %c1 = tosa.conv2d %x, %w1, %b1, %zp, %zp {{acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>}} : (tensor<1x16x16x4xf32>, tensor<8x3x3x4xf32>, tensor<8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x16x16x8xf32>
  %r1 = tosa.clamp %c1 {{min_val = 0.0 : f32, max_val = 6.0 : f32}} : (tensor<1x16x16x8xf32>) -> tensor<1x16x16x8xf32>
  %p1 = tosa.max_pool2d %r1 {{kernel = array<i64: 2, 2>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 2, 2>}} : (tensor<1x16x16x8xf32>) -> tensor<1x8x8x8xf32>
  %c2 = tosa.conv2d %p1, %w2, %b2, %zp, %zp {{acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 0, 1, 0>, stride = array<i64: 2, 2>}} : (tensor<1x8x8x8xf32>, tensor<6x3x3x8xf32>, tensor<6xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x6xf32>
  return %c2 : tensor<1x4x4x6xf32>
}}
"""
    src = os.path.join(args.workdir, "tosa_net.mlir")
    open(src, "w").write(mlir)
    so = os.path.join(args.workdir, "tosa_net.so")
    subprocess.run([os.path.join(args.bin, "mafat-compile"), src, "-o", so], check=True)
    np.save(os.path.join(args.workdir, "in.npy"), x)
    out_path = os.path.join(args.workdir, "out.npy")
    subprocess.run([os.path.join(args.bin, "mafat-run"), so, "--input",
                    os.path.join(args.workdir, "in.npy"), "--output", out_path],
                   check=True, stdout=subprocess.DEVNULL)
    out = np.load(out_path)

    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    F = torch.nn.functional
    conv = lambda t, w, b, s, pad: F.conv2d(
        F.pad(t, pad), torch.from_numpy(w).permute(0, 3, 1, 2), torch.from_numpy(b), stride=s)
    t = torch.clamp(conv(t, w1, b1, 1, (1, 1, 1, 1)), 0.0, 6.0)
    t = F.max_pool2d(t, 2, 2)
    # TOSA pads (top, bottom, left, right) = (1, 0, 1, 0): asymmetric.
    ref = conv(t, w2, b2, 2, (1, 0, 1, 0)).permute(0, 2, 3, 1).numpy()

    err = float(np.abs(out - ref).max() / np.abs(ref).max())
    tol = 1e-5
    print(f"tosa_net: max |out - ref| / max|ref| = {err:.3e} (tolerance {tol}), ref std {ref.std():.3f}")
    if not (err <= tol and 1e-3 < ref.std() < 1e3):
        print("FAIL: tosa_net does not match PyTorch")
        return 1
    print("PASS: tosa_net matches PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
