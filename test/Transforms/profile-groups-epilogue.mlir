// RUN: mafat-opt %s --split-input-file --mafat-profile-groups | FileCheck %s

// mafat-profile-groups times a group whose output layer register blocking
// fuses into the next group as its epilogue (CodegenRules.h) together with
// that group: the producer runs inside the epilogue's loops. Here the
// epilogue, L1:add, is g1's second layer.
// CHECK-LABEL: module
// CHECK:       llvm.mlir.global private constant @__mafat_profile_name_0("g0 + g1\00")
// CHECK-NOT:   @__mafat_profile_name_1(
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv"], grid = [1, 1], row_tiles = [[0, 7]], col_tiles = [[0, 7]]>, #mafat.group<name = "g1", layers = ["L1:neg", "L1:add"], grid = [1, 1], row_tiles = [[0, 7]], col_tiles = [[0, 7]]>]>} {
func.func @f(%x: tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.125> : tensor<1x1x16x16xf32>
  %e0 = tensor.empty() : tensor<1x8x8x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L0:conv")
  %ne = tensor.empty() : tensor<1x8x8x16xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%x : tensor<1x8x8x16xf32>) outs(%ne : tensor<1x8x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.negf %in : f32
    linalg.yield %s : f32
  } -> tensor<1x8x8x16xf32> loc("L1:neg")
  %ae = tensor.empty() : tensor<1x8x8x16xf32>
  %a = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c0, %n : tensor<1x8x8x16xf32>, tensor<1x8x8x16xf32>) outs(%ae : tensor<1x8x8x16xf32>) {
  ^bb0(%i: f32, %j: f32, %out: f32):
    %s = arith.addf %i, %j : f32
    linalg.yield %s : f32
  } -> tensor<1x8x8x16xf32> loc("L1:add")
  return %a : tensor<1x8x8x16xf32>
}
}

// -----

// The conv is also a model output: not fused, so the groups are timed apart.
// CHECK-LABEL: module
// CHECK:       llvm.mlir.global private constant @__mafat_profile_name_0("g0\00")
// CHECK:       llvm.mlir.global private constant @__mafat_profile_name_1("g1\00")
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv"], grid = [1, 1], row_tiles = [[0, 7]], col_tiles = [[0, 7]]>, #mafat.group<name = "g1", layers = ["L1:neg", "L1:add"], grid = [1, 1], row_tiles = [[0, 7]], col_tiles = [[0, 7]]>]>} {
func.func @g(%x: tensor<1x8x8x16xf32>) -> (tensor<1x8x8x16xf32>, tensor<1x8x8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.125> : tensor<1x1x16x16xf32>
  %e0 = tensor.empty() : tensor<1x8x8x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %c0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : tensor<1x8x8x16xf32>, tensor<1x1x16x16xf32>) outs(%f0 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32> loc("L0:conv")
  %ne = tensor.empty() : tensor<1x8x8x16xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%x : tensor<1x8x8x16xf32>) outs(%ne : tensor<1x8x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.negf %in : f32
    linalg.yield %s : f32
  } -> tensor<1x8x8x16xf32> loc("L1:neg")
  %ae = tensor.empty() : tensor<1x8x8x16xf32>
  %a = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c0, %n : tensor<1x8x8x16xf32>, tensor<1x8x8x16xf32>) outs(%ae : tensor<1x8x8x16xf32>) {
  ^bb0(%i: f32, %j: f32, %out: f32):
    %s = arith.addf %i, %j : f32
    linalg.yield %s : f32
  } -> tensor<1x8x8x16xf32> loc("L1:add")
  return %c0, %a : tensor<1x8x8x16xf32>, tensor<1x8x8x16xf32>
}
}
