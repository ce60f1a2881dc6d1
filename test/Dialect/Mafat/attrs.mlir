// RUN: mafat-opt %s --split-input-file | mafat-opt --split-input-file | FileCheck %s

// The plan attributes survive printing and re-parsing unchanged. ({{\[\[}} is
// a literal "[[", which FileCheck would read as a variable.)

// A plan for a four-layer chain: the first two layers fused and run in 2x3
// tiles (uneven: balanced splits of 8 rows and 7 columns), the rest layer by
// layer. Names are printed escaped.
// CHECK-LABEL: module attributes {mafat.plan = #mafat.plan<groups = [
// CHECK-SAME: #mafat.group<name = "g0", layers = ["L0:conv", "L1:eltwise"], grid = [2, 3], row_tiles = {{\[\[}}0, 3], [4, 7]], col_tiles = {{\[\[}}0, 2], [3, 4], [5, 6]]>,
// CHECK-SAME: #mafat.group<name = "g1", layers = ["L2:maxpool"], grid = [1, 1], row_tiles = {{\[\[}}0, 3]], col_tiles = {{\[\[}}0, 3]]>,
// CHECK-SAME: #mafat.group<name = "g2 \22quoted\22", layers = ["L3:conv"], grid = [1, 1], row_tiles = {{\[\[}}0, 1]], col_tiles = {{\[\[}}0, 1]]>]>} {
// CHECK: func.func @model
module attributes {mafat.plan = #mafat.plan<groups = [
    #mafat.group<name = "g0", layers = ["L0:conv", "L1:eltwise"],
                 grid = [2, 3], row_tiles = [[0, 3], [4, 7]],
                 col_tiles = [[0, 2], [3, 4], [5, 6]]>,
    #mafat.group<name = "g1", layers = ["L2:maxpool"], grid = [1, 1],
                 row_tiles = [[0, 3]], col_tiles = [[0, 3]]>,
    #mafat.group<name = "g2 \"quoted\"", layers = ["L3:conv"], grid = [1, 1],
                 row_tiles = [[0, 1]], col_tiles = [[0, 1]]>]>} {
  func.func @model(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
    return %x : tensor<1x8x8x4xf32>
  }
}

// -----

// An empty plan, and a group attribute on its own: any attribute may hold
// one, only `mafat.plan` has a fixed place (the module).
// CHECK-LABEL: module attributes {mafat.plan = #mafat.plan<groups = []>,
// CHECK-SAME: test.group = #mafat.group<name = "g", layers = ["L0:conv"], grid = [1, 1], row_tiles = {{\[\[}}0, 0]], col_tiles = {{\[\[}}0, 0]]>} {
module attributes {mafat.plan = #mafat.plan<groups = []>,
                   test.group = #mafat.group<name = "g", layers = ["L0:conv"],
                       grid = [1, 1], row_tiles = [[0, 0]],
                       col_tiles = [[0, 0]]>} {
}

// -----

// A stream group prints its mode and stripe height, with any number of
// column tiles; recompute groups print neither.
// CHECK-LABEL: module attributes {mafat.plan = #mafat.plan<groups = [
// CHECK-SAME: #mafat.group<name = "s", layers = ["L0:conv", "L1:conv"], grid = [3, 1], row_tiles = {{\[\[}}0, 2], [3, 5], [6, 7]], col_tiles = {{\[\[}}0, 7]], mode = stream, stripe_rows = 3>,
// CHECK-SAME: #mafat.group<name = "c", layers = ["L3:conv"], grid = [3, 1], row_tiles = {{\[\[}}0, 2], [3, 5], [6, 7]], col_tiles = {{\[\[}}0, 7]], mode = stream, stripe_rows = 3, chunk_rows = 1>,
// CHECK-SAME: #mafat.group<name = "r", layers = ["L2:conv"], grid = [1, 1], row_tiles = {{\[\[}}0, 7]], col_tiles = {{\[\[}}0, 7]]>,
// CHECK-SAME: #mafat.group<name = "h", layers = ["L4:conv"], grid = [2, 2], row_tiles = {{\[\[}}0, 3], [4, 7]], col_tiles = {{\[\[}}0, 3], [4, 7]], mode = stream, stripe_rows = 4>]>}
module attributes {mafat.plan = #mafat.plan<groups = [
    #mafat.group<name = "s", layers = ["L0:conv", "L1:conv"], grid = [3, 1],
                 row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = [[0, 7]],
                 mode = stream, stripe_rows = 3>,
    #mafat.group<name = "c", layers = ["L3:conv"], grid = [3, 1],
                 row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = [[0, 7]],
                 mode = stream, stripe_rows = 3, chunk_rows = 1>,
    #mafat.group<name = "r", layers = ["L2:conv"], grid = [1, 1],
                 row_tiles = [[0, 7]], col_tiles = [[0, 7]],
                 mode = recompute, stripe_rows = 0>,
    // Column tiles in a stream group (hybrid).
    #mafat.group<name = "h", layers = ["L4:conv"], grid = [2, 2],
                 row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 3], [4, 7]],
                 mode = stream, stripe_rows = 4>]>} {
}
