// RUN: mafat-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(mafat-tile-and-vectorize))" | FileCheck %s --check-prefix=AVX512
// RUN: mafat-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(mafat-tile-and-vectorize{vector-bits=128 vector-registers=32}))" | FileCheck %s --check-prefix=NEON

// A 3x3 conv, 64 -> 64 filters, 16 columns. AVX-512 (16 lanes): f block 64
// (four registers), ow block 4 (16 accumulators); loops oh, ow outside (the
// f loop has one trip), then kh, kw and a channel tile of 4; the
// accumulators are hoisted out of the reduction loops and the body is a 1-D
// contraction.
// AVX512-LABEL: func.func @conv
// AVX512:         scf.for %{{.*}} = %c0 to %c16 step %c1
// AVX512:           scf.for %{{.*}} = %c0 to %c16 step %c4
// AVX512:             vector.transfer_read {{.*}} vector<1x4x64xf32>
// AVX512:             scf.for {{.*}} to %c3 step %c1 iter_args({{.*}}) -> (vector<1x4x64xf32>)
// AVX512:               scf.for {{.*}} to %c3 step %c1 iter_args({{.*}}) -> (vector<1x4x64xf32>)
// AVX512:                 scf.for {{.*}} to %c64 step %c4 iter_args({{.*}}) -> (vector<1x4x64xf32>)
// AVX512:                   vector.contract {{.*}} vector<1x4x4xf32>, vector<4x64xf32> into vector<1x4x64xf32>
// AVX512-NOT:             linalg.conv
// NEON (4 lanes): f block 16 (four registers), ow block 4 (16 accumulators).
// NEON-LABEL: func.func @conv
// NEON:       scf.for %{{.*}} = %c0 to %c64 step %c16
// NEON:         scf.for %{{.*}} = %c0 to %c16 step %c1
// NEON:           scf.for %{{.*}} = %c0 to %c16 step %c4
// NEON:             vector.contract {{.*}} into vector<1x4x16xf32>
func.func @conv(%x: tensor<1x18x18x64xf32>, %w: tensor<3x3x64x64xf32>) -> tensor<1x16x16x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x16x16x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x16x16x64xf32>) -> tensor<1x16x16x64xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x18x18x64xf32>, tensor<3x3x64x64xf32>) outs(%f : tensor<1x16x16x64xf32>) -> tensor<1x16x16x64xf32>
  return %c : tensor<1x16x16x64xf32>
}

// -----

// A prime width of 13 has no useful divisor: the ow block takes the full
// register budget (10 columns of 2 vectors for 24 filters) and the partial
// block is peeled into its own static tile of 3 columns, so both vectorize.
// (The ow loop of the full block has one trip and folds away.)
// AVX512-LABEL: func.func @awkward
// AVX512:       scf.for %{{.*}} = %c0 to %c13 step %c1
// AVX512:         vector.contract {{.*}} : vector<1x10x3xf32>, vector<3x24xf32> into vector<1x10x24xf32>
// AVX512:         vector.contract {{.*}} : vector<1x3x3xf32>, vector<3x24xf32> into vector<1x3x24xf32>
// AVX512-NOT:     linalg.conv
func.func @awkward(%x: tensor<1x15x15x3xf32>, %w: tensor<3x3x3x24xf32>) -> tensor<1x13x13x24xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x13x13x24xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x13x13x24xf32>) -> tensor<1x13x13x24xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x15x15x3xf32>, tensor<3x3x3x24xf32>) outs(%f : tensor<1x13x13x24xf32>) -> tensor<1x13x13x24xf32>
  return %c : tensor<1x13x13x24xf32>
}

// -----

// Depthwise conv and max pool vectorize along channels with FMAs / max.
// AVX512-LABEL: func.func @depthwise_and_pool
// AVX512:       vector.fma {{.*}} : vector<1x8x32xf32>
// AVX512:       arith.maximumf {{.*}} : vector<1x1x32xf32>
// AVX512-NOT:   linalg.depthwise_conv
// AVX512-NOT:   linalg.pooling
func.func @depthwise_and_pool(%x: tensor<1x18x18x32xf32>, %w: tensor<3x3x32xf32>) -> tensor<1x8x8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x16x16x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x16x16x32xf32>) -> tensor<1x16x16x32xf32>
  %d = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x18x18x32xf32>, tensor<3x3x32xf32>) outs(%f : tensor<1x16x16x32xf32>) -> tensor<1x16x16x32xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %e2 = tensor.empty() : tensor<1x8x8x32xf32>
  %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<1x8x8x32xf32>) -> tensor<1x8x8x32xf32>
  %p = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%d, %win : tensor<1x16x16x32xf32>, tensor<2x2xf32>) outs(%f2 : tensor<1x8x8x32xf32>) -> tensor<1x8x8x32xf32>
  return %p : tensor<1x8x8x32xf32>
}

// -----

// Elementwise generics: innermost dim vectorized, the next one blocked.
// AVX512-LABEL: func.func @bias_relu
// AVX512:       scf.for %{{.*}} = %c0 to %c8 step %c1
// AVX512:         arith.maximumf {{.*}} : vector<1x1x8x64xf32>
func.func @bias_relu(%x: tensor<1x8x8x64xf32>, %b: tensor<64xf32>) -> tensor<1x8x8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x8x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%x, %b : tensor<1x8x8x64xf32>, tensor<64xf32>) outs(%e : tensor<1x8x8x64xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x8x64xf32>
  return %r : tensor<1x8x8x64xf32>
}

// -----

// Fully connected: matmul 1xK x KxN.
// AVX512-LABEL: func.func @fc
// AVX512:       vector.contract {{.*}} into vector<1x32xf32>
// AVX512-NOT:   linalg.matmul
func.func @fc(%x: tensor<1x256xf32>, %w: tensor<256x64xf32>) -> tensor<1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x64xf32>) -> tensor<1x64xf32>
  %m = linalg.matmul ins(%x, %w : tensor<1x256xf32>, tensor<256x64xf32>) outs(%f : tensor<1x64xf32>) -> tensor<1x64xf32>
  return %m : tensor<1x64xf32>
}

// -----

// A bias + activation epilogue is fused into its conv's tile loop: the
// block is finished (contracted, biased, clamped) while in registers, and
// the conv's own result tensor disappears.
// AVX512-LABEL: func.func @epilogue
// AVX512:       scf.for %{{.*}} = %c0 to %c8 step %c1
// AVX512:         scf.for %{{.*}} = %c0 to %c8 step %c4
// AVX512:           vector.contract
// AVX512:           arith.addf {{.*}} : vector<1x1x4x64xf32>
// AVX512:           arith.maximumf {{.*}} : vector<1x1x4x64xf32>
// AVX512:           vector.transfer_write
// AVX512-NOT:   scf.for
// AVX512:       return
func.func @epilogue(%x: tensor<1x8x8x32xf32>, %w: tensor<1x1x32x64xf32>, %b: tensor<64xf32>) -> tensor<1x8x8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x8x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x8x64xf32>) -> tensor<1x8x8x64xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x8x8x32xf32>, tensor<1x1x32x64xf32>) outs(%f : tensor<1x8x8x64xf32>) -> tensor<1x8x8x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c, %b : tensor<1x8x8x64xf32>, tensor<64xf32>) outs(%e : tensor<1x8x8x64xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x8x64xf32>
  return %r : tensor<1x8x8x64xf32>
}

// -----

// After bufferization (second run), the copy of a padded input into its
// buffer is register-blocked and vectorized in place.
// AVX512-LABEL: func.func @buffer_copy
// AVX512:       scf.for %{{.*}} = %c0 to %c16 step %c1
// AVX512:         scf.for %{{.*}} = %c0 to %c16 step %c8
// AVX512:           vector.transfer_read {{.*}} : memref<1x1x8x32xf32, strided<[8192, 512, 32, 1], offset: ?>>, vector<1x1x8x32xf32>
// AVX512:           vector.transfer_write {{.*}} : vector<1x1x8x32xf32>, memref<1x1x8x32xf32, strided<[10368, 576, 32, 1], offset: ?>>
// AVX512-NOT:   linalg.copy
func.func @buffer_copy(%in: memref<1x16x16x32xf32>, %padded: memref<1x18x18x32xf32>) {
  %v = memref.subview %padded[0, 1, 1, 0] [1, 16, 16, 32] [1, 1, 1, 1] : memref<1x18x18x32xf32> to memref<1x16x16x32xf32, strided<[10368, 576, 32, 1], offset: 608>>
  linalg.copy ins(%in : memref<1x16x16x32xf32>) outs(%v : memref<1x16x16x32xf32, strided<[10368, 576, 32, 1], offset: 608>>)
  return
}
