// The plan search on a small chain (conv+relu, pool, conv+relu, pool on a
// 64x64x4 image) with the synthetic profile, so expected plans do not depend
// on the machine. Workspaces (synthetic profile, 64-byte alignment): layer by
// layer needs 331840 bytes, the smallest plan 11520 (one 6-layer group).
//
// No budget: the fastest plan, which here is layer by layer.
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json" | FileCheck %s --check-prefix=FAST
// FAST: module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv"], grid = [1, 1], row_tiles = {{\[\[}}0, 63]], col_tiles = {{\[\[}}0, 63]]>, #mafat.group<name = "g1", layers = ["L0:relu"], grid = [1, 1], {{.*}}, #mafat.group<name = "g5", layers = ["L3:maxpool"], grid = [1, 1], row_tiles = {{\[\[}}0, 15]], col_tiles = {{\[\[}}0, 15]]>]>}
//
// 300 KiB: the first three layers fused in two row stripes, the rest layer by
// layer (the 64x64x16 maps no longer fit side by side).
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=300KiB" | FileCheck %s --check-prefix=B300
// B300: module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [2, 1], row_tiles = {{\[\[}}0, 15], [16, 31]], col_tiles = {{\[\[}}0, 31]]>, #mafat.group<name = "g1", layers = ["L2:conv"], grid = [1, 1]
// B300-SAME: #mafat.group<name = "g3", layers = ["L3:maxpool"], grid = [1, 1], row_tiles = {{\[\[}}0, 15]], col_tiles = {{\[\[}}0, 15]]>]>}
//
// 200 KiB (decimal units work alike): the first three layers in three row
// stripes, the rest layer by layer (180992 bytes, 0.151 ms predicted). The
// search prices L2:conv's group with its input map dying at L2's pad copy,
// as the code frees it; priced with that map live throughout (205056 bytes)
// the group would not fit and the answer would be one 2x1 group (0.154 ms).
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=200KiB" | FileCheck %s --check-prefix=B200
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=204.8KB" | FileCheck %s --check-prefix=B200
// B200: module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [3, 1], row_tiles = {{\[\[}}0, 10], [11, 21], [22, 31]], col_tiles = {{\[\[}}0, 31]]>, #mafat.group<name = "g1", layers = ["L2:conv"], grid = [1, 1]
// B200-SAME: #mafat.group<name = "g3", layers = ["L3:maxpool"], grid = [1, 1], row_tiles = {{\[\[}}0, 15]], col_tiles = {{\[\[}}0, 15]]>]>}
//
// 150 KiB: the first three layers in four stripes, the rest layer by layer
// (150080 bytes, 0.156 ms). The paper's space (square grids, at most two
// tiled groups, cuts after pools) gets those three layers on 2x2 (149568
// bytes, 0.157 ms).
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=150KiB" | FileCheck %s --check-prefix=B150
// B150: module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [4, 1], row_tiles = {{\[\[}}0, 7], [8, 15], [16, 23], [24, 31]], col_tiles = {{\[\[}}0, 31]]>, #mafat.group<name = "g1", layers = ["L2:conv"], grid = [1, 1]
// B150-SAME: #mafat.group<name = "g3", layers = ["L3:maxpool"], grid = [1, 1], row_tiles = {{\[\[}}0, 15]], col_tiles = {{\[\[}}0, 15]]>]>}
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=150KiB max-groups=2 cuts-after-pool-only square-grids max-grid=5" | FileCheck %s --check-prefix=PAPER150
// PAPER150: module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [2, 2], row_tiles = {{\[\[}}0, 15], [16, 31]], col_tiles = {{\[\[}}0, 15], [16, 31]]>, #mafat.group<name = "g1", layers = ["L2:conv"], grid = [1, 1]
// PAPER150-SAME: #mafat.group<name = "g3", layers = ["L3:maxpool"], grid = [1, 1], row_tiles = {{\[\[}}0, 15]], col_tiles = {{\[\[}}0, 15]]>]>}
//
// 60 KiB: one group, 4x2; in the paper's space 3x3.
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=60KiB" | FileCheck %s --check-prefix=B60
// B60: layers = ["L0:conv", "L0:relu", "L1:maxpool", "L2:conv", "L2:relu", "L3:maxpool"], grid = [4, 2]
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=60KiB max-groups=2 cuts-after-pool-only square-grids max-grid=5" | FileCheck %s --check-prefix=PAPER60
// PAPER60: layers = ["L0:conv", "L0:relu", "L1:maxpool", "L2:conv", "L2:relu", "L3:maxpool"], grid = [3, 3]
//
// The smallest budget that works, exactly.
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=11520" | FileCheck %s --check-prefix=MIN
// MIN: #mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool", "L2:conv", "L2:relu", "L3:maxpool"], grid = [{{[0-9]+}}, {{[0-9]+}}]
//
// plan=none: layer by layer, each group named after its layer.
// RUN: mafat-opt %s --mafat-plan="plan=none" | FileCheck %s --check-prefix=NONE
// NONE: module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "L0:conv", layers = ["L0:conv"], grid = [1, 1], row_tiles = {{\[\[}}0, 63]], col_tiles = {{\[\[}}0, 63]]>, #mafat.group<name = "L0:relu"
//
// plan=FILE.json: balanced tiles filled in, left-out layers layer by layer.
// RUN: mafat-opt %s --mafat-plan="plan=%S/Inputs/plan-partial.json" | FileCheck %s --check-prefix=FILE
// FILE: module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "front", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [4, 1], row_tiles = {{\[\[}}0, 7], [8, 15], [16, 23], [24, 31]], col_tiles = {{\[\[}}0, 31]]>, #mafat.group<name = "L2:conv", layers = ["L2:conv"], grid = [1, 1]
//
// The IR itself is unchanged (a chain has one execution order).
// FAST: func.func @chain(
// FAST: linalg.conv_2d_nhwc_hwcf
// FAST: linalg.pooling_nhwc_max
// FAST: linalg.conv_2d_nhwc_hwcf
// FAST: linalg.pooling_nhwc_max
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
func.func @chain(%arg0: tensor<1x64x64x4xf32>) -> tensor<1x16x16x16xf32> attributes {mafat.input_names = ["image"], mafat.output_names = ["pooled"]} {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %pad = tensor.pad %arg0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x64x64x4xf32> to tensor<1x66x66x4xf32> loc("L0:pad")
  %filter = arith.constant dense<2.5e-01> : tensor<3x3x4x16xf32>
  %init = tensor.empty() : tensor<1x64x64x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x64x64x16xf32>) -> tensor<1x64x64x16xf32> loc("L0:fill")
  %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%pad, %filter : tensor<1x66x66x4xf32>, tensor<3x3x4x16xf32>) outs(%acc : tensor<1x64x64x16xf32>) -> tensor<1x64x64x16xf32> loc("L0:conv")
  %bias = arith.constant dense<5.0e-01> : tensor<16xf32>
  %linit = tensor.empty() : tensor<1x64x64x16xf32>
  %relu = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv, %bias : tensor<1x64x64x16xf32>, tensor<16xf32>) outs(%linit : tensor<1x64x64x16xf32>) {
  ^bb0(%in0: f32, %in1: f32, %out: f32):
    %0 = arith.addf %in0, %in1 : f32
    %1 = arith.maximumf %0, %zero : f32
    linalg.yield %1 : f32
  } -> tensor<1x64x64x16xf32> loc("L0:relu")
  %window = tensor.empty() : tensor<2x2xf32>
  %pinit = tensor.empty() : tensor<1x32x32x16xf32>
  %pacc = linalg.fill ins(%ninf : f32) outs(%pinit : tensor<1x32x32x16xf32>) -> tensor<1x32x32x16xf32> loc("L1:fill")
  %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%relu, %window : tensor<1x64x64x16xf32>, tensor<2x2xf32>) outs(%pacc : tensor<1x32x32x16xf32>) -> tensor<1x32x32x16xf32> loc("L1:maxpool")
  %pad2 = tensor.pad %pool low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x32x32x16xf32> to tensor<1x34x34x16xf32> loc("L2:pad")
  %filter2 = arith.constant dense<1.0e-01> : tensor<3x3x16x16xf32>
  %init2 = tensor.empty() : tensor<1x32x32x16xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%init2 : tensor<1x32x32x16xf32>) -> tensor<1x32x32x16xf32> loc("L2:fill")
  %conv2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%pad2, %filter2 : tensor<1x34x34x16xf32>, tensor<3x3x16x16xf32>) outs(%acc2 : tensor<1x32x32x16xf32>) -> tensor<1x32x32x16xf32> loc("L2:conv")
  %linit2 = tensor.empty() : tensor<1x32x32x16xf32>
  %relu2 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv2 : tensor<1x32x32x16xf32>) outs(%linit2 : tensor<1x32x32x16xf32>) {
  ^bb0(%in0: f32, %out: f32):
    %1 = arith.maximumf %in0, %zero : f32
    linalg.yield %1 : f32
  } -> tensor<1x32x32x16xf32> loc("L2:relu")
  %window3 = tensor.empty() : tensor<2x2xf32>
  %pinit3 = tensor.empty() : tensor<1x16x16x16xf32>
  %pacc3 = linalg.fill ins(%ninf : f32) outs(%pinit3 : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32> loc("L3:fill")
  %pool3 = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%relu2, %window3 : tensor<1x32x32x16xf32>, tensor<2x2xf32>) outs(%pacc3 : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32> loc("L3:maxpool")
  return %pool3 : tensor<1x16x16x16xf32>
}
}
