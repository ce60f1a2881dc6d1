// RUN: mafat-opt %s --mafat-tosa-to-canonical | FileCheck %s

// TOSA lowers through the upstream pipelines; mafat-normalize then turns the
// FHWC conv into HWCF with the filter transposed at compile time, and no
// TOSA op is left.
// CHECK-LABEL: func.func @tosa_net
// CHECK-NOT:   tensor<3x1x2x2xf32>
// CHECK:       tensor.pad %{{.*}} low[0, 1, 0, 0] high[0, 1, 1, 0]
// CHECK:       %[[W:.*]] = arith.constant dense<{{\[\[\[\[}}0.000000e+00, 1.000000e+00, 2.000000e+00], [1.000000e+02, 1.010000e+02, 1.020000e+02]], {{\[\[}}1.000000e+01, 1.100000e+01, 1.200000e+01], [1.100000e+02, 1.110000e+02, 1.120000e+02]]]]> : tensor<1x2x2x3xf32>
// CHECK:       linalg.conv_2d_nhwc_hwcf {{.*}} ins(%{{.*}}, %[[W]] : tensor<1x6x7x2xf32>, tensor<1x2x2x3xf32>)
// CHECK:       arith.minimumf
// CHECK:       linalg.pooling_nhwc_max
// CHECK-NOT:   tosa.
func.func @tosa_net(%arg0: tensor<1x4x6x2xf32>) -> tensor<1x3x3x3xf32> {
  // filter[f][0][w][c] = f + 10 w + 100 c
  %w = "tosa.const"() <{values = dense<[[[[0.0, 100.0], [10.0, 110.0]]], [[[1.0, 101.0], [11.0, 111.0]]], [[[2.0, 102.0], [12.0, 112.0]]]]> : tensor<3x1x2x2xf32>}> : () -> tensor<3x1x2x2xf32>
  %b = "tosa.const"() <{values = dense<0.5> : tensor<3xf32>}> : () -> tensor<3xf32>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %c = tosa.conv2d %arg0, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 0, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x6x2xf32>, tensor<3x1x2x2xf32>, tensor<3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x6x6x3xf32>
  %r = tosa.clamp %c {min_val = 0.0 : f32, max_val = 6.0 : f32} : (tensor<1x6x6x3xf32>) -> tensor<1x6x6x3xf32>
  %p = tosa.max_pool2d %r {kernel = array<i64: 2, 2>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 2, 2>} : (tensor<1x6x6x3xf32>) -> tensor<1x3x3x3xf32>
  return %p : tensor<1x3x3x3xf32>
}
