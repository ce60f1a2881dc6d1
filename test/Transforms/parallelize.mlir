// RUN: mafat-opt %s --split-input-file --mafat-parallelize=threads=2 | FileCheck %s
// RUN: mafat-opt %s --split-input-file --mafat-parallelize=threads=1 | FileCheck %s --check-prefix=SERIAL
// RUN: mafat-opt %s --split-input-file --mafat-parallelize="threads=2 min-work=100000" | FileCheck %s --check-prefix=SMALL
// RUN: not mafat-opt %s --split-input-file --mafat-parallelize=threads=0 2>&1 | FileCheck %s --check-prefix=ERR
// RUN: not mafat-opt %s --split-input-file --mafat-parallelize=threads=257 2>&1 | FileCheck %s --check-prefix=ERR

// ERR: error: mafat-parallelize: threads must be from 1 to 256, got {{0|257}}

// The split-steps form: the loop tile-and-vectorize marked (its location
// carries the layer's iteration count) becomes an scf.forall with the same
// bounds and body; the mark is dropped. Serial builds and layers below
// min-work keep the scf.for.
// CHECK-LABEL: func.func @split_rows
// CHECK-SAME:    mafat.threads = 2
// CHECK:         scf.forall (%[[I:.*]]) in (%{{.*}}) {
// CHECK:           memref.subview %{{.*}}[0, %[[I]], 0, 0]
// CHECK:           memref.copy
// CHECK-NOT:     scf.for
// SERIAL-LABEL: func.func @split_rows
// SERIAL-SAME:    mafat.threads = 1
// SERIAL-NOT:   scf.forall
// SERIAL:       scf.for
// SMALL-LABEL: func.func @split_rows
// SMALL-NOT:   scf.forall
func.func @split_rows(%in: memref<1x8x8x4xf32>, %out: memref<1x8x8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    %s = memref.subview %in[0, %i, 0, 0] [1, 1, 8, 4] [1, 1, 1, 1] : memref<1x8x8x4xf32> to memref<1x1x8x4xf32, strided<[256, 32, 4, 1], offset: ?>>
    %d = memref.subview %out[0, %i, 0, 0] [1, 1, 8, 4] [1, 1, 1, 1] : memref<1x8x8x4xf32> to memref<1x1x8x4xf32, strided<[256, 32, 4, 1], offset: ?>>
    memref.copy %s, %d : memref<1x1x8x4xf32, strided<[256, 32, 4, 1], offset: ?>> to memref<1x1x8x4xf32, strided<[256, 32, 4, 1], offset: ?>>
  } loc(fused<{mafat.parallel = 65536 : i64}>["layer.mlir":1:1])
  return
}

// -----

// Only the outermost mark splits: a marked loop inside a split loop (and an
// unmarked loop) stays serial.
// CHECK-LABEL: func.func @nested
// CHECK:         scf.forall
// CHECK:           scf.for
// CHECK-NOT:       scf.forall
func.func @nested(%out: memref<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %f = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      memref.store %f, %out[%i, %j] : memref<4x4xf32>
    } loc(fused<{mafat.parallel = 65536 : i64}>["inner.mlir":1:1])
  } loc(fused<{mafat.parallel = 65536 : i64}>["outer.mlir":1:1])
  return
}

// -----

// A loop that owns a buffer (a fused tile body's intermediates) or carries
// a value cannot be split without slots: it stays serial.
// CHECK-LABEL: func.func @owns_buffer
// CHECK-NOT:     scf.forall
func.func @owns_buffer(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %f = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    %tmp = memref.alloc() : memref<4xf32>
    memref.store %f, %tmp[%i] : memref<4xf32>
    %v = memref.load %tmp[%i] : memref<4xf32>
    memref.store %v, %out[%i] : memref<4xf32>
    memref.dealloc %tmp : memref<4xf32>
  } loc(fused<{mafat.parallel = 65536 : i64}>["tile.mlir":1:1])
  return
}

// CHECK-LABEL: func.func @carries
// CHECK-NOT:     scf.forall
func.func @carries(%x: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %x) -> f32 {
    %b = arith.addf %a, %x : f32
    scf.yield %b : f32
  } loc(fused<{mafat.parallel = 65536 : i64}>["acc.mlir":1:1])
  return %r : f32
}

// -----

// SERIAL-LABEL: func.func @one_iteration
// CHECK-LABEL: func.func @one_iteration
// CHECK-NOT:     scf.forall
func.func @one_iteration(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c1 step %c1 {
    memref.store %f, %out[%i] : memref<4xf32>
  } loc(fused<{mafat.parallel = 65536 : i64}>["one.mlir":1:1])
  return
}
