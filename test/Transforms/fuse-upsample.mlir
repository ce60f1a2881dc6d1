// RUN: mafat-opt %s --split-input-file --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --split-input-file --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// Nearest upsampling (x2, the floordiv form) fused with the route after it:
// the upsampled 4x4 map concatenated with an 8x8 map and read by a 3x3 conv
// (docs/Fusion.md, "Upsampling in groups"). A piece of the upsampling starts
// `phase` copies into its first input row or column; the transform writes
// the phase into the piece's map, (d1 + phase) floordiv 2, so a piece that
// starts half-way through an input row reads it once more, not the next.

// A 3x2 recompute grid (rows 0-2, 3-5, 6-7; columns 0-3, 4-7). The conv's
// halo asks rows [lo - 1, hi + 1] of the upsampled map: tile row 1 starts at
// upsampled row 2 (phase 0), tile row 2 at row 5 (phase 1, input row 2); tile
// column 1 at column 3 (phase 1, input column 1).
// CHECK-DAG:   #[[P00:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d2 floordiv 2, d3)>
// CHECK-DAG:   #[[P01:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, (d2 + 1) floordiv 2, d3)>
// CHECK-DAG:   #[[P10:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, (d1 + 1) floordiv 2, d2 floordiv 2, d3)>
// CHECK-DAG:   #[[P11:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, (d1 + 1) floordiv 2, (d2 + 1) floordiv 2, d3)>
// CHECK-LABEL: func.func @tiles(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<1x4x4x2xf32>
// Tile (0, 0): upsampled rows 0-3, columns 0-4 from input rows 0-1, columns 0-2.
// CHECK:         scf.execute_region
// CHECK:           %[[IN00:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [1, 2, 3, 2]
// CHECK:           linalg.generic {indexing_maps = [#[[P00]], {{.*}}]} ins(%[[IN00]] : tensor<1x2x3x2xf32>) outs(%{{.*}} : tensor<1x4x5x2xf32>)
// CHECK:           tensor.concat
// CHECK:           linalg.conv_2d_nhwc_hwcf
// Tile (0, 1): columns 3-7 from input columns 1-3.
// CHECK:         scf.execute_region
// CHECK:           %[[IN01:.*]] = tensor.extract_slice %[[X]][0, 0, 1, 0] [1, 2, 3, 2]
// CHECK:           linalg.generic {indexing_maps = [#[[P01]], {{.*}}]} ins(%[[IN01]] : tensor<1x2x3x2xf32>) outs(%{{.*}} : tensor<1x4x5x2xf32>)
// Tile row 1: rows 2-6 from input rows 1-3, phase 0.
// CHECK:         scf.execute_region
// CHECK:           tensor.extract_slice %[[X]][0, 1, 0, 0] [1, 3, 3, 2]
// CHECK:           linalg.generic {indexing_maps = [#[[P00]], {{.*}}]} {{.*}} outs(%{{.*}} : tensor<1x5x5x2xf32>)
// CHECK:         scf.execute_region
// CHECK:           linalg.generic {indexing_maps = [#[[P01]], {{.*}}]} {{.*}} outs(%{{.*}} : tensor<1x5x5x2xf32>)
// Tile row 2: rows 5-7 from input rows 2-3, phase 1.
// CHECK:         scf.execute_region
// CHECK:           %[[IN20:.*]] = tensor.extract_slice %[[X]][0, 2, 0, 0] [1, 2, 3, 2]
// CHECK:           linalg.generic {indexing_maps = [#[[P10]], {{.*}}]} ins(%[[IN20]] : tensor<1x2x3x2xf32>) outs(%{{.*}} : tensor<1x3x5x2xf32>)
// CHECK:         scf.execute_region
// CHECK:           %[[IN21:.*]] = tensor.extract_slice %[[X]][0, 2, 1, 0] [1, 2, 3, 2]
// CHECK:           linalg.generic {indexing_maps = [#[[P11]], {{.*}}]} ins(%[[IN21]] : tensor<1x2x3x2xf32>) outs(%{{.*}} : tensor<1x3x5x2xf32>)
// No upsampled map: the upsampling writes tiles only.
// CHECK-NOT:     outs(%{{.*}} : tensor<1x8x8x2xf32>)
// CHECK:         return

// MEM-LABEL: func.func @tiles(
// MEM-SAME:    mafat.predicted_workspace_bytes = 960
// MEM-SAME:    mafat.workspace_bytes = 960

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#up = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d2 floordiv 2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:upsample", "L1:concat", "L2:conv"], grid = [3, 2], row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = [[0, 3], [4, 7]]>]>} {
  func.func @tiles(%x: tensor<1x4x4x2xf32>, %y: tensor<1x8x8x2xf32>) -> tensor<1x8x8x3xf32> {
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %up = linalg.generic {indexing_maps = [#up, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x4x2xf32>) outs(%e : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x8x8x2xf32> loc("L0:upsample")
    %cat = tensor.concat dim(3) %up, %y : (tensor<1x8x8x2xf32>, tensor<1x8x8x2xf32>) -> tensor<1x8x8x4xf32> loc("L1:concat")
    %pad = tensor.pad %cat low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L2:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x4x3xf32>
    %eo = tensor.empty() : tensor<1x8x8x3xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x4xf32>, tensor<3x3x4x3xf32>) outs(%fo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L2:conv")
    return %conv : tensor<1x8x8x3xf32>
  }
}

// -----

// Streamed in stripes of 3 rows: the concat is the conv's rolling buffer
// (7 padded rows), and the upsampling, pulled by the concat, writes its rows
// into the concat's channels 0-1 of it in place. The concat computes rows
// 0-2, 3-5 and 6-7 in the three steps: phases 0, 1 (input rows 1-2) and 0.
// CHECK-DAG:   #[[Q0:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d2 floordiv 2, d3)>
// CHECK-DAG:   #[[Q1:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, (d1 + 1) floordiv 2, d2 floordiv 2, d3)>
// CHECK-LABEL: func.func @stream(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<1x4x4x2xf32>
// CHECK:         %[[BUF:.*]] = bufferization.alloc_tensor() : tensor<1x7x10x4xf32>
// CHECK-NOT:     bufferization.alloc_tensor
// CHECK:         scf.execute_region
// CHECK:           %[[IN0:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [1, 2, 4, 2]
// CHECK:           %[[ROWS0:.*]] = tensor.extract_slice %{{.*}}[0, 1, 1, 0] [1, 3, 8, 4]
// CHECK:           %[[CH0:.*]] = tensor.extract_slice %[[ROWS0]][0, 0, 0, 0] [1, 3, 8, 2]
// CHECK:           linalg.generic {indexing_maps = [#[[Q0]], {{.*}}]} ins(%[[IN0]] : tensor<1x2x4x2xf32>) outs(%[[CH0]] : tensor<1x3x8x2xf32>)
// CHECK:         scf.execute_region
// CHECK:           %[[IN1:.*]] = tensor.extract_slice %[[X]][0, 1, 0, 0] [1, 2, 4, 2]
// CHECK:           linalg.generic {indexing_maps = [#[[Q1]], {{.*}}]} ins(%[[IN1]] : tensor<1x2x4x2xf32>) outs(%{{.*}} : tensor<1x3x8x2xf32>)
// CHECK:           linalg.conv_2d_nhwc_hwcf
// CHECK:         scf.execute_region
// CHECK:           %[[IN2:.*]] = tensor.extract_slice %[[X]][0, 3, 0, 0] [1, 1, 4, 2]
// CHECK:           linalg.generic {indexing_maps = [#[[Q0]], {{.*}}]} ins(%[[IN2]] : tensor<1x1x4x2xf32>) outs(%{{.*}} : tensor<1x2x8x2xf32>)
// CHECK:           linalg.conv_2d_nhwc_hwcf
// CHECK:         scf.execute_region
// CHECK:           linalg.conv_2d_nhwc_hwcf
// CHECK-NOT:     tensor.concat
// CHECK:         return

// The workspace: the rolling buffer (1120 bytes) and the conv's output map.
// MEM-LABEL: func.func @stream(
// MEM-SAME:    mafat.predicted_workspace_bytes = 1152
// MEM-SAME:    mafat.workspace_bytes = 1152

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#up = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d2 floordiv 2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:upsample", "L1:concat", "L2:conv"], grid = [3, 1], row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 3>]>} {
  func.func @stream(%x: tensor<1x4x4x2xf32>, %y: tensor<1x8x8x2xf32>) -> tensor<1x8x8x3xf32> {
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %up = linalg.generic {indexing_maps = [#up, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x4x2xf32>) outs(%e : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x8x8x2xf32> loc("L0:upsample")
    %cat = tensor.concat dim(3) %up, %y : (tensor<1x8x8x2xf32>, tensor<1x8x8x2xf32>) -> tensor<1x8x8x4xf32> loc("L1:concat")
    %pad = tensor.pad %cat low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L2:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x4x3xf32>
    %eo = tensor.empty() : tensor<1x8x8x3xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x4xf32>, tensor<3x3x4x3xf32>) outs(%fo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L2:conv")
    return %conv : tensor<1x8x8x3xf32>
  }
}

// -----

// An upsampling that computes (Darknet's scale=): each piece runs the
// layer's own body on the element it copies.
// CHECK-LABEL: func.func @scaled(
// CHECK:         scf.execute_region
// CHECK:           linalg.generic
// CHECK-SAME:        outs(%{{.*}} : tensor<1x4x5x2xf32>)
// CHECK-NEXT:      ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK:             %[[S:.*]] = arith.mulf %[[IN]], %{{.*}} : f32
// CHECK-NEXT:        linalg.yield %[[S]] : f32

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#up = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d2 floordiv 2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:upsample", "L1:concat", "L2:conv"], grid = [3, 2], row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = [[0, 3], [4, 7]]>]>} {
  func.func @scaled(%x: tensor<1x4x4x2xf32>, %y: tensor<1x8x8x2xf32>) -> tensor<1x8x8x3xf32> {
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %up = linalg.generic {indexing_maps = [#up, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x4x2xf32>) outs(%e : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %half = arith.constant 0.5 : f32
      %scaled = arith.mulf %in, %half : f32
      linalg.yield %scaled : f32
    } -> tensor<1x8x8x2xf32> loc("L0:upsample")
    %cat = tensor.concat dim(3) %up, %y : (tensor<1x8x8x2xf32>, tensor<1x8x8x2xf32>) -> tensor<1x8x8x4xf32> loc("L1:concat")
    %pad = tensor.pad %cat low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L2:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x4x3xf32>
    %eo = tensor.empty() : tensor<1x8x8x3xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x4xf32>, tensor<3x3x4x3xf32>) outs(%fo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L2:conv")
    return %conv : tensor<1x8x8x3xf32>
  }
}
