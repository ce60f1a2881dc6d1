// RUN: mafat-opt %s --mafat-normalize --split-input-file --mlir-print-debuginfo | FileCheck %s

// Unnamed layer ops get L<i>:<kind> names; a pad and a fill take the index of
// the conv that consumes them, the bias generic the index of its producer.
// CHECK-LABEL: func.func @names
// CHECK: } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc(#[[PAD:loc[0-9]+]])
// CHECK: linalg.fill {{.*}} loc(#[[FILL:loc[0-9]+]])
// CHECK: linalg.conv_2d_nhwc_hwcf {{.*}} loc(#[[CONV:loc[0-9]+]])
// CHECK: } -> tensor<1x8x8x8xf32> loc(#[[ACT:loc[0-9]+]])
// CHECK: linalg.pooling_nhwc_max {{.*}} loc(#[[POOL:loc[0-9]+]])
// CHECK-DAG: #[[PAD]] = loc("L0:pad"
// CHECK-DAG: #[[FILL]] = loc("L0:fill"
// CHECK-DAG: #[[CONV]] = loc("L0:conv"
// CHECK-DAG: #[[ACT]] = loc("L0:eltwise"
// CHECK-DAG: #[[POOL]] = loc("L1:maxpool"
func.func @names(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32>
  %w = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
  %e = tensor.empty() : tensor<1x8x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%p, %w : tensor<1x10x10x4xf32>, tensor<3x3x4x8xf32>) outs(%f : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c : tensor<1x8x8x8xf32>) outs(%e : tensor<1x8x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x8x8xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %e2 = tensor.empty() : tensor<1x4x4x8xf32>
  %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  %mp = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
          ins(%r, %win : tensor<1x8x8x8xf32>, tensor<2x2xf32>) outs(%f2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %mp : tensor<1x4x4x8xf32>
}

// -----

// Names given by an importer are kept.
// CHECK-LABEL: func.func @keeps_names
// CHECK: linalg.fill {{.*}} loc(#[[N:loc[0-9]+]])
// CHECK: #[[N]] = loc("conv1.fill")
func.func @keeps_names(%x: tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%x : tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32> loc("conv1.fill")
  return %f : tensor<1x2x2x4xf32>
}

// -----

// TOSA's FHWC filter layout becomes HWCF, the constant transposed at compile
// time: filter[f][h][w][c] = 100*f + 10*h + c (w = 0, kernel 2x1, 2 channels).
// CHECK-LABEL: func.func @fhwc_to_hwcf
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[\[\[}}0.000000e+00, 1.000000e+02], [1.000000e+00, 1.010000e+02]]], {{\[\[\[}}1.000000e+01, 1.100000e+02], [1.100000e+01, 1.110000e+02]]]]> : tensor<2x1x2x2xf32>
// CHECK: linalg.conv_2d_nhwc_hwcf {{.*}} ins(%{{.*}}, %[[W]] :
// CHECK-NOT: conv_2d_nhwc_fhwc
func.func @fhwc_to_hwcf(%x: tensor<1x3x3x2xf32>, %out: tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32> {
  %w = arith.constant dense<[[[[0.0, 1.0]], [[10.0, 11.0]]], [[[100.0, 101.0]], [[110.0, 111.0]]]]> : tensor<2x2x1x2xf32>
  %c = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x3x3x2xf32>, tensor<2x2x1x2xf32>) outs(%out : tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32>
  return %c : tensor<1x2x3x2xf32>
}

// -----

// A non-constant FHWC filter gets a linalg.transpose instead.
// CHECK-LABEL: func.func @fhwc_dynamic_filter
// CHECK: linalg.transpose ins(%arg1 : tensor<2x2x1x2xf32>) outs(%{{.*}} : tensor<2x1x2x2xf32>) permutation = [1, 2, 3, 0]
// CHECK: linalg.conv_2d_nhwc_hwcf
func.func @fhwc_dynamic_filter(%x: tensor<1x3x3x2xf32>, %w: tensor<2x2x1x2xf32>, %out: tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32> {
  %c = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x3x3x2xf32>, tensor<2x2x1x2xf32>) outs(%out : tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32>
  return %c : tensor<1x2x3x2xf32>
}
