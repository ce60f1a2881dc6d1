// RUN: mafat-opt %s --mafat-normalize --split-input-file --verify-diagnostics

// expected-error @+1 {{mafat requires static shapes, but argument #0 has type 'tensor<1x?x8x4xf32>'}}
func.func @dynamic(%x: tensor<1x?x8x4xf32>) -> tensor<1x?x8x4xf32> {
  return %x : tensor<1x?x8x4xf32>
}

// -----

func.func @unsupported(%x: tensor<1x4x4x4xf32>, %w: tensor<4x4x3x3xf32>, %o: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  // expected-error @+1 {{unsupported op 'linalg.conv_2d_nchw_fchw' in a mafat model}}
  %c = linalg.conv_2d_nchw_fchw ins(%x, %w : tensor<1x4x4x4xf32>, tensor<4x4x3x3xf32>) outs(%o : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  return %c : tensor<1x4x2x2xf32>
}

// -----

// expected-error @+1 {{mafat supports f32 tensors only, but argument #0 has type 'tensor<1x4x4x4xf16>'}}
func.func @half(%x: tensor<1x4x4x4xf16>) -> tensor<1x4x4x4xf16> {
  return %x : tensor<1x4x4x4xf16>
}

// -----

func.func @dynamic_result(%x: tensor<1x8x8x4xf32>, %n: index) -> tensor<1x8x8x4xf32> {
  // expected-error @+1 {{mafat requires static shapes, but result #0 has type 'tensor<?xf32>'}}
  %e = tensor.empty(%n) : tensor<?xf32>
  return %x : tensor<1x8x8x4xf32>
}
