// RUN: mafat-opt %s --split-input-file --mafat-fuse-tile --canonicalize --cse | FileCheck %s
// RUN: mafat-opt %s --split-input-file --mafat-tensor-codegen --mafat-bufferize="verify-prediction=true" | FileCheck %s --check-prefix=MEM

// Residual adds inside stream groups (docs/Fusion.md, "Streaming"): a layer
// read through a window and, pointwise, by an add keeps one rolling buffer
// that both read, so every row is computed once.

// conv 3x3 + relu, conv 3x3, add(conv, relu) over an 8x8 map in one-row
// stripes: the add reads row o of L0:relu, which is inside L1:conv's window
// [o - 1, o + 1], so the buffer is the window (3 padded rows): the add reads
// its real row and columns from buffer row 1, column 1.

// CHECK-LABEL: func.func @residual
// CHECK:         bufferization.alloc_tensor() : tensor<1x8x8x4xf32>
// CHECK:         bufferization.alloc_tensor() : tensor<1x3x10x4xf32>
// CHECK-NOT:     bufferization.alloc_tensor() : tensor<1x{{[0-9]+}}x10x4xf32>
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[W:.*]] = %{{.*}})
// The shift: padded rows 1 and 2 move up, the relu writes the new row 2.
// CHECK:           tensor.extract_slice %[[W]][0, 1, 0, 0] [1, 2, 10, 4]
// CHECK:           %[[KEPT:.*]] = tensor.insert_slice %{{.*}} into %[[W]][0, 0, 0, 0] [1, 2, 10, 4]
// CHECK:           %[[RELU:.*]] = linalg.generic
// CHECK:           %[[NEW:.*]] = tensor.insert_slice %[[RELU]] into %[[KEPT]][0, 2, 1, 0] [1, 1, 8, 4]
// CHECK:           %[[CONV:.*]] = linalg.conv_2d_nhwc_hwcf {{.*}} ins(%[[NEW]], %{{.*}} : tensor<1x3x10x4xf32>, tensor<3x3x4x4xf32>)
// CHECK:           %[[SKIP:.*]] = tensor.extract_slice %[[NEW]][0, 1, 1, 0] [1, 1, 8, 4]
// CHECK:           linalg.generic {{.*}} ins(%[[CONV]], %[[SKIP]] : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>)

// MEM-LABEL: func.func @residual
// MEM-SAME:    mafat.predicted_workspace_bytes = [[BYTES:[0-9]+]]
// MEM-SAME:    mafat.workspace_bytes = [[BYTES]]



#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L2:add"], grid = [8, 1], row_tiles = [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 1>]>} {
  func.func @residual(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
    %zero = arith.constant 0.0 : f32
    %pad0 = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L0:pad")
    %w0 = arith.constant dense<0.5> : tensor<3x3x4x4xf32>
    %e0 = tensor.empty() : tensor<1x8x8x4xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad0, %w0 : tensor<1x10x10x4xf32>, tensor<3x3x4x4xf32>) outs(%f0 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x8x8x4xf32>
    %relu = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x8x8x4xf32>) outs(%e1 : tensor<1x8x8x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x4xf32> loc("L0:relu")
    %pad1 = tensor.pad %relu low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L1:pad")
    %w1 = arith.constant dense<0.25> : tensor<3x3x4x4xf32>
    %e2 = tensor.empty() : tensor<1x8x8x4xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad1, %w1 : tensor<1x10x10x4xf32>, tensor<3x3x4x4xf32>) outs(%f2 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> loc("L1:conv")
    %e3 = tensor.empty() : tensor<1x8x8x4xf32>
    %add = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1, %relu : tensor<1x8x8x4xf32>, tensor<1x8x8x4xf32>) outs(%e3 : tensor<1x8x8x4xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    } -> tensor<1x8x8x4xf32> loc("L2:add")
    return %add : tensor<1x8x8x4xf32>
  }
}


// -----

// A MobileNetV2 inverted residual block: X = relu(conv1x1(x)), expand 1x1 +
// relu, depthwise 3x3, project 1x1, add(X, project), in one-row stripes. The
// expand conv reads X's fresh row, the add reads X a row later (the
// depthwise conv's halo): X gets a 2-row "skip" buffer without padding,
// written once per row, next to the depthwise conv's padded 3-row buffer.

// CHECK-LABEL: func.func @inverted_residual
// CHECK:         bufferization.alloc_tensor() : tensor<1x8x8x4xf32>
// CHECK:         bufferization.alloc_tensor() : tensor<1x2x8x4xf32>
// CHECK:         bufferization.alloc_tensor() : tensor<1x3x10x8xf32>
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[X:.*]] = %{{.*}}, %{{.*}} = %{{.*}})
// CHECK:           tensor.extract_slice %[[X]][0, 1, 0, 0] [1, 1, 8, 4]
// CHECK:           %[[KEPT:.*]] = tensor.insert_slice %{{.*}} into %[[X]][0, 0, 0, 0] [1, 1, 8, 4]
// CHECK:           %[[RELU:.*]] = linalg.generic
// The expand conv reads the relu's fresh row (a view of X's buffer, written
// in place), and only then is the row inserted into the buffer state: had
// the insert come first, bufferization would copy the row.
// CHECK:           linalg.conv_2d_nhwc_hwcf {{.*}} ins(%[[RELU]], %{{.*}} : tensor<1x1x8x4xf32>, tensor<1x1x4x8xf32>)
// CHECK:           linalg.depthwise_conv_2d_nhwc_hwc {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x3x10x8xf32>, tensor<3x3x8xf32>)
// CHECK:           %[[PROJ:.*]] = linalg.conv_2d_nhwc_hwcf
// CHECK:           %[[NEW:.*]] = tensor.insert_slice %[[RELU]] into %[[KEPT]][0, 1, 0, 0] [1, 1, 8, 4]
// CHECK:           %[[SKIP:.*]] = tensor.extract_slice %[[NEW]][0, 0, 0, 0] [1, 1, 8, 4]
// CHECK:           linalg.generic {{.*}} ins(%[[SKIP]], %[[PROJ]] : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>)

// MEM-LABEL: func.func @inverted_residual
// MEM-SAME:    mafat.predicted_workspace_bytes = [[BYTES:[0-9]+]]
// MEM-SAME:    mafat.workspace_bytes = [[BYTES]]

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L1:relu", "L2:dwconv", "L3:conv", "L4:add"], grid = [8, 1], row_tiles = [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 1>]>} {
  func.func @inverted_residual(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
    %zero = arith.constant 0.0 : f32
    %w0 = arith.constant dense<0.5> : tensor<1x1x4x4xf32>
    %e0 = tensor.empty() : tensor<1x8x8x4xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w0 : tensor<1x8x8x4xf32>, tensor<1x1x4x4xf32>) outs(%f0 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x8x8x4xf32>
    %relu0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x8x8x4xf32>) outs(%e1 : tensor<1x8x8x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x4xf32> loc("L0:relu")
    %w1 = arith.constant dense<0.25> : tensor<1x1x4x8xf32>
    %e2 = tensor.empty() : tensor<1x8x8x8xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu0, %w1 : tensor<1x8x8x4xf32>, tensor<1x1x4x8xf32>) outs(%f2 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L1:conv")
    %e3 = tensor.empty() : tensor<1x8x8x8xf32>
    %relu1 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1 : tensor<1x8x8x8xf32>) outs(%e3 : tensor<1x8x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x8x8x8xf32> loc("L1:relu")
    %pad2 = tensor.pad %relu1 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x8xf32> to tensor<1x10x10x8xf32> loc("L2:pad")
    %w2 = arith.constant dense<0.125> : tensor<3x3x8xf32>
    %e4 = tensor.empty() : tensor<1x8x8x8xf32>
    %f4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
    %dw = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad2, %w2 : tensor<1x10x10x8xf32>, tensor<3x3x8xf32>) outs(%f4 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L2:dwconv")
    %w3 = arith.constant dense<0.375> : tensor<1x1x8x4xf32>
    %e5 = tensor.empty() : tensor<1x8x8x4xf32>
    %f5 = linalg.fill ins(%zero : f32) outs(%e5 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
    %conv3 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%dw, %w3 : tensor<1x8x8x8xf32>, tensor<1x1x8x4xf32>) outs(%f5 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> loc("L3:conv")
    %e6 = tensor.empty() : tensor<1x8x8x4xf32>
    %add = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%relu0, %conv3 : tensor<1x8x8x4xf32>, tensor<1x8x8x4xf32>) outs(%e6 : tensor<1x8x8x4xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    } -> tensor<1x8x8x4xf32> loc("L4:add")
    return %add : tensor<1x8x8x4xf32>
  }
}
