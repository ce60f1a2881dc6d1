// RUN: mafat-opt %s --split-input-file --mafat-profile-groups=entry=second | FileCheck %s
// RUN: not mafat-opt %s --split-input-file --mafat-profile-groups 2>&1 | FileCheck %s --check-prefix=SEVERAL
// RUN: not mafat-opt %s --split-input-file --mafat-profile-groups=entry=missing 2>&1 | FileCheck %s --check-prefix=MISSING

// mafat-profile-groups picks the model function by the rule every pass
// uses (findEntry): entry= names it; without it, several public functions
// are an error (it used to profile the first one silently, while
// mafat-plan and mafat-fuse-tile worked on the --entry function).
// CHECK-LABEL: func.func @first
// CHECK-NOT:     __mafat_profile_mark
// CHECK-LABEL: func.func @second
// CHECK:         llvm.call @__mafat_profile_mark
// SEVERAL: error: mafat-profile-groups: the model has several public functions ('first', 'second'); choose one with --entry
// MISSING: error: mafat-profile-groups: entry function 'missing' not found in the model
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
func.func @first(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %e = tensor.empty() : tensor<1x4x4x8xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%x : tensor<1x4x4x8xf32>) outs(%e : tensor<1x4x4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.negf %in : f32
    linalg.yield %s : f32
  } -> tensor<1x4x4x8xf32> loc("L0:neg")
  return %n : tensor<1x4x4x8xf32>
}
func.func @second(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %e = tensor.empty() : tensor<1x4x4x8xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%x : tensor<1x4x4x8xf32>) outs(%e : tensor<1x4x4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.negf %in : f32
    linalg.yield %s : f32
  } -> tensor<1x4x4x8xf32> loc("L0:neg")
  return %n : tensor<1x4x4x8xf32>
}
}
