//===- MafatAttrs.td - Plan and group attributes -----------*- tablegen -*-===//
//
// The plan as IR data. The fields mirror mafat::PlanGroup / mafat::Plan
// (mafat/Plan/Plan.h) one to one, and the verifiers call the same
// structural checks as the JSON reader, so a plan means the same thing and
// fails with the same words whichever way it arrives.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_DIALECT_MAFAT_MAFATATTRS_TD
#define MAFAT_DIALECT_MAFAT_MAFATATTRS_TD

include "mafat/Dialect/Mafat/MafatDialect.td"
include "mlir/IR/AttrTypeBase.td"

class Mafat_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Mafat_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// A closed interval [lo, hi] of output rows or columns.
def Mafat_TileArrayParameter : ArrayRefParameter<"::mafat::Interval",
                                                 "tile intervals">;

def Mafat_GroupAttr : Mafat_Attr<"Group", "group"> {
  let summary = "A fusion group and its output tile grid";
  let description = [{
    ```
    #mafat.group<name = "g0", layers = ["L0:conv", "L1:maxpool"],
                 grid = [2, 3], row_tiles = [[0, 3], [4, 6]],
                 col_tiles = [[0, 2], [3, 4], [5, 6]]>
    ```

    `layers` are layer names (the `L<i>:<kind>` NameLocs of the layer
    graph) in execution order; the last one is the group's output layer.
    `grid = [rows, cols]` splits that layer's output into rows x cols tiles,
    run one after another; `[1, 1]` is plain layer-by-layer execution.
    `row_tiles` / `col_tiles` are the closed output-row / output-column
    intervals of the tiles, listed explicitly so the memory predictor and
    the fuse-tile transform cannot disagree about them. `slots = N`
    (printed when above 1) runs up to N tiles at once, each with its own
    copy of the tile buffers (concurrent tiles, docs/Design.md).

    Verified on its own: name and layer names non-empty, layers unique,
    grid at least 1x1, slots from 1 to the tile count, one tile per grid row (column), tiles non-empty and
    contiguous from 0. Whether the last tile ends at the layer's last row
    needs the layer graph: `mafat::validatePlan` checks that.

    A stream group (docs/Fusion.md, "Streaming") ends with
    `mode = stream, stripe_rows = S`: its row tiles are stripes of S output
    rows (the last may be shorter), at least two; a grid of more than one
    column streams each column tile in turn (hybrid). Recompute groups (the
    default) print no mode. `chunk_rows = C` (printed when set) runs a
    stream group's head in pieces of C rows.
  }];
  let parameters = (ins
    StringRefParameter<"group name">:$name,
    ArrayRefParameter<"::mlir::StringAttr", "layer names">:$layers,
    "int64_t":$gridRows,
    "int64_t":$gridCols,
    Mafat_TileArrayParameter:$rowTiles,
    Mafat_TileArrayParameter:$colTiles,
    "::mafat::GroupMode":$mode,
    "int64_t":$stripeRows,
    DefaultValuedParameter<"int64_t", "1">:$slots,
    DefaultValuedParameter<"int64_t", "0">:$chunkRows
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Mafat_PlanAttr : Mafat_Attr<"Plan", "plan"> {
  let summary = "A fused tile partitioning plan";
  let description = [{
    ```
    module attributes {mafat.plan = #mafat.plan<groups = [
        #mafat.group<...>, #mafat.group<...>]>} { ... }
    ```

    The fusion groups in execution order. Besides each group's own checks,
    group names and layer names are unique across the plan (a layer runs in
    exactly one group).
  }];
  let parameters = (ins
    ArrayRefParameter<"::mafat::GroupAttr", "fusion groups">:$groups
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // MAFAT_DIALECT_MAFAT_MAFATATTRS_TD
