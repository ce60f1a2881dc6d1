// The model of stream.mlir without its plan, for stream-plan.test.
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @chain(%x: tensor<1x16x8x4xf32>) -> tensor<1x16x8x8xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %pad0 = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x16x8x4xf32> to tensor<1x18x10x4xf32> loc("L0:pad")
    %w0 = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
    %e0 = tensor.empty() : tensor<1x16x8x8xf32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
    %conv0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad0, %w0 : tensor<1x18x10x4xf32>, tensor<3x3x4x8xf32>) outs(%f0 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> loc("L0:conv")
    %e1 = tensor.empty() : tensor<1x16x8x8xf32>
    %relu0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv0 : tensor<1x16x8x8xf32>) outs(%e1 : tensor<1x16x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x16x8x8xf32> loc("L0:relu")
    %pad1 = tensor.pad %relu0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %zero : f32
    } : tensor<1x16x8x8xf32> to tensor<1x18x10x8xf32> loc("L1:pad")
    %w1 = arith.constant dense<0.25> : tensor<3x3x8x8xf32>
    %e2 = tensor.empty() : tensor<1x16x8x8xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
    %conv1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad1, %w1 : tensor<1x18x10x8xf32>, tensor<3x3x8x8xf32>) outs(%f2 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> loc("L1:conv")
    %e3 = tensor.empty() : tensor<1x16x8x8xf32>
    %relu1 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv1 : tensor<1x16x8x8xf32>) outs(%e3 : tensor<1x16x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    } -> tensor<1x16x8x8xf32> loc("L1:relu")
    %pad2 = tensor.pad %relu1 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %ninf : f32
    } : tensor<1x16x8x8xf32> to tensor<1x18x10x8xf32> loc("L2:pad")
    %win = tensor.empty() : tensor<3x3xf32>
    %e4 = tensor.empty() : tensor<1x16x8x8xf32>
    %f4 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
    %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%pad2, %win : tensor<1x18x10x8xf32>, tensor<3x3xf32>) outs(%f4 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> loc("L2:maxpool")
    return %pool : tensor<1x16x8x8xf32>
  }
}
