// RUN: mafat-opt %s --split-input-file --mafat-fuse-tile -verify-diagnostics

// Stream groups the stream transform cannot run are errors at the function,
// naming the group and the layer (FusionGroup::build runs
// Graph/StreamGroup.h's checks, so mafat-plan rejects the same plans).

// Two window readers of one layer: L0:relu is read by the 3x3 convs L1:conv
// and L2:conv (a residual add with a pointwise second reader is supported).
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:conv", "L2:conv", "L3:add"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 4>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L0:relu' is read through windows by 'L1:conv' and 'L2:conv'; the stream transform supports one window reader per layer}}
  func.func @two_windows(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
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
    %pad2 = tensor.pad %relu low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L2:pad")
    %w2 = arith.constant dense<0.125> : tensor<3x3x4x4xf32>
    %e4 = tensor.empty() : tensor<1x8x8x4xf32>
    %f4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
    %conv2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad2, %w2 : tensor<1x10x10x4xf32>, tensor<3x3x4x4xf32>) outs(%f4 : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> loc("L2:conv")
    %e3 = tensor.empty() : tensor<1x8x8x4xf32>
    %add = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1, %conv2 : tensor<1x8x8x4xf32>, tensor<1x8x8x4xf32>) outs(%e3 : tensor<1x8x8x4xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    } -> tensor<1x8x8x4xf32> loc("L3:add")
    return %add : tensor<1x8x8x4xf32>
  }
}

// -----

// A 1x1 conv of stride 2 reads every other row: it would leave rows of its
// producer unread, which the rolling buffers cannot express yet.
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L1:conv"], grid = [2, 1], row_tiles = [[0, 1], [2, 3]], col_tiles = [[0, 3]], mode = stream, stripe_rows = 2>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L1:conv' skips rows of 'L0:conv' (its stride is larger than its window); the stream transform does not support that yet}}
  func.func @strided_1x1(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x4xf32> {
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
    %w1 = arith.constant dense<0.25> : tensor<1x1x4x4xf32>
    %e1 = tensor.empty() : tensor<1x4x4x4xf32>
    %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%conv0, %w1 : tensor<1x8x8x4xf32>, tensor<1x1x4x4xf32>) outs(%f1 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> loc("L1:conv")
    return %conv1 : tensor<1x4x4x4xf32>
  }
}

// -----

// Column tiles (hybrid) change nothing of the checks: the same convs in a
// stream group of 2 column tiles.
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L1:conv"], grid = [2, 2], row_tiles = [[0, 1], [2, 3]], col_tiles = [[0, 1], [2, 3]], mode = stream, stripe_rows = 2>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L1:conv' skips rows of 'L0:conv' (its stride is larger than its window); the stream transform does not support that yet}}
  func.func @strided_1x1_hybrid(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x4xf32> {
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
    %w1 = arith.constant dense<0.25> : tensor<1x1x4x4xf32>
    %e1 = tensor.empty() : tensor<1x4x4x4xf32>
    %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%conv0, %w1 : tensor<1x8x8x4xf32>, tensor<1x1x4x4xf32>) outs(%f1 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> loc("L1:conv")
    return %conv1 : tensor<1x4x4x4xf32>
  }
}

// -----

// chunk_rows with no rolling buffer: nothing ends a head to run in pieces.
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 4, chunk_rows = 1>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': chunk_rows 1: the group has no rolling buffer, so it has no head to run in pieces}}
  func.func @no_buffer(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
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
    return %conv0 : tensor<1x8x8x4xf32>
  }
}

// -----

// A global reduction streams in stripes of the rows it reduces: a global pool
// alone in a stream group reads its map from outside the group, which gains
// nothing (the map is whole anyway).
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L1:gavgpool"], grid = [1, 1], row_tiles = [[0, 0]], col_tiles = [[0, 0]], mode = stream, stripe_rows = 3>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L1:gavgpool' reduces a map from outside the group; a stream group accumulates a reduction of one of its own layers}}
  func.func @reduction_of_external_map(%x: tensor<1x7x7x8xf32>) -> tensor<1x1x1x16xf32> {
    %zero = arith.constant 0.0 : f32
    %six = arith.constant 6.0 : f32
    %w0 = arith.constant dense<0.125> : tensor<1x1x8x16xf32>
    %b0 = arith.constant dense<0.5> : tensor<16xf32>
    %e0 = tensor.empty() : tensor<1x7x7x16xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w0 : tensor<1x7x7x8xf32>, tensor<1x1x8x16xf32>) outs(%f0 : tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x7x7x16xf32>
    %relu6 = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %b0 : tensor<1x7x7x16xf32>, tensor<16xf32>) outs(%e1 : tensor<1x7x7x16xf32>) {
    ^bb0(%in: f32, %b: f32, %out: f32):
      %s = arith.addf %in, %b : f32
      %lo = arith.maximumf %s, %zero : f32
      %r = arith.minimumf %lo, %six : f32
      linalg.yield %r : f32
    } -> tensor<1x7x7x16xf32> loc("L0:relu6")
    %win = tensor.empty() : tensor<7x7xf32>
    %e2 = tensor.empty() : tensor<1x1x1x16xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x1x16xf32>) -> tensor<1x1x1x16xf32>
    %sum = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu6, %win : tensor<1x7x7x16xf32>, tensor<7x7xf32>) outs(%f2 : tensor<1x1x1x16xf32>) -> tensor<1x1x1x16xf32> loc("L1:gavgpool")
    return %sum : tensor<1x1x1x16xf32>
  }
}

// -----

// stripe_rows counts rows of the reduced 7x7 map: 7 leaves one step.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu6", "L1:gavgpool"], grid = [1, 1], row_tiles = [[0, 0]], col_tiles = [[0, 0]], mode = stream, stripe_rows = 7>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': stripe_rows 7 leaves nothing to stream: 'L1:gavgpool' reduces 7 rows}}
  func.func @one_stripe(%x: tensor<1x7x7x8xf32>) -> tensor<1x1x1x16xf32> {
    %zero = arith.constant 0.0 : f32
    %six = arith.constant 6.0 : f32
    %w0 = arith.constant dense<0.125> : tensor<1x1x8x16xf32>
    %b0 = arith.constant dense<0.5> : tensor<16xf32>
    %e0 = tensor.empty() : tensor<1x7x7x16xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w0 : tensor<1x7x7x8xf32>, tensor<1x1x8x16xf32>) outs(%f0 : tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x7x7x16xf32>
    %relu6 = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %b0 : tensor<1x7x7x16xf32>, tensor<16xf32>) outs(%e1 : tensor<1x7x7x16xf32>) {
    ^bb0(%in: f32, %b: f32, %out: f32):
      %s = arith.addf %in, %b : f32
      %lo = arith.maximumf %s, %zero : f32
      %r = arith.minimumf %lo, %six : f32
      linalg.yield %r : f32
    } -> tensor<1x7x7x16xf32> loc("L0:relu6")
    %win = tensor.empty() : tensor<7x7xf32>
    %e2 = tensor.empty() : tensor<1x1x1x16xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x1x16xf32>) -> tensor<1x1x1x16xf32>
    %sum = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu6, %win : tensor<1x7x7x16xf32>, tensor<7x7xf32>) outs(%f2 : tensor<1x1x1x16xf32>) -> tensor<1x1x1x16xf32> loc("L1:gavgpool")
    return %sum : tensor<1x1x1x16xf32>
  }
}

// -----

// A pool of one output row that is not global (a 7x1 window: 7 output
// columns) is not accumulated; it would need a partial sum per column tile.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu6", "L1:gavgpool"], grid = [1, 1], row_tiles = [[0, 0]], col_tiles = [[0, 6]], mode = stream, stripe_rows = 3>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L1:gavgpool' has one output row and is not a global sum or max pool (a window over every row and column, no padding); only such a reduction streams in stripes of its input}}
  func.func @column_pool(%x: tensor<1x7x7x8xf32>) -> tensor<1x1x7x16xf32> {
    %zero = arith.constant 0.0 : f32
    %six = arith.constant 6.0 : f32
    %w0 = arith.constant dense<0.125> : tensor<1x1x8x16xf32>
    %b0 = arith.constant dense<0.5> : tensor<16xf32>
    %e0 = tensor.empty() : tensor<1x7x7x16xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w0 : tensor<1x7x7x8xf32>, tensor<1x1x8x16xf32>) outs(%f0 : tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x7x7x16xf32>
    %relu6 = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %b0 : tensor<1x7x7x16xf32>, tensor<16xf32>) outs(%e1 : tensor<1x7x7x16xf32>) {
    ^bb0(%in: f32, %b: f32, %out: f32):
      %s = arith.addf %in, %b : f32
      %lo = arith.maximumf %s, %zero : f32
      %r = arith.minimumf %lo, %six : f32
      linalg.yield %r : f32
    } -> tensor<1x7x7x16xf32> loc("L0:relu6")
    %win = tensor.empty() : tensor<7x1xf32>
    %e2 = tensor.empty() : tensor<1x1x7x16xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x7x16xf32>) -> tensor<1x1x7x16xf32>
    %sum = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%relu6, %win : tensor<1x7x7x16xf32>, tensor<7x1xf32>) outs(%f2 : tensor<1x1x7x16xf32>) -> tensor<1x1x7x16xf32> loc("L1:gavgpool")
    return %sum : tensor<1x1x7x16xf32>
  }
}

// -----

// Upsampling a layer of the group: L0:conv would step at half its reader's
// rate. A stream group starts at the upsampling instead (fuse-upsample.mlir).
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#up = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d2 floordiv 2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L1:upsample", "L2:conv"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]], mode = stream, stripe_rows = 4>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L1:upsample' upsamples 'L0:conv', a layer of the group; a stream group upsamples maps from outside it, so start the group at the upsampling}}
  func.func @upsample_in_group(%x: tensor<1x4x4x2xf32>) -> tensor<1x8x8x2xf32> {
    %zero = arith.constant 0.0 : f32
    %w0 = arith.constant dense<0.5> : tensor<1x1x2x2xf32>
    %e0 = tensor.empty() : tensor<1x4x4x2xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w0 : tensor<1x4x4x2xf32>, tensor<1x1x2x2xf32>) outs(%f0 : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x8x8x2xf32>
    %up = linalg.generic {indexing_maps = [#up, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x4x4x2xf32>) outs(%e1 : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x8x8x2xf32> loc("L1:upsample")
    %pad = tensor.pad %up low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x8x8x2xf32> to tensor<1x10x10x2xf32> loc("L2:pad")
    %w2 = arith.constant dense<0.25> : tensor<3x3x2x2xf32>
    %e2 = tensor.empty() : tensor<1x8x8x2xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32>
    %conv2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad, %w2 : tensor<1x10x10x2xf32>, tensor<3x3x2x2xf32>) outs(%f2 : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32> loc("L2:conv")
    return %conv2 : tensor<1x8x8x2xf32>
  }
}
