// RUN: mafat-opt %s --pass-pipeline="builtin.module(func.func(mafat-lower-copies))" | FileCheck %s

// Strided copies (what bufferized tensor.pad / insert_slice leave) become
// linalg.copy, which lowers to loops instead of a call into the MLIR C
// runner library.
// CHECK-LABEL: func.func @pad_copy
// CHECK:       linalg.copy ins(%arg0 : memref<1x4x4x8xf32>) outs(%{{.*}} : memref<1x4x4x8xf32, strided<[288, 48, 8, 1], offset: 56>>)
// CHECK-NOT:   memref.copy
func.func @pad_copy(%in: memref<1x4x4x8xf32>, %padded: memref<1x6x6x8xf32>) {
  %v = memref.subview %padded[0, 1, 1, 0] [1, 4, 4, 8] [1, 1, 1, 1] : memref<1x6x6x8xf32> to memref<1x4x4x8xf32, strided<[288, 48, 8, 1], offset: 56>>
  memref.copy %in, %v : memref<1x4x4x8xf32> to memref<1x4x4x8xf32, strided<[288, 48, 8, 1], offset: 56>>
  return
}
