func.func @m(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %y = "foo.bar"(%x) : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %y : tensor<1x4x4x8xf32>
}
