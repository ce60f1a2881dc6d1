func.func @m(%x: tensor<1x402653184xf32>) -> tensor<1x1xf32> {
  %zero = arith.constant 0.0 : f32
  %w0 = arith.constant dense<0.5> : tensor<402653184x1xf32>
  %w1 = arith.constant dense<0.25> : tensor<402653184x1xf32>
  %e = tensor.empty() : tensor<1x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1xf32>) -> tensor<1x1xf32>
  %m0 = linalg.matmul ins(%x, %w0 : tensor<1x402653184xf32>, tensor<402653184x1xf32>) outs(%f : tensor<1x1xf32>) -> tensor<1x1xf32>
  %m1 = linalg.matmul ins(%x, %w1 : tensor<1x402653184xf32>, tensor<402653184x1xf32>) outs(%m0 : tensor<1x1xf32>) -> tensor<1x1xf32>
  return %m1 : tensor<1x1xf32>
}
