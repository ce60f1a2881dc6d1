// NCHW convs are not in the canonical form.
func.func @u(%x: tensor<1x4x4x4xf32>, %w: tensor<4x4x3x3xf32>, %o: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  %c = linalg.conv_2d_nchw_fchw ins(%x, %w : tensor<1x4x4x4xf32>, tensor<4x4x3x3xf32>) outs(%o : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  return %c : tensor<1x4x2x2xf32>
}
