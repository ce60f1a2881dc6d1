// RUN: mafat-opt %s --split-input-file --mafat-fuse-tile -verify-diagnostics

// Plans that do not fit the model are errors at the function, naming the
// group and the layer.

// A layer the model does not have.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L9:conv"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': unknown layer 'L9:conv'}}
  func.func @unknown(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
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

// Tiles that stop short of the output layer's rows.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu", "L1:maxpool"], grid = [2, 1], row_tiles = [[0, 1], [2, 2]], col_tiles = [[0, 3]]>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': rows tiles end at 2 but layer 'L1:maxpool' has 4 rows}}
  func.func @short(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
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

// Layers listed out of execution order.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:relu", "L0:conv"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L0:relu' is listed before its operand 'L0:conv'}}
  func.func @order(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
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

// The conv is also a model output: its full map would be needed as well
// as its tiles, so the group must end there.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv", "L0:relu"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L0:conv' is read outside the group but is not its last layer; end the group there}}
  func.func @escapes(%x: tensor<1x8x8x4xf32>) -> (tensor<1x4x4x8xf32>, tensor<1x8x8x8xf32>) {
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
    return %pool, %conv : tensor<1x4x4x8xf32>, tensor<1x8x8x8xf32>
  }
}

// -----

// A reshape has no spatial tiles.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L1:maxpool", "L2:flatten"], grid = [2, 1], row_tiles = [[0, 0], [1, 1]], col_tiles = [[0, 0]]>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': output layer 'L2:flatten' has no spatial extent to tile; use a 1x1 grid}}
  func.func @reshape(%x: tensor<1x8x8x4xf32>) -> tensor<1x128xf32> {
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
    %flat = tensor.collapse_shape %pool [[0], [1, 2, 3]] : tensor<1x4x4x8xf32> into tensor<1x128xf32> loc("L2:flatten")
    return %flat : tensor<1x128xf32>
  }
}

// -----

// An upsampling that reads a constant beside its map (a per-channel scale):
// a piece of it would need that constant's own map, so it is not tiled.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#up = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d2 floordiv 2, d3)>
#ch = affine_map<(d0, d1, d2, d3) -> (d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:upsample", "L1:conv"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L0:upsample' upsamples with constants or an init it reads and cannot be tiled; give it a 1x1 grid or its own group}}
  func.func @upsample_with_constant(%x: tensor<1x4x4x2xf32>) -> tensor<1x8x8x2xf32> {
    %zero = arith.constant 0.0 : f32
    %scale = arith.constant dense<[0.5, 2.0]> : tensor<2xf32>
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %up = linalg.generic {indexing_maps = [#up, #ch, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %scale : tensor<1x4x4x2xf32>, tensor<2xf32>) outs(%e : tensor<1x8x8x2xf32>) {
    ^bb0(%in: f32, %s: f32, %out: f32):
      %m = arith.mulf %in, %s : f32
      linalg.yield %m : f32
    } -> tensor<1x8x8x2xf32> loc("L0:upsample")
    %w = arith.constant dense<0.5> : tensor<1x1x2x2xf32>
    %eo = tensor.empty() : tensor<1x8x8x2xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%up, %w : tensor<1x8x8x2xf32>, tensor<1x1x2x2xf32>) outs(%fo : tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32> loc("L1:conv")
    return %conv : tensor<1x8x8x2xf32>
  }
}

// -----

// Of the transposes, a group takes only the layout transpose of an NCHW map
// to NHWC (fuse-layout-transpose.mlir); one that swaps rows and columns reads
// its operand whole.
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:swap", "L1:conv"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L0:swap' (transpose) cannot be tiled; give it a 1x1 grid or its own group}}
  func.func @swap(%x: tensor<1x8x8x2xf32>) -> tensor<1x8x8x3xf32> {
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %t = linalg.transpose ins(%x : tensor<1x8x8x2xf32>) outs(%e : tensor<1x8x8x2xf32>) permutation = [0, 2, 1, 3] loc("L0:swap")
    %w = arith.constant dense<0.5> : tensor<1x1x2x3xf32>
    %eo = tensor.empty() : tensor<1x8x8x3xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%t, %w : tensor<1x8x8x2xf32>, tensor<1x1x2x3xf32>) outs(%fo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L1:conv")
    return %conv : tensor<1x8x8x3xf32>
  }
}

// -----

// A layout transpose reads its NCHW map from outside its group: the group's
// layers compute NHWC pieces, so an NCHW producer in the group (a scaling of
// the input before the transpose) cannot hand it one.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:scale", "L1:to_nhwc", "L2:conv"], grid = [2, 1], row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]]>]>} {
  // expected-error @+1 {{mafat-fuse-tile: group 'g0': layer 'L1:to_nhwc' transposes 'L0:scale', a layer of the group, from NCHW; a group computes NHWC maps, so start the group at the transpose}}
  func.func @nchw_producer(%x: tensor<1x2x8x8xf32>) -> tensor<1x8x8x3xf32> {
    %zero = arith.constant 0.0 : f32
    %half = arith.constant 0.5 : f32
    %es = tensor.empty() : tensor<1x2x8x8xf32>
    %s = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x2x8x8xf32>) outs(%es : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %m = arith.mulf %in, %half : f32
      linalg.yield %m : f32
    } -> tensor<1x2x8x8xf32> loc("L0:scale")
    %e = tensor.empty() : tensor<1x8x8x2xf32>
    %t = linalg.transpose ins(%s : tensor<1x2x8x8xf32>) outs(%e : tensor<1x8x8x2xf32>) permutation = [0, 2, 3, 1] loc("L1:to_nhwc")
    %w = arith.constant dense<0.5> : tensor<1x1x2x3xf32>
    %eo = tensor.empty() : tensor<1x8x8x3xf32>
    %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
    %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%t, %w : tensor<1x8x8x2xf32>, tensor<1x1x2x3xf32>) outs(%fo : tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32> loc("L2:conv")
    return %conv : tensor<1x8x8x3xf32>
  }
}
