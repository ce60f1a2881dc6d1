// RUN: mafat-opt %s --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --mafat-fuse-tile --mlir-print-debuginfo | FileCheck %s --check-prefix=DBG
// RUN: mafat-opt %s --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// Concurrent column tiles (docs/Fusion.md, "Concurrent column tiles"):
// stream-hybrid.mlir's group (4 column tiles of 4 columns, stripes of 2
// rows) with 2 slots. The
// column loops run inside a slot loop that carries only the output map; each
// slot allocates its own rolling buffers in the loop body and streams the
// column tiles of its band [2s, 2s + 2) (CodegenRules.h, slotBandBegin:
// s * 4 floordiv 2). Each column class's loop so runs max(0, 2s - f) to
// min(count, 2s + 2 - f), f being the class's first tile (the left border
// 0, the interior tiles 1 and 2, the right border 3): slot 0 runs tiles 0
// and 1, slot 1 tiles 2 and 3. The column tile bodies are stream-hybrid's.

// CHECK-DAG:     #[[LFROM:.*]] = affine_map<(d0) -> (0, d0 * 2)>
// CHECK-DAG:     #[[LTO:.*]] = affine_map<(d0) -> (1, d0 * 2 + 2)>
// CHECK-DAG:     #[[IFROM:.*]] = affine_map<(d0) -> (0, d0 * 2 - 1)>
// CHECK-DAG:     #[[ITO:.*]] = affine_map<(d0) -> (2, d0 * 2 + 1)>
// CHECK-DAG:     #[[RFROM:.*]] = affine_map<(d0) -> (0, d0 * 2 - 3)>
// CHECK-DAG:     #[[RTO:.*]] = affine_map<(d0) -> (1, d0 * 2 - 1)>
// CHECK-LABEL: func.func @chain
// CHECK:         %[[ACC:.*]] = bufferization.alloc_tensor() : tensor<1x8x16x8xf32>
// CHECK:         %[[R:.*]] = scf.for %[[S:.*]] = %{{.*}} to %[[C2:.*]] step %{{.*}} iter_args(%[[A:.*]] = %[[ACC]]) -> (tensor<1x8x16x8xf32>) {
// CHECK-NEXT:      %[[B0:.*]] = bufferization.alloc_tensor() : tensor<1x4x8x8xf32>
// CHECK-NEXT:      %[[B1:.*]] = bufferization.alloc_tensor() : tensor<1x4x6x8xf32>
// CHECK-NEXT:      %[[LF:.*]] = affine.max #[[LFROM]](%[[S]])
// CHECK-NEXT:      %[[LT:.*]] = affine.min #[[LTO]](%[[S]])
// CHECK-NEXT:      %[[L:.*]]:3 = scf.for %{{.*}} = %[[LF]] to %[[LT]] step %{{.*}} iter_args(%{{.*}} = %[[A]], %[[LB0:.*]] = %[[B0]], %[[LB1:.*]] = %[[B1]])
// CHECK:             linalg.fill ins(%{{.*}} : f32) outs(%[[LB0]]
// CHECK:             tensor.extract_slice %arg0[0, 0, 0, 0] [1, 3, 7, 4]
// CHECK:             tensor.pad %{{.*}} low[0, 1, 1, 0] high[0, 0, 0, 0]
// CHECK:         affine.max #[[IFROM]](%[[S]])
// CHECK:         affine.min #[[ITO]](%[[S]])
// CHECK:         scf.for %{{.*}} iter_args(%{{.*}} = %[[L]]#0, %{{.*}} = %[[L]]#1, %{{.*}} = %[[L]]#2)
// CHECK:             tensor.pad %{{.*}} low[0, 1, 0, 0] high[0, 0, 0, 0]
// CHECK:         affine.max #[[RFROM]](%[[S]])
// CHECK:         affine.min #[[RTO]](%[[S]])
// CHECK:             tensor.pad %{{.*}} low[0, 1, 0, 0] high[0, 0, 1, 0]
// CHECK:           scf.yield %{{.*}} : tensor<1x8x16x8xf32>
// CHECK:         return %[[R]]

// The slot loop's location carries the slot count for mafat-parallelize.
// DBG: loc(fused<{mafat.slots = 2 : i64}>

// After bufferization the slot loop is an scf.forall whose body allocates
// both rolling buffers; the workspace (two copies of the slot's arena:
// twice stream-hybrid.mlir's 2432 bytes) is the memory model's prediction.
// MEM-LABEL: func.func @chain
// MEM-SAME:    mafat.predicted_workspace_bytes = [[BYTES:4864]]
// MEM-SAME:    mafat.workspace_bytes = [[BYTES]]
// MEM:         scf.forall (%[[SLOT:.*]]) in (%{{.*}}) {
// MEM:           arith.muli %[[SLOT]], %c2432
// MEM:           memref.view %{{.*}} : memref<4864xi8> to memref<1x4x8x8xf32>
// MEM:           arith.muli %[[SLOT]], %c2432
// MEM:           memref.view %{{.*}} : memref<4864xi8> to memref<1x4x6x8xf32>

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:maxpool"], grid = [4, 4], row_tiles = [[0, 1], [2, 3], [4, 5], [6, 7]], col_tiles = [[0, 3], [4, 7], [8, 11], [12, 15]], mode = stream, stripe_rows = 2, slots = 2>]>} {
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
