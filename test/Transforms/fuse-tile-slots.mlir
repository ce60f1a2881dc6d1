// RUN: mafat-opt %s --mafat-fuse-tile | FileCheck %s
// RUN: mafat-opt %s --mafat-fuse-tile --mlir-print-debuginfo | FileCheck %s --check-prefix=DBG

// Concurrent tiles: the group of fuse-tile.mlir's first case cut into 4 row
// tiles of one row each (a top border, two interior tiles sharing a body, a
// bottom border) with 2 slots. The classes run inside one slot loop over
// the slots, whose location carries the slot count for mafat-parallelize.
// Slot s runs the row-major band of tiles [2s, 2s + 2) (CodegenRules.h,
// slotBandBegin: s * 4 floordiv 2): each class keeps its rows x cols nest,
// and its column loop runs max(0, 2s - g) to min(cols, 2s + 2 - g), g being
// the row-major index of the class row's first tile (0, 1 + row, 3). Slot 0
// so runs rows 0-1 and slot 1 rows 2-3. Each tile body is the same as
// without slots.

// CHECK-DAG: #[[FROM0:.*]] = affine_map<(d0, d1) -> (0, d0 * 2 - d1)>
// CHECK-DAG: #[[TO0:.*]] = affine_map<(d0, d1) -> (1, (d0 + 1) * 2 - d1)>
// CHECK-DAG: #[[FROM1:.*]] = affine_map<(d0, d1) -> (0, d0 * 2 - (d1 + 1))>
// CHECK-DAG: #[[TO1:.*]] = affine_map<(d0, d1) -> (1, (d0 + 1) * 2 - (d1 + 1))>
// CHECK-DAG: #[[FROM2:.*]] = affine_map<(d0, d1) -> (0, d0 * 2 - (d1 + 3))>
// CHECK-DAG: #[[TO2:.*]] = affine_map<(d0, d1) -> (1, (d0 + 1) * 2 - (d1 + 3))>
// CHECK-LABEL: func.func @slots
// CHECK:         %[[ACC:.*]] = bufferization.alloc_tensor() : tensor<1x4x4x8xf32>
// CHECK:         %[[R:.*]] = scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A0:.*]] = %[[ACC]])
// CHECK:           %[[T0:.*]] = scf.for %[[R0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[A0]])
// CHECK:             %[[F0:.*]] = affine.max #[[FROM0]](%[[S]], %[[R0]])
// CHECK:             %[[E0:.*]] = affine.min #[[TO0]](%[[S]], %[[R0]])
// CHECK:             scf.for %{{.*}} = %[[F0]] to %[[E0]] step
// CHECK:               scf.execute_region -> tensor<1x4x4x8xf32> no_inline
// CHECK:                 tensor.extract_slice %arg0[0, %{{.*}}, %{{.*}}, 0] [1, 3, 8, 4]
// CHECK:                 tensor.pad %{{.*}} low[0, 1, 1, 0] high[0, 0, 1, 0]
// CHECK:                 tensor.insert_slice %{{.*}} [1, 1, 4, 8]
// CHECK:           %[[T1:.*]] = scf.for %[[R1:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[T0]])
// CHECK:             affine.max #[[FROM1]](%[[S]], %[[R1]])
// CHECK:             affine.min #[[TO1]](%[[S]], %[[R1]])
// CHECK:                 tensor.extract_slice %arg0[0, %{{.*}}, %{{.*}}, 0] [1, 4, 8, 4]
// CHECK:                 tensor.pad %{{.*}} low[0, 0, 1, 0] high[0, 0, 1, 0]
// CHECK:           %[[T2:.*]] = scf.for %[[R2:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[T1]])
// CHECK:             affine.max #[[FROM2]](%[[S]], %[[R2]])
// CHECK:             affine.min #[[TO2]](%[[S]], %[[R2]])
// CHECK:                 tensor.pad %{{.*}} low[0, 0, 1, 0] high[0, 1, 1, 0]
// CHECK:           scf.yield %[[T2]]
// CHECK:         return %[[R]]
// DBG: loc(fused<{mafat.slots = 2 : i64}>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [4, 1], row_tiles = [[0, 0], [1, 1], [2, 2], [3, 3]], col_tiles = [[0, 3]], slots = 2>]>} {
  func.func @slots(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
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
