// RUN: mafat-opt %s --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// Hybrid (docs/Fusion.md, "Hybrid"): stream.mlir's chain (conv 3x3 + relu,
// conv 3x3 + relu, max pool 3x3, all padding 1) over an 8x16 map in stripes
// of 2 rows and 4 column tiles of 4 output columns. Each column tile streams
// top to bottom on its receptive field's columns (a halo of 3 input columns
// each side, recomputed by both neighbours). The tiles at the left and right
// border see column padding and are classes of their own; the two interior
// tiles are one loop. The rolling buffers are allocated once, as wide as the
// widest column tile needs (the interior tiles: L0:relu's 8 columns for
// L1:conv, L1:relu's 6 for the pool), and filled again with the padding
// value in every column tile; a border tile uses 7 and 6 of those columns,
// its first one being the padding.

// Interior column tile k (k = 0, 1) reads input columns from 4 k + 1 and
// writes output columns from 4 k + 4.
// CHECK-DAG:     #[[IN_MAP:.*]] = affine_map<(d0) -> (d0 * 4 + 1)>
// CHECK-DAG:     #[[OUT_MAP:.*]] = affine_map<(d0) -> (d0 * 4 + 4)>
// CHECK-LABEL: func.func @chain
// CHECK:         %[[ACC:.*]] = bufferization.alloc_tensor() : tensor<1x8x16x8xf32>
// CHECK:         %[[B0:.*]] = bufferization.alloc_tensor() : tensor<1x4x8x8xf32>
// CHECK:         %[[B1:.*]] = bufferization.alloc_tensor() : tensor<1x4x6x8xf32>
// The left column tile: padding on the left, 7 and 6 columns of the buffers.
// CHECK:         %[[L:.*]]:3 = scf.execute_region -> (tensor<1x8x16x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x6x8xf32>) no_inline {
// CHECK:           %[[W0:.*]] = linalg.fill ins(%[[ZERO:.*]] : f32) outs(%[[B0]]
// CHECK:           %[[W1:.*]] = linalg.fill ins(%[[NINF:.*]] : f32) outs(%[[B1]]
// CHECK:           scf.execute_region
// CHECK:             tensor.extract_slice %arg0[0, 0, 0, 0] [1, 3, 7, 4]
// CHECK:             tensor.pad %{{.*}} low[0, 1, 1, 0] high[0, 0, 0, 0]
// CHECK:             tensor.insert_slice %{{.*}} into %[[W0]][0, 1, 1, 0] [1, 2, 6, 8]
// CHECK:             tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 3, 7, 8]
// CHECK:           tensor.insert_slice %{{.*}} into %[[ACC]][0, 0, 0, 0] [1, 2, 4, 8]
// The two interior tiles: one loop, offsets from its induction variable, no
// column padding, all 8 and 6 columns of the buffers.
// CHECK:         %[[I:.*]]:3 = scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[IACC:.*]] = %[[L]]#0, %[[IB0:.*]] = %[[L]]#1, %[[IB1:.*]] = %[[L]]#2)
// CHECK:           scf.execute_region -> (tensor<1x8x16x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x6x8xf32>) no_inline {
// CHECK:             %[[IW0:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[IB0]]
// CHECK:             linalg.fill ins(%[[NINF]] : f32) outs(%[[IB1]]
// CHECK:             scf.execute_region
// CHECK:               %[[IN:.*]] = affine.apply #[[IN_MAP]](%[[C]])
// CHECK:               tensor.extract_slice %arg0[0, 0, %[[IN]], 0] [1, 3, 10, 4]
// CHECK:               tensor.pad %{{.*}} low[0, 1, 0, 0] high[0, 0, 0, 0]
// CHECK:               tensor.insert_slice %{{.*}} into %[[IW0]][0, 1, 0, 0] [1, 2, 8, 8]
// CHECK:             %[[OUT:.*]] = affine.apply #[[OUT_MAP]](%[[C]])
// CHECK:             tensor.insert_slice %{{.*}} into %[[IACC]][0, 0, %[[OUT]], 0] [1, 2, 4, 8]
// The right column tile: padding on the right.
// CHECK:         scf.execute_region -> tensor<1x8x16x8xf32> no_inline {
// CHECK:           linalg.fill ins(%[[ZERO]] : f32) outs(%[[I]]#1
// CHECK:             tensor.extract_slice %arg0[0, 0, 9, 0] [1, 3, 7, 4]
// CHECK:             tensor.pad %{{.*}} low[0, 1, 0, 0] high[0, 0, 1, 0]
// CHECK:           tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 12, 0] [1, 2, 4, 8]
// CHECK:           tensor.insert_slice %{{.*}} into %{{.*}}[0, 6, 12, 0] [1, 2, 4, 8]

// The workspace is the memory model's prediction: each column tile is a
// region of its own holding its stripe bodies, next to the buffers.
// MEM-LABEL: func.func @chain
// MEM-SAME:    mafat.predicted_workspace_bytes = [[BYTES:[0-9]+]]
// MEM-SAME:    mafat.workspace_bytes = [[BYTES]]

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:maxpool"], grid = [4, 4], row_tiles = [[0, 1], [2, 3], [4, 5], [6, 7]], col_tiles = [[0, 3], [4, 7], [8, 11], [12, 15]], mode = stream, stripe_rows = 2>]>} {
  func.func @chain(%x: tensor<1x8x16x4xf32>) -> tensor<1x8x16x8xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %pad0 = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x16x4xf32> to tensor<1x10x18x4xf32> loc("L0:pad")
    %w0 = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
    %e0 = tensor.empty() : tensor<1x8x16x8xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x16x8xf32>) -> tensor<1x8x16x8xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad0, %w0 : tensor<1x10x18x4xf32>, tensor<3x3x4x8xf32>) outs(%f0 : tensor<1x8x16x8xf32>) -> tensor<1x8x16x8xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x8x16x8xf32>
    %relu0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x8x16x8xf32>) outs(%e1 : tensor<1x8x16x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x16x8xf32> loc("L0:relu")
    %pad1 = tensor.pad %relu0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x16x8xf32> to tensor<1x10x18x8xf32> loc("L1:pad")
    %w1 = arith.constant dense<0.25> : tensor<3x3x8x8xf32>
    %e2 = tensor.empty() : tensor<1x8x16x8xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16x8xf32>) -> tensor<1x8x16x8xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad1, %w1 : tensor<1x10x18x8xf32>, tensor<3x3x8x8xf32>) outs(%f2 : tensor<1x8x16x8xf32>) -> tensor<1x8x16x8xf32> loc("L1:conv")
    %e3 = tensor.empty() : tensor<1x8x16x8xf32>
    %relu1 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1 : tensor<1x8x16x8xf32>) outs(%e3 : tensor<1x8x16x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x16x8xf32> loc("L1:relu")
    %pad2 = tensor.pad %relu1 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %ninf : f32
    } : tensor<1x8x16x8xf32> to tensor<1x10x18x8xf32> loc("L2:pad")
    %win = tensor.empty() : tensor<3x3xf32>
    %e4 = tensor.empty() : tensor<1x8x16x8xf32>
    %f4 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<1x8x16x8xf32>) -> tensor<1x8x16x8xf32>
    %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad2, %win : tensor<1x10x18x8xf32>, tensor<3x3xf32>) outs(%f4 : tensor<1x8x16x8xf32>) -> tensor<1x8x16x8xf32> loc("L2:maxpool")
    return %pool : tensor<1x8x16x8xf32>
  }
}
