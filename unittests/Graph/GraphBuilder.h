//===- GraphBuilder.h - Small layer graphs for unit tests, without IR -----===//
//
// The cost-model and search unit tests reason about small NHWC f32 models.
// They used to write them as canonical MLIR and recognise the graph; this
// builder appends the nodes buildLayerGraph (mafat/Analysis/LayerGraph.h)
// makes of the same canonical ops, so the tests link no MLIR. Each method
// says which ops it stands for; the figures (shapes, bytes, FLOPs, weights,
// access) are the builder's rules for those ops.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_UNITTESTS_GRAPH_GRAPHBUILDER_H
#define MAFAT_UNITTESTS_GRAPH_GRAPHBUILDER_H

#include "mafat/Graph/LayerGraph.h"

#include "llvm/ADT/STLExtras.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mafat::test {

/// A rank-4 1 x h x w x c f32 map and the node that produces it.
struct MapValue {
  unsigned node = 0;
  int64_t h = 0, w = 0, c = 0;
  llvm::SmallVector<int64_t, 4> shape() const { return {1, h, w, c}; }
  int64_t bytes() const { return h * w * c * 4; }
};

class GraphBuilder {
public:
  explicit GraphBuilder(std::string function = "m") {
    graph.setFunctionName(std::move(function));
  }

  /// A function argument, "input<i>".
  MapValue input(int64_t h, int64_t w, int64_t c) {
    LayerNode node;
    node.kind = LayerKind::Input;
    node.name = "input" + std::to_string(graph.inputs().size());
    return add(std::move(node), h, w, c);
  }

  /// linalg.conv_2d_nhwc_hwcf of a k x k x c x cout constant filter
  /// (stride s, dilation 1) over a tensor.pad of `pad` on each side (none
  /// for 0), into a linalg.fill of tensor.empty.
  MapValue conv(const std::string &name, const MapValue &x, int64_t k,
                int64_t cout, int64_t stride, int64_t pad) {
    int64_t oh = (x.h + 2 * pad - k) / stride + 1;
    int64_t ow = (x.w + 2 * pad - k) / stride + 1;
    LayerNode node;
    node.kind = LayerKind::Conv;
    node.name = name;
    node.window = window(k, stride, pad, x);
    node.operands.push_back(operand(x, SpatialAccess::Window));
    node.macs = oh * ow * cout * k * k * x.c;
    node.flops = 2 * node.macs;
    node.weightBytes = k * k * x.c * cout * 4;
    return add(std::move(node), oh, ow, cout);
  }

  /// linalg.pooling_nhwc_max, 2 x 2 window, stride 2, into a fill.
  MapValue maxpool(const std::string &name, const MapValue &x) {
    int64_t oh = x.h / 2, ow = x.w / 2;
    LayerNode node;
    node.kind = LayerKind::MaxPool;
    node.name = name;
    node.window = window(2, 2, 0, x);
    node.operands.push_back(operand(x, SpatialAccess::Window));
    node.flops = oh * ow * x.c * 4;
    return add(std::move(node), oh, ow, x.c);
  }

  /// linalg.pooling_nhwc_sum over the whole map (a global average pool's
  /// sum), into a fill: one output position.
  MapValue globalSumPool(const std::string &name, const MapValue &x) {
    LayerNode node;
    node.kind = LayerKind::SumPool;
    node.name = name;
    node.window = Window2D{Window1D{x.h, 1, 1, 0, 0, x.h},
                           Window1D{x.w, 1, 1, 0, 0, x.w}};
    node.operands.push_back(operand(x, SpatialAccess::Window));
    node.flops = x.h * x.w * x.c;
    return add(std::move(node), 1, 1, x.c);
  }

  /// An all-parallel linalg.generic reading `inputs` through the identity
  /// map into a tensor.empty, with `bodyOps` arith ops in its body and
  /// `weightBytes` of constant operands (a bias).
  MapValue eltwise(const std::string &name, const std::vector<MapValue> &inputs,
                   int64_t bodyOps, int64_t weightBytes = 0) {
    const MapValue &x = inputs.front();
    LayerNode node;
    node.kind = LayerKind::Elementwise;
    node.name = name;
    for (const MapValue &in : inputs) {
      node.operands.push_back(operand(in, SpatialAccess::Pointwise));
      node.operands.back().identityInput = true;
    }
    node.flops = x.h * x.w * x.c * bodyOps;
    node.weightBytes = weightBytes;
    return add(std::move(node), x.h, x.w, x.c);
  }

  /// A layout transpose (linalg.transpose) reading all of `x`; the shape
  /// stays (the model prices its bytes only).
  MapValue transpose(const std::string &name, const MapValue &x) {
    LayerNode node;
    node.kind = LayerKind::Transpose;
    node.name = name;
    node.operands.push_back(operand(x, SpatialAccess::Whole));
    return add(std::move(node), x.h, x.w, x.c);
  }

  /// A function argument in NCHW layout ("input<i>", 1 x c x h x w), as an
  /// ONNX model's: what toNhwc reads channels first.
  MapValue inputNchw(int64_t c, int64_t h, int64_t w) {
    LayerNode node;
    node.kind = LayerKind::Input;
    node.name = "input" + std::to_string(graph.inputs().size());
    MapValue v{graph.size(), h, w, c};
    node.outputShape = {1, c, h, w};
    node.outputBytes = v.bytes();
    graph.addNode(std::move(node));
    return v;
  }

  /// The layout transpose of an NCHW map `x` (inputNchw) to NHWC: a
  /// linalg.transpose with permutation [0, 2, 3, 1], which reads the rows
  /// and columns it writes.
  MapValue toNhwc(const std::string &name, const MapValue &x) {
    LayerNode node;
    node.kind = LayerKind::Transpose;
    node.name = name;
    LayerOperand o = operand(x, SpatialAccess::ChannelsFirst);
    o.shape = {1, x.c, x.h, x.w};
    node.operands.push_back(std::move(o));
    return add(std::move(node), x.h, x.w, x.c);
  }

  /// Nearest upsampling by `f` on rows and columns: a linalg.generic reading
  /// `x` through (d0, d1 floordiv f, d2 floordiv f, d3) into a tensor.empty.
  MapValue upsample(const std::string &name, const MapValue &x, int64_t f) {
    LayerNode node;
    node.kind = LayerKind::Upsample;
    node.name = name;
    node.factorRows = node.factorCols = f;
    node.operands.push_back(operand(x, SpatialAccess::Upsample));
    return add(std::move(node), x.h * f, x.w * f, x.c);
  }

  /// tensor.concat along channels.
  MapValue concat(const std::string &name, const std::vector<MapValue> &in) {
    LayerNode node;
    node.kind = LayerKind::Concat;
    node.name = name;
    node.concatDim = 3;
    int64_t c = 0;
    for (const MapValue &v : in) {
      node.operands.push_back(operand(v, SpatialAccess::Pointwise));
      c += v.c;
    }
    return add(std::move(node), in.front().h, in.front().w, c);
  }

  /// The graph returning `results` ("output<i>"). Every constant is read by
  /// one layer, so the total weight is the nodes' sum.
  LayerGraph finish(const std::vector<MapValue> &results) {
    for (auto [i, r] : llvm::enumerate(results))
      graph.addOutput(r.node, "output" + std::to_string(i));
    int64_t weights = 0;
    for (const LayerNode &node : graph.nodes())
      weights += node.weightBytes;
    graph.setTotalWeightBytes(weights);
    graph.finalize();
    return std::move(graph);
  }

private:
  static Window2D window(int64_t k, int64_t stride, int64_t pad,
                         const MapValue &x) {
    return Window2D{Window1D{k, stride, 1, pad, pad, x.h},
                    Window1D{k, stride, 1, pad, pad, x.w}};
  }
  static LayerOperand operand(const MapValue &x, SpatialAccess access) {
    LayerOperand o;
    o.producer = x.node;
    o.access = access;
    o.shape = x.shape();
    return o;
  }
  MapValue add(LayerNode node, int64_t h, int64_t w, int64_t c) {
    MapValue v{graph.size(), h, w, c};
    node.outputShape = v.shape();
    node.outputBytes = v.bytes();
    graph.addNode(std::move(node));
    return v;
  }

  LayerGraph graph;
};

} // namespace mafat::test

#endif // MAFAT_UNITTESTS_GRAPH_GRAPHBUILDER_H
