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
    the elementwise copies and fills that `tensor.pad` leaves on buffers. A
    tensor copy marked `mafat.copy_on_buffers` (a rolling-buffer shift) is
    left for the buffer level, where `mafat-lower-copies` first removes its
    temporary. Contractions become outer products (FMAs) later, in
    `convert-vector-to-llvm`. Max and min (pools, ReLU, clamps) get the
    `nsz` flag unless `any-signed-zero=false`.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"512",
           "Width of the target's SIMD registers in bits (512 AVX-512, "
           "256 AVX2, 128 NEON/SSE)">,
    Option<"numVectorRegisters", "vector-registers", "unsigned",
           /*default=*/"32",
           "Number of SIMD registers the register block may fill">,
    Option<"anySignedZero", "any-signed-zero", "bool", /*default=*/"true",
           "Mark every arith.maximumf/minimumf nsz (max(-0, +0) may be "
           "either zero; NaNs still propagate): x86 then needs no sign "
           "test and blends per vector (a max pool ~20% faster)">,
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

    First, a copy marked `mafat.copy_on_buffers` (a stream group's rolling
    buffer moving its kept rows up), which one-shot bufferization routes
    through a temporary (an `insert_slice` of a slice of the same tensor),
    becomes direct between two static views of the buffer: one copy if they
    are disjoint, or chunks along the one dimension in which they are
    shifted, first to last; reads of the temporary read the rows in place.
    The temporary goes away, and the memory model does not count it; a
    marked copy that cannot be folded gets a warning saying why.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect"];
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

    Buffers allocated inside an op's regions (a fused tile body, a loop) are
    packed in that region first; the region's arena then enters its parent
    as one buffer live at that op only. The iterations of an `scf.forall`
    that allocates (a fused group's slots, concurrent tiles) may run at
    once, so it enters as one copy of its body's arena per iteration, and
    iteration i's buffers are viewed at i times the (aligned) arena size. If the function carries
    `mafat.predicted_workspace_bytes` (from `mafat-fuse-tile`), a different
    workspace is reported as a warning, or an error with
    `verify-prediction`.
  }];
  let options = [
    Option<"alignment", "alignment", "unsigned",
           /*default=*/"mafat::kDefaultBufferAlignment",
           "Byte alignment of every buffer and of the workspace itself">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Print a table of buffers, offsets and live ranges to stderr">,
    Option<"verifyPrediction", "verify-prediction", "bool",
           /*default=*/"false",
           "Fail if the workspace differs from the memory model's "
           "prediction">,
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

    `format=json` prints the same graph as one JSON object per function
    (`LayerGraphJson.h`, keys in docs/Passes.md), each node with
    `epilogue_of`: the producer it is fused into as an epilogue when the
    model runs layer by layer (CodegenRules.h), or null. mafat-calibrate
    reads this instead of the text.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"text\"",
           "Output format: text (one line per node) or json">,
  ];
}

def MafatPlan : Pass<"mafat-plan", "mlir::ModuleOp"> {
  let summary = "Choose fusion groups and tile grids under a memory budget";
  let description = [{
    Builds the layer graph of the entry function, and attaches a plan as the
    module attribute `mafat.plan` (`#mafat.plan<...>`, every group with
    explicit tiles):

    * `plan=auto` (default): the plan with the lowest predicted latency
      whose predicted workspace fits `memory-budget` (no budget: the fastest
      plan), found by dynamic programming over group boundaries x tile grids
      (`mafat/Planning/PlanSearch.h`), priced by the memory predictor
      (`mafat/CostModel/MemoryModel.h`) and the latency model with the
      target profile (`mafat/CostModel/LatencyModel.h`). The search plans
      over one execution order of the layers, chosen to keep few bytes live
      across group boundaries; the pass moves the layers of the entry
      function into that order (the IR's program order is the execution
      order later passes keep);
    * `plan=none`: every layer in its own 1x1 group (layer by layer);
    * `plan=FILE.json`: a hand-written plan (docs/Plans.md), checked against
      the graph; layers it leaves out run layer by layer.

    Rematerialization (`mafat/Graph/Rematerialization.h`): with
    `rematerialize` (default) and a budget or a report, the search also runs
    on the model with each candidate map (one read again much later, fed by a
    smaller map) recomputed for its late readers, and keeps the variant with
    the fastest plan that fits (ties: the smaller workspace, then the model as
    written); the chosen copies are cloned into the IR ("<layer>.remat") and
    listed in the plan's `rematerialize`. A plan file's `rematerialize` list
    is applied before its groups are checked.

    A budget no plan fits is an error that states the smallest workspace the
    search reaches; with `plan=none` or a file, a plan over the budget is an
    error. `report=FILE.json` writes the report (predicted workspace, peak,
    latency, groups, Pareto front); `print-report` prints the per-group table
    and the Pareto front (workspace vs predicted latency) to stdout. The
    search space options reproduce the paper's space with `max-groups=2
    cuts-after-pool-only square-grids max-grid=5`.
  }];
  let options = [
    Option<"memoryBudget", "memory-budget", "std::string", /*default=*/"\"\"",
           "Largest predicted workspace allowed: bytes with an optional unit "
           "B, KiB, MiB, GiB (1024-based) or KB, MB, GB (1000-based), e.g. "
           "8MiB, 1.5MB, 3000000; empty means no limit">,
    Option<"planSource", "plan", "std::string", /*default=*/"\"auto\"",
           "auto (search), none (layer by layer) or a plan JSON file">,
    Option<"reportFile", "report", "std::string", /*default=*/"\"\"",
           "Write the plan report (JSON) to this file">,
    Option<"profileFile", "profile", "std::string", /*default=*/"\"\"",
           "Target profile JSON for the latency model; empty: the built-in "
           "profile of the target triple">,
    Option<"targetTriple", "target", "std::string",
           /*default=*/"\"x86_64-linux-gnu\"",
           "Target triple whose built-in profile is used without profile=">,
    Option<"entry", "entry", "std::string", /*default=*/"\"\"",
           "The function to plan; empty: the only public function with a "
           "body">,
    Option<"printReport", "print-report", "bool", /*default=*/"false",
           "Print the per-group table and the Pareto front to stdout">,
    Option<"threads", "threads", "unsigned", /*default=*/"1",
           "Threads the plan is made for (mafat-compile --threads): the "
           "latency model prices split steps on this many cores, and the "
           "search may give a tiled group as many slots (concurrent tiles)">,
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"mafat::kDefaultMinParallelWork",
           "Smallest layer split across threads (as mafat-parallelize)">,
    Option<"maxGroups", "max-groups", "unsigned", /*default=*/"0",
           "Most fusion groups with a grid other than 1x1 (0: no limit; the "
           "paper's space is 2)">,
    Option<"cutsAfterPoolOnly", "cuts-after-pool-only", "bool",
           /*default=*/"false",
           "Tiled groups end only after a pooling layer or at the last layer "
           "(the paper's space)">,
    Option<"squareGrids", "square-grids", "bool", /*default=*/"false",
           "Only N x N grids (the paper's space)">,
    Option<"maxGrid", "max-grid", "unsigned", /*default=*/"8",
           "Largest number of tiles along each axis (the paper's space is "
           "5)">,
    Option<"stream", "stream", "bool", /*default=*/"false",
           "Also search stream groups (stripes with rolling buffers, issue "
           "12) next to recompute grids">,
    Option<"rematerialize", "rematerialize", "bool", /*default=*/"true",
           "With a budget or a report, also search the model with each map "
           "that a late reader keeps alive recomputed from a smaller one">,
    Option<"maxHaloOverhead", "max-halo-overhead", "double",
           /*default=*/"1.0",
           "Pruning: skip candidate groups whose recomputed halos add more "
           "than this fraction of their FLOPs">,
    Option<"alignment", "alignment", "unsigned",
           /*default=*/"mafat::kDefaultBufferAlignment",
           "Buffer alignment mafat-plan-memory will use (for the predictor)">,
  ];
  let dependentDialects = ["mafat::MafatDialect"];
}

def MafatFuseTile : Pass<"mafat-fuse-tile", "mlir::ModuleOp"> {
  let summary = "Rewrite each fusion group of the plan into a loop over its "
                "output tiles";
  let description = [{
    Reads the module's `mafat.plan` attribute. For every group with a grid
    other than 1x1, the group's layers are recomputed tile by tile: the
    output tiles are split into classes with identical shapes (interior,
    borders, corners, the longer and shorter tiles of a balanced split), and
    each class becomes an `scf.for` nest whose body computes, for one tile,
    exactly the region of every layer its receptive field needs
    (`mafat/Graph/FusionGroup.h`), with static shapes throughout. Window
    layers pad their tile input only where the tile touches the image
    border, with their own padding value. The last layer writes straight into
    the group's full output map. Groups with a 1x1 grid are left as they
    are. A plan that does not fit the model (unknown layer, bad grid, a layer
    that cannot be tiled) is an error naming the group and the layer.

    A group with `slots = N` (concurrent tiles) runs its classes inside one
    `scf.for` over the N slots, whose location carries the mark
    `mafat.slots = N` for `mafat-parallelize`; slot s runs the row-major
    band of tiles [s*T/N, (s+1)*T/N) of the group's T tiles
    (`CodegenRules.h`, `slotBandBegin`): each class keeps its rows x cols
    nest, its column loop bounded to the band (`affine.max`/`affine.min`),
    so slots differ by at most one tile and each computes a band of rows.
    Each tile body is the same as without slots.
    A stream group (`mode = stream`) instead becomes a pipeline of steps
    that computes every row once, in full-width stripes (or in the stripes
    of each column tile in turn, hybrid), with a rolling buffer per window
    edge carried through the step loops (`mafat/Graph/StreamGroup.h`,
    docs/Fusion.md "Streaming"). A hybrid stream group with slots runs its
    column loops inside the slot loop, slot s on the column tiles
    [s*C/N, (s+1)*C/N), and allocates its rolling buffers in the slot
    loop's body, one set per slot (docs/Fusion.md "Concurrent column
    tiles").

    The plan applies to the entry function (`entry`, or else the only
    public function with a body: the rule `mafat-plan` and `mafat-compile`
    use). The entry function gets `mafat.predicted_workspace_bytes`: the
    memory model's prediction for the plan (layer by layer without one),
    which `mafat-plan-memory` compares with the workspace it really packs.
    Without a plan, a module with no such function or a model the layer graph
    does not cover is left alone.
  }];
  let options = [
    Option<"alignment", "alignment", "unsigned",
           /*default=*/"mafat::kDefaultBufferAlignment",
           "Buffer alignment mafat-plan-memory will use (for the prediction)">,
    Option<"entry", "entry", "std::string", /*default=*/"\"\"",
           "The function the plan applies to; empty: the only public "
           "function with a body">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect"];
}

def MafatUnshareEmpties : Pass<"mafat-unshare-empties", "mlir::func::FuncOp"> {
  let summary = "Give every use of a tensor.empty its own tensor.empty";
  let description = [{
    CSE merges identical `tensor.empty` ops, so one value ends up as the init
    of several unrelated layers. One-shot bufferization then resolves the
    sharing by its analysis order: one user writes in place, others get new
    buffers, and an elementwise layer may land in a dead, unrelated layer's
    buffer. Which happens depends on op order details no memory model can
    follow. Run right before bufferization, this pass gives each op of the
    empty's block that uses it (a layer's loop nest, a fused group's chain of
    tile loops) its own empty, so every layer output is one allocation (the
    rule the memory model in `mafat/CostModel/MemoryModel.h` predicts) while
    uses inside one op keep sharing it.
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def MafatProfileGroups : Pass<"mafat-profile-groups", "mlir::ModuleOp"> {
  let summary = "Time every fusion group of the plan at run time (mafat-run "
                "--profile)";
  let description = [{
    Inserts a call `mark(i, name_i)` before the first op of each group of the
    plan (the groups `mafat-fuse-tile` will execute, in execution order:
    `mafat::buildPlanGroups`) and `mark(N, null)` before the return, so the
    time between marks i and i + 1 is group i. `mark` is a small internal
    function that calls the function pointer in the weak global
    `mafat_profile_hook` when it is not null; the driver of `mafat-run` and
    `--emit=exe` sets it (docs/CAPI.md). Group names are private string
    constants. Without a hook the model runs as usual, so a profiled build
    still links and runs anywhere; its outputs are bit-identical to the
    unprofiled build's.

    A conv or pool in a 1x1 group whose bias/activation register blocking
    fuses into it (the next 1x1 group) runs inside that activation's loops,
    so the two share one mark, named "<group> + <group>".

    Runs on tensors right before `mafat-fuse-tile` (the layer graph, which
    attributes the pads, inits and fills of a layer to its group, cannot be
    recognised after it). The marks take only constant operands, so the
    layer graph skips them, and they are calls with unknown side effects, so
    no later pass moves a layer's work across them. fuse-tile emits a tiled
    group where its output layer was, after its group's mark. The model
    function is chosen as by every other pass (`entry`, else the only
    public function).
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"\"",
           "Function to profile (default: the only public function)">,
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect",
                           "mlir::arith::ArithDialect"];
}

def MafatParallelize : Pass<"mafat-parallelize", "mlir::func::FuncOp"> {
  let summary = "Split the marked layer loops across threads (scf.forall)";
  let description = [{
    The *split steps* parallel form: one layer's work (a whole layer in a
    layer-by-layer group, or one step of a fused tile body) is divided among
    the threads by its outermost register-block loop (output rows or filter
    blocks). `mafat-tile-and-vectorize` marks that loop with
    `mafat.parallel = <iterations of the layer>`; this pass turns every
    outermost marked `scf.for` whose layer has at least `min-work`
    iterations into an `scf.forall`, and drops the other marks. Before that
    it arranges the loop with the next output-block loop, marked
    `mafat.parallel_inner`, when the two are perfectly nested: a layer
    marked `mafat.rows_first` (weights no larger than its input) has the two
    interchanged so the threads split output rows and each reads the rows
    the previous layer left in its cache; a loop with fewer than 4
    iterations per thread is folded with the inner one (upstream
    `coalesceLoops`) so the threads balance. Iterations write disjoint output blocks and use no buffer
    of their own (a loop that allocates is left serial), so the form is
    memory-neutral and every thread count computes each output element with
    the same operations in the same order: outputs are bit-identical.

    The *concurrent tiles* form: a fused group's slot loop (marked
    `mafat.slots` by `mafat-fuse-tile`) becomes an `scf.forall` whatever its
    body allocates, on any thread count: the plan gave every slot its own
    tile buffers, which `mafat-plan-memory` places one copy per iteration.
    Marked layer loops inside it stay serial (each tile runs on one thread).
    A slot loop that still carries a value is an error.

    A `linalg.transpose` in the function body itself (a model's NCHW <->
    NHWC conversion, not part of a tile) with at least `min-work` elements
    becomes an `scf.forall` over the indices of its first output dim with
    more than one element, each iteration transposing that slice (subviews):
    the layout conversions at a model's edges run on every thread instead
    of on the caller's alone.

    Runs on buffers, before `mafat-plan-memory`. With `threads=1` it only
    drops the split marks. The iterations are split among the threads at run time
    by the caller's parallel-for (`mafat/runtime.h`); the default pool gives
    each thread a contiguous range and lets idle threads steal.
  }];
  let options = [
    Option<"threads", "threads", "unsigned", /*default=*/"1",
           "Threads the model is compiled for (1 = serial)">,
    Option<"minWork", "min-work", "int64_t",
           /*default=*/"mafat::kDefaultMinParallelWork",
           "Smallest layer (iterations of its linalg op) worth a parallel "
           "launch; smaller ones stay serial">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect"];
}

def MafatOutlineParallel : Pass<"mafat-outline-parallel", "mlir::ModuleOp"> {
  let summary = "Outline each scf.forall into a task the caller's threads run";
  let description = [{
    Gives every planned function (one with `mafat.workspace_bytes`) its
    last argument, `!llvm.ptr {mafat.parallel}`: the caller's
    `const mafat_parallel_t *` (NULL runs serially). Each outermost
    `scf.forall` becomes a private function `@<func>_task<k>(index, ...)`
    running one iteration, and a call of the declaration
    `@<func>_task<k>_launch(parallel, iterations, captured...)` marked
    `mafat.launch_body`; `mafat-lower-parallel-launch` turns that call into
    the parallel-for after conversion to LLVM. Captured memrefs that the
    bare-pointer calling convention cannot pass (strided views) are passed
    as their base pointer and offset and rebuilt inside; constants and view
    chains are rematerialised in the task. Nested `scf.forall`s and those of
    unplanned functions become `scf.for`.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::LLVM::LLVMDialect"];
}

def MafatLowerParallelLaunch : Pass<"mafat-lower-parallel-launch",
                                    "mlir::ModuleOp"> {
  let summary = "Lower task launches to calls of the caller's parallel-for";
  let description = [{
    Runs on the LLVM dialect, after every other conversion, so the captured
    values already have their final LLVM types. For each declaration marked
    `mafat.launch_body = @task`, it emits `@task_run(ctx, begin, end)`
    (loads the captured values from the context struct and runs iterations
    [begin, end)) and replaces each call by: the captured values stored into
    a stack struct allocated in the caller's entry block, then a call of
    `@__mafat_parallel_for(parallel, n, @task_run, ctx)`, which calls the
    caller's `parallel_for` or, when the caller passed none, runs all
    iterations inline. No thread is created and nothing is allocated.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // MAFAT_TRANSFORMS_PASSES
