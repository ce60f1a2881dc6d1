// RUN: mafat-opt %s --mafat-print-layer-graph --split-input-file -o /dev/null | FileCheck %s

// The epilogues: line lists the producer -> elementwise pairs register
// blocking fuses when the model runs layer by layer (CodegenRules.h); the
// unit test TileAndVectorizeTest checks the rule against the transform.

// A conv + bias/relu pair fuses.
// CHECK-LABEL: layer-graph @f:
// CHECK:       epilogues: "L0:conv"->"L0:relu"{{$}}
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
func.func @f(%x: tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.125> : tensor<1x1x16x16xf32>
  %b = arith.constant dense<0.25> : tensor<16xf32>
  %e0 = tensor.empty() : tensor<1x8x8x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L0:conv")
  %r0i = tensor.empty() : tensor<1x8x8x16xf32>
  %r0 = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c0, %b : tensor<1x8x8x16xf32>, tensor<16xf32>) outs(%r0i : tensor<1x8x8x16xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8x16xf32> loc("L0:relu")
  return %r0 : tensor<1x8x8x16xf32>
}

// -----

// L1:conv is also a model output: it is not fused into L1:relu.
// CHECK-LABEL: layer-graph @out_drift:
// CHECK:       epilogues: "L0:conv"->"L0:relu"{{$}}
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
func.func @out_drift(%x: tensor<1x8x8x16xf32>) -> (tensor<1x8x8x16xf32>, tensor<1x8x8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.125> : tensor<1x1x16x16xf32>
  %b = arith.constant dense<0.25> : tensor<16xf32>
  %e0 = tensor.empty() : tensor<1x8x8x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L0:conv")
  %r0i = tensor.empty() : tensor<1x8x8x16xf32>
  %r0 = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c0, %b : tensor<1x8x8x16xf32>, tensor<16xf32>) outs(%r0i : tensor<1x8x8x16xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8x16xf32> loc("L0:relu")
  %e1 = tensor.empty() : tensor<1x8x8x16xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%r0, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f1 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L1:conv")
  %r1i = tensor.empty() : tensor<1x8x8x16xf32>
  %r1 = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c1, %b : tensor<1x8x8x16xf32>, tensor<16xf32>) outs(%r1i : tensor<1x8x8x16xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8x16xf32> loc("L1:relu")
  %e2 = tensor.empty() : tensor<1x8x8x16xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%r1, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f2 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L2:conv")
  return %c1, %c2 : tensor<1x8x8x16xf32>, tensor<1x8x8x16xf32>
}

// -----

// L1:conv, read only as L1:add's init, is not fused; L0:conv has two
// readers.
// CHECK-LABEL: layer-graph @init_drift:
// CHECK:       epilogues:{{$}}
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @init_drift(%x: tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.125> : tensor<1x1x16x16xf32>
  %e0 = tensor.empty() : tensor<1x8x8x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L0:conv")
  %e1 = tensor.empty() : tensor<1x8x8x16xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%c0, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f1 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L1:conv")
  %a = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c0 : tensor<1x8x8x16xf32>) outs(%c1 : tensor<1x8x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x8x8x16xf32> loc("L1:add")
  %e2 = tensor.empty() : tensor<1x8x8x16xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%a, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f2 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L2:conv")
  return %c2 : tensor<1x8x8x16xf32>
}

// -----

// L1:conv fuses into L1:add; L0:relu, the init, into nothing.
// CHECK-LABEL: layer-graph @eltwise_init:
// CHECK:       epilogues: "L0:conv"->"L0:relu" "L1:conv"->"L1:add"{{$}}
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @eltwise_init(%x: tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.125> : tensor<1x1x16x16xf32>
  %e0 = tensor.empty() : tensor<1x8x8x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L0:conv")
  %r0i = tensor.empty() : tensor<1x8x8x16xf32>
  %r0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c0 : tensor<1x8x8x16xf32>) outs(%r0i : tensor<1x8x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8x16xf32> loc("L0:relu")
  %e1 = tensor.empty() : tensor<1x8x8x16xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f1 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L1:conv")
  %a = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c1 : tensor<1x8x8x16xf32>) outs(%r0 : tensor<1x8x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x8x8x16xf32> loc("L1:add")
  %e2 = tensor.empty() : tensor<1x8x8x16xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%a, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f2 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L2:conv")
  return %c2 : tensor<1x8x8x16xf32>
}
