//===- LayerGraph.h - The layer graph of a model in canonical form -*- C++
//-*-===//
//
// The planner, the memory and latency models and the fuse-tile transform
// reason about layers, not about the dozen MLIR ops a layer is made of. The
// layer graph recognises layers in a func.func in mafat's canonical form
// (docs/CanonicalForm.md): one node per conv, depthwise conv, pool, matmul,
// elementwise generic, concat, reorg, upsample, reshape, transpose, slice or
// standalone pad, with
//   - the ops that only prepare its operands folded in: the `linalg.fill` /
//     `tensor.empty` accumulator, constants and anything computed from
//     constants alone (TOSA's broadcast bias, a transposed filter), and the
//     `tensor.pad` in front of a window op, which becomes the window's
//     padding;
//   - recognised multi-op idioms merged: Darknet's reorg and space-to-depth
//     written as transposes and reshapes, nearest upsampling written as a
//     rank-6 broadcast plus collapse_shape, tensor.insert_slice chains that
//     concatenate;
//   - edges = SSA use-def between nodes, graph inputs (function arguments)
//     as nodes of kind Input;
//   - per node: name, shapes, MACs/FLOPs, weight bytes and how it reads each
//     operand spatially (SpatialAccess), with the receptive-field algebra of
//     ReceptiveField.h behind LayerNode::operandRegion.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_ANALYSIS_LAYERGRAPH_H
#define MAFAT_ANALYSIS_LAYERGRAPH_H

#include "mafat/Geometry/ReceptiveField.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace mafat {

enum class LayerKind {
  Input,         ///< A function argument.
  Conv,          ///< linalg.conv_2d_nhwc_hwcf
  DepthwiseConv, ///< linalg.depthwise_conv_2d_nhwc_hwc
  MaxPool,       ///< linalg.pooling_nhwc_max
  SumPool,       ///< linalg.pooling_nhwc_sum
  Elementwise,   ///< all-parallel linalg.generic (bias, activation, add, ...)
  Matmul,        ///< linalg.matmul
  Concat,        ///< tensor.concat or a tensor.insert_slice chain
  Pad,           ///< a tensor.pad not folded into a window op
  Slice,         ///< tensor.extract_slice
  Reshape,       ///< tensor.collapse_shape / tensor.expand_shape
  Transpose,     ///< linalg.transpose
  Upsample,      ///< nearest upsampling (floordiv map, or broadcast+collapse)
  Reorg,         ///< Darknet reorg / space-to-depth (transposes + reshapes)
};

/// "input", "conv", "dwconv", "maxpool", "sumpool", "eltwise", "matmul",
/// "concat", "pad", "slice", "reshape", "transpose", "upsample", "reorg".
llvm::StringRef stringifyLayerKind(LayerKind kind);

/// How a node reads the spatial (H, W) dimensions of one operand, i.e. which
/// rule maps an output region to the operand region it needs.
enum class SpatialAccess {
  Pointwise,    ///< The same region (elementwise, channel concat).
  Window,       ///< LayerNode::window (conv, pool, pad).
  Upsample,     ///< LayerNode::factorRows/factorCols.
  SpaceToDepth, ///< Space-to-depth by LayerNode::reorgStride.
  DarknetReorg, ///< Darknet's reorg by LayerNode::reorgStride (a hull).
  Slice,        ///< Shifted by LayerNode::sliceOffsets.
  Whole,        ///< The whole operand whatever the region (matmul, reshape,
                ///< transpose, broadcast operands, non-channel concat).
};

/// "pointwise", "window", "upsample", "space-to-depth", "darknet-reorg",
/// "slice", "whole".
llvm::StringRef stringifySpatialAccess(SpatialAccess access);

/// The kind of layer `op` is by its type alone: the named convs, pools and
/// matmul; std::nullopt for every other op. Transforms that no longer see a
/// canonical function (mafat-tile-and-vectorize after fuse-tile) classify
/// ops with it.
std::optional<LayerKind> namedLayerKind(mlir::Operation *op);

/// One activation operand of a node: an edge from its producer.
struct LayerOperand {
  unsigned producer = 0; ///< Node id.
  SpatialAccess access = SpatialAccess::Whole;
  /// Shape as this node reads it: for a window op with a folded pad, the
  /// unpadded shape (the padding is in LayerNode::window).
  llvm::SmallVector<int64_t, 4> shape;
  /// The destination (DPS init) of a conv, pool, matmul, elementwise or
  /// upsample layer: the layer's result is written over it.
  bool init = false;
  /// An elementwise layer's input (not its init) read through the identity
  /// indexing map, element i for result element i: the only operands whose
  /// producer an epilogue fuses (CodegenRules.h).
  bool identityInput = false;
};

/// One layer.
struct LayerNode {
  unsigned id = 0;
  /// The NameLoc of the layer's op ("L3:conv", or an importer's name), made
  /// unique within the graph by a "#2", "#3", ... suffix on repeats. Unnamed
  /// ops get "<op name>#<id>". Inputs: the `mafat.input_names` entry or
  /// "input<i>".
  std::string name;
  LayerKind kind = LayerKind::Input;
  /// The op that names the layer (the generic of an upsample, the first
  /// named op of a reorg chain); null for inputs.
  mlir::Operation *op = nullptr;
  /// Every other op the node stands for, in program order: a folded pad,
  /// the rest of a reorg chain, the collapse_shape of an upsample, the
  /// insert_slices of a concat. Constants and inits are not listed.
  llvm::SmallVector<mlir::Operation *, 2> foldedOps;
  /// The value consumers read (a block argument for inputs).
  mlir::Value result;
  /// Activation operands (non-constant values), in operand order; an
  /// operand used twice appears twice.
  llvm::SmallVector<LayerOperand, 2> operands;
  /// Consumer node ids, each once, in increasing order.
  llvm::SmallVector<unsigned, 2> users;
  llvm::SmallVector<int64_t, 4> outputShape;
  int64_t outputBytes = 0;
  /// Multiply-accumulates of convs and matmuls (product of the loop ranges).
  int64_t macs = 0;
  /// 2 * macs for convs and matmuls; one per window element per output for
  /// pools; for elementwise generics and upsampling, one per output element
  /// per arith/math op in the body (constants, yield and index excluded).
  int64_t flops = 0;
  /// Bytes of the constant tensors the layer reads (filters, biases,
  /// folded batch-norm), each constant counted once per node.
  int64_t weightBytes = 0;
  /// Conv, depthwise conv, pools (padding from a folded tensor.pad) and
  /// spatial-only pads (kernel 1).
  std::optional<Window2D> window;
  int64_t factorRows = 1, factorCols = 1; ///< Upsample.
  int64_t reorgStride = 0;                ///< Reorg.
  /// Reorg recognised as a space-to-depth: its channel order.
  std::optional<SpaceToDepthOrder> spaceToDepthOrder;
  int64_t concatDim = -1;                     ///< Concat.
  llvm::SmallVector<int64_t, 4> sliceOffsets; ///< Slice (static offsets).

  /// The region of operand `i` (in its own coordinates, clipped to it) that
  /// computing region `out` of this node reads. Regions are over H x W of
  /// rank-4 NHWC values; a value of another rank is one 1x1 position.
  /// Exact for every access but DarknetReorg (the tightest box around a
  /// non-rectangular set) and Whole (everything).
  Region operandRegion(unsigned i, const Region &out) const;
};

/// H x W of a rank-4 NHWC shape as a region; [0, 0] x [0, 0] for other ranks.
Region spatialExtent(llvm::ArrayRef<int64_t> shape);

/// Limits on what mafat compiles (docs/Hardening.md). The targets are edge
/// boards with megabytes of RAM, and every byte and FLOP figure of the
/// analysis is an int64_t: below these caps no product or sum overflows.
/// Weights: x86-64's small code model reaches constants only within 2 GiB.
/// Any one tensor.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 31;
/// The sum of a function's constants (weights).
constexpr int64_t kMaxWeightBytes = int64_t(1) << 31;
/// The planned workspace (checked by mafat-compile).
constexpr int64_t kMaxWorkspaceBytes = int64_t(1) << 31;
/// Loop iterations (MACs of a conv) of one op: 2^48 is minutes per layer.
constexpr int64_t kMaxOpIterations = int64_t(1) << 48;

/// The one check of attribute values and sizes the analysis and codegen
/// rely on, run by mafat-normalize on every op and by LayerGraph::build:
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

class LayerGraph {
public:
  /// Recognises the layer graph of `func`. Emits an error at every op it
  /// cannot place in the graph (unsupported op, non-elementwise generic,
  /// dynamic shape, ...) and fails if there was any.
  static mlir::FailureOr<LayerGraph> build(mlir::func::FuncOp func);

  llvm::ArrayRef<LayerNode> nodes() const { return nodeList; }
  const LayerNode &node(unsigned id) const { return nodeList[id]; }
  unsigned size() const { return nodeList.size(); }
  /// Input node ids, in argument order.
  llvm::ArrayRef<unsigned> inputs() const { return inputIds; }
  /// Node id of each function result, in result order (a node may appear
  /// more than once).
  llvm::ArrayRef<unsigned> outputs() const { return outputIds; }
  /// `mafat.output_names` entries or "output<i>".
  llvm::ArrayRef<std::string> outputNames() const { return outputNameList; }
  llvm::StringRef functionName() const { return funcName; }

  /// Node by (unique) name.
  std::optional<unsigned> lookup(llvm::StringRef name) const;
  /// The node whose result is `value`, if any.
  std::optional<unsigned> producerOf(mlir::Value value) const;

  /// Kahn's algorithm, smallest id first among ready nodes. Node ids are
  /// already a topological order (program order of each node's result); this
  /// stays valid if a client reorders or adds nodes.
  std::vector<unsigned> topologicalOrder() const;

  int64_t totalFlops() const;
  int64_t totalMacs() const;
  /// Bytes of distinct constants over the whole graph (a constant shared by
  /// two layers counts once).
  int64_t totalWeightBytes() const;

  /// One line per node: id, name, kind, operand and output shapes, FLOPs,
  /// weight bytes, window/upsample/reorg/concat details, operands by name
  /// and access; then the outputs and the topological order.
  void print(llvm::raw_ostream &os) const;

private:
  friend class LayerGraphBuilder;
  std::string funcName;
  std::vector<LayerNode> nodeList;
  llvm::SmallVector<unsigned> inputIds;
  llvm::SmallVector<unsigned> outputIds;
  std::vector<std::string> outputNameList;
  llvm::DenseMap<mlir::Value, unsigned> valueToNode;
  llvm::StringMap<unsigned> nameToNode;
  /// Constant ops each node reads, for totalWeightBytes' de-duplication.
  std::vector<llvm::SmallVector<mlir::Operation *, 2>> nodeConstants;
};

} // namespace mafat

#endif // MAFAT_ANALYSIS_LAYERGRAPH_H
