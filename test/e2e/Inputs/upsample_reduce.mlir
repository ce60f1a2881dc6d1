// Constructs that once miscompiled: a nearest upsample written with floordiv
// maps (tiling it sliced the input at offset floordiv 2 but kept the
// floordiv on the local index), a row-sum reduction generic (its
// vector.multi_reduction reached LLVM translation unlowered), and a whole
// 26x26x64 transpose (vectorized as one huge vector: minutes to compile).
func.func @upsample_reduce(%x: tensor<1x7x7x8xf32>, %t: tensor<1x26x26x64xf32>) -> (tensor<1x14x14x8xf32>, tensor<1x14xf32>, tensor<1x64x26x26xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x14x14x8xf32>
  %up = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b floordiv 2, c floordiv 2, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%x : tensor<1x7x7x8xf32>) outs(%e : tensor<1x14x14x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x14x14x8xf32>
  %e2 = tensor.empty() : tensor<1x14xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x14xf32>) -> tensor<1x14xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b)>], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
         ins(%up : tensor<1x14x14x8xf32>) outs(%f2 : tensor<1x14xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x14xf32>
  %e3 = tensor.empty() : tensor<1x64x26x26xf32>
  %tr = linalg.transpose ins(%t : tensor<1x26x26x64xf32>) outs(%e3 : tensor<1x64x26x26xf32>) permutation = [0, 3, 1, 2]
  return %up, %sum, %tr : tensor<1x14x14x8xf32>, tensor<1x14xf32>, tensor<1x64x26x26xf32>
}
