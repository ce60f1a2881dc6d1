// RUN: mafat-opt %s --split-input-file --mlir-print-elementsattrs-with-hex-if-larger=100000 --pass-pipeline="builtin.module(func.func(mafat-tile-and-vectorize))" | FileCheck %s --check-prefix=AVX512
// RUN: mafat-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(mafat-tile-and-vectorize{vector-bits=128 vector-registers=32}))" | FileCheck %s --check-prefix=NEON
// RUN: mafat-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(mafat-tile-and-vectorize{any-signed-zero=false}))" | FileCheck %s --check-prefix=IEEE

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
// register budget (10 columns of 2 vectors for 32 filters) and the partial
// block is peeled into its own static tile of 3 columns, so both vectorize.
// (The ow loop of the full block has one trip and folds away.)
// AVX512-LABEL: func.func @awkward
// AVX512:       scf.for %{{.*}} = %c0 to %c13 step %c1
// AVX512:         vector.contract {{.*}} : vector<1x10x3xf32>, vector<3x32xf32> into vector<1x10x32xf32>
// AVX512:         vector.contract {{.*}} : vector<1x3x3xf32>, vector<3x32xf32> into vector<1x3x32xf32>
// AVX512-NOT:     linalg.conv
func.func @awkward(%x: tensor<1x15x15x3xf32>, %w: tensor<3x3x3x32xf32>) -> tensor<1x13x13x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x13x13x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x13x13x32xf32>) -> tensor<1x13x13x32xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x15x15x3xf32>, tensor<3x3x3x32xf32>) outs(%f : tensor<1x13x13x32xf32>) -> tensor<1x13x13x32xf32>
  return %c : tensor<1x13x13x32xf32>
}

// -----

// 26 columns of 64 filters: four vectors would take 5 columns (26 = 5 x 5 +
// 1); two vectors take 10 columns twice and the partial block of 6 is
// peeled into its own static tile, so all three vectorize (YOLOv2-416's
// 26x26 stage measured 1.09x faster so). The ow loop of the full blocks
// runs twice.
// AVX512-LABEL: func.func @narrow
// AVX512:       scf.for %{{.*}} = %c0 to %c64 step %c32
// AVX512:         scf.for %{{.*}} = %c0 to %c26 step %c1
// AVX512:           scf.for %{{.*}} = %c0 to %c20 step %c10
// AVX512:             vector.contract {{.*}} : vector<1x10x4xf32>, vector<4x32xf32> into vector<1x10x32xf32>
// AVX512:           vector.contract {{.*}} : vector<1x6x4xf32>, vector<4x32xf32> into vector<1x6x32xf32>
// AVX512-NOT:     linalg.conv
func.func @narrow(%x: tensor<1x28x28x8xf32>, %w: tensor<3x3x8x64xf32>) -> tensor<1x26x26x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x26x26x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x26x26x64xf32>) -> tensor<1x26x26x64xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x28x28x8xf32>, tensor<3x3x8x64xf32>) outs(%f : tensor<1x26x26x64xf32>) -> tensor<1x26x26x64xf32>
  return %c : tensor<1x26x26x64xf32>
}

// -----

// Filter blocks are whole registers in powers of two: 144 filters
// (MobileNetV2's expansions) take 16-wide blocks, not 48 (3 registers): LLVM
// assembles a 48-wide vector lane by lane (3-5x slower). A count no such
// block divides (24; 255 in detection heads) takes one register per block
// and peels the remainder (8; 15) into its own static block.
// AVX512-LABEL: func.func @filter_blocks
// AVX512:       scf.for %{{.*}} = %c0 to %c144 step %c16
// AVX512:         vector.contract {{.*}} into vector<1x8x16xf32>
// AVX512:         vector.contract {{.*}} vector<16x16xf32> into vector<1x8x16xf32>
// AVX512:         vector.contract {{.*}} vector<16x8xf32> into vector<1x8x8xf32>
// AVX512:       scf.for %{{.*}} = %c0 to %c240 step %c16
// AVX512:         vector.contract {{.*}} into vector<1x8x16xf32>
// AVX512:         vector.contract {{.*}} into vector<1x8x15xf32>
// AVX512-NOT:   linalg.conv
func.func @filter_blocks(%x: tensor<1x8x8x16xf32>, %w1: tensor<1x1x16x144xf32>,
                         %w2: tensor<1x1x144x24xf32>, %w3: tensor<1x1x24x255xf32>)
    -> tensor<1x8x8x255xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<1x8x8x144xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x8x144xf32>) -> tensor<1x8x8x144xf32>
  %c1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w1 : tensor<1x8x8x16xf32>, tensor<1x1x16x144xf32>) outs(%f1 : tensor<1x8x8x144xf32>) -> tensor<1x8x8x144xf32>
  %e2 = tensor.empty() : tensor<1x8x8x24xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x8x24xf32>) -> tensor<1x8x8x24xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%c1, %w2 : tensor<1x8x8x144xf32>, tensor<1x1x144x24xf32>) outs(%f2 : tensor<1x8x8x24xf32>) -> tensor<1x8x8x24xf32>
  %e3 = tensor.empty() : tensor<1x8x8x255xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<1x8x8x255xf32>) -> tensor<1x8x8x255xf32>
  %c3 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%c2, %w3 : tensor<1x8x8x24xf32>, tensor<1x1x24x255xf32>) outs(%f3 : tensor<1x8x8x255xf32>) -> tensor<1x8x8x255xf32>
  return %c3 : tensor<1x8x8x255xf32>
}

// -----

// Depthwise conv and max pool vectorize along channels with FMAs / max; the
// max may return either zero of -0 and +0 (nsz) unless any-signed-zero=false.
// AVX512-LABEL: func.func @depthwise_and_pool
// AVX512:       vector.fma {{.*}} : vector<1x8x32xf32>
// AVX512:       arith.maximumf {{.*}} fastmath<nsz> : vector<1x1x32xf32>
// IEEE-LABEL:   func.func @depthwise_and_pool
// IEEE-NOT:     fastmath
// IEEE:         arith.maximumf {{.*}} : vector<1x1x32xf32>
// IEEE-NOT:     fastmath
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

// -----

// Wide convs read contiguous filter blocks: the HWCF constant (1x1x2x128,
// W[c][f] = 1000 c + f) is packed at compile time into 2 blocks of 64
// filters, [F/64][KH][KW][C][64], and the tiles slice the packed copy.
// AVX512-LABEL: func.func @packed_filter
// AVX512:       arith.constant dense<{{\[\[\[\[\[}}0.000000e+00, 1.000000e+00, {{.*}}, 6.300000e+01], [1.000000e+03, {{.*}}, 1.063000e+03]]]], {{\[\[\[\[}}6.400000e+01, {{.*}}, 1.127000e+03]]]]]> : tensor<2x1x1x2x64xf32>
// AVX512:       scf.for %[[F:.*]] = %c0 to %c128 step %c64
// AVX512:         %[[B:.*]] = arith.divui %[[F]], %c64
// AVX512:         vector.transfer_read %{{.*}}[%[[B]], %c0, %c0, %c0, %c0], %{{.*}} : tensor<2x1x1x2x64xf32>, vector<1x2x64xf32>
func.func @packed_filter(%x: tensor<1x4x4x2xf32>) -> tensor<1x4x4x128xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0, 108.0, 109.0, 110.0, 111.0, 112.0, 113.0, 114.0, 115.0, 116.0, 117.0, 118.0, 119.0, 120.0, 121.0, 122.0, 123.0, 124.0, 125.0, 126.0, 127.0], [1000.0, 1001.0, 1002.0, 1003.0, 1004.0, 1005.0, 1006.0, 1007.0, 1008.0, 1009.0, 1010.0, 1011.0, 1012.0, 1013.0, 1014.0, 1015.0, 1016.0, 1017.0, 1018.0, 1019.0, 1020.0, 1021.0, 1022.0, 1023.0, 1024.0, 1025.0, 1026.0, 1027.0, 1028.0, 1029.0, 1030.0, 1031.0, 1032.0, 1033.0, 1034.0, 1035.0, 1036.0, 1037.0, 1038.0, 1039.0, 1040.0, 1041.0, 1042.0, 1043.0, 1044.0, 1045.0, 1046.0, 1047.0, 1048.0, 1049.0, 1050.0, 1051.0, 1052.0, 1053.0, 1054.0, 1055.0, 1056.0, 1057.0, 1058.0, 1059.0, 1060.0, 1061.0, 1062.0, 1063.0, 1064.0, 1065.0, 1066.0, 1067.0, 1068.0, 1069.0, 1070.0, 1071.0, 1072.0, 1073.0, 1074.0, 1075.0, 1076.0, 1077.0, 1078.0, 1079.0, 1080.0, 1081.0, 1082.0, 1083.0, 1084.0, 1085.0, 1086.0, 1087.0, 1088.0, 1089.0, 1090.0, 1091.0, 1092.0, 1093.0, 1094.0, 1095.0, 1096.0, 1097.0, 1098.0, 1099.0, 1100.0, 1101.0, 1102.0, 1103.0, 1104.0, 1105.0, 1106.0, 1107.0, 1108.0, 1109.0, 1110.0, 1111.0, 1112.0, 1113.0, 1114.0, 1115.0, 1116.0, 1117.0, 1118.0, 1119.0, 1120.0, 1121.0, 1122.0, 1123.0, 1124.0, 1125.0, 1126.0, 1127.0]]]]> : tensor<1x1x2x128xf32>
  %e = tensor.empty() : tensor<1x4x4x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4x128xf32>) -> tensor<1x4x4x128xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x4x4x2xf32>, tensor<1x1x2x128xf32>) outs(%f : tensor<1x4x4x128xf32>) -> tensor<1x4x4x128xf32>
  return %c : tensor<1x4x4x128xf32>
}

// -----

// Deep convs whose filter slice (3x3x512 x 64 filters = 1.2 MB) would not
// stay in cache get a cache level: filters, then blocks of 64 channels
// (3x3x64x64 = 144 KiB), then the register block inside. A constant filter
// is packed so that each channel block of each filter block is one
// contiguous run, [F/64][C/64][KH][KW][64][64], read at [f/64, c/64, ...].
// The first channel block is peeled and the accumulator's fill fused into
// its register blocks, which start from zero (a whole-filter-block fill,
// left untiled, was lowered by LLVM to scatters across the columns).
// AVX512-LABEL: func.func @cache_blocked
// AVX512:       %[[W:.*]] = arith.constant dense_resource<mafat_packed_filter> : tensor<2x8x3x3x64x64xf32>
// AVX512:       scf.for %[[F:.*]] = %c0 to %c128 step %c64
// AVX512-NOT:     scf.for
// AVX512:         %[[FB0:.*]] = arith.divui %[[F]], %c64
// AVX512:         scf.for %{{.*}} = %c0 to %c8 step %c1
// AVX512:           scf.for %{{.*}} = %c0 to %c8 step %c4
// AVX512:             %[[ZERO:.*]] = vector.transfer_write %{{.*}} : vector<1x1x4x64xf32>, tensor<1x1x4x64xf32>
// AVX512:             vector.transfer_read %[[ZERO]]
// AVX512:               vector.transfer_read %[[W]][%[[FB0]], %c0, %{{.*}}, %{{.*}}, %{{.*}}, %c0], {{.*}} : tensor<2x8x3x3x64x64xf32>, vector<1x4x64xf32>
// AVX512:         scf.for %[[C:.*]] = %c64 to %c512 step %c64
// AVX512:           %[[FB:.*]] = arith.divui %[[F]], %c64
// AVX512:           %[[CB:.*]] = arith.divui %[[C]], %c64
// AVX512:           scf.for %{{.*}} = %c0 to %c8 step %c1
// AVX512:             scf.for %{{.*}} = %c0 to %c8 step %c4
// AVX512:               vector.transfer_read %[[W]][%[[FB]], %[[CB]], %{{.*}}, %{{.*}}, %{{.*}}, %c0], {{.*}} : tensor<2x8x3x3x64x64xf32>, vector<1x4x64xf32>
// AVX512:               vector.contract
func.func @cache_blocked(%x: tensor<1x10x10x512xf32>) -> tensor<1x8x8x128xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<3x3x512x128xf32>
  %e = tensor.empty() : tensor<1x8x8x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x8x128xf32>) -> tensor<1x8x8x128xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x10x10x512xf32>, tensor<3x3x512x128xf32>) outs(%f : tensor<1x8x8x128xf32>) -> tensor<1x8x8x128xf32>
  return %c : tensor<1x8x8x128xf32>
}

// -----

// The same with a fused bias + ReLU epilogue and two channel blocks: the
// first starts from zero in registers, the second (the channel loop, run
// once, folded away) reads the accumulators back, and the epilogue takes its
// own register block over the filter block.
// AVX512-LABEL: func.func @cache_blocked_epilogue
// AVX512:       %[[W:.*]] = arith.constant dense_resource<mafat_packed_filter> : tensor<2x2x3x3x64x64xf32>
// AVX512:       scf.for %[[F:.*]] = %c0 to %c128 step %c64
// AVX512-NOT:     scf.for
// AVX512:         %[[FB0:.*]] = arith.divui %[[F]], %c64
// AVX512:         scf.for %{{.*}} = %c0 to %c4 step %c1
// AVX512:           %[[ZERO:.*]] = vector.transfer_write %{{.*}} : vector<1x1x4x64xf32>, tensor<1x1x4x64xf32>
// AVX512:           vector.transfer_read %[[ZERO]]
// AVX512:                 vector.transfer_read %[[W]][%[[FB0]], %c0, {{.*}} : tensor<2x2x3x3x64x64xf32>, vector<1x4x64xf32>
// AVX512:         %[[FB1:.*]] = arith.divui %[[F]], %c64
// AVX512:         scf.for %{{.*}} = %c0 to %c4 step %c1
// AVX512-NOT:       vector.transfer_write %{{.*}} : vector<1x1x4x64xf32>, tensor<1x1x4x64xf32>
// AVX512:                 vector.transfer_read %[[W]][%[[FB1]], %c1, {{.*}} : tensor<2x2x3x3x64x64xf32>, vector<1x4x64xf32>
// AVX512:         scf.for %{{.*}} = %c0 to %c4 step %c1
// AVX512:           arith.addf {{.*}} : vector<1x1x4x64xf32>
// AVX512:           arith.maximumf
// AVX512-NOT:   linalg.
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch = affine_map<(d0, d1, d2, d3) -> (d3)>
func.func @cache_blocked_epilogue(%x: tensor<1x6x6x128xf32>, %b: tensor<128xf32>) -> tensor<1x4x4x128xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<3x3x128x128xf32>
  %e = tensor.empty() : tensor<1x4x4x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4x128xf32>) -> tensor<1x4x4x128xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x6x6x128xf32>, tensor<3x3x128x128xf32>) outs(%f : tensor<1x4x4x128xf32>) -> tensor<1x4x4x128xf32>
  %r = linalg.generic {indexing_maps = [#id, #ch, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c, %b : tensor<1x4x4x128xf32>, tensor<128xf32>) outs(%e : tensor<1x4x4x128xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x4x128xf32>
  return %r : tensor<1x4x4x128xf32>
}

// -----

// 1000 filters (squeezenet's classifier, ImageNet logits): no whole-register
// power of two divides, but 32 leaves a remainder of 8, itself a clean
// vector: 31 blocks of 32 filters (ow 10 + 3) and a peeled block of 8,
// instead of 62 blocks of one register, where ow 13 x f 16 issues one
// broadcast per FMA.
// AVX512-LABEL: func.func @thousand
// AVX512:       scf.for %{{.*}} = %c0 to %c992 step %c32
// AVX512:         scf.for %{{.*}} = %c0 to %c13 step %c1
// AVX512:           vector.contract {{.*}} : vector<1x10x8xf32>, vector<8x32xf32> into vector<1x10x32xf32>
// AVX512:           vector.contract {{.*}} : vector<1x3x8xf32>, vector<8x32xf32> into vector<1x3x32xf32>
// AVX512:       scf.for %{{.*}} = %c0 to %c13 step %c1
// AVX512:         vector.contract {{.*}} : vector<1x10x8xf32>, vector<8x8xf32> into vector<1x10x8xf32>
// AVX512:         vector.contract {{.*}} : vector<1x3x8xf32>, vector<8x8xf32> into vector<1x3x8xf32>
// AVX512-NOT:     linalg.conv
func.func @thousand(%x: tensor<1x13x13x8xf32>, %w: tensor<1x1x8x1000xf32>) -> tensor<1x13x13x1000xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x13x13x1000xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x13x13x1000xf32>) -> tensor<1x13x13x1000xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x13x13x8xf32>, tensor<1x1x8x1000xf32>) outs(%f : tensor<1x13x13x1000xf32>) -> tensor<1x13x13x1000xf32>
  return %c : tensor<1x13x13x1000xf32>
}

// -----

// 425 filters (YOLOv2's head): no power of two leaves a power-of-two
// remainder, but 32 leaves 9, the same remainder as one register: 13 blocks
// of 32 (ow 10 + 3) and the peeled 9, instead of 26 blocks of one register
// with one broadcast per FMA (measured 1.90 -> 1.30 ms at 13x13x1024).
// AVX512-LABEL: func.func @head
// AVX512:       scf.for %{{.*}} = %c0 to %c416 step %c32
// AVX512:         scf.for %{{.*}} = %c0 to %c13 step %c1
// AVX512:           vector.contract {{.*}} : vector<1x10x8xf32>, vector<8x32xf32> into vector<1x10x32xf32>
// AVX512:           vector.contract {{.*}} : vector<1x3x8xf32>, vector<8x32xf32> into vector<1x3x32xf32>
// AVX512:       scf.for %{{.*}} = %c0 to %c13 step %c1
// AVX512:         vector.contract {{.*}} : vector<1x10x8xf32>, vector<8x9xf32> into vector<1x10x9xf32>
// AVX512-NOT:     linalg.conv
func.func @head(%x: tensor<1x13x13x8xf32>, %w: tensor<1x1x8x425xf32>) -> tensor<1x13x13x425xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x13x13x425xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x13x13x425xf32>) -> tensor<1x13x13x425xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x13x13x8xf32>, tensor<1x1x8x425xf32>) outs(%f : tensor<1x13x13x425xf32>) -> tensor<1x13x13x425xf32>
  return %c : tensor<1x13x13x425xf32>
}

// -----

// A filter count no block divides: the peeled last block (8 of 40) is packed
// on its own instead of reading 8 floats every 160 bytes, and the first 32
// filters get the loop's pack; the HWCF constant itself is left unused.
// AVX512-LABEL: func.func @peeled_packed
// AVX512-NOT:   tensor<1x1x1x40xf32>
// AVX512:       arith.constant dense<{{\[\[\[\[\[}}0.000000e+00, {{.*}}, 3.100000e+01]]]]]> : tensor<1x1x1x1x32xf32>
// AVX512-NOT:   tensor<1x1x1x40xf32>
// AVX512:       arith.constant dense<{{\[\[\[\[\[}}3.200000e+01, {{.*}}, 3.900000e+01]]]]]> : tensor<1x1x1x1x8xf32>
// AVX512-NOT:   tensor<1x1x1x40xf32>
// AVX512:       scf.for
func.func @peeled_packed(%x: tensor<1x13x13x1xf32>) -> tensor<1x13x13x40xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0]]]]> : tensor<1x1x1x40xf32>
  %e = tensor.empty() : tensor<1x13x13x40xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x13x13x40xf32>) -> tensor<1x13x13x40xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x13x13x1xf32>, tensor<1x1x1x40xf32>) outs(%f : tensor<1x13x13x40xf32>) -> tensor<1x13x13x40xf32>
  return %c : tensor<1x13x13x40xf32>
}

// -----

// A conv whose register block is peeled (ow 13 = 10 + 3) and fused with its
// bias + activation epilogue keeps its accumulators in registers across the
// kh, kw and channel loops: the loops carry vectors, not the tile in memory.
// AVX512-LABEL: func.func @epilogue_hoisted
// AVX512:       scf.for {{.*}} step %c5
// AVX512:         scf.for {{.*}} -> (vector<1x5x64xf32>)
// AVX512:           scf.for {{.*}} -> (vector<1x5x64xf32>)
// AVX512:             scf.for {{.*}} -> (vector<1x5x64xf32>)
// AVX512-NOT:           vector.transfer_write
// AVX512:               vector.contract {{.*}} into vector<1x5x64xf32>
// AVX512:         arith.maximumf
// AVX512:       scf.for {{.*}} -> (vector<1x3x64xf32>)
// AVX512:         scf.for {{.*}} -> (vector<1x3x64xf32>)
// AVX512:           scf.for {{.*}} -> (vector<1x3x64xf32>)
// AVX512-NOT:         vector.transfer_write
// AVX512:             vector.contract {{.*}} into vector<1x3x64xf32>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch = affine_map<(d0, d1, d2, d3) -> (d3)>
func.func @epilogue_hoisted(%x: tensor<1x15x15x16xf32>, %w: tensor<3x3x16x64xf32>, %b: tensor<64xf32>) -> tensor<1x13x13x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x13x13x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x13x13x64xf32>) -> tensor<1x13x13x64xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x15x15x16xf32>, tensor<3x3x16x64xf32>) outs(%f : tensor<1x13x13x64xf32>) -> tensor<1x13x13x64xf32>
  %r = linalg.generic {indexing_maps = [#id, #ch, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c, %b : tensor<1x13x13x64xf32>, tensor<64xf32>) outs(%e : tensor<1x13x13x64xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x13x13x64xf32>
  return %r : tensor<1x13x13x64xf32>
}

// -----

// One conv filter read by two convs whose register blocks differ (7 columns:
// blocks of 32 filters; 6 columns: 64), as the column tiles of a hybrid
// stream group or a rematerialized copy do: one pack, 64 wide. The 32-wide
// blocks read it in place at [f / 64, .., f mod 64] instead of a second copy
// of the weights.
// AVX512-LABEL: func.func @shared_pack
// AVX512-NOT:   tensor<4x1x1x2x32xf32>
// AVX512:       %[[W:.*]] = arith.constant dense<{{\[\[\[\[\[}}0.000000e+00, {{.*}}, 6.300000e+01], [1.000000e+03, {{.*}}, 1.063000e+03]]]], {{\[\[\[\[}}6.400000e+01, {{.*}}, 1.127000e+03]]]]]> : tensor<2x1x1x2x64xf32>
// AVX512-NOT:   tensor<4x1x1x2x32xf32>
// AVX512:       scf.for %[[F:.*]] = %c0 to %c128 step %c32
// AVX512:         %[[B:.*]] = arith.divui %[[F]], %c64
// AVX512:         %[[I:.*]] = arith.remui %[[F]], %c64
// AVX512:         vector.transfer_read %[[W]][%[[B]], %c0, %c0, %c0, %[[I]]], %{{.*}} : tensor<2x1x1x2x64xf32>, vector<1x2x32xf32>
// AVX512:       scf.for %[[F2:.*]] = %c0 to %c128 step %c64
// AVX512:         %[[B2:.*]] = arith.divui %[[F2]], %c64
// AVX512:         vector.transfer_read %[[W]][%[[B2]], %c0, %c0, %c0, %c0], %{{.*}} : tensor<2x1x1x2x64xf32>, vector<1x2x64xf32>
func.func @shared_pack(%x: tensor<1x1x7x2xf32>, %y: tensor<1x1x6x2xf32>) -> (tensor<1x1x7x128xf32>, tensor<1x1x6x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0, 108.0, 109.0, 110.0, 111.0, 112.0, 113.0, 114.0, 115.0, 116.0, 117.0, 118.0, 119.0, 120.0, 121.0, 122.0, 123.0, 124.0, 125.0, 126.0, 127.0], [1000.0, 1001.0, 1002.0, 1003.0, 1004.0, 1005.0, 1006.0, 1007.0, 1008.0, 1009.0, 1010.0, 1011.0, 1012.0, 1013.0, 1014.0, 1015.0, 1016.0, 1017.0, 1018.0, 1019.0, 1020.0, 1021.0, 1022.0, 1023.0, 1024.0, 1025.0, 1026.0, 1027.0, 1028.0, 1029.0, 1030.0, 1031.0, 1032.0, 1033.0, 1034.0, 1035.0, 1036.0, 1037.0, 1038.0, 1039.0, 1040.0, 1041.0, 1042.0, 1043.0, 1044.0, 1045.0, 1046.0, 1047.0, 1048.0, 1049.0, 1050.0, 1051.0, 1052.0, 1053.0, 1054.0, 1055.0, 1056.0, 1057.0, 1058.0, 1059.0, 1060.0, 1061.0, 1062.0, 1063.0, 1064.0, 1065.0, 1066.0, 1067.0, 1068.0, 1069.0, 1070.0, 1071.0, 1072.0, 1073.0, 1074.0, 1075.0, 1076.0, 1077.0, 1078.0, 1079.0, 1080.0, 1081.0, 1082.0, 1083.0, 1084.0, 1085.0, 1086.0, 1087.0, 1088.0, 1089.0, 1090.0, 1091.0, 1092.0, 1093.0, 1094.0, 1095.0, 1096.0, 1097.0, 1098.0, 1099.0, 1100.0, 1101.0, 1102.0, 1103.0, 1104.0, 1105.0, 1106.0, 1107.0, 1108.0, 1109.0, 1110.0, 1111.0, 1112.0, 1113.0, 1114.0, 1115.0, 1116.0, 1117.0, 1118.0, 1119.0, 1120.0, 1121.0, 1122.0, 1123.0, 1124.0, 1125.0, 1126.0, 1127.0]]]]> : tensor<1x1x2x128xf32>
  %e = tensor.empty() : tensor<1x1x7x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x7x128xf32>) -> tensor<1x1x7x128xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x1x7x2xf32>, tensor<1x1x2x128xf32>) outs(%f : tensor<1x1x7x128xf32>) -> tensor<1x1x7x128xf32>
  %e2 = tensor.empty() : tensor<1x1x6x128xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x6x128xf32>) -> tensor<1x1x6x128xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%y, %w : tensor<1x1x6x2xf32>, tensor<1x1x2x128xf32>) outs(%f2 : tensor<1x1x6x128xf32>) -> tensor<1x1x6x128xf32>
  return %c, %c2 : tensor<1x1x7x128xf32>, tensor<1x1x6x128xf32>
}

// -----

// The same with 64 filters: the 6-column conv's block is all of F, so it
// reads the HWCF constant whole. Packing the 7-column conv's 32-wide blocks
// would then hold the weights twice; they read the constant in place.
// AVX512-LABEL: func.func @unpacked_when_read_whole
// AVX512-NOT:   tensor<2x1x1x2x32xf32>
// AVX512:       %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<1x1x2x64xf32>
// AVX512-NOT:   tensor<2x1x1x2x32xf32>
// AVX512:       scf.for %[[F:.*]] = %c0 to %c64 step %c32
// AVX512:         vector.transfer_read %[[W]][%c0, %c0, %c0, %[[F]]], %{{.*}} : tensor<1x1x2x64xf32>, vector<1x2x32xf32>
// AVX512:       vector.transfer_read %[[W]][%c0, %c0, %c0, %c0], %{{.*}} : tensor<1x1x2x64xf32>, vector<1x2x64xf32>
func.func @unpacked_when_read_whole(%x: tensor<1x1x7x2xf32>, %y: tensor<1x1x6x2xf32>) -> (tensor<1x1x7x64xf32>, tensor<1x1x6x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0], [1000.0, 1001.0, 1002.0, 1003.0, 1004.0, 1005.0, 1006.0, 1007.0, 1008.0, 1009.0, 1010.0, 1011.0, 1012.0, 1013.0, 1014.0, 1015.0, 1016.0, 1017.0, 1018.0, 1019.0, 1020.0, 1021.0, 1022.0, 1023.0, 1024.0, 1025.0, 1026.0, 1027.0, 1028.0, 1029.0, 1030.0, 1031.0, 1032.0, 1033.0, 1034.0, 1035.0, 1036.0, 1037.0, 1038.0, 1039.0, 1040.0, 1041.0, 1042.0, 1043.0, 1044.0, 1045.0, 1046.0, 1047.0, 1048.0, 1049.0, 1050.0, 1051.0, 1052.0, 1053.0, 1054.0, 1055.0, 1056.0, 1057.0, 1058.0, 1059.0, 1060.0, 1061.0, 1062.0, 1063.0]]]]> : tensor<1x1x2x64xf32>
  %e = tensor.empty() : tensor<1x1x7x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x7x64xf32>) -> tensor<1x1x7x64xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x1x7x2xf32>, tensor<1x1x2x64xf32>) outs(%f : tensor<1x1x7x64xf32>) -> tensor<1x1x7x64xf32>
  %e2 = tensor.empty() : tensor<1x1x6x64xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x6x64xf32>) -> tensor<1x1x6x64xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%y, %w : tensor<1x1x6x2xf32>, tensor<1x1x2x64xf32>) outs(%f2 : tensor<1x1x6x64xf32>) -> tensor<1x1x6x64xf32>
  return %c, %c2 : tensor<1x1x7x64xf32>, tensor<1x1x6x64xf32>
}

// -----

// The shared pack on the cache-blocked path: one [F/64][C/64][KH][KW][64][64]
// pack for a 7-column conv (32-filter blocks) and a 6-column one (64); the
// 32-wide blocks read [f / 64, c / 64, .., f mod 64] in both channel phases.
// AVX512-LABEL: func.func @cache_blocked_shared
// AVX512:       %[[W:.*]] = arith.constant dense_resource<mafat_packed_filter> : tensor<2x8x3x3x64x64xf32>
// AVX512-NOT:   mafat_packed_filter
// AVX512:       scf.for %[[F:.*]] = %c0 to %c128 step %c32
// AVX512:         %[[B:.*]] = arith.divui %[[F]], %c64
// AVX512:         %[[I:.*]] = arith.remui %[[F]], %c64
// AVX512:         vector.transfer_read %[[W]][%[[B]], %c0, %{{.*}}, %{{.*}}, %{{.*}}, %[[I]]], {{.*}} : tensor<2x8x3x3x64x64xf32>, vector<1x4x32xf32>
// AVX512:         scf.for %[[C:.*]] = %c64 to %c512 step %c64
// AVX512:           %[[B1:.*]] = arith.divui %[[F]], %c64
// AVX512:           %[[CB:.*]] = arith.divui %[[C]], %c64
// AVX512:           %[[I1:.*]] = arith.remui %[[F]], %c64
// AVX512:                 vector.transfer_read %[[W]][%[[B1]], %[[CB]], %{{.*}}, %{{.*}}, %{{.*}}, %[[I1]]], {{.*}} : tensor<2x8x3x3x64x64xf32>, vector<1x4x32xf32>
// AVX512:       scf.for %{{.*}} = %c0 to %c128 step %c64
// AVX512:         vector.transfer_read %[[W]][%{{.*}}, %c0, %{{.*}}, %{{.*}}, %{{.*}}, %c0], {{.*}} : tensor<2x8x3x3x64x64xf32>, vector<1x4x64xf32>
func.func @cache_blocked_shared(%x: tensor<1x3x9x512xf32>, %y: tensor<1x3x8x512xf32>) -> (tensor<1x1x7x128xf32>, tensor<1x1x6x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<3x3x512x128xf32>
  %e = tensor.empty() : tensor<1x1x7x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x7x128xf32>) -> tensor<1x1x7x128xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x3x9x512xf32>, tensor<3x3x512x128xf32>) outs(%f : tensor<1x1x7x128xf32>) -> tensor<1x1x7x128xf32>
  %e2 = tensor.empty() : tensor<1x1x6x128xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x6x128xf32>) -> tensor<1x1x6x128xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%y, %w : tensor<1x3x8x512xf32>, tensor<3x3x512x128xf32>) outs(%f2 : tensor<1x1x6x128xf32>) -> tensor<1x1x6x128xf32>
  return %c, %c2 : tensor<1x1x7x128xf32>, tensor<1x1x6x128xf32>
}
