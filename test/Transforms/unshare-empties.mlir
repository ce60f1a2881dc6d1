// RUN: mafat-opt %s --split-input-file --mafat-unshare-empties | FileCheck %s

// CSE merged the empties of two unrelated layers: each op of the block that
// uses the empty gets its own, right before it, so each layer output is one
// allocation after bufferization.
// CHECK-LABEL: func.func @two_layers
// CHECK:         %[[E0:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT:    linalg.copy ins(%{{.*}} : tensor<4xf32>) outs(%[[E0]] : tensor<4xf32>)
// CHECK-NEXT:    %[[E1:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT:    linalg.copy ins(%{{.*}} : tensor<4xf32>) outs(%[[E1]] : tensor<4xf32>)
func.func @two_layers(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %x = linalg.copy ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %y = linalg.copy ins(%b : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %x, %y : tensor<4xf32>, tensor<4xf32>
}

// -----

// Uses inside one op (a fused group's loop) keep sharing one empty.
// CHECK-LABEL: func.func @one_loop
// CHECK-COUNT-1: tensor.empty
// CHECK-NOT:     tensor.empty
func.func @one_loop(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %e = tensor.empty() : tensor<4xf32>
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %a) -> tensor<4xf32> {
    %x = linalg.copy ins(%acc : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    %y = linalg.copy ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    scf.yield %y : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
