// RUN: mafat-opt %s --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// A global max pool at the end of a stream group (docs/Fusion.md, "Global
// reductions"), as stream-reduce.mlir's sum: a 3x3 conv + relu on a 6x5 map
// in stripes of 4 rows (4 and a short 2). The accumulator starts from the
// pool's own init (-inf), once; each step takes the maximum of the relu's
// fresh rows into it. The conv reads the group's input with its padding
// per step, as in any stream group.

// CHECK-LABEL: func.func @global_max
// CHECK-DAG:     %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[ACC:.*]] = bufferization.alloc_tensor() : tensor<1x1x1x8xf32>
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%[[NINF]] : f32) outs(%[[ACC]] : tensor<1x1x1x8xf32>)
// CHECK:         scf.execute_region -> tensor<1x1x1x8xf32> no_inline
// CHECK:           %[[T:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x4x5x8xf32>)
// CHECK:           %[[W:.*]] = tensor.empty() : tensor<4x5xf32>
// CHECK:           %[[P:.*]] = linalg.pooling_nhwc_max {{.*}} ins(%[[T]], %[[W]] : tensor<1x4x5x8xf32>, tensor<4x5xf32>) outs(%[[INIT]] : tensor<1x1x1x8xf32>)
// CHECK:         scf.execute_region -> tensor<1x1x1x8xf32> no_inline
// CHECK:           %[[T2:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2x5x8xf32>)
// CHECK:           %[[W2:.*]] = tensor.empty() : tensor<2x5xf32>
// CHECK:           linalg.pooling_nhwc_max {{.*}} ins(%[[T2]], %[[W2]] : tensor<1x2x5x8xf32>, tensor<2x5xf32>) outs(%{{.*}} : tensor<1x1x1x8xf32>)
// CHECK-NOT:     tensor<6x5xf32>

// Pinned (and equal to the prediction), so that a buffer the streamed max
// pool starts to allocate shows here.
// MEM-LABEL: func.func @global_max
// MEM-SAME:    mafat.predicted_workspace_bytes = 1344
// MEM-SAME:    mafat.workspace_bytes = 1344

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:gmaxpool"], grid = [1, 1], row_tiles = [[0, 0]], col_tiles = [[0, 0]], mode = stream, stripe_rows = 4>]>} {
  func.func @global_max(%x: tensor<1x6x5x4xf32>) -> tensor<1x1x1x8xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %pad0 = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x6x5x4xf32> to tensor<1x8x7x4xf32> loc("L0:pad")
    %w0 = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
    %e0 = tensor.empty() : tensor<1x6x5x8xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x6x5x8xf32>) -> tensor<1x6x5x8xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad0, %w0 : tensor<1x8x7x4xf32>, tensor<3x3x4x8xf32>) outs(%f0 : tensor<1x6x5x8xf32>) -> tensor<1x6x5x8xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x6x5x8xf32>
    %relu = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv : tensor<1x6x5x8xf32>) outs(%e1 : tensor<1x6x5x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x6x5x8xf32> loc("L0:relu")
    %win = tensor.empty() : tensor<6x5xf32>
    %e2 = tensor.empty() : tensor<1x1x1x8xf32>
    %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<1x1x1x8xf32>) -> tensor<1x1x1x8xf32>
    %max = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu, %win : tensor<1x6x5x8xf32>, tensor<6x5xf32>) outs(%f2 : tensor<1x1x1x8xf32>) -> tensor<1x1x1x8xf32> loc("L1:gmaxpool")
    return %max : tensor<1x1x1x8xf32>
  }
}
