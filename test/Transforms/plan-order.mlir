// mafat-plan plans over the execution order that keeps the fewest bytes live
// across group boundaries, and moves the layers into that order. YOLOv2's
// passthrough in miniature: the 16x16x32 map of L0 feeds a pool + conv trunk
// and a 1x1 stride-2 branch that shrinks it to 8x8x2. Run in the importer's
// order, L0's map stays live across the trunk; running the branch first
// frees it after the pool and keeps only the small branch output live.
// RUN: mafat-opt %s --mafat-plan="plan=none report=%t.json" | FileCheck %s
// RUN: FileCheck %s --check-prefix=NONE-REPORT < %t.json
// RUN: mafat-opt %s --mafat-plan="profile=%S/../Inputs/synthetic-profile.json report=%t.auto.json" | FileCheck %s --check-prefix=AUTO
// RUN: FileCheck %s --check-prefix=AUTO-REPORT < %t.auto.json

// plan=none keeps the importer's order (only the search reorders).
// CHECK: layers = ["L0:conv"]
// CHECK-SAME: layers = ["L1:maxpool"]
// CHECK-SAME: layers = ["L2:conv"]
// CHECK-SAME: layers = ["L3:conv"]
// CHECK: linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x16x16x32xf32>
// CHECK-NEXT: tensor.empty() : tensor<2x2xf32>
// CHECK: linalg.pooling_nhwc_max
// CHECK: linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x8x8x32xf32>
// CHECK: linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x8x8x2xf32>
// CHECK: tensor.concat
// NONE-REPORT: "order": [
// NONE-REPORT-NEXT: "L0:conv",
// NONE-REPORT-NEXT: "L1:maxpool",
// NONE-REPORT-NEXT: "L2:conv",
// NONE-REPORT-NEXT: "L3:conv",
// NONE-REPORT-NEXT: "L4:concat"

// plan=auto: the branch (L3) right after the fork, with the ops it needs
// (its filter constant and accumulator) moved along; the plan follows.
// AUTO: mafat.plan
// AUTO-SAME: layers = ["L0:conv"]
// AUTO-SAME: layers = ["L3:conv"]
// AUTO-SAME: layers = ["L1:maxpool"
// AUTO-SAME: "L4:concat"]
// AUTO: %[[FORK:.*]] = linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x16x16x32xf32>
// AUTO-NEXT: arith.constant dense<1.000000e+00> : tensor<1x1x32x2xf32>
// AUTO-NEXT: tensor.empty() : tensor<1x8x8x2xf32>
// AUTO-NEXT: linalg.fill
// AUTO-NEXT: %[[BRANCH:.*]] = linalg.conv_2d_nhwc_hwcf {{.*}}strides = dense<2> : tensor<2xi64>} ins(%[[FORK]],
// AUTO: linalg.pooling_nhwc_max {{.*}} ins(%[[FORK]],
// AUTO: %[[TRUNK:.*]] = linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x8x8x32xf32>
// AUTO-NEXT: tensor.concat dim(3) %[[BRANCH]], %[[TRUNK]]
// AUTO-REPORT: "order": [
// AUTO-REPORT-NEXT: "L0:conv",
// AUTO-REPORT-NEXT: "L3:conv",
// AUTO-REPORT-NEXT: "L1:maxpool",
// AUTO-REPORT-NEXT: "L2:conv",
// AUTO-REPORT-NEXT: "L4:concat"

func.func @route(%arg0: tensor<1x16x16x4xf32>) -> tensor<1x8x8x34xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %pad = tensor.pad %arg0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x16x16x4xf32> to tensor<1x18x18x4xf32> loc("L0:pad")
  %f0 = arith.constant dense<1.0> : tensor<3x3x4x32xf32>
  %e0 = tensor.empty() : tensor<1x16x16x32xf32>
  %a0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x16x16x32xf32>) -> tensor<1x16x16x32xf32>
  %fork = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%pad, %f0 : tensor<1x18x18x4xf32>, tensor<3x3x4x32xf32>) outs(%a0 : tensor<1x16x16x32xf32>) -> tensor<1x16x16x32xf32> loc("L0:conv")
  %w1 = tensor.empty() : tensor<2x2xf32>
  %e1 = tensor.empty() : tensor<1x8x8x32xf32>
  %a1 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<1x8x8x32xf32>) -> tensor<1x8x8x32xf32>
  %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%fork, %w1 : tensor<1x16x16x32xf32>, tensor<2x2xf32>) outs(%a1 : tensor<1x8x8x32xf32>) -> tensor<1x8x8x32xf32> loc("L1:maxpool")
  %pad2 = tensor.pad %pool low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x32xf32> to tensor<1x10x10x32xf32> loc("L2:pad")
  %f2 = arith.constant dense<1.0> : tensor<3x3x32x32xf32>
  %e2 = tensor.empty() : tensor<1x8x8x32xf32>
  %a2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x8x32xf32>) -> tensor<1x8x8x32xf32>
  %trunk = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%pad2, %f2 : tensor<1x10x10x32xf32>, tensor<3x3x32x32xf32>) outs(%a2 : tensor<1x8x8x32xf32>) -> tensor<1x8x8x32xf32> loc("L2:conv")
  %f3 = arith.constant dense<1.0> : tensor<1x1x32x2xf32>
  %e3 = tensor.empty() : tensor<1x8x8x2xf32>
  %a3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32>
  %branch = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%fork, %f3 : tensor<1x16x16x32xf32>, tensor<1x1x32x2xf32>) outs(%a3 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32> loc("L3:conv")
  %cat = tensor.concat dim(3) %branch, %trunk : (tensor<1x8x8x2xf32>, tensor<1x8x8x32xf32>) -> tensor<1x8x8x34xf32> loc("L4:concat")
  return %cat : tensor<1x8x8x34xf32>
}
