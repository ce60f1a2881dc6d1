//===- Rematerialize.cpp - Clone a layer chain for its late readers -------===//

#include "mafat/Transforms/Rematerialize.h"

#include "mafat/Dialect/Mafat/AttrNames.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mafat;

namespace {

/// The ops of node `id`: the one that names it and the folded ones.
SmallVector<Operation *> nodeOps(const LayerIRMap &ir, unsigned id) {
  SmallVector<Operation *> ops;
  if (Operation *op = ir.op(id))
    ops.push_back(op);
  llvm::append_range(ops, ir.foldedOps(id));
  return ops;
}

} // namespace

LogicalResult mafat::rematerialize(func::FuncOp func, const IRLayerGraph &built,
                                   const Rematerialization &r) {
  const LayerGraph &graph = built.graph;
  const LayerIRMap &ir = built.ir;
  Block &block = func.getBody().front();

  // What to clone: every op of the chain's layers and the destinations they
  // write (tensor.empty, linalg.fill), so that the copy is a layer of its
  // own, as the memory model counts it. Constants and values computed from
  // them alone (weights) are shared.
  llvm::SetVector<Operation *> toClone;
  for (unsigned id : r.chain) {
    SmallVector<Operation *> ops = nodeOps(ir, id);
    if (ops.empty() || llvm::any_of(ops, [&](Operation *op) {
          return op->getBlock() != &block;
        }))
      return func.emitError()
             << "mafat-plan: cannot rematerialize '" << graph.node(r.node).name
             << "': layer '" << graph.node(id).name
             << "' is not a set of ops in the entry block";
    SmallVector<Operation *> worklist(ops.begin(), ops.end());
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (!toClone.insert(op))
        continue;
      auto dps = dyn_cast<DestinationStyleOpInterface>(op);
      if (!dps)
        continue;
      for (OpOperand &init : dps.getDpsInitsMutable())
        if (Operation *def = init.get().getDefiningOp())
          if (def->getBlock() == &block &&
              !ir.producerOf(init.get()).has_value() &&
              !matchPattern(def, m_Constant()))
            worklist.push_back(def);
    }
  }
  SmallVector<Operation *> ordered(toClone.begin(), toClone.end());
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });

  // The ops that read the map on behalf of a late reader; the copy goes
  // right before the first of them. An op folded into an early and a late
  // reader at once (one tensor.pad CSE'd in front of two 3x3 convs) cannot
  // read both the original and the copy.
  llvm::DenseMap<Operation *, SmallVector<unsigned, 2>> readersOf;
  for (unsigned id = 0, e = ir.size(); id < e; ++id)
    for (Operation *op : nodeOps(ir, id))
      readersOf[op].push_back(id);
  llvm::DenseSet<unsigned> late(r.lateUsers.begin(), r.lateUsers.end());
  Value original = ir.result(r.node);
  llvm::DenseSet<Operation *> lateOps;
  Operation *insertBefore = nullptr;
  for (OpOperand &use : original.getUses()) {
    Operation *top = block.findAncestorOpInBlock(*use.getOwner());
    auto it = top ? readersOf.find(top) : readersOf.end();
    if (it == readersOf.end())
      continue;
    bool forLate = llvm::any_of(it->second,
                                [&](unsigned id) { return late.contains(id); });
    bool forEarly = llvm::any_of(
        it->second, [&](unsigned id) { return !late.contains(id); });
    if (forLate && forEarly)
      return func.emitError()
             << "mafat-plan: cannot rematerialize '" << graph.node(r.node).name
             << "': one '" << top->getName()
             << "' serves both its first and a later reader";
    if (!forLate)
      continue;
    lateOps.insert(top);
    if (!insertBefore || top->isBeforeInBlock(insertBefore))
      insertBefore = top;
  }
  if (!insertBefore)
    return func.emitError()
           << "mafat-plan: cannot rematerialize '" << graph.node(r.node).name
           << "': its late readers are not in the entry block";

  MLIRContext *context = func.getContext();
  auto mark = StringAttr::get(context, graph.node(r.node).name);
  llvm::DenseMap<Operation *, unsigned> namingOp;
  for (unsigned id : r.chain)
    namingOp[ir.op(id)] = id;
  OpBuilder builder(insertBefore);
  IRMapping mapping;
  for (Operation *op : ordered) {
    Operation *copy = builder.clone(*op, mapping);
    copy->setAttr(kRematerializedAttr, mark);
    if (auto it = namingOp.find(op); it != namingOp.end())
      copy->setLoc(NameLoc::get(
          StringAttr::get(context,
                          rematerializedName(graph.node(it->second).name)),
          op->getLoc()));
  }
  Value copy = mapping.lookup(original);
  original.replaceUsesWithIf(copy, [&](OpOperand &use) {
    return lateOps.contains(block.findAncestorOpInBlock(*use.getOwner()));
  });
  return success();
}
