// RUN: mafat-opt %s --mafat-normalize --split-input-file --verify-diagnostics
// RUN: mafat-opt %s --mafat-print-layer-graph --split-input-file --verify-diagnostics > /dev/null

// Attribute values and sizes the analysis or codegen cannot honour
// (mafat::verifyLayerOp). mafat-normalize, which every compile runs first,
// and the layer graph report them with the same diagnostic at the op.

// The model of issue 10: upstream's verifier evaluates only the first and
// the last iteration (0 and 3 * 2 - 2 * 2 = 2), so it misses the reads at
// row 0 * 2 - 2 * 2 = -4, before the buffer.
func.func @negative_dilation(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
  %e = tensor.empty() : tensor<1x4x4x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  // expected-error @+1 {{dilations must be two values >= 1, got [-2, -2]}}
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<-2> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %w : tensor<1x8x8x4xf32>, tensor<3x3x4x8xf32>) outs(%f : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %c : tensor<1x4x4x8xf32>
}

// -----

// A zero stride or dilation: upstream's verifier rejects it already.
func.func @zero_stride(%x: tensor<1x8x8x4xf32>) -> tensor<1x6x6x8xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<3x3x4x8xf32>
  %e = tensor.empty() : tensor<1x6x6x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x6x6x8xf32>) -> tensor<1x6x6x8xf32>
  // expected-error @+1 {{unexpected loop dimension for convolution op}}
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<[0, 1]> : tensor<2xi64>} ins(%x, %w : tensor<1x8x8x4xf32>, tensor<3x3x4x8xf32>) outs(%f : tensor<1x6x6x8xf32>) -> tensor<1x6x6x8xf32>
  return %c : tensor<1x6x6x8xf32>
}

// -----

// TOSA's layout is checked before mafat-normalize rewrites it to HWCF.
func.func @fhwc_negative_dilation(%x: tensor<1x9x8x4xf32>) -> tensor<1x4x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<8x3x3x4xf32>
  %e = tensor.empty() : tensor<1x4x4x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  // expected-error @+1 {{dilations must be two values >= 1, got [1, -2]}}
  %c = linalg.conv_2d_nhwc_fhwc {dilations = dense<[1, -2]> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %w : tensor<1x9x8x4xf32>, tensor<8x3x3x4xf32>) outs(%f : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %c : tensor<1x4x4x8xf32>
}

// -----

// A negative column stride: upstream sees columns 0 and -1 + 2 = 1, not -1.
func.func @depthwise_negative_stride(%x: tensor<1x8x4x4xf32>) -> tensor<1x6x2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<3x3x4xf32>
  %e = tensor.empty() : tensor<1x6x2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x6x2x4xf32>) -> tensor<1x6x2x4xf32>
  // expected-error @+1 {{strides must be two values >= 1, got [1, -1]}}
  %c = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<[1, -1]> : tensor<2xi64>} ins(%x, %w : tensor<1x8x4x4xf32>, tensor<3x3x4xf32>) outs(%f : tensor<1x6x2x4xf32>) -> tensor<1x6x2x4xf32>
  return %c : tensor<1x6x2x4xf32>
}

// -----

func.func @maxpool_zero_dilation(%x: tensor<1x4x4x2xf32>) -> tensor<1x3x3x2xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %win = tensor.empty() : tensor<2x2xf32>
  %e = tensor.empty() : tensor<1x3x3x2xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  // expected-error @+1 {{unexpected loop dimension for convolution op}}
  %p = linalg.pooling_nhwc_max {dilations = dense<[0, 1]> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %win : tensor<1x4x4x2xf32>, tensor<2x2xf32>) outs(%f : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  return %p : tensor<1x3x3x2xf32>
}

// -----

func.func @sumpool_negative_stride(%x: tensor<1x4x4x2xf32>) -> tensor<1x2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  // expected-error @+1 {{strides must be two values >= 1, got [-1, -1]}}
  %p = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<-1> : tensor<2xi64>} ins(%x, %win : tensor<1x4x4x2xf32>, tensor<3x3xf32>) outs(%f : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %p : tensor<1x2x2x2xf32>
}

// -----

// A window larger than the padded input: with positive strides and
// dilations upstream's verifier already rejects it (the last iteration
// reads past the input), before mafat sees the op.
func.func @window_too_large(%x: tensor<1x4x4x2xf32>) -> tensor<1x1x1x2xf32> {
  %zero = arith.constant 0.0 : f32
  %win = tensor.empty() : tensor<5x5xf32>
  %e = tensor.empty() : tensor<1x1x1x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x1x2xf32>) -> tensor<1x1x1x2xf32>
  // expected-error @+1 {{inferred input/output operand #0 has shape's dimension #1 to be greater than or equal to 5, but found 4}}
  %p = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %win : tensor<1x4x4x2xf32>, tensor<5x5xf32>) outs(%f : tensor<1x1x1x2xf32>) -> tensor<1x1x1x2xf32>
  return %p : tensor<1x1x1x2xf32>
}

// -----

// Negative padding would crop; the pad folded into a window op would read
// before the input.
func.func @negative_padding(%x: tensor<1x8x8x4xf32>) -> tensor<1x7x10x4xf32> {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{padding must be non-negative, got low [0, -1, 1, 0] high [0, 0, 1, 0]}}
  %p = tensor.pad %x low[0, -1, 1, 0] high[0, 0, 1, 0] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x4xf32> to tensor<1x7x10x4xf32>
  return %p : tensor<1x7x10x4xf32>
}

// -----

// Rows d1 - d2 + 4 run from -3 to 11; upstream evaluates the corners only
// (4 and 4).
func.func @map_out_of_bounds(%x: tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32> {
  %e = tensor.empty() : tensor<1x8x8x2xf32>
  // expected-error @+1 {{reads operand #0 dimension 1 (d1 - d2 + 4) at indices -3..11, outside its size 8}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1 - d2 + 4, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x8x8x2xf32>) outs(%e : tensor<1x8x8x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x8x8x2xf32>
  return %r : tensor<1x8x8x2xf32>
}

// -----

// An upsample whose row map subtracts the column: upstream sees row 2 at
// both corners.
func.func @upsample_out_of_bounds(%x: tensor<1x4x4x2xf32>) -> tensor<1x8x8x2xf32> {
  %e = tensor.empty() : tensor<1x8x8x2xf32>
  // expected-error @+1 {{reads operand #0 dimension 1 (d1 floordiv 2 - d2 floordiv 2 + 2) at indices -1..5, outside its size 4}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2 - d2 floordiv 2 + 2, d2 floordiv 2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x4x4x2xf32>) outs(%e : tensor<1x8x8x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x8x8x2xf32>
  return %r : tensor<1x8x8x2xf32>
}

// -----

// Sizes: issue 10's input of 120 GB.
// expected-error @+1 {{argument #0 ('tensor<1x100000x100000x3xf32>') takes 120000000000 bytes, more than mafat's limit of 2147483648 bytes per tensor}}
func.func @huge_input(%x: tensor<1x100000x100000x3xf32>) -> tensor<1x100000x100000x3xf32> {
  return %x : tensor<1x100000x100000x3xf32>
}

// -----

// 2^62 * 4 elements overflow int64: the figure is not even printable.
// expected-error @+1 {{argument #0 ('tensor<1x4611686018427387904x4x1xf32>') takes more than 2^63 bytes}}
func.func @overflowing_input(%x: tensor<1x4611686018427387904x4x1xf32>) -> tensor<1x4611686018427387904x4x1xf32> {
  return %x : tensor<1x4611686018427387904x4x1xf32>
}

// -----

func.func @huge_intermediate(%x: tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32> {
  // expected-error @+1 {{result #0 ('tensor<1x65536x65536x1xf32>') takes 17179869184 bytes, more than mafat's limit}}
  %e = tensor.empty() : tensor<1x65536x65536x1xf32>
  return %x : tensor<1x4x4x2xf32>
}

// -----

// Two 1.5 GiB filters: each fits, together they exceed the weight limit.
// expected-error @+1 {{the constants (weights) take 3221225472 bytes, more than mafat's limit of 2147483648 bytes}}
func.func @huge_weights(%x: tensor<1x402653184xf32>) -> tensor<1x1xf32> {
  %zero = arith.constant 0.0 : f32
  %w0 = arith.constant dense<0.5> : tensor<402653184x1xf32>
  %w1 = arith.constant dense<0.25> : tensor<402653184x1xf32>
  %e = tensor.empty() : tensor<1x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1xf32>) -> tensor<1x1xf32>
  %m0 = linalg.matmul ins(%x, %w0 : tensor<1x402653184xf32>, tensor<402653184x1xf32>) outs(%f : tensor<1x1xf32>) -> tensor<1x1xf32>
  %m1 = linalg.matmul ins(%x, %w1 : tensor<1x402653184xf32>, tensor<402653184x1xf32>) outs(%m0 : tensor<1x1xf32>) -> tensor<1x1xf32>
  return %m1 : tensor<1x1xf32>
}

// -----

// Every tensor fits, but the conv is 8193^2 * 8192^2 (about 2^52)
// multiply-accumulates.
func.func @too_many_iterations(%x: tensor<1x16384x16384x1xf32>) -> tensor<1x8193x8193x1xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<8192x8192x1x1xf32>
  %e = tensor.empty() : tensor<1x8193x8193x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8193x8193x1xf32>) -> tensor<1x8193x8193x1xf32>
  // expected-error @+1 {{more than 281474976710656 loop iterations (loop ranges [1, 8193, 8193, 1, 8192, 8192, 1]), mafat's limit per op}}
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x16384x16384x1xf32>, tensor<8192x8192x1x1xf32>) outs(%f : tensor<1x8193x8193x1xf32>) -> tensor<1x8193x8193x1xf32>
  return %c : tensor<1x8193x8193x1xf32>
}
