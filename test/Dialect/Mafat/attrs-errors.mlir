// RUN: mafat-opt %s --split-input-file --verify-diagnostics

// The attribute verifiers run mafat::checkPlanStructure, so these are the
// same messages a JSON plan gets (unittests/Plan/PlanTest.cpp covers every
// one, unittests/Dialect/PlanAttrTest.cpp the verifiers); here: that the IR
// reports them, and where.

// expected-error @below {{group 'g0': grid 0x1 must be at least 1x1}}
module attributes {mafat.plan = #mafat.plan<groups = [#mafat.group<name = "g0", layers = ["L0:conv"], grid = [0, 1], row_tiles = [], col_tiles = [[0, 3]]>]>} {
}

// -----

module attributes {mafat.plan = #mafat.plan<groups = [
    // expected-error @below {{group 'g0': gap between row tiles [0, 3] and [5, 7]}}
    #mafat.group<name = "g0", layers = ["L0:conv"], grid = [2, 1],
                 row_tiles = [[0, 3], [5, 7]], col_tiles = [[0, 3]]>]>} {
}

// -----

module attributes {mafat.plan = #mafat.plan<groups = [
    // expected-error @below {{group 'g0': row tiles [0, 4] and [4, 7] overlap}}
    #mafat.group<name = "g0", layers = ["L0:conv"], grid = [2, 1],
                 row_tiles = [[0, 4], [4, 7]], col_tiles = [[0, 3]]>]>} {
}

// -----

module attributes {mafat.plan = #mafat.plan<groups = [
    // expected-error @below {{group 'g0': 2 column tiles for a grid of 1 column}}
    #mafat.group<name = "g0", layers = ["L0:conv"], grid = [1, 1],
                 row_tiles = [[0, 7]], col_tiles = [[0, 3], [4, 7]]>]>} {
}

// -----

module attributes {mafat.plan = #mafat.plan<groups = [
    // expected-error @below {{group 'g0': first row tile [1, 7] does not start at 0}}
    #mafat.group<name = "g0", layers = ["L0:conv"], grid = [1, 1],
                 row_tiles = [[1, 7]], col_tiles = [[0, 3]]>]>} {
}

// -----

// A layer runs in exactly one group: checked by the plan, across groups.
// expected-error @below {{group 'g1': layer 'L1:eltwise' is also in group 'g0'}}
module attributes {mafat.plan = #mafat.plan<groups = [
    #mafat.group<name = "g0", layers = ["L0:conv", "L1:eltwise"], grid = [1, 1],
                 row_tiles = [[0, 3]], col_tiles = [[0, 3]]>,
    #mafat.group<name = "g1", layers = ["L1:eltwise"], grid = [1, 1],
                 row_tiles = [[0, 3]], col_tiles = [[0, 3]]>]>} {
}

// -----

module attributes {mafat.plan = #mafat.plan<groups = [
    // expected-error @below {{group 'g0': layer 'L0:conv' is listed twice}}
    #mafat.group<name = "g0", layers = ["L0:conv", "L0:conv"], grid = [1, 1],
                 row_tiles = [[0, 3]], col_tiles = [[0, 3]]>]>} {
}

// -----

// expected-error @below {{group 'g0': group name 'g0' is also used by groups[0]}}
module attributes {mafat.plan = #mafat.plan<groups = [
    #mafat.group<name = "g0", layers = ["L0:conv"], grid = [1, 1],
                 row_tiles = [[0, 3]], col_tiles = [[0, 3]]>,
    #mafat.group<name = "g0", layers = ["L1:conv"], grid = [1, 1],
                 row_tiles = [[0, 3]], col_tiles = [[0, 3]]>]>} {
}

// -----

module attributes {mafat.plan = #mafat.plan<groups = [
    // expected-error @below {{group 'g0': group has no layers}}
    #mafat.group<name = "g0", layers = [], grid = [1, 1],
                 row_tiles = [[0, 3]], col_tiles = [[0, 3]]>]>} {
}

// -----

// Every field is required in the IR (only JSON plans may leave tiles out).
module attributes {mafat.plan = #mafat.plan<groups = [
    #mafat.group<name = "g0", layers = ["L0:conv"], grid = [1, 1],
                 // expected-error @below {{expected ','}}
                 row_tiles = [[0, 3]]>]>} {
}

// -----

// expected-error @below {{'mafat.plan' must be a #mafat.plan attribute, got #mafat.group}}
module attributes {mafat.plan = #mafat.group<name = "g0", layers = ["L0:conv"],
    grid = [1, 1], row_tiles = [[0, 3]], col_tiles = [[0, 3]]>} {
}

// -----

module {
  // expected-error @below {{'mafat.plan' belongs on a builtin.module, not on 'func.func'}}
  func.func @f() attributes {mafat.plan = #mafat.plan<groups = []>} {
    return
  }
}

// -----

module attributes {mafat.plan = #mafat.plan<groups = [
    // expected-error @below {{group 's': stripe [0, 2] has 3 rows; a stream group's stripes have stripe_rows = 4 rows (only the last may be shorter)}}
    #mafat.group<name = "s", layers = ["L0:conv"], grid = [2, 1],
                 row_tiles = [[0, 2], [3, 7]], col_tiles = [[0, 7]],
                 mode = stream, stripe_rows = 4>]>} {
}

// -----

// (Outside the attribute: its body may not hold a '>'.)
// expected-error @+2 {{group 's': a stream group needs stripe_rows >= 1, got 0}}
module attributes {mafat.plan = #mafat.plan<groups = [
    #mafat.group<name = "s", layers = ["L0:conv"], grid = [2, 1],
                 row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]],
                 mode = stream, stripe_rows = 0>]>} {
}

// -----

// A stream group's slots run whole column tiles at once; its stripes run in
// order, so full-width stripes have one slot.
module attributes {mafat.plan = #mafat.plan<groups = [
    // expected-error @below {{group 's': a stream group runs its stripes in order and its column tiles at once: slots must be from 1 to its 1 column tile(s), got 2}}
    #mafat.group<name = "s", layers = ["L0:conv"], grid = [2, 1],
                 row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]],
                 mode = stream, stripe_rows = 4, slots = 2>]>} {
}

// -----

// expected-error @+4 {{expected mode 'recompute' or 'stream', got 'rolling'}}
module attributes {mafat.plan = #mafat.plan<groups = [
    #mafat.group<name = "s", layers = ["L0:conv"], grid = [2, 1],
                 row_tiles = [[0, 3], [4, 7]], col_tiles = [[0, 7]],
                 mode = rolling, stripe_rows = 4>]>} {
}
