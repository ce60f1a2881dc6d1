func.func private @ext(tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
func.func @m(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %y = func.call @ext(%x) : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %y : tensor<1x4x4x8xf32>
}
