// RUN: mafat-opt %s --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// A chunked head (chunk_rows, docs/Fusion.md "Chunked segments"): the group of
// stream-align.mlir, whose head (L0:conv and L0:relu, before the first
// rolling buffer) computes 2 rows per step, runs in pieces of one row, each
// written below the last into the L0->L1 buffer. Everything after the head
// is unchanged; every row is still computed once.

// CHECK-LABEL: func.func @chunked_head
// CHECK:         bufferization.alloc_tensor() : tensor<1x8x4x8xf32>
// CHECK:         %[[B0:.*]] = bufferization.alloc_tensor() : tensor<1x5x10x8xf32>
// CHECK-NOT:     bufferization.alloc_tensor
// Pipeline fill: two one-row pieces of the first conv, the second conv none.
// Each piece writes its rows in place; their inserts into the buffer state
// come at the end of the stripe (nothing reads the buffer before).
// CHECK:         scf.execute_region -> tensor<1x5x10x8xf32> no_inline
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x1x8x8xf32>
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x1x8x8xf32>
// CHECK:           tensor.insert_slice {{.*}} into tensor<1x5x10x8xf32>
// CHECK:           tensor.insert_slice {{.*}} into tensor<1x5x10x8xf32>
// CHECK-NOT:       linalg.conv_2d_nhwc_hwcf
// CHECK:           scf.yield
// The steady state: the head in two pieces (conv and relu each), then the
// second conv's 2 rows and the pool, as without pieces.
// CHECK:         scf.for
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x1x8x8xf32>
// CHECK:           linalg.generic
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x1x8x8xf32>
// CHECK:           linalg.generic
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x2x8x8xf32>
// CHECK:           linalg.pooling_nhwc_max {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x2x8x8xf32>, tensor<2x2xf32>) {{.*}} -> tensor<1x1x4x8xf32>

// MEM-LABEL: func.func @chunked_head
// MEM-SAME:    mafat.predicted_workspace_bytes = [[BYTES:[0-9]+]]
// MEM-SAME:    mafat.workspace_bytes = [[BYTES]]

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:maxpool"], grid = [8, 1], row_tiles = [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7]], col_tiles = [[0, 3]], mode = stream, stripe_rows = 1, chunk_rows = 1>]>} {
  func.func @chunked_head(%x: tensor<1x16x8x4xf32>) -> tensor<1x8x4x8xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %pad0 = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x16x8x4xf32> to tensor<1x18x10x4xf32> loc("L0:pad")
    %w0 = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
    %e0 = tensor.empty() : tensor<1x16x8x8xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad0, %w0 : tensor<1x18x10x4xf32>, tensor<3x3x4x8xf32>) outs(%f0 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x16x8x8xf32>
    %relu0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x16x8x8xf32>) outs(%e1 : tensor<1x16x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x16x8x8xf32> loc("L0:relu")
    %pad1 = tensor.pad %relu0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x16x8x8xf32> to tensor<1x18x10x8xf32> loc("L1:pad")
    %w1 = arith.constant dense<0.25> : tensor<3x3x8x8xf32>
    %e2 = tensor.empty() : tensor<1x16x8x8xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad1, %w1 : tensor<1x18x10x8xf32>, tensor<3x3x8x8xf32>) outs(%f2 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> loc("L1:conv")
    %e3 = tensor.empty() : tensor<1x16x8x8xf32>
    %relu1 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1 : tensor<1x16x8x8xf32>) outs(%e3 : tensor<1x16x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x16x8x8xf32> loc("L1:relu")
    %win = tensor.empty() : tensor<2x2xf32>
    %e4 = tensor.empty() : tensor<1x8x4x8xf32>
    %f4 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<1x8x4x8xf32>) -> tensor<1x8x4x8xf32>
    %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%relu1, %win : tensor<1x16x8x8xf32>, tensor<2x2xf32>) outs(%f4 : tensor<1x8x4x8xf32>) -> tensor<1x8x4x8xf32> loc("L2:maxpool")
    return %pool : tensor<1x8x4x8xf32>
  }
}
