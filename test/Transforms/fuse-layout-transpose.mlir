// RUN: mafat-opt %s --split-input-file --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --split-input-file --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// The layout transpose of an NCHW input to NHWC (an ONNX model's interface)
// as the first layer of a group (docs/Fusion.md, "Layout transposes in
// groups"): a piece transposes the rows and columns its readers take, read
// from the NCHW input at dimensions 2 and 3, so the transposed map is never
// whole.

// A 2x2 recompute grid (rows 0-3, 4-7; columns 0-4, 5-7): tile (0, 0) reads
// input rows 0-4 and columns 0-5 (the conv's halo), all channels.
// CHECK-LABEL: func.func @tiles(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<1x2x8x8xf32>
// CHECK:         scf.execute_region
// CHECK:           %[[IN00:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [1, 2, 5, 6]
// CHECK:           %[[T00:.*]] = linalg.transpose ins(%[[IN00]] : tensor<1x2x5x6xf32>) outs(%{{.*}} : tensor<1x5x6x2xf32>) permutation = [0, 2, 3, 1]
// CHECK:           tensor.pad %[[T00]] low[0, 1, 1, 0] high[0, 0, 0, 0]
// CHECK:           linalg.conv_2d_nhwc_hwcf
// Tile (0, 1): columns 4-7 of the input.
// CHECK:         scf.execute_region
// CHECK:           %[[IN01:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 4] [1, 2, 5, 4]
// CHECK:           linalg.transpose ins(%[[IN01]] : tensor<1x2x5x4xf32>) outs(%{{.*}} : tensor<1x5x4x2xf32>)
// Tile (1, 0): rows 3-7.
// CHECK:         scf.execute_region
// CHECK:           %[[IN10:.*]] = tensor.extract_slice %[[X]][0, 0, 3, 0] [1, 2, 5, 6]
// CHECK:           linalg.transpose ins(%[[IN10]] : tensor<1x2x5x6xf32>)
// CHECK:         scf.execute_region
// CHECK:           %[[IN11:.*]] = tensor.extract_slice %[[X]][0, 0, 3, 4] [1, 2, 5, 4]
// CHECK:           linalg.transpose ins(%[[IN11]] : tensor<1x2x5x4xf32>)
// No transposed map: the transpose writes tiles only.
// CHECK-NOT:     tensor<1x8x8x2xf32>
// CHECK:         return

// The workspace is one tile's transposed and padded pieces (240 and 336
// bytes, each aligned to 64): the model's output is the caller's.
// MEM-LABEL: func.func @tiles(
// MEM-SAME:    mafat.predicted_workspace_bytes = 640
// MEM-SAME:    mafat.workspace_bytes = 640

module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:to_nhwc", "L1:conv"], grid = [2, 2], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 4], [5, 7]]>]>} {
  func.func @tiles(%x: tensor<1x2x8x8xf32>) -> tensor<1x8x8x3xf32> {
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %t = linalg.transpose ins(%x : tensor<1x2x8x8xf32>) outs(%e : tensor<1x8x8x2xf32>) permutation = [0, 2, 3, 1] loc("L0:to_nhwc")
    %pad = tensor.pad %t low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x2xf32> to tensor<1x10x10x2xf32> loc("L1:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x2x3xf32>
    %eo = tensor.empty() : tensor<1x8x8x3xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x2xf32>, tensor<3x3x2x3xf32>) outs(%fo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L1:conv")
    return %conv : tensor<1x8x8x3xf32>
  }
}

// -----

// Streamed in stripes of 3 rows: the transpose writes its fresh rows of a
// step (input rows 0-2, 3-5, 6-7 at dimension 2) straight into the conv's
// rolling buffer (7 padded rows of 10 columns), in place.
// CHECK-LABEL: func.func @stream(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<1x2x8x8xf32>
// CHECK:         %[[BUF:.*]] = bufferization.alloc_tensor() : tensor<1x7x10x2xf32>
// CHECK-NOT:     bufferization.alloc_tensor
// CHECK:         scf.execute_region
// CHECK:           %[[IN0:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [1, 2, 3, 8]
// CHECK:           %[[ROWS0:.*]] = tensor.extract_slice %{{.*}}[0, 1, 1, 0] [1, 3, 8, 2]
// CHECK:           linalg.transpose ins(%[[IN0]] : tensor<1x2x3x8xf32>) outs(%[[ROWS0]] : tensor<1x3x8x2xf32>) permutation = [0, 2, 3, 1]
// CHECK:         scf.execute_region
// CHECK:           %[[IN1:.*]] = tensor.extract_slice %[[X]][0, 0, 3, 0] [1, 2, 3, 8]
// CHECK:           linalg.transpose ins(%[[IN1]] : tensor<1x2x3x8xf32>) outs(%{{.*}} : tensor<1x3x8x2xf32>)
// CHECK:           linalg.conv_2d_nhwc_hwcf
// CHECK:         scf.execute_region
// CHECK:           %[[IN2:.*]] = tensor.extract_slice %[[X]][0, 0, 6, 0] [1, 2, 2, 8]
// CHECK:           linalg.transpose ins(%[[IN2]] : tensor<1x2x2x8xf32>) outs(%{{.*}} : tensor<1x2x8x2xf32>)
// CHECK:           linalg.conv_2d_nhwc_hwcf
// CHECK:         scf.execute_region
// CHECK-NOT:       linalg.transpose
// CHECK:           linalg.conv_2d_nhwc_hwcf
// CHECK-NOT:     tensor<1x8x8x2xf32>
// CHECK:         return

// The workspace: the rolling buffer (560 bytes, aligned to 576).
// MEM-LABEL: func.func @stream(
// MEM-SAME:    mafat.predicted_workspace_bytes = 576
// MEM-SAME:    mafat.workspace_bytes = 576

module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:to_nhwc", "L1:conv"], grid = [3, 1], row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 3>]>} {
  func.func @stream(%x: tensor<1x2x8x8xf32>) -> tensor<1x8x8x3xf32> {
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %t = linalg.transpose ins(%x : tensor<1x2x8x8xf32>) outs(%e : tensor<1x8x8x2xf32>) permutation = [0, 2, 3, 1] loc("L0:to_nhwc")
    %pad = tensor.pad %t low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x2xf32> to tensor<1x10x10x2xf32> loc("L1:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x2x3xf32>
    %eo = tensor.empty() : tensor<1x8x8x3xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x2xf32>, tensor<3x3x2x3xf32>) outs(%fo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L1:conv")
    return %conv : tensor<1x8x8x3xf32>
  }
}

// -----

// The permutation-generic form (the Darknet importer's transposes) in a
// hybrid stream group: three-row stripes in 2 column tiles (output columns
// 0-3, 4-7). Each column tile streams its band, reading input columns 0-4
// and 3-7 (the conv's halo) at dimension 3 of the NCHW input into a rolling
// buffer of 6 padded columns.
// CHECK-DAG:   #[[PERM:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>
// CHECK-LABEL: func.func @hybrid(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<1x2x8x8xf32>
// CHECK:         bufferization.alloc_tensor() : tensor<1x7x6x2xf32>
// Column tile 0.
// CHECK:           tensor.extract_slice %[[X]][0, 0, 0, 0] [1, 2, 3, 5]
// CHECK:           linalg.generic {indexing_maps = [#[[PERM]], {{.*}}]} {{.*}} outs(%{{.*}} : tensor<1x3x5x2xf32>)
// CHECK:           tensor.extract_slice %[[X]][0, 0, 3, 0] [1, 2, 3, 5]
// CHECK:           linalg.conv_2d_nhwc_hwcf
// CHECK:           tensor.extract_slice %[[X]][0, 0, 6, 0] [1, 2, 2, 5]
// Column tile 1.
// CHECK:           tensor.extract_slice %[[X]][0, 0, 0, 3] [1, 2, 3, 5]
// CHECK:           tensor.extract_slice %[[X]][0, 0, 3, 3] [1, 2, 3, 5]
// CHECK:           tensor.extract_slice %[[X]][0, 0, 6, 3] [1, 2, 2, 5]
// CHECK-NOT:     tensor<1x8x8x2xf32>
// CHECK:         return

// The workspace: one rolling buffer of 7 x 6 x 2 (336 bytes, aligned to 384).
// MEM-LABEL: func.func @hybrid(
// MEM-SAME:    mafat.predicted_workspace_bytes = 384
// MEM-SAME:    mafat.workspace_bytes = 384

#nchw = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:to_nhwc", "L1:conv"], grid = [3, 2], row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = [[0, 3], [4, 7]], mode = stream, stripe_rows = 3>]>} {
  func.func @hybrid(%x: tensor<1x2x8x8xf32>) -> tensor<1x8x8x3xf32> {
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %t = linalg.generic {indexing_maps = [#nchw, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x2x8x8xf32>) outs(%e : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x8x8x2xf32> loc("L0:to_nhwc")
    %pad = tensor.pad %t low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x2xf32> to tensor<1x10x10x2xf32> loc("L1:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x2x3xf32>
    %eo = tensor.empty() : tensor<1x8x8x3xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x2xf32>, tensor<3x3x2x3xf32>) outs(%fo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L1:conv")
    return %conv : tensor<1x8x8x3xf32>
  }
}
