func.func @m(%x: tensor<1x4x4x8xi8>) -> tensor<1x4x4x8xi8> {
  return %x : tensor<1x4x4x8xi8>
}
