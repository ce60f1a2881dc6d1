//===- LayerGraph.h - The layer graph of a func.func ------------*- C++ -*-===//
//
// Recognises the layer graph (mafat/Graph/LayerGraph.h) of a func.func in
// mafat's canonical form (docs/CanonicalForm.md):
//   - the ops that only prepare a layer's operands are folded in: the
//     `linalg.fill` / `tensor.empty` accumulator, constants and anything
//     computed from constants alone (TOSA's broadcast bias, a transposed
//     filter), and the `tensor.pad` in front of a window op, which becomes
//     the window's padding;
//   - recognised multi-op idioms are merged: Darknet's reorg and
//     space-to-depth written as transposes and reshapes, nearest upsampling
//     written as a rank-6 broadcast plus collapse_shape, tensor.insert_slice
//     chains that concatenate;
//   - edges = SSA use-def between nodes, function arguments are the inputs.
//
// The graph itself holds no IR. What the transforms need to find a node's
// ops again (fuse-tile and the stream transform rewrite them, mafat-plan and
// profiling mark them) is the side table LayerIRMap, built with it.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_ANALYSIS_LAYERGRAPH_H
#define MAFAT_ANALYSIS_LAYERGRAPH_H

#include "mafat/Graph/LayerGraph.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <vector>

namespace mafat {

/// The kind of layer `op` is by its type alone: the named convs, pools and
/// matmul; std::nullopt for every other op. Transforms that no longer see a
/// canonical function (mafat-tile-and-vectorize after fuse-tile) classify
/// ops with it.
std::optional<LayerKind> namedLayerKind(mlir::Operation *op);

/// The one check of attribute values and sizes the analysis and codegen
/// rely on, run by mafat-normalize on every op and by buildLayerGraph:
///   - window ops: strides and dilations >= 1, the window no larger than the
///     (padded) input, the output no larger than the windows that fit;
///   - tensor.pad: constant, non-negative padding;
///   - every linalg op: each indexing map, over the op's loop ranges, stays
///     inside its operand (no read before or past a buffer), and at most
///     kMaxOpIterations iterations;
///   - every tensor at most kMaxTensorBytes; on a func.func, its arguments,
///     results and the sum of its constants (kMaxWeightBytes).
/// Emits one error at `op` and fails if anything is out of range. Ops with
/// dynamic shapes are left to the callers' own diagnostics.
mlir::LogicalResult verifyLayerOp(mlir::Operation *op);

/// Where each node of a layer graph is in the IR it was recognised in.
class LayerIRMap {
public:
  /// The number of nodes.
  unsigned size() const { return ops.size(); }
  /// The op that names the layer (the generic of an upsample, the first
  /// named op of a reorg chain); null for inputs.
  mlir::Operation *op(unsigned node) const { return ops[node]; }
  /// Every other op the node stands for, in program order: a folded pad,
  /// the rest of a reorg chain, the collapse_shape of an upsample, the
  /// insert_slices of a concat. Constants and inits are not listed.
  llvm::ArrayRef<mlir::Operation *> foldedOps(unsigned node) const {
    return folded[node];
  }
  /// The value consumers read (a block argument for inputs).
  mlir::Value result(unsigned node) const { return results[node]; }
  /// The node whose result is `value`, if any.
  std::optional<unsigned> producerOf(mlir::Value value) const;

private:
  friend class LayerGraphBuilder;
  std::vector<mlir::Operation *> ops;
  std::vector<llvm::SmallVector<mlir::Operation *, 2>> folded;
  std::vector<mlir::Value> results;
  llvm::DenseMap<mlir::Value, unsigned> valueToNode;
};

/// A layer graph and its map to the IR.
struct IRLayerGraph {
  LayerGraph graph;
  LayerIRMap ir;
};

/// Recognises the layer graph of `func`. Emits an error at every op it
/// cannot place in the graph (unsupported op, non-elementwise generic,
/// dynamic shape, ...) and fails if there was any.
mlir::FailureOr<IRLayerGraph> buildLayerGraph(mlir::func::FuncOp func);

} // namespace mafat

#endif // MAFAT_ANALYSIS_LAYERGRAPH_H
