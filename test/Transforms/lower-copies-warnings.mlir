// RUN: mafat-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(func.func(mafat-lower-copies))" | FileCheck %s

// A marked rolling-buffer shift that cannot be made in place keeps its
// temporary (the code stays correct) and says why: the memory model counted
// no temporary, so the workspace exceeds its prediction.

// The source is written between the two copies: the temporary holds the old
// values.
// CHECK-LABEL: func.func @written_between
// CHECK:       memref.alloc
// CHECK-COUNT-2: linalg.copy
func.func @written_between(%w: memref<1x4x6x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %src = memref.subview %w[0, 2, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>
  %tmp = memref.alloc() : memref<1x2x6x8xf32>
  // expected-warning @below {{a rolling-buffer shift keeps its temporary (the source is written before the copy out)}}
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>) outs(%tmp : memref<1x2x6x8xf32>)
  linalg.fill ins(%zero : f32) outs(%src : memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>)
  %dst = memref.subview %w[0, 0, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x2x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  return
}

// -----

// An op with unknown effects (a call) between the copies may write anything.
func.func private @opaque()
func.func @call_between(%w: memref<1x4x6x8xf32>) {
  %src = memref.subview %w[0, 2, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>
  %tmp = memref.alloc() : memref<1x2x6x8xf32>
  // expected-warning @below {{(the source is written before the copy out)}}
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>) outs(%tmp : memref<1x2x6x8xf32>)
  func.call @opaque() : () -> ()
  %dst = memref.subview %w[0, 0, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x2x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  return
}

// -----

// A read nested in a loop that also writes the kept rows.
func.func @nested_write(%w: memref<1x2x8x4xf32>) -> vector<1x1x8x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %init = arith.constant dense<0.0> : vector<1x1x8x4xf32>
  %src = memref.subview %w[0, 1, 0, 0] [1, 1, 8, 4] [1, 1, 1, 1] : memref<1x2x8x4xf32> to memref<1x1x8x4xf32, strided<[64, 32, 4, 1], offset: 32>>
  %tmp = memref.alloc() : memref<1x1x8x4xf32>
  // expected-warning @below {{(the rows are written before the temporary is read)}}
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x1x8x4xf32, strided<[64, 32, 4, 1], offset: 32>>) outs(%tmp : memref<1x1x8x4xf32>)
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %init) -> (vector<1x1x8x4xf32>) {
    linalg.fill ins(%zero : f32) outs(%w : memref<1x2x8x4xf32>)
    %v = vector.transfer_read %tmp[%c0, %c0, %c0, %c0], %zero {in_bounds = [true, true, true, true]} : memref<1x1x8x4xf32>, vector<1x1x8x4xf32>
    scf.yield %v : vector<1x1x8x4xf32>
  }
  return %r : vector<1x1x8x4xf32>
}

// -----

// The rows move down: a forward chunked copy would read rows it has already
// overwritten.
func.func @moves_down(%w: memref<1x4x6x8xf32>) {
  %src = memref.subview %w[0, 0, 0, 0] [1, 3, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x3x6x8xf32, strided<[192, 48, 8, 1]>>
  %tmp = memref.alloc() : memref<1x3x6x8xf32>
  // expected-warning @below {{(the boxes overlap other than by a move up along one dimension)}}
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x3x6x8xf32, strided<[192, 48, 8, 1]>>) outs(%tmp : memref<1x3x6x8xf32>)
  %dst = memref.subview %w[0, 1, 0, 0] [1, 3, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x3x6x8xf32, strided<[192, 48, 8, 1], offset: 48>>
  memref.copy %tmp, %dst : memref<1x3x6x8xf32> to memref<1x3x6x8xf32, strided<[192, 48, 8, 1], offset: 48>>
  return
}

// -----

// Overlapping boxes moved along two dimensions.
func.func @two_dims(%w: memref<1x4x6x8xf32>) {
  %src = memref.subview %w[0, 1, 1, 0] [1, 3, 5, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x3x5x8xf32, strided<[192, 48, 8, 1], offset: 56>>
  %tmp = memref.alloc() : memref<1x3x5x8xf32>
  // expected-warning @below {{(the boxes overlap other than by a move up along one dimension)}}
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x3x5x8xf32, strided<[192, 48, 8, 1], offset: 56>>) outs(%tmp : memref<1x3x5x8xf32>)
  %dst = memref.subview %w[0, 0, 0, 0] [1, 3, 5, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x3x5x8xf32, strided<[192, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x3x5x8xf32> to memref<1x3x5x8xf32, strided<[192, 48, 8, 1]>>
  return
}

// -----

// Views of two buffers (which may alias: arguments).
func.func @two_buffers(%a: memref<1x4x6x8xf32>, %b: memref<1x4x6x8xf32>) {
  %src = memref.subview %a[0, 2, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>
  %tmp = memref.alloc() : memref<1x2x6x8xf32>
  // expected-warning @below {{(source and destination are not views of one buffer)}}
  linalg.copy {mafat.copy_on_buffers} ins(%src : memref<1x2x6x8xf32, strided<[192, 48, 8, 1], offset: 96>>) outs(%tmp : memref<1x2x6x8xf32>)
  %dst = memref.subview %b[0, 0, 0, 0] [1, 2, 6, 8] [1, 1, 1, 1] : memref<1x4x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  memref.copy %tmp, %dst : memref<1x2x6x8xf32> to memref<1x2x6x8xf32, strided<[192, 48, 8, 1]>>
  return
}
