// The layers below are sized around a split threshold of 32768 iterations
// (pinned: the default, 131072, is what pays on real models).
// RUN: mafat-opt %s --split-input-file --mafat-parallelize="threads=2 min-work=32768" | FileCheck %s
// RUN: mafat-opt %s --split-input-file --mafat-parallelize=threads=1 | FileCheck %s --check-prefix=SERIAL
// RUN: mafat-opt %s --split-input-file --mafat-parallelize="threads=2 min-work=100000" | FileCheck %s --check-prefix=SMALL
// RUN: mafat-opt %s --split-input-file --mafat-parallelize="threads=2 min-work=32768" --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC --implicit-check-not=mafat.parallel
// RUN: not mafat-opt %s --split-input-file --mafat-parallelize=threads=0 2>&1 | FileCheck %s --check-prefix=ERR
// RUN: not mafat-opt %s --split-input-file --mafat-parallelize=threads=257 2>&1 | FileCheck %s --check-prefix=ERR

// ERR: error: mafat-parallelize: threads must be from 1 to 256, got {{0|257}}

// Every mark (split loops, loops left serial, inner-loop marks) is gone.
// LOC-LABEL: func.func @split_rows
// LOC-LABEL: func.func @no_fold_imperfect

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

// -----

// Three filter blocks cannot balance two threads: the marked inner
// output-block loop (perfectly nested, invariant bounds) is folded into the
// split loop with upstream coalesceLoops, 3 x 6 = 18 iterations, each the
// same block as before.
// CHECK-LABEL: func.func @fold_inner
// CHECK:         scf.forall (%[[K:.*]]) in (%{{.*}}) {
// CHECK:           %[[IDX:.*]]:2 = affine.delinearize_index %[[K]] into (3, 6)
// CHECK:           memref.store %{{.*}}, %{{.*}}[%[[IDX]]#1, %{{.*}}]
// CHECK-NOT:     scf.for
// SERIAL-LABEL: func.func @fold_inner
// SERIAL:       scf.for
// SERIAL:         scf.for
func.func @fold_inner(%out: memref<6x48xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c6 = arith.constant 6 : index
  %c16 = arith.constant 16 : index
  %c48 = arith.constant 48 : index
  %f = arith.constant 1.0 : f32
  scf.for %k = %c0 to %c48 step %c16 {
    scf.for %r = %c0 to %c6 step %c1 {
      memref.store %f, %out[%r, %k] : memref<6x48xf32>
    } loc(fused<{mafat.parallel_inner}>["rows.mlir":1:1])
  } loc(fused<{mafat.parallel = 65536 : i64}>["filters.mlir":1:1])
  return
}

// -----

// Enough iterations (8 >= 4 per thread), an unmarked inner loop, or an
// imperfect nest: no folding; the inner-loop mark is dropped either way.
// CHECK-LABEL: func.func @no_fold
// CHECK:         scf.forall
// CHECK:           scf.for
// CHECK-LABEL: func.func @no_fold_unmarked
// CHECK:         scf.forall
// CHECK:           scf.for
// CHECK-LABEL: func.func @no_fold_imperfect
// CHECK:         scf.forall
// CHECK:           memref.store
// CHECK:           scf.for
func.func @no_fold(%out: memref<6x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c6 = arith.constant 6 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  scf.for %k = %c0 to %c8 step %c1 {
    scf.for %r = %c0 to %c6 step %c1 {
      memref.store %f, %out[%r, %k] : memref<6x8xf32>
    } loc(fused<{mafat.parallel_inner}>["rows.mlir":1:1])
  } loc(fused<{mafat.parallel = 65536 : i64}>["filters.mlir":1:1])
  return
}
func.func @no_fold_unmarked(%out: memref<6x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c6 = arith.constant 6 : index
  %f = arith.constant 1.0 : f32
  scf.for %k = %c0 to %c3 step %c1 {
    scf.for %r = %c0 to %c6 step %c1 {
      memref.store %f, %out[%r, %k] : memref<6x3xf32>
    }
  } loc(fused<{mafat.parallel = 65536 : i64}>["filters.mlir":1:1])
  return
}
func.func @no_fold_imperfect(%out: memref<6x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c6 = arith.constant 6 : index
  %f = arith.constant 1.0 : f32
  scf.for %k = %c0 to %c3 step %c1 {
    memref.store %f, %out[%c0, %k] : memref<6x3xf32>
    scf.for %r = %c1 to %c6 step %c1 {
      memref.store %f, %out[%r, %k] : memref<6x3xf32>
    } loc(fused<{mafat.parallel_inner}>["rows.mlir":1:1])
  } loc(fused<{mafat.parallel = 65536 : i64}>["filters.mlir":1:1])
  return
}

// -----

// Rows first (a layer whose weights are no larger than its input): the
// filter-block loop and the row loop trade places, so each thread owns a
// band of rows - the rows the previous layer, split the same way, left in
// its cache. Each row still visits every filter block.
// CHECK-LABEL: func.func @rows_first
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[C48:.*]] = arith.constant 48 : index
// CHECK:         scf.forall (%[[R:.*]]) in (%{{.*}}) {
// CHECK:           scf.for %[[K:.*]] = %{{.*}} to %[[C48]] step %[[C16]] {
// CHECK:             memref.store %{{.*}}, %{{.*}}[%[[R]], %[[K]]]
// SERIAL-LABEL: func.func @rows_first
// SERIAL:       scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c16
func.func @rows_first(%out: memref<12x48xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c12 = arith.constant 12 : index
  %c16 = arith.constant 16 : index
  %c48 = arith.constant 48 : index
  %f = arith.constant 1.0 : f32
  scf.for %k = %c0 to %c48 step %c16 {
    scf.for %r = %c0 to %c12 step %c1 {
      memref.store %f, %out[%r, %k] : memref<12x48xf32>
    } loc(fused<{mafat.parallel_inner}>["rows.mlir":1:1])
  } loc(fused<{mafat.parallel = 65536 : i64, mafat.rows_first}>["filters.mlir":1:1])
  return
}

// -----

// The concurrent-tiles form: a fused group's slot loop (fuse-tile marks it
// with its slot count) becomes an scf.forall even though its body allocates
// (mafat-plan-memory gives each slot its own copy) and even on one thread
// (the plan's workspace holds every slot); a split mark inside it stays a
// serial loop.
// CHECK-LABEL: func.func @slot_loop
// CHECK:         scf.forall (%[[S:.*]]) in (%{{.*}}) {
// CHECK:           scf.for %{{.*}} = %[[S]] to %{{.*}} step %{{.*}} {
// CHECK:             memref.alloc
// CHECK:             scf.for
// CHECK-NOT:     scf.forall
// SMALL-LABEL: func.func @slot_loop
// SMALL:         scf.forall
// SERIAL-LABEL: func.func @slot_loop
// SERIAL:         scf.forall
// LOC-LABEL: func.func @slot_loop
// LOC-NOT:     mafat.slots
func.func @slot_loop(%out: memref<5x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %f = arith.constant 1.0 : f32
  scf.for %s = %c0 to %c2 step %c1 {
    scf.for %t = %s to %c5 step %c2 {
      %tmp = memref.alloc() : memref<4xf32>
      scf.for %j = %c0 to %c4 step %c1 {
        memref.store %f, %tmp[%j] : memref<4xf32>
        %v = memref.load %tmp[%j] : memref<4xf32>
        memref.store %v, %out[%t, %j] : memref<5x4xf32>
      } loc(fused<{mafat.parallel = 65536 : i64}>["layer.mlir":1:1])
    }
  } loc(fused<{mafat.slots = 2 : i64}>["group.mlir":1:1])
  return
}

// -----

// A layout transpose in the function body (a model's NCHW -> NHWC input
// conversion) with at least min-work elements becomes an scf.forall over its
// first output dim with more than one element (the rows here: n is 1), each
// iteration transposing one slice of the input and the output.
// CHECK-LABEL: func.func @transpose_rows
// CHECK:         scf.forall (%[[R:.*]]) in (%{{.*}}) {
// CHECK:           %[[IN:.*]] = memref.subview %{{.*}}[0, 0, %[[R]], 0] [1, 3, 1, 128] [1, 1, 1, 1]
// CHECK:           %[[OUT:.*]] = memref.subview %{{.*}}[0, %[[R]], 0, 0] [1, 1, 128, 3] [1, 1, 1, 1]
// CHECK:           linalg.transpose ins(%[[IN]] : {{.*}}) outs(%[[OUT]] : {{.*}}) permutation = [0, 2, 3, 1]
// CHECK-NOT:     linalg.transpose
// SERIAL-LABEL: func.func @transpose_rows
// SERIAL-NOT:   scf.forall
// SERIAL:       linalg.transpose ins(%{{.*}} : memref<1x3x128x128xf32>)
// SMALL-LABEL: func.func @transpose_rows
// SMALL-NOT:   scf.forall
func.func @transpose_rows(%in: memref<1x3x128x128xf32>, %out: memref<1x128x128x3xf32>) {
  linalg.transpose ins(%in : memref<1x3x128x128xf32>) outs(%out : memref<1x128x128x3xf32>) permutation = [0, 2, 3, 1]
  return
}

// -----

// The output's way back (NHWC -> NCHW) splits by the input's rows too, so
// each thread reads the rows its band wrote: output dim 2 (H), input dim 1.
// CHECK-LABEL: func.func @transpose_to_nchw
// CHECK:         scf.forall (%[[R:.*]]) in (%{{.*}}) {
// CHECK:           %[[IN:.*]] = memref.subview %{{.*}}[0, %[[R]], 0, 0] [1, 1, 128, 3] [1, 1, 1, 1]
// CHECK:           %[[OUT:.*]] = memref.subview %{{.*}}[0, 0, %[[R]], 0] [1, 3, 1, 128] [1, 1, 1, 1]
// CHECK:           linalg.transpose ins(%[[IN]] : {{.*}}) outs(%[[OUT]] : {{.*}}) permutation = [0, 3, 1, 2]
func.func @transpose_to_nchw(%in: memref<1x128x128x3xf32>, %out: memref<1x3x128x128xf32>) {
  linalg.transpose ins(%in : memref<1x128x128x3xf32>) outs(%out : memref<1x3x128x128xf32>) permutation = [0, 3, 1, 2]
  return
}

// -----

// A transpose inside a loop (part of a tile) stays as it is.
// CHECK-LABEL: func.func @transpose_in_loop
// CHECK-NOT:     scf.forall
func.func @transpose_in_loop(%in: memref<1x3x128x128xf32>, %out: memref<1x128x128x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %c1 step %c1 {
    linalg.transpose ins(%in : memref<1x3x128x128xf32>) outs(%out : memref<1x128x128x3xf32>) permutation = [0, 2, 3, 1]
  }
  return
}
