// RUN: mafat-opt %s --split-input-file --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --split-input-file --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// A fire module inside a stream group (docs/Fusion.md, "Streaming"): a 1x1
// squeeze conv + relu read by a 1x1 expand conv and a 3x3 expand conv, their
// concat read by a 3x3 conv, over an 8x8 map in one-row stripes. The 1x1
// expand reads the squeeze pointwise, in step with the concat, so it takes
// its row from the rolling buffer the 3x3 expand's window needs anyway
// (buffer row 1, a row behind the new one) and needs no buffer of its own.
// Both expands write their channels of the concat's rows straight into the
// concat's rolling buffer (channels 0-2 and 3-5); the concat copies nothing.

// CHECK-LABEL: func.func @fire(
// CHECK-NOT:     tensor.concat
// CHECK:         bufferization.alloc_tensor() : tensor<1x8x8x4xf32>
// CHECK:         bufferization.alloc_tensor() : tensor<1x3x10x2xf32>
// CHECK:         bufferization.alloc_tensor() : tensor<1x3x10x6xf32>
// No other buffer outside the steps (no rolling buffer of the 1x1 expand).
// CHECK-NOT:     bufferization.alloc_tensor
// CHECK:         scf.execute_region
// The steady-state steps.
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[SQ:.*]] = %{{.*}}, %[[CAT:.*]] = %{{.*}})
// The squeeze's buffer shifts and takes the new row 2.
// CHECK:           %[[SQ1:.*]] = tensor.insert_slice %{{.*}} into %[[SQ]][0, 0, 0, 0] [1, 2, 10, 2]
// CHECK:           %[[SQ2:.*]] = tensor.insert_slice %{{.*}} into %[[SQ1]][0, 2, 1, 0] [1, 1, 8, 2]
// The 1x1 expand reads row 1 of it.
// CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[SQ2]][0, 1, 1, 0] [1, 1, 8, 2]
// CHECK:           %[[E1:.*]] = linalg.conv_2d_nhwc_hwcf {{.*}} ins(%[[ROW]], %{{.*}} : tensor<1x1x8x2xf32>, tensor<1x1x2x3xf32>)
// The concat's buffer shifts; its new row 2 is where both expands write.
// CHECK:           %[[CAT1:.*]] = tensor.insert_slice %{{.*}} into %[[CAT]][0, 0, 0, 0] [1, 2, 10, 6]
// CHECK:           %[[NEWROW:.*]] = tensor.extract_slice %[[CAT1]][0, 2, 1, 0] [1, 1, 8, 6]
// CHECK:           %[[C0:.*]] = tensor.extract_slice %[[NEWROW]][0, 0, 0, 0] [1, 1, 8, 3]
// CHECK:           %[[R1:.*]] = linalg.generic {{.*}} ins(%[[E1]] : tensor<1x1x8x3xf32>) outs(%[[C0]] : tensor<1x1x8x3xf32>)
// CHECK:           %[[W1:.*]] = tensor.insert_slice %[[R1]] into %[[NEWROW]][0, 0, 0, 0] [1, 1, 8, 3]
// CHECK:           %[[E3:.*]] = linalg.conv_2d_nhwc_hwcf {{.*}} ins(%[[SQ2]], %{{.*}} : tensor<1x3x10x2xf32>, tensor<3x3x2x3xf32>)
// CHECK:           %[[C3:.*]] = tensor.extract_slice %[[W1]][0, 0, 0, 3] [1, 1, 8, 3]
// CHECK:           %[[R3:.*]] = linalg.generic {{.*}} ins(%[[E3]] : tensor<1x1x8x3xf32>) outs(%[[C3]] : tensor<1x1x8x3xf32>)
// CHECK:           %[[W3:.*]] = tensor.insert_slice %[[R3]] into %[[W1]][0, 0, 0, 3] [1, 1, 8, 3]
// CHECK:           %[[CAT2:.*]] = tensor.insert_slice %[[W3]] into %[[CAT1]][0, 2, 1, 0] [1, 1, 8, 6]
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} ins(%[[CAT2]], %{{.*}} : tensor<1x3x10x6xf32>, tensor<3x3x6x4xf32>)

// The workspace: the two rolling buffers (240 and 720 bytes, 256 + 768
// aligned), every tile of a step fitting beside them in the packing.
// MEM-LABEL: func.func @fire(
// MEM-SAME:    mafat.predicted_workspace_bytes = 1024
// MEM-SAME:    mafat.workspace_bytes = 1024

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:conv", "L2:relu", "L3:concat", "L4:conv"], grid = [8, 1], row_tiles = [[0, 0],[1, 1],[2, 2],[3, 3],[4, 4],[5, 5],[6, 6],[7, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 1>]>} {
  func.func @fire(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
    %zero = arith.constant 0.0 : f32
    %wconv0 = arith.constant dense<0.5> : tensor<1x1x4x2xf32>
    %econv0 = tensor.empty() : tensor<1x8x8x2xf32>
    %fconv0 = linalg.fill ins(%zero : f32) outs(%econv0 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %wconv0 : tensor<1x8x8x4xf32>, tensor<1x1x4x2xf32>) outs(%fconv0 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32> loc("L0:conv")
    %relu0e = tensor.empty() : tensor<1x8x8x2xf32>
    %relu0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x8x8x2xf32>) outs(%relu0e : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x2xf32> loc("L0:relu")
    %wconv1 = arith.constant dense<0.25> : tensor<1x1x2x3xf32>
    %econv1 = tensor.empty() : tensor<1x8x8x3xf32>
    %fconv1 = linalg.fill ins(%zero : f32) outs(%econv1 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu0, %wconv1 : tensor<1x8x8x2xf32>, tensor<1x1x2x3xf32>) outs(%fconv1 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L1:conv")
    %relu1e = tensor.empty() : tensor<1x8x8x3xf32>
    %relu1 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1 : tensor<1x8x8x3xf32>) outs(%relu1e : tensor<1x8x8x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x3xf32> loc("L1:relu")
    %pad2 = tensor.pad %relu0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x2xf32> to tensor<1x10x10x2xf32> loc("L2:pad")
    %wconv2 = arith.constant dense<0.125> : tensor<3x3x2x3xf32>
    %econv2 = tensor.empty() : tensor<1x8x8x3xf32>
    %fconv2 = linalg.fill ins(%zero : f32) outs(%econv2 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad2, %wconv2 : tensor<1x10x10x2xf32>, tensor<3x3x2x3xf32>) outs(%fconv2 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L2:conv")
    %relu2e = tensor.empty() : tensor<1x8x8x3xf32>
    %relu2 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv2 : tensor<1x8x8x3xf32>) outs(%relu2e : tensor<1x8x8x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x3xf32> loc("L2:relu")
    %cat = tensor.concat dim(3) %relu1, %relu2 : (tensor<1x8x8x3xf32>, tensor<1x8x8x3xf32>) -> tensor<1x8x8x6xf32> loc("L3:concat")
    %pad4 = tensor.pad %cat low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x6xf32> to tensor<1x10x10x6xf32> loc("L4:pad")
    %wconv4 = arith.constant dense<0.0625> : tensor<3x3x6x4xf32>
    %econv4 = tensor.empty() : tensor<1x8x8x4xf32>
    %fconv4 = linalg.fill ins(%zero : f32) outs(%econv4 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
    %conv4 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad4, %wconv4 : tensor<1x10x10x6xf32>, tensor<3x3x6x4xf32>) outs(%fconv4 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> loc("L4:conv")
    return %conv4 : tensor<1x8x8x4xf32>
  }
}

// -----

// The concat is the group's last layer: both expands write their channels
// of the output map's row in place.

// CHECK-LABEL: func.func @fire_last
// CHECK-NOT:     tensor.concat
// CHECK:         scf.for {{.*}} iter_args(%[[OUT:.*]] = %{{.*}}, %{{.*}} = %{{.*}})
// CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[OUT]][0, %{{.*}}, 0, 0] [1, 1, 8, 6]
// CHECK:           %[[C0:.*]] = tensor.extract_slice %[[ROW]][0, 0, 0, 0] [1, 1, 8, 3]
// CHECK:           %[[R1:.*]] = linalg.generic {{.*}} outs(%[[C0]] : tensor<1x1x8x3xf32>)
// CHECK:           %[[W1:.*]] = tensor.insert_slice %[[R1]] into %[[ROW]][0, 0, 0, 0] [1, 1, 8, 3]
// CHECK:           %[[C3:.*]] = tensor.extract_slice %[[W1]][0, 0, 0, 3] [1, 1, 8, 3]
// CHECK:           %[[R3:.*]] = linalg.generic {{.*}} outs(%[[C3]] : tensor<1x1x8x3xf32>)
// CHECK:           %[[W3:.*]] = tensor.insert_slice %[[R3]] into %[[W1]][0, 0, 0, 3] [1, 1, 8, 3]
// CHECK:           tensor.insert_slice %[[W3]] into %[[OUT]][0, %{{.*}}, 0, 0] [1, 1, 8, 6]

// MEM-LABEL: func.func @fire_last
// MEM-SAME:    mafat.predicted_workspace_bytes = 256
// MEM-SAME:    mafat.workspace_bytes = 256

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:conv", "L2:relu", "L3:concat"], grid = [8, 1], row_tiles = [[0, 0],[1, 1],[2, 2],[3, 3],[4, 4],[5, 5],[6, 6],[7, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 1>]>} {
  func.func @fire_last(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x6xf32> {
    %zero = arith.constant 0.0 : f32
    %wconv0 = arith.constant dense<0.5> : tensor<1x1x4x2xf32>
    %econv0 = tensor.empty() : tensor<1x8x8x2xf32>
    %fconv0 = linalg.fill ins(%zero : f32) outs(%econv0 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %wconv0 : tensor<1x8x8x4xf32>, tensor<1x1x4x2xf32>) outs(%fconv0 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32> loc("L0:conv")
    %relu0e = tensor.empty() : tensor<1x8x8x2xf32>
    %relu0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x8x8x2xf32>) outs(%relu0e : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x2xf32> loc("L0:relu")
    %wconv1 = arith.constant dense<0.25> : tensor<1x1x2x3xf32>
    %econv1 = tensor.empty() : tensor<1x8x8x3xf32>
    %fconv1 = linalg.fill ins(%zero : f32) outs(%econv1 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu0, %wconv1 : tensor<1x8x8x2xf32>, tensor<1x1x2x3xf32>) outs(%fconv1 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L1:conv")
    %relu1e = tensor.empty() : tensor<1x8x8x3xf32>
    %relu1 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1 : tensor<1x8x8x3xf32>) outs(%relu1e : tensor<1x8x8x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x3xf32> loc("L1:relu")
    %pad2 = tensor.pad %relu0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x2xf32> to tensor<1x10x10x2xf32> loc("L2:pad")
    %wconv2 = arith.constant dense<0.125> : tensor<3x3x2x3xf32>
    %econv2 = tensor.empty() : tensor<1x8x8x3xf32>
    %fconv2 = linalg.fill ins(%zero : f32) outs(%econv2 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad2, %wconv2 : tensor<1x10x10x2xf32>, tensor<3x3x2x3xf32>) outs(%fconv2 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L2:conv")
    %relu2e = tensor.empty() : tensor<1x8x8x3xf32>
    %relu2 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv2 : tensor<1x8x8x3xf32>) outs(%relu2e : tensor<1x8x8x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x3xf32> loc("L2:relu")
    %cat = tensor.concat dim(3) %relu1, %relu2 : (tensor<1x8x8x3xf32>, tensor<1x8x8x3xf32>) -> tensor<1x8x8x6xf32> loc("L3:concat")
    return %cat : tensor<1x8x8x6xf32>
  }
}

// -----

// The concat is read pointwise by a 1x1 conv in step: it has a fresh tile
// per step, allocated where the first expand writes into it.

// CHECK-LABEL: func.func @fire_fresh
// CHECK-NOT:     tensor.concat
// CHECK:         scf.for {{.*}} iter_args
// CHECK:           %[[E1:.*]] = linalg.conv_2d_nhwc_hwcf {{.*}} -> tensor<1x1x8x3xf32>
// CHECK:           %[[CAT:.*]] = bufferization.alloc_tensor() : tensor<1x1x8x6xf32>
// CHECK:           %[[C0:.*]] = tensor.extract_slice %[[CAT]][0, 0, 0, 0] [1, 1, 8, 3]
// CHECK:           %[[R1:.*]] = linalg.generic {{.*}} ins(%[[E1]] : tensor<1x1x8x3xf32>) outs(%[[C0]] : tensor<1x1x8x3xf32>)
// CHECK:           %[[W1:.*]] = tensor.insert_slice %[[R1]] into %[[CAT]][0, 0, 0, 0] [1, 1, 8, 3]
// CHECK:           %[[C3:.*]] = tensor.extract_slice %[[W1]][0, 0, 0, 3] [1, 1, 8, 3]
// CHECK:           %[[W3:.*]] = tensor.insert_slice %{{.*}} into %[[W1]][0, 0, 0, 3] [1, 1, 8, 3]
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} ins(%[[W3]], %{{.*}} : tensor<1x1x8x6xf32>, tensor<1x1x6x4xf32>)

// MEM-LABEL: func.func @fire_fresh
// MEM-SAME:    mafat.predicted_workspace_bytes = 448
// MEM-SAME:    mafat.workspace_bytes = 448

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:conv", "L2:relu", "L3:concat", "L4:conv"], grid = [8, 1], row_tiles = [[0, 0],[1, 1],[2, 2],[3, 3],[4, 4],[5, 5],[6, 6],[7, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 1>]>} {
  func.func @fire_fresh(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
    %zero = arith.constant 0.0 : f32
    %wconv0 = arith.constant dense<0.5> : tensor<1x1x4x2xf32>
    %econv0 = tensor.empty() : tensor<1x8x8x2xf32>
    %fconv0 = linalg.fill ins(%zero : f32) outs(%econv0 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %wconv0 : tensor<1x8x8x4xf32>, tensor<1x1x4x2xf32>) outs(%fconv0 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32> loc("L0:conv")
    %relu0e = tensor.empty() : tensor<1x8x8x2xf32>
    %relu0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x8x8x2xf32>) outs(%relu0e : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x2xf32> loc("L0:relu")
    %wconv1 = arith.constant dense<0.25> : tensor<1x1x2x3xf32>
    %econv1 = tensor.empty() : tensor<1x8x8x3xf32>
    %fconv1 = linalg.fill ins(%zero : f32) outs(%econv1 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu0, %wconv1 : tensor<1x8x8x2xf32>, tensor<1x1x2x3xf32>) outs(%fconv1 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L1:conv")
    %relu1e = tensor.empty() : tensor<1x8x8x3xf32>
    %relu1 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1 : tensor<1x8x8x3xf32>) outs(%relu1e : tensor<1x8x8x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x3xf32> loc("L1:relu")
    %pad2 = tensor.pad %relu0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x2xf32> to tensor<1x10x10x2xf32> loc("L2:pad")
    %wconv2 = arith.constant dense<0.125> : tensor<3x3x2x3xf32>
    %econv2 = tensor.empty() : tensor<1x8x8x3xf32>
    %fconv2 = linalg.fill ins(%zero : f32) outs(%econv2 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad2, %wconv2 : tensor<1x10x10x2xf32>, tensor<3x3x2x3xf32>) outs(%fconv2 : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L2:conv")
    %relu2e = tensor.empty() : tensor<1x8x8x3xf32>
    %relu2 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv2 : tensor<1x8x8x3xf32>) outs(%relu2e : tensor<1x8x8x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x3xf32> loc("L2:relu")
    %cat = tensor.concat dim(3) %relu1, %relu2 : (tensor<1x8x8x3xf32>, tensor<1x8x8x3xf32>) -> tensor<1x8x8x6xf32> loc("L3:concat")
    %wconv4 = arith.constant dense<0.0625> : tensor<1x1x6x4xf32>
    %econv4 = tensor.empty() : tensor<1x8x8x4xf32>
    %fconv4 = linalg.fill ins(%zero : f32) outs(%econv4 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
    %conv4 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%cat, %wconv4 : tensor<1x8x8x6xf32>, tensor<1x1x6x4xf32>) outs(%fconv4 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> loc("L4:conv")
    return %conv4 : tensor<1x8x8x4xf32>
  }
}
