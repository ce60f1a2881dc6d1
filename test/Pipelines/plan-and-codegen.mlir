// mafat-plan-and-codegen is what mafat-compile runs before LLVM: normalize,
// plan, tensor codegen, bufferize, with one option set. It gives exactly what
// the passes give one by one when each gets the same value (here an alignment
// that changes the workspace: 28672 bytes instead of 26752, checked against
// the prediction), and plan=keep leaves planning out.
// RUN: mafat-opt %s --mafat-plan-and-codegen="alignment=4096 max-grid=4 verify-prediction" -o %t.pipeline.mlir
// RUN: mafat-opt %s --mafat-normalize --mafat-plan="alignment=4096 max-grid=4" --mafat-tensor-codegen="alignment=4096" --mafat-bufferize="alignment=4096 verify-prediction" -o %t.passes.mlir
// RUN: diff %t.pipeline.mlir %t.passes.mlir
// RUN: FileCheck %s < %t.pipeline.mlir
// RUN: mafat-opt %s --mafat-plan-and-codegen="plan=none" | FileCheck %s --check-prefix=NONE
// RUN: mafat-opt %s --mafat-plan-and-codegen="plan=keep" | FileCheck %s --check-prefix=KEEP

// CHECK:       module attributes {mafat.plan = #mafat.plan<
// CHECK-LABEL: func.func @layer
// CHECK-SAME:    {mafat.workspace}
// CHECK-SAME:    mafat.predicted_workspace_bytes = 28672
// CHECK-SAME:    mafat.workspace_bytes = 28672
// NONE:        module attributes {mafat.plan = #mafat.plan<
// NONE-LABEL:  func.func @layer
// NONE-SAME:     mafat.workspace_bytes = 26752
// KEEP-NOT:    mafat.plan
// KEEP-LABEL:  func.func @layer
// KEEP-SAME:     mafat.workspace_bytes = 26752
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
