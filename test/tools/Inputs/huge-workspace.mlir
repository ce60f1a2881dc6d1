// Every tensor is 1.6 GB (under the 2 GiB cap), but %a and %b are live
// together: a 3.2 GB workspace.
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @huge_workspace(%x: tensor<1x20000x20000x1xf32>) -> tensor<1x20000x20000x1xf32> {
  %one = arith.constant 1.0 : f32
  %e0 = tensor.empty() : tensor<1x20000x20000x1xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x20000x20000x1xf32>) outs(%e0 : tensor<1x20000x20000x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %one : f32
    linalg.yield %s : f32
  } -> tensor<1x20000x20000x1xf32>
  %e1 = tensor.empty() : tensor<1x20000x20000x1xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%a : tensor<1x20000x20000x1xf32>) outs(%e1 : tensor<1x20000x20000x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<1x20000x20000x1xf32>
  %e2 = tensor.empty() : tensor<1x20000x20000x1xf32>
  %c = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%a, %b : tensor<1x20000x20000x1xf32>, tensor<1x20000x20000x1xf32>) outs(%e2 : tensor<1x20000x20000x1xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %s = arith.subf %in, %in2 : f32
    linalg.yield %s : f32
  } -> tensor<1x20000x20000x1xf32>
  return %c : tensor<1x20000x20000x1xf32>
}
