// RUN: mafat-opt %s --split-input-file --mafat-outline-parallel | FileCheck %s

// A planned function gets the caller's parallel-for as its last argument.
// Each outermost scf.forall becomes a task (one iteration, from the
// normalized index) and a launch of (parallel, trip count, captures).
// Constants and views are recomputed in the task (the subview, from the
// argument and offset it needs); a strided memref the bare-pointer
// convention cannot pass goes as base pointer + dynamic offset and is
// rebuilt; the nested forall runs serially in the task.
// CHECK-LABEL: func.func @planned
// CHECK-SAME:    (%[[IN:.*]]: memref<16x8xf32>, %[[WS:.*]]: memref<512xi8> {mafat.workspace}, %[[OFF:.*]]: index, %[[STR:.*]]: memref<8x8xf32, strided<[8, 1], offset: ?>>, %[[PAR:.*]]: !llvm.ptr {mafat.parallel})
// CHECK:         %[[BASE:.*]], %[[O:.*]], %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata %[[STR]]
// CHECK:         %[[N:.*]] = arith.divui
// CHECK:         call @planned_task0_launch(%[[PAR]], %[[N]], {{.*}}%[[BASE]], %[[O]])
// CHECK-NOT:     scf.forall
// CHECK:         return
// CHECK:       func.func private @planned_task0(%[[K:[a-z0-9]+]]: index,
// CHECK-DAG:     memref.reinterpret_cast %{{.*}} to offset: [%{{.*}}], sizes: [8, 8], strides: [8, 1]
// CHECK-DAG:     memref.subview %{{.*}}[%{{.*}}, 0] [8, 8] [1, 1]
// CHECK-DAG:     memref.view
// CHECK:         %[[STEP:.*]] = arith.muli %[[K]], %{{.*}}
// CHECK:         %[[IV:.*]] = arith.addi %{{.*}}, %[[STEP]]
// CHECK:         scf.for
// CHECK-NOT:     scf.forall
// CHECK:       func.func private @planned_task0_launch(!llvm.ptr, index, {{.*}}memref<f32>, index) attributes {mafat.launch_body = @planned_task0}
func.func @planned(%in: memref<16x8xf32>, %ws: memref<512xi8> {mafat.workspace}, %off: index, %strided: memref<8x8xf32, strided<[8, 1], offset: ?>>) attributes {mafat.workspace_bytes = 512 : i64} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c4 = arith.constant 4 : index
  %rows = memref.subview %in[%off, 0] [8, 8] [1, 1] : memref<16x8xf32> to memref<8x8xf32, strided<[8, 1], offset: ?>>
  %buf = memref.view %ws[%c0][] : memref<512xi8> to memref<8x8xf32>
  scf.forall (%i) = (%c0) to (%c8) step (%c2) {
    scf.forall (%j) in (%c4) {
      %v = memref.load %rows[%i, %j] : memref<8x8xf32, strided<[8, 1], offset: ?>>
      %w = memref.load %strided[%i, %j] : memref<8x8xf32, strided<[8, 1], offset: ?>>
      %s = arith.addf %v, %w : f32
      memref.store %s, %buf[%i, %j] : memref<8x8xf32>
    }
  }
  return
}

// -----

// Unplanned functions keep their signature; their foralls run serially.
// CHECK-LABEL: func.func @helper(%{{.*}}: memref<4xf32>)
// CHECK-NOT:     scf.forall
// CHECK:         scf.for
// CHECK-NOT:     call
func.func @helper(%out: memref<4xf32>) {
  %c4 = arith.constant 4 : index
  %f = arith.constant 1.0 : f32
  scf.forall (%i) in (%c4) {
    memref.store %f, %out[%i] : memref<4xf32>
  }
  return
}
