func.func @m(%x: tensor<1x8x8x2xf32>) -> tensor<1x8x8x2xf32> {
  %e = tensor.empty() : tensor<1x8x8x2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1 - d2 + 4, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x8x8x2xf32>) outs(%e : tensor<1x8x8x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x8x8x2xf32>
  return %r : tensor<1x8x8x2xf32>
}
