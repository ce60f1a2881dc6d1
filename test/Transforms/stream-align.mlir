// RUN: mafat-opt %s --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// A stream group whose 2x2 pool of stride 2 reads a conv that lags its own
// producer by a row (docs/Fusion.md, "Streaming"): conv 3x3 + relu, conv
// 3x3 + relu, max pool 2x2 stride 2, over a 16x8 map in stripes of one
// output row. Each layer stops a step at a row that ends a window of its
// reader, so the second conv computes pairs of rows the pool consumes
// whole: the pool reads the relu's fresh tile and only the conv between
// the two relus has a rolling buffer. (Stopping wherever its producer
// allowed, the second conv left one row behind per step, and the pool's
// operand needed a full-width buffer of its own.)

// CHECK-LABEL: func.func @lagging_pool
// CHECK:         bufferization.alloc_tensor() : tensor<1x8x4x8xf32>
// CHECK:         %[[B0:.*]] = bufferization.alloc_tensor() : tensor<1x5x10x8xf32>
// CHECK-NOT:     bufferization.alloc_tensor
// Pipeline fill: the first conv computes 2 rows, the second none (row 0
// alone would not end a pool window).
// CHECK:         scf.execute_region -> tensor<1x5x10x8xf32> no_inline
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x2x8x8xf32>
// CHECK-NOT:       linalg.conv_2d_nhwc_hwcf
// CHECK-NOT:       linalg.pooling_nhwc_max
// CHECK:           scf.yield
// The steady state: 2 rows of each conv, the pool on the second relu's
// fresh 2-row tile, one output row.
// CHECK:         scf.for
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x2x8x8xf32>
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x2x8x8xf32>
// CHECK:           linalg.pooling_nhwc_max {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x2x8x8xf32>, tensor<2x2xf32>) {{.*}} -> tensor<1x1x4x8xf32>

// MEM-LABEL: func.func @lagging_pool
// MEM-SAME:    mafat.predicted_workspace_bytes = [[BYTES:[0-9]+]]
// MEM-SAME:    mafat.workspace_bytes = [[BYTES]]

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:maxpool"], grid = [8, 1], row_tiles = [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7]], col_tiles = [[0, 3]], mode = stream, stripe_rows = 1>]>} {
  func.func @lagging_pool(%x: tensor<1x16x8x4xf32>) -> tensor<1x8x4x8xf32> {
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
