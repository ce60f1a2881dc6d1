//===- LayerGraph.h - The layer graph of a model, as data -------*- C++ -*-===//
//
// The planner, the memory and latency models and the fuse-tile transform
// reason about layers, not about the dozen MLIR ops a layer is made of. The
// layer graph is one node per conv, depthwise conv, pool, matmul, elementwise
// op, concat, reorg, upsample, reshape, transpose, slice or standalone pad,
// edges from each activation operand to its producer, graph inputs as nodes
// of kind Input, and per node: name, shapes, MACs/FLOPs, weight bytes and how
// it reads each operand spatially (SpatialAccess), with the receptive-field
// algebra of ReceptiveField.h behind LayerNode::operandRegion.
//
// This header is the graph as data: it knows nothing of MLIR, so the cost
// models, the fusion-group geometry and the plan search (and their unit
// tests) need no compiler. Where a graph comes from is someone else's
// concern: mafat/Analysis/LayerGraph.h recognises it in a func.func in
// canonical form (docs/CanonicalForm.md) and keeps the map from nodes to
// ops beside it; LayerGraphJson.h reads and writes it as JSON.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_GRAPH_LAYERGRAPH_H
#define MAFAT_GRAPH_LAYERGRAPH_H

#include "mafat/Geometry/ReceptiveField.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
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
  Pointwise,     ///< The same region (elementwise, channel concat).
  Window,        ///< LayerNode::window (conv, pool, pad).
  Upsample,      ///< LayerNode::factorRows/factorCols.
  SpaceToDepth,  ///< Space-to-depth by LayerNode::reorgStride.
  DarknetReorg,  ///< Darknet's reorg by LayerNode::reorgStride (a hull).
  Slice,         ///< Shifted by LayerNode::sliceOffsets.
  ChannelsFirst, ///< The same region of an NCHW operand: the layout
                 ///< transpose of an NCHW map (an ONNX model's input) to
                 ///< NHWC.
  Whole,         ///< The whole operand whatever the region (matmul, reshape,
                 ///< other transposes, broadcast operands, non-channel
                 ///< concat).
};

/// "pointwise", "window", "upsample", "space-to-depth", "darknet-reorg",
/// "slice", "channels-first", "whole".
llvm::StringRef stringifySpatialAccess(SpatialAccess access);

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
  /// Unique within the graph. Built from IR: the NameLoc of the layer's op
  /// ("L3:conv", or an importer's name) with a "#2", "#3", ... suffix on
  /// repeats, "<op name>#<id>" for unnamed ops; inputs are the
  /// `mafat.input_names` entry or "input<i>".
  std::string name;
  LayerKind kind = LayerKind::Input;
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

/// How a reorg node moves channels: "darknet" (no spaceToDepthOrder),
/// "space-to-depth" (BlockMajor) or "space-to-depth-channel-major".
llvm::StringRef stringifyReorgMode(const LayerNode &node);

/// H x W of a rank-4 NHWC shape as a region; [0, 0] x [0, 0] for other ranks.
Region spatialExtent(llvm::ArrayRef<int64_t> shape);

/// The rows and columns of an operand as its reader sees them: the extent of
/// an NHWC map, or of an NCHW one read channels first.
Region operandExtent(const LayerOperand &operand);

/// "1x13x13x64" ("()" for a scalar): how the printed graph and the
/// diagnostics write a shape.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

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

/// A layer graph. Built by appending nodes in a topological order (each
/// node's operands already added), then finalize().
class LayerGraph {
public:
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

  /// Kahn's algorithm, smallest id first among ready nodes. Node ids are
  /// already a topological order (program order of each node's result); this
  /// stays valid if a client reorders or adds nodes.
  std::vector<unsigned> topologicalOrder() const;

  int64_t totalFlops() const;
  int64_t totalMacs() const;
  /// Bytes of distinct constants over the whole graph (a constant shared by
  /// two layers counts once, unlike the sum of the nodes' weightBytes). The
  /// builder knows which constants are shared and sets it.
  int64_t totalWeightBytes() const { return weightTotal; }

  /// One line per node: id, name, kind, operand and output shapes, FLOPs,
  /// weight bytes, window/upsample/reorg/concat details, operands by name
  /// and access; then the outputs and the topological order.
  void print(llvm::raw_ostream &os) const;

  //===--- Building -------------------------------------------------------===//

  void setFunctionName(std::string name) { funcName = std::move(name); }
  /// Appends `node` as node size() (its id is set here); input nodes are
  /// also appended to inputs(). Names should be unique (lookup finds the
  /// last node of a name); operands' producers must already be added; `users`
  /// is left to finalize(). The reference stays valid until the next addNode.
  LayerNode &addNode(LayerNode node);
  /// The node being filled in by a builder.
  LayerNode &mutableNode(unsigned id) { return nodeList[id]; }
  void addOutput(unsigned id, std::string name);
  void setTotalWeightBytes(int64_t bytes) { weightTotal = bytes; }
  /// Derives every node's `users` from the operands.
  void finalize();

private:
  std::string funcName;
  std::vector<LayerNode> nodeList;
  llvm::SmallVector<unsigned> inputIds;
  llvm::SmallVector<unsigned> outputIds;
  std::vector<std::string> outputNameList;
  llvm::StringMap<unsigned> nameToNode;
  int64_t weightTotal = 0;
};

} // namespace mafat

#endif // MAFAT_GRAPH_LAYERGRAPH_H
