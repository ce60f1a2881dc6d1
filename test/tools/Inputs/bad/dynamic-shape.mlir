func.func @m(%x: tensor<1x?x8x4xf32>) -> tensor<1x?x8x4xf32> {
  return %x : tensor<1x?x8x4xf32>
}
