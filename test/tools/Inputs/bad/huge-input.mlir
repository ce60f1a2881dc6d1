func.func @huge_input(%x: tensor<1x100000x100000x3xf32>) -> tensor<1x100000x100000x3xf32> {
  %e = tensor.empty() : tensor<1x100000x100000x3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x100000x100000x3xf32>) outs(%e : tensor<1x100000x100000x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.0 : f32
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x100000x100000x3xf32>
  return %r : tensor<1x100000x100000x3xf32>
}
