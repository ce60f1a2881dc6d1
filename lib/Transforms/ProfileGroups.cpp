//===- ProfileGroups.cpp - Time every fusion group at run time ------------===//
//
// Puts a mark before the first op of every group of the plan and one before
// the return, so a driver can time the model group by group and set each
// group's measured time next to the latency model's prediction
// (`mafat-compile --profile-groups`, `mafat-run --profile`).
//
// Why before mafat-fuse-tile and not after: which ops make up a group (the
// layer ops, plus the pads, inits and fills the layer graph folds into them)
// is only known from the layer graph, and the layer graph cannot be
// recognised once groups are loops. Before fuse-tile the graph is exact, and
// the marks survive the rewrite: fuse-tile builds a tiled group's loops
// where the group's output layer was, which is after the group's mark and
// before the next group's, and erases only the group's dead layer ops.
//
// The mark is
//
//   llvm.call @__mafat_profile_mark(%unit : i32, %name : !llvm.ptr)
//
// with constant operands only: the layer graph skips ops computed from
// constants, so fuse-tile (which rebuilds the graph) does not see the marks.
// Calls have unknown side effects, so canonicalize, CSE, bufferization and
// LLVM keep every load and store of a layer on its side of a mark.
//
// A unit is one group, except that a conv or pool in a 1x1 group and the
// activation of the next 1x1 group that register blocking fuses it into run
// as one loop nest: they are one unit, named "<group> + <group>".
//
// __mafat_profile_mark is internal and calls through the weak global
// `mafat_profile_hook` when it is not null. A global the driver sets,
// instead of an undefined function the driver provides, because a model
// loaded with dlopen cannot bind to a symbol of the loading executable
// unless that executable exports it (-rdynamic), while the driver can
// always find the model's own symbol (docs/CAPI.md). Without a hook the
// model runs as usual, so profiled builds link and run anywhere; the
// generated code still allocates nothing.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/LayerGraph.h"
#include "mafat/Analysis/ModelEntry.h"
#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Graph/FusionGroup.h"
#include "mafat/Transforms/Passes.h"
#include "mafat/Transforms/PlannedModule.h"
#include "mafat/runtime.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <algorithm>

namespace mafat {
#define GEN_PASS_DEF_MAFATPROFILEGROUPS
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;
using mafat::FusionGroup;
using mafat::LayerGraph;

namespace {

// The hook the driver sets (mafat/runtime.h names it).
constexpr llvm::StringLiteral kHookName = MAFAT_PROFILE_HOOK_SYMBOL;
constexpr llvm::StringLiteral kMarkName = "__mafat_profile_mark";
constexpr llvm::StringLiteral kGroupNamePrefix = "__mafat_profile_name_";

/// The weak hook, the internal mark function calling it, and one private
/// NUL-terminated string per group name.
struct ProfileSymbols {
  LLVM::LLVMFuncOp mark;
  SmallVector<LLVM::GlobalOp> names;
};

ProfileSymbols createSymbols(ModuleOp module, ArrayRef<std::string> names) {
  MLIRContext *context = module.getContext();
  Location loc = module.getLoc();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i32 = IntegerType::get(context, 32);
  auto voidType = LLVM::LLVMVoidType::get(context);
  auto markType = LLVM::LLVMFunctionType::get(voidType, {i32, ptr});

  // Weak: two profiled models linked into one program share one hook
  // instead of failing to link.
  auto hook =
      LLVM::GlobalOp::create(b, loc, ptr, /*isConstant=*/false,
                             LLVM::Linkage::Weak, kHookName, Attribute());
  {
    Block *init = b.createBlock(&hook.getInitializerRegion());
    OpBuilder ib = OpBuilder::atBlockEnd(init);
    Value null = LLVM::ZeroOp::create(ib, loc, ptr);
    LLVM::ReturnOp::create(ib, loc, null);
  }

  ProfileSymbols symbols;
  b.setInsertionPointToEnd(module.getBody());
  symbols.mark = LLVM::LLVMFuncOp::create(b, loc, kMarkName, markType,
                                          LLVM::Linkage::Internal);
  Block *entry = symbols.mark.addEntryBlock(b);
  Block *call = b.createBlock(&symbols.mark.getBody());
  Block *done = b.createBlock(&symbols.mark.getBody());
  OpBuilder fb = OpBuilder::atBlockEnd(entry);
  Value hookAddr = LLVM::AddressOfOp::create(fb, loc, hook);
  Value fn = LLVM::LoadOp::create(fb, loc, ptr, hookAddr);
  Value null = LLVM::ZeroOp::create(fb, loc, ptr);
  Value set = LLVM::ICmpOp::create(fb, loc, LLVM::ICmpPredicate::ne, fn, null);
  LLVM::CondBrOp::create(fb, loc, set, call, done);
  fb.setInsertionPointToEnd(call);
  LLVM::CallOp::create(
      fb, loc, markType,
      ValueRange{fn, entry->getArgument(0), entry->getArgument(1)});
  LLVM::BrOp::create(fb, loc, done);
  fb.setInsertionPointToEnd(done);
  LLVM::ReturnOp::create(fb, loc, ValueRange{});

  b.setInsertionPointToEnd(module.getBody());
  auto i8 = IntegerType::get(context, 8);
  for (auto [i, name] : llvm::enumerate(names)) {
    std::string bytes = name;
    bytes.push_back('\0');
    auto type = LLVM::LLVMArrayType::get(i8, bytes.size());
    symbols.names.push_back(LLVM::GlobalOp::create(
        b, loc, type, /*isConstant=*/true, LLVM::Linkage::Private,
        (kGroupNamePrefix + llvm::Twine(i)).str(), b.getStringAttr(bytes)));
  }
  return symbols;
}

/// Inserts mark(group, name) before `before`; a null name for the end mark.
void insertMark(Operation *before, const ProfileSymbols &symbols,
                unsigned group) {
  OpBuilder b(before);
  Location loc = before->getLoc();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  Value index = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(group));
  Value name =
      group < symbols.names.size()
          ? Value(LLVM::AddressOfOp::create(b, loc, symbols.names[group]))
          : Value(LLVM::ZeroOp::create(b, loc, ptr));
  LLVM::CallOp::create(b, loc, symbols.mark, ValueRange{index, name});
}

/// For every group (in execution order), the ops of the function body that
/// do its work: its layers' ops and folded ops, and the non-constant ops
/// that only prepare their operands (inits, fills, a transposed filter).
/// An op several groups use goes to the first.
std::vector<SmallVector<Operation *>> groupOps(const mafat::LayerIRMap &ir,
                                               ArrayRef<FusionGroup> groups,
                                               Block &body) {
  DenseMap<Operation *, unsigned> owner;
  std::vector<SmallVector<Operation *>> ops(groups.size());
  auto claim = [&](Operation *op, unsigned g) {
    if (!op || op->getBlock() != &body || !owner.try_emplace(op, g).second)
      return;
    ops[g].push_back(op);
  };
  for (auto [g, group] : llvm::enumerate(groups))
    for (const mafat::FusedLayer &layer : group.layers()) {
      claim(ir.op(layer.node), g);
      for (Operation *folded : ir.foldedOps(layer.node))
        claim(folded, g);
    }
  for (unsigned g = 0; g < groups.size(); ++g) {
    // ops[g] grows while it is walked: an index, not an iterator.
    for (size_t i = 0; i < ops[g].size(); ++i)
      ops[g][i]->walk([&](Operation *nested) {
        for (Value operand : nested->getOperands()) {
          Operation *def = operand.getDefiningOp();
          // Another layer's result is another group's work; constants are
          // hoisted and cost nothing at run time.
          if (!def || ir.producerOf(operand) ||
              def->hasTrait<OpTrait::ConstantLike>())
            continue;
          claim(def, g);
        }
      });
  }
  return ops;
}

/// Whether register blocking fuses group `a`'s output layer into a layer of
/// group a + 1 as its elementwise epilogue (CodegenRules.h). The producer
/// then runs inside the epilogue's loops, after the mark between the two
/// groups, so they can only be timed together. Both must run untiled:
/// fuse-tile's loops hide a tiled group's layers from the fusion.
bool fusesIntoNext(const LayerGraph &graph, ArrayRef<FusionGroup> groups,
                   ArrayRef<int> groupOfNode, unsigned a) {
  auto untiled = [&](unsigned node) {
    int g = groupOfNode[node];
    return g >= 0 && !groups[g].isTiled();
  };
  std::optional<unsigned> epilogue =
      mafat::fusedEpilogue(graph, groups[a].outputLayer().node, untiled);
  return epilogue && groupOfNode[*epilogue] == int(a + 1);
}

struct MafatProfileGroupsPass
    : public mafat::impl::MafatProfileGroupsBase<MafatProfileGroupsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (module.lookupSymbol(kHookName) || module.lookupSymbol(kMarkName)) {
      module.emitError("mafat-profile-groups: the module is already "
                       "profiled (it defines '")
          << kMarkName << "')";
      return signalPassFailure();
    }
    // The same model function every other pass picks.
    func::FuncOp entry =
        mafat::findEntry(module, this->entry, "mafat-profile-groups: ");
    if (!entry)
      return signalPassFailure();
    if (!entry.getBody().hasOneBlock()) {
      entry.emitError("mafat-profile-groups: the entry function must have "
                      "one block");
      return signalPassFailure();
    }
    Block &body = entry.getBody().front();
    Operation *terminator = body.getTerminator();

    // The same graph and groups, in the same order, that mafat-fuse-tile
    // executes (PlannedModule: one entry rule, one group construction).
    std::optional<mafat::PlannedModule> planned;
    if (failed(mafat::readPlannedModule(module, this->entry,
                                        "mafat-profile-groups: ", planned)))
      return signalPassFailure();
    if (!planned) {
      // Without a plan, a model the layer graph does not cover is timed as
      // one group, as it also runs unplanned.
      entry.emitWarning("mafat-profile-groups: the layer graph does not "
                        "cover this model; it is timed as one group");
      std::string name = entry.getSymName().str();
      ProfileSymbols symbols = createSymbols(module, {name});
      insertMark(&body.front(), symbols, 0);
      insertMark(terminator, symbols, 1);
      return;
    }
    const LayerGraph &graph = planned->graph;
    ArrayRef<FusionGroup> groups = planned->groups;
    std::vector<SmallVector<Operation *>> ops =
        groupOps(planned->ir, groups, body);

    DenseMap<Operation *, unsigned> position;
    for (Operation &op : body)
      position.try_emplace(&op, position.size());
    // Group g's mark goes before its first op that comes after group g-1's
    // mark. mafat-plan puts each group's ops together in execution order,
    // so this is its first op; on an order where groups interleave the
    // marks still come in group order, and a group's time is approximate.
    std::vector<Operation *> anchors;
    unsigned from = 0;
    for (auto [g, group] : llvm::enumerate(groups)) {
      Operation *anchor = nullptr;
      for (Operation *op : ops[g]) {
        unsigned p = position.lookup(op);
        if (p >= from && (!anchor || p < position.lookup(anchor)))
          anchor = op;
      }
      if (!anchor) {
        // Every op of the group comes before the previous group's mark.
        entry.emitWarning("mafat-profile-groups: group '")
            << group.name()
            << "' runs before the previous group's first op; its time is "
               "counted in that group";
        anchor = anchors.empty() ? &body.front() : anchors.back();
      }
      from = position.lookup(anchor);
      anchors.push_back(anchor);
    }

    // A group whose layer is fused into the next group's shares its mark:
    // one timed unit, named "<group> + <group>" (scripts split on " + ").
    std::vector<int> groupOfNode(graph.size(), -1);
    for (auto [g, group] : llvm::enumerate(groups))
      for (const mafat::FusedLayer &layer : group.layers())
        groupOfNode[layer.node] = g;
    SmallVector<std::string> names;
    SmallVector<Operation *> unitAnchors;
    for (unsigned g = 0; g < groups.size(); ++g) {
      bool joinsPrevious =
          g > 0 && fusesIntoNext(graph, groups, groupOfNode, g - 1);
      if (joinsPrevious) {
        names.back() += " + " + groups[g].name().str();
        continue;
      }
      names.push_back(groups[g].name().str());
      unitAnchors.push_back(anchors[g]);
    }
    ProfileSymbols symbols = createSymbols(module, names);
    // Marks sharing an anchor keep their order: each one goes right before
    // the anchor, after the marks inserted earlier.
    for (auto [u, anchor] : llvm::enumerate(unitAnchors))
      insertMark(anchor, symbols, u);
    insertMark(terminator, symbols, names.size());
  }
};

} // namespace
