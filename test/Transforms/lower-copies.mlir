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


// A rolling buffer's kept rows moving up (the marked copy of a stream
// group's shift), as one-shot bufferization leaves an insert_slice of a slice
// of the same tensor: through a temporary. The rows do not overlap (2 kept
// rows move up by 2): one direct copy.
// CHECK-LABEL: func.func @shift_disjoint
// CHECK:       %[[SRC:.*]] = memref.subview %arg0[0, 2, 0, 0] [1, 2, 6, 8]
// CHECK:       %[[DST:.*]] = memref.subview %arg0[0, 0, 0, 0] [1, 2, 6, 8]
// CHECK-NEXT:  linalg.copy ins(%[[SRC]] : {{.*}}) outs(%[[DST]] : {{.*}})
// CHECK-NOT:   linalg.copy
// CHECK-NOT:   memref.alloc
// CHECK:       return
func.func @shift_disjoint(%w: memref<1x4x6x8xf32>) {
  %src = memref.subview %w[0, 2, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>
  %tmp = memref.alloc() {alignment = 64 : i64} : memref<1x2x6x8xf32>
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>) outs(%tmp : memref<1x2x6x8xf32>)
  %dst = memref.subview %w[0, 0, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x2x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  return
}

// 3 kept rows move up by 1 (a 3x3 window's halo at one new row per step):
// source and destination overlap, so the rows move one at a time, first to
// last; each copy's rows are disjoint and only overwrite a row already read.
// CHECK-LABEL: func.func @shift_overlapping
// CHECK:       %[[SRC:.*]] = memref.subview %arg0[0, 1, 0, 0] [1, 3, 6, 8]
// CHECK:       %[[DST:.*]] = memref.subview %arg0[0, 0, 0, 0] [1, 3, 6, 8]
// CHECK:       %[[S0:.*]] = memref.subview %[[SRC]][0, 0, 0, 0] [1, 1, 6, 8]
// CHECK:       %[[D0:.*]] = memref.subview %[[DST]][0, 0, 0, 0] [1, 1, 6, 8]
// CHECK:       linalg.copy ins(%[[S0]] : {{.*}}) outs(%[[D0]] : {{.*}})
// CHECK:       %[[S1:.*]] = memref.subview %[[SRC]][0, 1, 0, 0] [1, 1, 6, 8]
// CHECK:       %[[D1:.*]] = memref.subview %[[DST]][0, 1, 0, 0] [1, 1, 6, 8]
// CHECK:       linalg.copy ins(%[[S1]] : {{.*}}) outs(%[[D1]] : {{.*}})
// CHECK:       %[[S2:.*]] = memref.subview %[[SRC]][0, 2, 0, 0] [1, 1, 6, 8]
// CHECK:       %[[D2:.*]] = memref.subview %[[DST]][0, 2, 0, 0] [1, 1, 6, 8]
// CHECK:       linalg.copy ins(%[[S2]] : {{.*}}) outs(%[[D2]] : {{.*}})
// CHECK-NOT:   linalg.copy
// CHECK-NOT:   memref.alloc
// CHECK:       return
func.func @shift_overlapping(%w: memref<1x4x6x8xf32>) {
  %src = memref.subview %w[0, 1, 0, 0] [1, 3, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x3x6x8xf32, strided<[192, 48, 8, 1], offset: 48>>
  %tmp = memref.alloc() {alignment = 64 : i64} : memref<1x3x6x8xf32>
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x3x6x8xf32, strided<[192, 48, 8, 1], offset: 48>>) outs(%tmp : memref<1x3x6x8xf32>)
  %dst = memref.subview %w[0, 0, 0, 0] [1, 3, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x3x6x8xf32, strided<[192, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x3x6x8xf32> to memref<1x3x6x8xf32, strided<[192, 48, 8, 1]>>
  return
}

// Kept rows move up by 2 of 3: chunks of 2 rows, then the last one.
// CHECK-LABEL: func.func @shift_uneven_chunks
// CHECK:       memref.subview %{{.*}}[0, 0, 0, 0] [1, 2, 6, 8]
// CHECK:       linalg.copy
// CHECK:       memref.subview %{{.*}}[0, 2, 0, 0] [1, 1, 6, 8]
// CHECK:       linalg.copy
// CHECK-NOT:   linalg.copy
// CHECK-NOT:   memref.alloc
// CHECK:       return
func.func @shift_uneven_chunks(%w: memref<1x5x6x8xf32>) {
  %src = memref.subview %w[0, 2, 0, 0] [1, 3, 6, 8] [1, 1, 1, 1] : memref<1x5x6x8xf32> to memref<1x3x6x8xf32, strided<[240, 48, 8, 1], offset: 96>>
  %tmp = memref.alloc() {alignment = 64 : i64} : memref<1x3x6x8xf32>
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x3x6x8xf32, strided<[240, 48, 8, 1], offset: 96>>) outs(%tmp : memref<1x3x6x8xf32>)
  %dst = memref.subview %w[0, 0, 0, 0] [1, 3, 6, 8] [1, 1, 1, 1] : memref<1x5x6x8xf32> to memref<1x3x6x8xf32, strided<[240, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x3x6x8xf32> to memref<1x3x6x8xf32, strided<[240, 48, 8, 1]>>
  return
}

// A copy through a temporary that is not a marked shift is left alone.
// CHECK-LABEL: func.func @unmarked
// CHECK:       memref.alloc
// CHECK-COUNT-2: linalg.copy
func.func @unmarked(%w: memref<1x4x6x8xf32>) {
  %src = memref.subview %w[0, 2, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>
  %tmp = memref.alloc() {alignment = 64 : i64} : memref<1x2x6x8xf32>
  memref.copy %src, %tmp : memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>> to memref<1x2x6x8xf32>
  %dst = memref.subview %w[0, 0, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x2x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  return
}

// The last step of a stream group: the shifted buffer is not carried on, so
// canonicalization dropped the copy back and the reader (a residual add)
// reads the temporary. It reads the kept row where it is instead; writes to
// another allocation in between do not matter.
// CHECK-LABEL: func.func @forwarded_read
// CHECK:       %[[SRC:.*]] = memref.subview %{{.*}}[0, 1, 0, 0] [1, 1, 8, 4]
// CHECK-NOT:   linalg.copy
// CHECK:       linalg.fill
// CHECK:       vector.transfer_read %[[SRC]][%c0, %c0, %c0, %c0]
// CHECK-NOT:   memref.alloc(){{.*}}memref<1x1x8x4xf32>
// CHECK:       return
func.func @forwarded_read() -> vector<1x1x8x4xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %w = memref.alloc() : memref<1x2x8x4xf32>
  %other = memref.alloc() : memref<1x2x8x4xf32>
  %src = memref.subview %w[0, 1, 0, 0] [1, 1, 8, 4] [1, 1, 1, 1] : memref<1x2x8x4xf32> to memref<1x1x8x4xf32, strided<[64, 32, 4, 1], offset: 32>>
  %tmp = memref.alloc() : memref<1x1x8x4xf32>
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x1x8x4xf32, strided<[64, 32, 4, 1], offset: 32>>) outs(%tmp : memref<1x1x8x4xf32>)
  linalg.fill ins(%zero : f32) outs(%other : memref<1x2x8x4xf32>)
  %v = vector.transfer_read %tmp[%c0, %c0, %c0, %c0], %zero {in_bounds = [true, true, true, true]} : memref<1x1x8x4xf32>, vector<1x1x8x4xf32>
  return %v : vector<1x1x8x4xf32>
}

// A read of the temporary after the copy back reads the destination rows.
// CHECK-LABEL: func.func @read_after_copy_back
// CHECK:       %[[DST:.*]] = memref.subview %arg0[0, 0, 0, 0] [1, 2, 6, 8]
// CHECK:       linalg.copy
// CHECK:       vector.transfer_read %[[DST]][%c0, %c0, %c0, %c0]
// CHECK-NOT:   memref.alloc
// CHECK:       return
func.func @read_after_copy_back(%w: memref<1x4x6x8xf32>) -> vector<1x2x6x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %src = memref.subview %w[0, 2, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>
  %tmp = memref.alloc() : memref<1x2x6x8xf32>
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>) outs(%tmp : memref<1x2x6x8xf32>)
  %dst = memref.subview %w[0, 0, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x2x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  %v = vector.transfer_read %tmp[%c0, %c0, %c0, %c0], %zero {in_bounds = [true, true, true, true]} : memref<1x2x6x8xf32>, vector<1x2x6x8xf32>
  return %v : vector<1x2x6x8xf32>
}
