// RUN: mafat-opt %s --mafat-print-layer-graph --split-input-file --verify-diagnostics > /dev/null

// Every op the layer graph cannot place is an error at that op, naming it.

func.func @unsupported(%x: tensor<1x4x4x4xf32>, %w: tensor<4x4x3x3xf32>, %o: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  // expected-error @+1 {{layer graph: unsupported op 'linalg.conv_2d_nchw_fchw'}}
  %c = linalg.conv_2d_nchw_fchw ins(%x, %w : tensor<1x4x4x4xf32>, tensor<4x4x3x3xf32>) outs(%o : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  return %c : tensor<1x4x2x2xf32>
}

// -----

// A reduction generic is not a layer (mean over channels here).
func.func @reduction(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  // expected-error @+1 {{layer graph: linalg.generic with reduction iterators is not a layer}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x : tensor<1x4x4x8xf32>) outs(%f : tensor<1x4x4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1x4x4xf32>
  return %r : tensor<1x4x4xf32>
}

// -----

// A strided read through an all-parallel generic is neither elementwise nor
// an upsampling, so no receptive-field rule would be right for it.
func.func @strided_generic(%x: tensor<1x8x4x2xf32>) -> tensor<1x4x4x2xf32> {
  %e = tensor.empty() : tensor<1x4x4x2xf32>
  // expected-error @+1 {{layer graph: linalg.generic reads operand #0 through (d0, d1, d2, d3) -> (d0, d1 * 2, d2, d3), which is neither elementwise nor a nearest upsampling}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1 * 2, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x8x4x2xf32>) outs(%e : tensor<1x4x4x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x4x4x2xf32>
  return %r : tensor<1x4x4x2xf32>
}

// -----

// Inserts that leave part of the destination unwritten are no concat.
func.func @partial_insert(%x: tensor<1x4x4x2xf32>) -> tensor<1x4x4x6xf32> {
  %e = tensor.empty() : tensor<1x4x4x6xf32>
  // expected-error @+1 {{layer graph: tensor.insert_slice that is not part of a concatenation}}
  %s = tensor.insert_slice %x into %e[0, 0, 0, 0] [1, 4, 4, 2] [1, 1, 1, 1] : tensor<1x4x4x2xf32> into tensor<1x4x4x6xf32>
  return %s : tensor<1x4x4x6xf32>
}

// -----

// Several errors are reported in one run, one per op.
func.func @two_errors(%x: tensor<1x4x4x4xf32>, %w: tensor<4x4x3x3xf32>, %o: tensor<1x4x2x2xf32>, %i: tensor<1x4x4x4xi32>) -> (tensor<1x4x2x2xf32>, tensor<1x4x4x4xf32>) {
  // expected-error @+1 {{layer graph: unsupported op 'linalg.conv_2d_nchw_fchw'}}
  %c = linalg.conv_2d_nchw_fchw ins(%x, %w : tensor<1x4x4x4xf32>, tensor<4x4x3x3xf32>) outs(%o : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  // expected-error @+1 {{layer graph: unsupported op 'arith.sitofp'}}
  %f = arith.sitofp %i : tensor<1x4x4x4xi32> to tensor<1x4x4x4xf32>
  return %c, %f : tensor<1x4x2x2xf32>, tensor<1x4x4x4xf32>
}

// -----

// expected-error @+1 {{layer graph: argument #0 is not a statically shaped tensor}}
func.func @dynamic(%x: tensor<1x?x8x4xf32>) -> tensor<1x?x8x4xf32> {
  return %x : tensor<1x?x8x4xf32>
}

// -----

func.func @constant_result() -> tensor<4xf32> {
  %c = arith.constant dense<1.0> : tensor<4xf32>
  // expected-error @+1 {{layer graph: result #0 is not produced by a layer}}
  return %c : tensor<4xf32>
}
