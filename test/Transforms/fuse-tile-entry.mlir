// mafat-fuse-tile finds the model by the rule every pass uses
// (mafat::findEntry): `entry=`, or else the only public function with a body.
// RUN: mafat-opt %s --split-input-file --mafat-fuse-tile=entry=model | FileCheck %s
// RUN: not mafat-opt %s --split-input-file --mafat-fuse-tile 2>&1 | FileCheck %s --check-prefix=SEVERAL
// RUN: not mafat-opt %s --split-input-file --mafat-fuse-tile=entry=nosuch 2>&1 | FileCheck %s --check-prefix=MISSING

// CHECK-LABEL: func.func @model
// CHECK-SAME:    mafat.predicted_workspace_bytes
// CHECK-COUNT-4: scf.execute_region
// CHECK-LABEL: func.func @helper
// CHECK-NOT:     mafat.predicted_workspace_bytes
// SEVERAL: error: mafat-fuse-tile: the model has several public functions ('model', 'helper'); choose one with --entry (entry= on the passes)
// MISSING: error: mafat-fuse-tile: entry function 'nosuch' not found in the model
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [2, 2], row_tiles = [[0, 1], [2, 3]], col_tiles = [[0, 1], [2, 3]]>]>} {
  func.func @model(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
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
  func.func @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

// Without a plan there is nothing to apply: a module with no single model
// function is left alone, and `entry=` still picks the function that gets
// the prediction.
// CHECK-LABEL: func.func @model
// CHECK-SAME:    mafat.predicted_workspace_bytes
// CHECK-NOT:     scf.execute_region
// CHECK-LABEL: func.func @helper
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module {
  func.func @model(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
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
  func.func @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
