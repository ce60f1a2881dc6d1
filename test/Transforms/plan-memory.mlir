// RUN: mafat-opt %s --split-input-file --mafat-plan-memory | FileCheck %s

// %a and %b are live together; %c is allocated after %a's last use, so it
// reuses %a's bytes. Three 4 KiB buffers pack into 8 KiB.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME:    (%[[IN:.*]]: memref<1024xf32>, %[[OUT:.*]]: memref<1024xf32>, %[[WS:.*]]: memref<8192xi8> {mafat.workspace})
// CHECK-SAME:    mafat.naive_bytes = 12288 : i64, mafat.workspace_align = 64 : i64, mafat.workspace_bytes = 8192 : i64
// CHECK:       %[[OA:.*]] = arith.constant 0 : index
// CHECK:       memref.view %[[WS]][%[[OA]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK:       %[[OB:.*]] = arith.constant 4096 : index
// CHECK:       memref.view %[[WS]][%[[OB]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK:       %[[OC:.*]] = arith.constant 0 : index
// CHECK:       memref.view %[[WS]][%[[OC]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK-NOT:   memref.alloc
// CHECK-NOT:   memref.dealloc
func.func @reuse(%in: memref<1024xf32>, %out: memref<1024xf32>) {
  %a = memref.alloc() : memref<1024xf32>
  linalg.copy ins(%in : memref<1024xf32>) outs(%a : memref<1024xf32>)
  %b = memref.alloc() : memref<1024xf32>
  linalg.copy ins(%a : memref<1024xf32>) outs(%b : memref<1024xf32>)
  %c = memref.alloc() : memref<1024xf32>
  linalg.copy ins(%b : memref<1024xf32>) outs(%c : memref<1024xf32>)
  linalg.copy ins(%c : memref<1024xf32>) outs(%out : memref<1024xf32>)
  memref.dealloc %a : memref<1024xf32>
  return
}

// -----

// A use through a view keeps the buffer alive: %a is read through a subview
// after %b is written, so they must not share bytes.
// CHECK-LABEL: func.func @alias
// CHECK-SAME:    mafat.workspace_bytes = 8192 : i64
func.func @alias(%in: memref<1024xf32>, %out: memref<512xf32>) {
  %a = memref.alloc() : memref<1024xf32>
  linalg.copy ins(%in : memref<1024xf32>) outs(%a : memref<1024xf32>)
  %v = memref.subview %a[0] [512] [1] : memref<1024xf32> to memref<512xf32, strided<[1]>>
  %b = memref.alloc() : memref<1024xf32>
  linalg.copy ins(%in : memref<1024xf32>) outs(%b : memref<1024xf32>)
  linalg.copy ins(%v : memref<512xf32, strided<[1]>>) outs(%out : memref<512xf32>)
  return
}

// -----

// A buffer allocated inside a loop lives for the whole loop; odd sizes are
// rounded to the alignment (100 B take 128).
// CHECK-LABEL: func.func @loop
// CHECK-SAME:    mafat.naive_bytes = 4224 : i64
// CHECK-SAME:    mafat.workspace_bytes = 4224 : i64
// CHECK:       scf.for
// CHECK:         memref.view %{{.*}}[%{{.*}}][] : memref<4224xi8> to memref<25xf32>
func.func @loop(%in: memref<1024xf32>, %out: memref<1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %a = memref.alloc() : memref<1024xf32>
  linalg.copy ins(%in : memref<1024xf32>) outs(%a : memref<1024xf32>)
  scf.for %i = %c0 to %c4 step %c1 {
    %t = memref.alloc() : memref<25xf32>
    %s = memref.subview %a[0] [25] [1] : memref<1024xf32> to memref<25xf32, strided<[1]>>
    linalg.copy ins(%s : memref<25xf32, strided<[1]>>) outs(%t : memref<25xf32>)
  }
  linalg.copy ins(%a : memref<1024xf32>) outs(%out : memref<1024xf32>)
  return
}

// -----

// No allocation at all: an empty workspace argument is still added, so every
// compiled model has the same calling convention.
// CHECK-LABEL: func.func @none
// CHECK-SAME:    %{{.*}}: memref<0xi8> {mafat.workspace}
// CHECK-SAME:    mafat.workspace_bytes = 0 : i64
func.func @none(%in: memref<4xf32>, %out: memref<4xf32>) {
  linalg.copy ins(%in : memref<4xf32>) outs(%out : memref<4xf32>)
  return
}

// -----

// The iterations of an scf.forall (a fused group's slots) may run at once,
// so each gets its own copy of the body's arena: the body packs 256 + 128
// bytes (its two buffers are live together) into 384, and three slots take
// 3 x 384 bytes, slot %s at %s * 384. %acc, live across the forall, sits
// above them (1152); the naive sum counts each buffer once.
// CHECK-LABEL: func.func @slots
// CHECK-SAME:    mafat.naive_bytes = 640 : i64, mafat.workspace_align = 64 : i64, mafat.workspace_bytes = 1408 : i64
// CHECK:       scf.forall (%[[S:.*]]) in (3) {
// CHECK:         %[[STRIDE:.*]] = arith.constant 384 : index
// CHECK:         %[[SCALED:.*]] = arith.muli %[[S]], %[[STRIDE]] : index
// CHECK:         %[[OFF:.*]] = arith.addi %{{.*}}, %[[SCALED]] : index
// CHECK:         memref.view %{{.*}}[%[[OFF]]][] : memref<1408xi8> to memref<64xf32>
// CHECK:         arith.muli %[[S]]
// CHECK:         memref.view {{.*}} to memref<32xf32>
// CHECK-NOT:   memref.alloc
func.func @slots(%in: memref<64xf32>, %out: memref<3x32xf32>) {
  %acc = memref.alloc() : memref<64xf32>
  linalg.copy ins(%in : memref<64xf32>) outs(%acc : memref<64xf32>)
  scf.forall (%s) in (3) {
    %a = memref.alloc() : memref<64xf32>
    %b = memref.alloc() : memref<32xf32>
    linalg.copy ins(%in : memref<64xf32>) outs(%a : memref<64xf32>)
    %v = memref.subview %a[0] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1]>>
    linalg.copy ins(%v : memref<32xf32, strided<[1]>>) outs(%b : memref<32xf32>)
    %o = memref.subview %out[%s, 0] [1, 32] [1, 1] : memref<3x32xf32> to memref<32xf32, strided<[1], offset: ?>>
    linalg.copy ins(%b : memref<32xf32>) outs(%o : memref<32xf32, strided<[1], offset: ?>>)
  }
  linalg.copy ins(%acc : memref<64xf32>) outs(%in : memref<64xf32>)
  return
}
