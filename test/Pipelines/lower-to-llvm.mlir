// RUN: mafat-opt %s --mafat-lower-to-llvm | FileCheck %s
// RUN: mafat-opt %s --mafat-lower-to-llvm="vector-bits=128 vector-registers=32" | FileCheck %s --check-prefix=NEON
// RUN: mafat-opt %s --mafat-tensor-codegen --mafat-bufferize | FileCheck %s --check-prefix=BUFFERS

// The whole compile of a conv + bias + relu + maxpool layer: bare pointers
// for inputs, outputs and the workspace; FMAs on 16-lane vectors; no heap
// allocation and no call into any runtime library. (fmuladd becomes one FMA
// instruction on every target mafat supports.)
// CHECK-LABEL: llvm.func @layer(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr {mafat.workspace}, %{{.*}}: !llvm.ptr {mafat.parallel})
// CHECK:         llvm.intr.fmuladd({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK-NOT:     llvm.call
// CHECK-NOT:     malloc
// NEON-LABEL: llvm.func @layer
// NEON:         llvm.intr.fmuladd
// NEON-NOT:     llvm.call

// After bufferization the result is written in place into the out-param.
// The bias + relu epilogue is fused into the conv's tile loop, so the conv
// output never exists as a whole (it accumulates in the relu output's
// buffer): the workspace holds the padded input (10368 B) and the relu output
// (16384 B), exactly what the memory model predicted.
// BUFFERS-LABEL: func.func @layer
// BUFFERS-SAME:    (%{{.*}}: memref<1x16x16x8xf32>, %[[OUT:.*]]: memref<1x8x8x16xf32>, %[[WS:.*]]: memref<{{[0-9]+}}xi8> {mafat.workspace})
// BUFFERS-SAME:    mafat.naive_bytes = 26752
// BUFFERS-SAME:    mafat.predicted_workspace_bytes = 26752
// BUFFERS-SAME:    mafat.workspace_bytes = 26752
// BUFFERS-NOT:   memref.alloc
// BUFFERS-NOT:   memref.copy
func.func @layer(%x: tensor<1x16x16x8xf32>) -> tensor<1x8x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x16x16x8xf32> to tensor<1x18x18x8xf32>
  %w = arith.constant dense<0.125> : tensor<3x3x8x16xf32>
  %b = arith.constant dense<0.5> : tensor<16xf32>
  %e = tensor.empty() : tensor<1x16x16x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%p, %w : tensor<1x18x18x8xf32>, tensor<3x3x8x16xf32>) outs(%f : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c, %b : tensor<1x16x16x16xf32>, tensor<16xf32>) outs(%e : tensor<1x16x16x16xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x16x16x16xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %e2 = tensor.empty() : tensor<1x8x8x16xf32>
  %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %mp = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
          ins(%r, %win : tensor<1x16x16x16xf32>, tensor<2x2xf32>) outs(%f2 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  return %mp : tensor<1x8x8x16xf32>
}
