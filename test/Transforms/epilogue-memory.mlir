// RUN: mafat-opt %s --split-input-file --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s

// Epilogue fusion (CodegenRules.h) and the memory model on layer-by-layer
// models where an earlier copy of the rule disagreed with what
// mafat-tile-and-vectorize does. verify-prediction fails the run unless
// mafat-plan-memory's workspace equals the memory model's prediction.
// Every tensor is 1x8x8x16 f32 = 4096 bytes.

// L1:conv is a model output and read by L1:relu: the transform does not fuse
// them (the conv's result has two uses). L0:relu's map dies at L1:conv, so
// L1:relu's map takes its place: one map. (The memory model fused them and
// kept both maps live at L1:relu: 8192.)
// CHECK-LABEL: func.func @out_drift
// CHECK-SAME:    mafat.workspace_bytes = 4096
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

// L1:add reads L1:conv as its init, not as an input: no epilogue fusion; it
// writes over L1:conv's map in place, next to L0:conv's: two maps.
// CHECK-LABEL: func.func @init_drift
// CHECK-SAME:    mafat.workspace_bytes = 8192
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

// The same add as a model output: L1:conv's map is the caller's output, so
// only L0:conv's map is in the workspace.
// CHECK-LABEL: func.func @init_out
// CHECK-SAME:    mafat.workspace_bytes = 4096
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @init_out(%x: tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> {
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
  return %a : tensor<1x8x8x16xf32>
}

// -----

// L1:add fuses L1:conv as its epilogue and reads L0:relu as its init: the
// fused conv accumulates in a map of its own (the payload reads the init),
// next to L0:relu's: two maps.
// CHECK-LABEL: func.func @eltwise_init
// CHECK-SAME:    mafat.workspace_bytes = 8192
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
