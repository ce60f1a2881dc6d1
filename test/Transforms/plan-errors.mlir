// Errors of mafat-plan: each names what is wrong and where, and fails.
// The model is plan.mlir's chain (smallest workspace 11520 bytes).
//
// An infeasible budget states the smallest workspace reachable, at the entry
// function.
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=10KiB" 2>&1 | FileCheck %s --check-prefix=INFEASIBLE
// INFEASIBLE: plan.mlir:{{[0-9]+}}:1: error: mafat-plan: memory budget 10240 bytes (10 KiB) is infeasible: the smallest workspace any plan in the search space reaches is 11520 bytes (11.25 KiB)
//
// The paper's space reaches less far.
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="profile=%S/../Inputs/synthetic-profile.json memory-budget=11520 max-groups=2 cuts-after-pool-only square-grids max-grid=5" 2>&1 | FileCheck %s --check-prefix=PAPER
// PAPER: error: mafat-plan: memory budget 11520 bytes (11.25 KiB) is infeasible: the smallest workspace any plan in the search space reaches is 32000 bytes (31.25 KiB)
//
// Budget strings.
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="memory-budget=8XB" 2>&1 | FileCheck %s --check-prefix=BADUNIT
// BADUNIT: error: mafat-plan: memory-budget: invalid memory size '8XB': expected a number of bytes with an optional unit B, KiB, MiB, GiB (1024-based) or KB, MB, GB (1000-based), e.g. 8MiB
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="memory-budget=-1MiB" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: mafat-plan: memory-budget: invalid memory size '-1MiB'
//
// A fixed plan over the budget.
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="plan=none memory-budget=100KiB" 2>&1 | FileCheck %s --check-prefix=NONE
// NONE: error: mafat-plan: plan 'none' needs a workspace of 331840 bytes (324.06 KiB), over the memory budget of 102400 bytes (100 KiB)
//
// Plan files: unreadable, malformed (by JSON path), unknown layer, a group
// the graph cannot run.
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="plan=%S/Inputs/does-not-exist.json" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: mafat-plan: cannot read plan file '{{.*}}does-not-exist.json': No such file or directory
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="plan=%S/Inputs/plan-bad-grid.json" 2>&1 | FileCheck %s --check-prefix=BADGRID
// BADGRID: error: mafat-plan: plan file '{{.*}}plan-bad-grid.json': groups[0].grid: expected [rows, cols] with positive integers
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="plan=%S/Inputs/plan-bad-slots.json" 2>&1 | FileCheck %s --check-prefix=BADSLOTS
// BADSLOTS: error: mafat-plan: plan file '{{.*}}plan-bad-slots.json': groups[0].slots: slots must be from 1 to the group's tile count 2 (at most 256), got 3
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="plan=%S/Inputs/plan-bad-layer.json" 2>&1 | FileCheck %s --check-prefix=BADLAYER
// BADLAYER: error: mafat-plan: plan file '{{.*}}plan-bad-layer.json': group 'g0': unknown layer 'L9:conv'
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="plan=%S/Inputs/plan-not-fusable.json" 2>&1 | FileCheck %s --check-prefix=NOTFUSABLE
// NOTFUSABLE: error: mafat-plan: plan file '{{.*}}plan-not-fusable.json': group 'g0': layer 'L0:conv' is read outside the group but is not its last layer; end the group there
//
// Other options.
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="alignment=48" 2>&1 | FileCheck %s --check-prefix=ALIGN
// ALIGN: error: mafat-plan: alignment must be a power of two, got 48
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="max-grid=0" 2>&1 | FileCheck %s --check-prefix=GRID
// GRID: error: mafat-plan: max-grid must be at least 1
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="profile=%S/Inputs/does-not-exist.json" 2>&1 | FileCheck %s --check-prefix=PROFILE
// PROFILE: error: mafat-plan: profile: {{.*}}does-not-exist.json
// RUN: not mafat-opt %S/plan.mlir --mafat-plan="entry=nope" 2>&1 | FileCheck %s --check-prefix=ENTRY
// ENTRY: error: mafat-plan: entry function 'nope' not found
//
// Two public functions and no entry=; and a function outside the canonical
// form (the layer graph's diagnostic, at the op).
// RUN: mafat-opt %s --split-input-file --mafat-plan --verify-diagnostics --allow-unregistered-dialect

// expected-error@+1 {{mafat-plan: the model has several public functions ('a', 'b'); choose one with --entry (entry= on the passes)}}
module {
  func.func @a(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }
  func.func @b(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }
}

// -----

func.func @sorted(%x: tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32> {
  // expected-error@+1 {{layer graph: unsupported op 'test.unknown'}}
  %y = "test.unknown"(%x) : (tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  return %y : tensor<1x4x4x2xf32>
}
