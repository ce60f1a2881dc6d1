//===- Passes.td - mafat transformation passes -------------*- tablegen -*-===//
//
// The passes mafat runs between a model in linalg-on-tensors and the LLVM
// dialect. Each one is usable on its own from mafat-opt and lit-tested alone.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_PASSES
#define MAFAT_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def MafatNormalize : Pass<"mafat-normalize", "mlir::ModuleOp"> {
  let summary = "Bring a model into mafat's canonical form and reject what "
                "mafat cannot compile";
  let description = [{
    The later analysis and transforms match on one form only (see
    `docs/CanonicalForm.md`). This pass:

    * rejects dynamic shapes, non-f32 activations and ops outside the
      supported set, with a diagnostic at the offending op;
    * rewrites `linalg.conv_2d_nhwc_fhwc` (what TOSA lowers to) into
      `linalg.conv_2d_nhwc_hwcf` by transposing its constant filter at
      compile time;
    * gives every layer op a stable name location `loc("L<i>:<kind>")` unless
      it already has a name, so plans and reports can refer to layers.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
}

def MafatTileAndVectorize : Pass<"mafat-tile-and-vectorize",
                                 "mlir::func::FuncOp"> {
  let summary = "Tile every layer to a register block and vectorize it";
  let description = [{
    Chooses, per op and per target, a register block (see
    `lib/Transforms/RegisterBlock.cpp`), tiles the parallel dimensions to it
    fusing the accumulator's fill, and fuses an elementwise epilogue (bias,
    activation, batch-norm) into its conv/pool/matmul's tile loop. Window
    reductions are tiled to 1 and channels to a small step; blocks that do
    not divide their loop are peeled so every tile has static shapes. 2-D
    convs and pools are decomposed to 1-D, everything static is vectorized
    and the accumulators are hoisted out of the reduction loops. On tensors
    it handles every layer op; run again after bufferization it vectorizes
    the elementwise copies and fills that `tensor.pad` leaves on buffers.
    Contractions become outer products (FMAs) later, in
    `convert-vector-to-llvm`.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"512",
           "Width of the target's SIMD registers in bits (512 AVX-512, "
           "256 AVX2, 128 NEON/SSE)">,
    Option<"numVectorRegisters", "vector-registers", "unsigned",
           /*default=*/"32",
           "Number of SIMD registers the register block may fill">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::affine::AffineDialect"];
}

def MafatLowerCopies : Pass<"mafat-lower-copies", "mlir::func::FuncOp"> {
  let summary = "Turn memref.copy into linalg.copy";
  let description = [{
    Bufferization turns `tensor.pad` and `tensor.insert_slice` into
    `memref.copy` between strided views. Upstream lowers such copies to a call
    into the MLIR C runner library; mafat's generated code must be
    self-contained, so they become `linalg.copy` and then plain loops.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def MafatPlanMemory : Pass<"mafat-plan-memory", "mlir::ModuleOp"> {
  let summary = "Pack every intermediate buffer into one caller-provided "
                "workspace";
  let description = [{
    The static memory planner. It runs on bufferized IR as the last pass that
    may allocate. For each entry function it collects every `memref.alloc`
    (static shape required), computes its live range over the function body
    (following views and aliases), packs the buffers into one arena with the
    IR-independent packing core (`mafat/Support/ArenaPacker.h`), appends a
    `memref<Nxi8>` workspace argument and replaces each allocation by a
    `memref.view` at its offset. Deallocations are erased.

    The function gets the attributes `mafat.workspace_bytes`,
    `mafat.workspace_align` and `mafat.naive_bytes` (the sum of the buffers
    replaced). Any heap allocation left afterwards is an error.
  }];
  let options = [
    Option<"alignment", "alignment", "unsigned", /*default=*/"64",
           "Byte alignment of every buffer and of the workspace itself">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Print a table of buffers, offsets and live ranges to stderr">,
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def MafatPrintLayerGraph : Pass<"mafat-print-layer-graph",
                                 "mlir::func::FuncOp"> {
  let summary = "Print the layer graph the planner sees";
  let description = [{
    Recognises the layer graph of each function in canonical form
    (`mafat/Analysis/LayerGraph.h`) and prints it to stdout, one line per
    node: id, name, kind, operand and output shapes, FLOPs, weight bytes, the
    window (with the padding folded from `tensor.pad`), upsample factor,
    reorg mode or concat dimension, and the operands by name with how the
    node reads each one spatially; then the outputs and a topological order.
    An op the analysis cannot place is an error at that op. The IR is not
    changed. For tests and for inspecting what the planner works with.
  }];
}

#endif // MAFAT_TRANSFORMS_PASSES
