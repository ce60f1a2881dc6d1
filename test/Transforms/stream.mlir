// RUN: mafat-opt %s --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// A stream group (docs/Fusion.md, "Streaming"): conv 3x3 + relu, conv 3x3 +
// relu, max pool 3x3 (-inf padding), all stride 1 and padding 1, over a
// 16x8 map in stripes of 2 output rows. Each relu writes a rolling buffer:
// the next layer's padded input window, full width (8 + 2 columns of
// padding), filled once with that layer's padding value (0 for the conv,
// -inf for the pool). Per step, the 2 rows the next window shares with the
// last one move to the top of the buffer through a copy, the relu writes its
// new rows below them and the reader reads the buffer in place. The steps
// form a pipeline: the first one fills it (2 rows of L0, 1 of L1, no
// output), then every step writes one stripe; the steady state is one loop,
// the steps where the bottom padding enters are their own classes.

// CHECK-LABEL: func.func @chain
// CHECK-SAME:    mafat.predicted_workspace_bytes
// CHECK:         %[[ACC:.*]] = bufferization.alloc_tensor() : tensor<1x16x8x8xf32>
// CHECK:         %[[B0:.*]] = bufferization.alloc_tensor() : tensor<1x4x10x8xf32>
// CHECK:         %[[W0:.*]] = linalg.fill ins(%[[ZERO:.*]] : f32) outs(%[[B0]]
// CHECK:         %[[B1:.*]] = bufferization.alloc_tensor() : tensor<1x4x10x8xf32>
// CHECK:         %[[W1:.*]] = linalg.fill ins(%[[NINF:.*]] : f32) outs(%[[B1]]
// Pipeline fill: nothing moves, the output map is not written.
// CHECK:         %[[S0:.*]]:2 = scf.execute_region -> (tensor<1x4x10x8xf32>, tensor<1x4x10x8xf32>) no_inline
// CHECK-NOT:       linalg.copy
// CHECK:           tensor.extract_slice %arg0[0, 0, 0, 0] [1, 3, 8, 4]
// CHECK:           tensor.pad %{{.*}} low[0, 1, 1, 0] high[0, 0, 1, 0]
// CHECK:           tensor.insert_slice %{{.*}} into %[[W0]][0, 1, 1, 0] [1, 2, 8, 8]
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x3x10x8xf32>, tensor<3x3x8x8xf32>) {{.*}} -> tensor<1x1x8x8xf32>
// CHECK:           tensor.insert_slice %{{.*}} into %[[W1]][0, 1, 1, 0] [1, 1, 8, 8]
// CHECK-NOT:       linalg.pooling_nhwc_max
// CHECK:         scf.yield
// The first stripe: the conv's window moves down a row (2 rows kept from
// row 1); the pool's first window is where the buffer starts, nothing moves.
// CHECK:         %[[S1:.*]]:3 = scf.execute_region
// CHECK:           tensor.extract_slice %[[S0]]#0[0, 1, 0, 0] [1, 2, 10, 8]
// CHECK:           linalg.copy
// CHECK-NOT:       linalg.copy
// CHECK:           tensor.insert_slice %{{.*}} into %[[S0]]#1[0, 2, 1, 0] [1, 2, 8, 8]
// CHECK:           linalg.pooling_nhwc_max {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x10x8xf32>, tensor<3x3xf32>) {{.*}} -> tensor<1x2x8x8xf32>
// CHECK:           tensor.insert_slice %{{.*}} into %[[ACC]][0, 0, 0, 0] [1, 2, 8, 8]
// The steady state: one loop carrying the output map and both buffers.
// CHECK:         %[[L:.*]]:3 = scf.for %[[IV:.*]] = %{{.*}} to %c5 step %{{.*}} iter_args(%[[A:.*]] = %[[S1]]#0, %[[X0:.*]] = %[[S1]]#1, %[[X1:.*]] = %[[S1]]#2)
// CHECK:           scf.execute_region
// CHECK:             tensor.extract_slice %arg0[0, %{{.*}}, 0, 0] [1, 4, 8, 4]
// CHECK:             tensor.pad %{{.*}} low[0, 0, 1, 0] high[0, 0, 1, 0]
// CHECK:             %[[K0:.*]] = tensor.extract_slice %[[X0]][0, 2, 0, 0] [1, 2, 10, 8]
// CHECK:             %[[C0:.*]] = linalg.copy {mafat.copy_on_buffers} ins(%[[K0]]
// CHECK:             %[[M0:.*]] = tensor.insert_slice %[[C0]] into %[[X0]][0, 0, 0, 0] [1, 2, 10, 8]
// CHECK:             %[[N0:.*]] = tensor.insert_slice %{{.*}} into %[[M0]][0, 2, 1, 0] [1, 2, 8, 8]
// CHECK:             linalg.conv_2d_nhwc_hwcf {{.*}} ins(%[[N0]]
// CHECK:             tensor.extract_slice %[[X1]][0, 2, 0, 0] [1, 2, 10, 8]
// CHECK:             linalg.copy
// CHECK:             linalg.pooling_nhwc_max
// CHECK:             tensor.insert_slice %{{.*}} into %[[A]][0, %{{.*}}, 0, 0] [1, 2, 8, 8]
// CHECK:         %[[S7:.*]]:3 = scf.execute_region
// CHECK:           tensor.extract_slice %arg0[0, 13, 0, 0] [1, 3, 8, 4]
// CHECK:           tensor.insert_slice %{{.*}} into %[[L]]#0[0, 12, 0, 0] [1, 2, 8, 8]
// Last step: a row of bottom padding enters each window and is filled
// with the reader's padding value; the first conv has nothing left to do.
// CHECK:         %[[LAST:.*]] = scf.execute_region -> tensor<1x16x8x8xf32> no_inline
// CHECK-NOT:       tensor.extract_slice %arg0
// CHECK:           linalg.copy
// CHECK:           %[[P0:.*]] = tensor.extract_slice %{{.*}}[0, 2, 0, 0] [1, 1, 10, 8]
// CHECK:           linalg.fill ins(%[[ZERO]] : f32) outs(%[[P0]]
// CHECK:           linalg.copy
// CHECK:           %[[P1:.*]] = tensor.extract_slice %{{.*}}[0, 3, 0, 0] [1, 1, 10, 8]
// CHECK:           linalg.fill ins(%[[NINF]] : f32) outs(%[[P1]]
// CHECK:           tensor.insert_slice %{{.*}}[0, 14, 0, 0] [1, 2, 8, 8]
// CHECK:         return %[[LAST]]

// Bufferized and packed: the two rolling buffers (2 x 1x4x10x8 floats, 2560
// bytes) and the padded input rows of a step (1x4x10x4, 640 bytes); the
// shifts move rows in place (mafat-lower-copies drops bufferization's
// temporary), and the workspace is exactly the memory model's prediction
// (verify-prediction fails otherwise).
// MEM-LABEL: func.func @chain
// MEM-SAME:    mafat.predicted_workspace_bytes = 3200
// MEM-SAME:    mafat.workspace_bytes = 3200

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:maxpool"], grid = [8, 1], row_tiles = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11], [12, 13], [14, 15]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 2>]>} {
  func.func @chain(%x: tensor<1x16x8x4xf32>) -> tensor<1x16x8x8xf32> {
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
    %pad2 = tensor.pad %relu1 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %ninf : f32
    } : tensor<1x16x8x8xf32> to tensor<1x18x10x8xf32> loc("L2:pad")
    %win = tensor.empty() : tensor<3x3xf32>
    %e4 = tensor.empty() : tensor<1x16x8x8xf32>
    %f4 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
    %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad2, %win : tensor<1x18x10x8xf32>, tensor<3x3xf32>) outs(%f4 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> loc("L2:maxpool")
    return %pool : tensor<1x16x8x8xf32>
  }
}
