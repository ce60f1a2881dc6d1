//===- UnshareEmpties.cpp - One tensor.empty per use ----------------------===//

#include "mafat/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"

namespace mafat {
#define GEN_PASS_DEF_MAFATUNSHAREEMPTIES
#include "mafat/Transforms/Passes.h.inc"
} // namespace mafat

using namespace mlir;

namespace {

struct MafatUnshareEmptiesPass
    : public mafat::impl::MafatUnshareEmptiesBase<MafatUnshareEmptiesPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> shared;
    getOperation().walk([&](tensor::EmptyOp empty) {
      if (!empty->hasOneUse() && !empty->use_empty())
        shared.push_back(empty);
    });
    OpBuilder builder(&getContext());
    for (tensor::EmptyOp empty : shared) {
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : empty->getUses())
        uses.push_back(&use);
      split(empty, empty->getBlock(), uses, /*keepFirst=*/true);
    }
  }

  /// A fused tile body (mafat-fuse-tile's scf.execute_region) or a loop
  /// over tiles around one; a layer's own loop nest holds none.
  static bool isTileScope(Operation *op) {
    if (op->getNumRegions() != 1 || !op->getRegion(0).hasOneBlock())
      return false;
    if (isa<scf::ExecuteRegionOp>(op))
      return true;
    if (!isa<scf::ForOp>(op))
      return false;
    bool hasBody = false;
    op->walk([&](scf::ExecuteRegionOp) {
      hasBody = true;
      return WalkResult::interrupt();
    });
    return hasBody;
  }

  /// Groups `uses` by the op of `block` that holds them: each group is one
  /// layer (a linalg op, or its loop nest after register blocking). Every
  /// group but the first (if `keepFirst`) gets its own clone of `empty`,
  /// right before the op that holds it; a group held by a region op that
  /// is not itself the user (a fused tile body) is split again inside.
  void split(tensor::EmptyOp empty, Block *block, ArrayRef<OpOperand *> uses,
             bool keepFirst) {
    llvm::MapVector<Operation *, SmallVector<OpOperand *>> byOwner;
    for (OpOperand *use : uses)
      if (Operation *owner = block->findAncestorOpInBlock(*use->getOwner()))
        byOwner[owner].push_back(use);
    SmallVector<Operation *> owners;
    for (auto &entry : byOwner)
      owners.push_back(entry.first);
    llvm::sort(owners,
               [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    OpBuilder builder(&getContext());
    for (auto [i, owner] : llvm::enumerate(owners)) {
      ArrayRef<OpOperand *> group = byOwner[owner];
      Operation *scope = owner;
      bool direct = llvm::all_of(
          group, [scope](OpOperand *use) { return use->getOwner() == scope; });
      if (!direct && isTileScope(owner)) {
        // A tile body: its layers are split inside it.
        Block *inner = &owner->getRegion(0).front();
        split(empty, inner, group, keepFirst && i == 0);
        continue;
      }
      if (keepFirst && i == 0)
        continue;
      builder.setInsertionPoint(owner);
      Value clone = builder.clone(*empty)->getResult(0);
      for (OpOperand *use : group)
        use->set(clone);
    }
  }
};

} // namespace
