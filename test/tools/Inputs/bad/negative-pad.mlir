func.func @m(%x: tensor<1x8x8x4xf32>) -> tensor<1x7x10x4xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, -1, 1, 0] high[0, 0, 1, 0] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x4xf32> to tensor<1x7x10x4xf32>
  return %p : tensor<1x7x10x4xf32>
}
