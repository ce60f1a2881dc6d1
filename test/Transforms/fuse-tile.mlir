// RUN: mafat-opt %s --split-input-file --mafat-fuse-tile --canonicalize --cse | FileCheck %s

// A conv + bias/relu + 2x2 max pool fused and cut into a 2x2 grid of the
// pool's 4x4 output. Every tile is its own class (each touches a different
// pair of borders), so there are four static-shaped bodies; each pads its
// 5x5 input tile only on the sides where it meets the image border, with the
// conv's zero, and writes its 2x2 pool tile into the group's output map.

// CHECK-LABEL: func.func @grid2x2
// CHECK-SAME:    mafat.predicted_workspace_bytes
// CHECK:         %[[ACC:.*]] = bufferization.alloc_tensor() : tensor<1x4x4x8xf32>
// CHECK:         %[[T0:.*]] = scf.execute_region -> tensor<1x4x4x8xf32> no_inline
// CHECK:           tensor.extract_slice %arg0[0, 0, 0, 0] [1, 5, 5, 4]
// CHECK:           tensor.pad %{{.*}} low[0, 1, 1, 0] high[0, 0, 0, 0]
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x4x4x8xf32>
// CHECK:           linalg.generic
// CHECK:           } -> tensor<1x4x4x8xf32>
// CHECK:           linalg.pooling_nhwc_max {{.*}} -> tensor<1x2x2x8xf32>
// CHECK:           tensor.insert_slice %{{.*}} into %[[ACC]][0, 0, 0, 0] [1, 2, 2, 8]
// CHECK:         %[[T1:.*]] = scf.execute_region -> tensor<1x4x4x8xf32> no_inline
// CHECK:           tensor.extract_slice %arg0[0, 0, 3, 0] [1, 5, 5, 4]
// CHECK:           tensor.pad %{{.*}} low[0, 1, 0, 0] high[0, 0, 1, 0]
// CHECK:           tensor.insert_slice %{{.*}} into %[[T0]][0, 0, 2, 0] [1, 2, 2, 8]
// CHECK:         %[[T2:.*]] = scf.execute_region
// CHECK:           tensor.pad %{{.*}} low[0, 0, 1, 0] high[0, 1, 0, 0]
// CHECK:           tensor.insert_slice %{{.*}} into %[[T1]][0, 2, 0, 0] [1, 2, 2, 8]
// CHECK:         %[[T3:.*]] = scf.execute_region
// CHECK:           tensor.pad %{{.*}} low[0, 0, 0, 0] high[0, 1, 1, 0]
// CHECK:           tensor.insert_slice %{{.*}} into %[[T2]][0, 2, 2, 0] [1, 2, 2, 8]
// CHECK:         return %[[T3]]
// The layers' whole-map ops are gone.
// CHECK-NOT:     tensor<1x10x10x4xf32>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [2, 2], row_tiles = [[0, 1], [2, 3]], col_tiles = [[0, 1], [2, 3]]>]>} {
  func.func @grid2x2(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %pad = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L0:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
    %e0 = tensor.empty() : tensor<1x8x8x8xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x4xf32>, tensor<3x3x4x8xf32>) outs(%f0 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L0:conv")
    %b = arith.constant dense<0.25> : tensor<8xf32>
    %e1 = tensor.empty() : tensor<1x8x8x8xf32>
    %relu = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %b : tensor<1x8x8x8xf32>, tensor<8xf32>) outs(%e1 : tensor<1x8x8x8xf32>) {
    ^bb0(%in: f32, %bias: f32, %out: f32):
      %s = arith.addf %in, %bias : f32
      %r = arith.maximumf %s, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x8xf32> loc("L0:relu")
    %win = tensor.empty() : tensor<2x2xf32>
    %e2 = tensor.empty() : tensor<1x4x4x8xf32>
    %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%relu, %win : tensor<1x8x8x8xf32>, tensor<2x2xf32>) outs(%f2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> loc("L1:maxpool")
    return %pool : tensor<1x4x4x8xf32>
  }
}

// -----

// Four tiles of two rows over the conv's 8x8 output: the first and the last
// have their own classes (top / bottom padding), the two interior tiles share
// one body in a loop whose offsets advance by two rows. Columns are not
// split, so every tile pads left and right.

// CHECK:       #[[IN:.*]] = affine_map<(d0) -> (d0 * 2 + 1)>
// CHECK:       #[[OUT:.*]] = affine_map<(d0) -> (d0 * 2 + 2)>
// CHECK-LABEL: func.func @rows4
// CHECK:         %[[FIRST:.*]] = scf.execute_region
// CHECK:           tensor.extract_slice %arg0[0, 0, 0, 0] [1, 3, 8, 4]
// CHECK:           tensor.pad %{{.*}} low[0, 1, 1, 0] high[0, 0, 1, 0]
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %c2 step %{{.*}} iter_args(%[[A:.*]] = %[[FIRST]])
// CHECK:           scf.execute_region
// CHECK:             %[[R:.*]] = affine.apply #[[IN]](%[[I]])
// CHECK:             tensor.extract_slice %arg0[0, %[[R]], 0, 0] [1, 4, 8, 4]
// CHECK:             tensor.pad %{{.*}} low[0, 0, 1, 0] high[0, 0, 1, 0]
// CHECK:             %[[O:.*]] = affine.apply #[[OUT]](%[[I]])
// CHECK:             tensor.insert_slice %{{.*}} into %[[A]][0, %[[O]], 0, 0] [1, 2, 8, 8]
// CHECK:         scf.execute_region
// CHECK:           tensor.extract_slice %arg0[0, 5, 0, 0] [1, 3, 8, 4]
// CHECK:           tensor.pad %{{.*}} low[0, 0, 1, 0] high[0, 1, 1, 0]
// CHECK:         linalg.pooling_nhwc_max {{.*}} -> tensor<1x4x4x8xf32>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu"], grid = [4, 1], row_tiles = [[0, 1], [2, 3], [4, 5], [6, 7]], col_tiles = [[0, 7]]>]>} {
  func.func @rows4(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %pad = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L0:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
    %e0 = tensor.empty() : tensor<1x8x8x8xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x4xf32>, tensor<3x3x4x8xf32>) outs(%f0 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L0:conv")
    %b = arith.constant dense<0.25> : tensor<8xf32>
    %e1 = tensor.empty() : tensor<1x8x8x8xf32>
    %relu = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %b : tensor<1x8x8x8xf32>, tensor<8xf32>) outs(%e1 : tensor<1x8x8x8xf32>) {
    ^bb0(%in: f32, %bias: f32, %out: f32):
      %s = arith.addf %in, %bias : f32
      %r = arith.maximumf %s, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x8xf32> loc("L0:relu")
    %win = tensor.empty() : tensor<2x2xf32>
    %e2 = tensor.empty() : tensor<1x4x4x8xf32>
    %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%relu, %win : tensor<1x8x8x8xf32>, tensor<2x2xf32>) outs(%f2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> loc("L1:maxpool")
    return %pool : tensor<1x4x4x8xf32>
  }
}

// -----

// Without a plan nothing is fused; the layer-by-layer prediction is still
// recorded for mafat-plan-memory to check.

// CHECK-LABEL: func.func @noplan
// CHECK-SAME:    mafat.predicted_workspace_bytes
// CHECK-NOT:     scf.execute_region
// CHECK:         linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x8x8x8xf32>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module {
  func.func @noplan(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %pad = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L0:pad")
    %w = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
    %e0 = tensor.empty() : tensor<1x8x8x8xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w : tensor<1x10x10x4xf32>, tensor<3x3x4x8xf32>) outs(%f0 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L0:conv")
    %b = arith.constant dense<0.25> : tensor<8xf32>
    %e1 = tensor.empty() : tensor<1x8x8x8xf32>
    %relu = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %b : tensor<1x8x8x8xf32>, tensor<8xf32>) outs(%e1 : tensor<1x8x8x8xf32>) {
    ^bb0(%in: f32, %bias: f32, %out: f32):
      %s = arith.addf %in, %bias : f32
      %r = arith.maximumf %s, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x8xf32> loc("L0:relu")
    %win = tensor.empty() : tensor<2x2xf32>
    %e2 = tensor.empty() : tensor<1x4x4x8xf32>
    %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%relu, %win : tensor<1x8x8x8xf32>, tensor<2x2xf32>) outs(%f2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> loc("L1:maxpool")
    return %pool : tensor<1x4x4x8xf32>
  }
}
