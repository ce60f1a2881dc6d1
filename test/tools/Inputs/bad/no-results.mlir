func.func @m(%x: tensor<1x4x4x8xf32>) {
  return
}
