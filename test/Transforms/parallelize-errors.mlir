// RUN: not mafat-opt %s --mafat-parallelize=threads=2 2>&1 | FileCheck %s

// A slot loop whose value is still loop-carried after bufferization cannot
// run its slots at once: an error at the loop (its location is the group's),
// not a silently serial or racy loop.
// CHECK: group.mlir:7:3: error: mafat-parallelize: a slot loop still carries a value after bufferization; its slots cannot run at once
func.func @carried_slot_loop(%init: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %r = scf.for %s = %c0 to %c2 step %c1 iter_args(%acc = %init) -> (f32) {
    %n = arith.addf %acc, %acc : f32
    scf.yield %n : f32
  } loc(fused<{mafat.slots = 2 : i64}>["group.mlir":7:3])
  return %r : f32
}
