func.func @m(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4x4xf32> {
  return %x : tensor<1x4x4x8xf32>
}
