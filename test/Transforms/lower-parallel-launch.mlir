// RUN: mafat-opt %s --split-input-file --mafat-lower-parallel-launch --verify-diagnostics | FileCheck %s

// On the LLVM dialect: the launch call stores its captures in a context
// struct allocated in the caller's entry block and calls the dispatcher with
// the task runner's address; the runner loads the captures once and runs
// iterations [begin, end); the dispatcher calls the caller's parallel_for
// or, without one (or with one iteration), the runner inline. The launch
// declaration is gone and the task becomes internal.
// CHECK-LABEL: llvm.func @entry
// CHECK-SAME:    (%[[X:.*]]: !llvm.ptr, %[[PAR:.*]]: !llvm.ptr)
// CHECK:         %[[CTX:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(ptr, i64)>
// CHECK:         llvm.br
// CHECK:         %[[F0:.*]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK:         llvm.store %[[X]], %[[F0]]
// CHECK:         %[[F1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK:         llvm.store %{{.*}}, %[[F1]] : i64, !llvm.ptr
// CHECK:         %[[RUNNER:.*]] = llvm.mlir.addressof @task_run
// CHECK:         llvm.call @__mafat_parallel_for(%[[PAR]], %{{.*}}, %[[RUNNER]], %[[CTX]])
// CHECK-NOT:     @task_launch
// CHECK:       llvm.func internal @task(%{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK:       llvm.func internal @task_run(%[[C:.*]]: !llvm.ptr, %[[B:.*]]: i64, %[[E:.*]]: i64)
// CHECK:         llvm.load
// CHECK:         llvm.load
// CHECK:         llvm.br ^[[HEAD:.*]](%[[B]] : i64)
// CHECK:       ^[[HEAD]](%[[I:.*]]: i64):
// CHECK:         llvm.icmp "slt" %[[I]], %[[E]]
// CHECK:         llvm.call @task(%[[I]],
// CHECK:       llvm.func internal @__mafat_parallel_for(%[[P:.*]]: !llvm.ptr, %[[N:.*]]: i64, %[[T:.*]]: !llvm.ptr, %[[TC:.*]]: !llvm.ptr)
// CHECK:         llvm.icmp "eq" %[[P]]
// CHECK:         llvm.icmp "sle" %[[N]]
// CHECK:         %[[FOR:.*]] = llvm.load %[[P]] : !llvm.ptr -> !llvm.ptr
// CHECK:         %[[POOL:.*]] = llvm.load
// CHECK:         llvm.call %[[FOR]](%[[POOL]], %[[N]], %[[T]], %[[TC]])
// CHECK:         llvm.call %[[T]](%[[TC]], %{{.*}}, %[[N]])
llvm.func @entry(%x: !llvm.ptr, %par: !llvm.ptr) {
  %n = llvm.mlir.constant(8 : i64) : i64
  %k = llvm.mlir.constant(3 : i64) : i64
  llvm.br ^next
^next:
  llvm.call @task_launch(%par, %n, %x, %k) : (!llvm.ptr, i64, !llvm.ptr, i64) -> ()
  llvm.return
}
llvm.func @task(%i: i64, %x: !llvm.ptr, %k: i64) attributes {sym_visibility = "private"} {
  llvm.return
}
llvm.func @task_launch(!llvm.ptr, i64, !llvm.ptr, i64) attributes {mafat.launch_body = @task}

// -----

// expected-error @below {{malformed launch declaration}}
llvm.func @bad_launch(i64) attributes {mafat.launch_body = @nowhere}
