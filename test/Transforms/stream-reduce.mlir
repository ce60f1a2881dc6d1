// RUN: mafat-opt %s --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// A stream group ending in a global average pool's sum (docs/Fusion.md,
// "Global reductions"): a 1x1 conv 8 -> 16 with bias + relu6 on a 7x7 map,
// then linalg.pooling_nhwc_sum with a 7x7 window into a 1x1x1x16
// accumulator, in stripes of 3 rows of the 7x7 map (3, 3 and a short 1).
// The pool has no rolling buffer: the accumulator, the group's output map,
// is filled once with the pool's init value before the loops, and each step
// pools the relu6's fresh rows (full width) into it. The divisor stays
// outside the group.

// CHECK-LABEL: func.func @head
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[ACC:.*]] = bufferization.alloc_tensor() : tensor<1x1x1x16xf32>
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ACC]] : tensor<1x1x1x16xf32>)
// No rolling buffer: nothing else lives across the steps.
// CHECK-NOT:     bufferization.alloc_tensor
// Two steps of 3 rows: the pool's outs is the loop-carried accumulator.
// CHECK:         %[[LOOP:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %[[INIT]]) -> (tensor<1x1x1x16xf32>)
// CHECK:           scf.execute_region -> tensor<1x1x1x16xf32> no_inline
// CHECK:             bufferization.alloc_tensor() : tensor<1x3x7x16xf32>
// CHECK:             linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x3x7x16xf32>
// CHECK:             %[[T:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x3x7x16xf32>, tensor<16xf32>)
// CHECK:             %[[W:.*]] = tensor.empty() : tensor<3x7xf32>
// CHECK:             %[[P:.*]] = linalg.pooling_nhwc_sum {{.*}} ins(%[[T]], %[[W]] : tensor<1x3x7x16xf32>, tensor<3x7xf32>) outs(%[[A]] : tensor<1x1x1x16xf32>)
// CHECK:             scf.yield %[[P]]
// The last row.
// CHECK:         scf.execute_region -> tensor<1x1x1x16xf32> no_inline
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x1x7x16xf32>
// CHECK:           %[[T1:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x1x7x16xf32>, tensor<16xf32>)
// CHECK:           %[[W1:.*]] = tensor.empty() : tensor<1x7xf32>
// CHECK:           linalg.pooling_nhwc_sum {{.*}} ins(%[[T1]], %[[W1]] : tensor<1x1x7x16xf32>, tensor<1x7xf32>) outs(%[[LOOP]] : tensor<1x1x1x16xf32>)
// The whole 7x7 map is never pooled.
// CHECK-NOT:     tensor<7x7xf32>
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%{{.*}} : tensor<1x1x1x16xf32>)

// Workspace: the conv's stripe tile 1x3x7x16 (1344 bytes) and the 16-channel
// accumulator (64 bytes); no 7x7 map. Equal to the prediction.
// MEM-LABEL: func.func @head
// MEM-SAME:    mafat.predicted_workspace_bytes = 1408
// MEM-SAME:    mafat.workspace_bytes = 1408

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu6", "L1:gavgpool"], grid = [1, 1], row_tiles = [[0, 0]], col_tiles = [[0, 0]], mode = stream, stripe_rows = 3>]>} {
  func.func @head(%x: tensor<1x7x7x8xf32>) -> tensor<1x1x1x16xf32> {
    %zero = arith.constant 0.0 : f32
    %six = arith.constant 6.0 : f32
    %w0 = arith.constant dense<0.125> : tensor<1x1x8x16xf32>
    %b0 = arith.constant dense<0.5> : tensor<16xf32>
    %e0 = tensor.empty() : tensor<1x7x7x16xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w0 : tensor<1x7x7x8xf32>, tensor<1x1x8x16xf32>) outs(%f0 : tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x7x7x16xf32>
    %relu6 = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %b0 : tensor<1x7x7x16xf32>, tensor<16xf32>) outs(%e1 : tensor<1x7x7x16xf32>) {
    ^bb0(%in: f32, %b: f32, %out: f32):
      %s = arith.addf %in, %b : f32
      %lo = arith.maximumf %s, %zero : f32
      %r = arith.minimumf %lo, %six : f32
      linalg.yield %r : f32
    } -> tensor<1x7x7x16xf32> loc("L0:relu6")
    %win = tensor.empty() : tensor<7x7xf32>
    %e2 = tensor.empty() : tensor<1x1x1x16xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x1x16xf32>) -> tensor<1x1x1x16xf32>
    %sum = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu6, %win : tensor<1x7x7x16xf32>, tensor<7x7xf32>) outs(%f2 : tensor<1x1x1x16xf32>) -> tensor<1x1x1x16xf32> loc("L1:gavgpool")
    %e3 = tensor.empty() : tensor<1x1x1x16xf32>
    %avg = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sum : tensor<1x1x1x16xf32>) outs(%e3 : tensor<1x1x1x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %c = arith.constant 4.9e+01 : f32
      %d = arith.divf %in, %c : f32
      linalg.yield %d : f32
    } -> tensor<1x1x1x16xf32> loc("L1:div")
    return %avg : tensor<1x1x1x16xf32>
  }
}
