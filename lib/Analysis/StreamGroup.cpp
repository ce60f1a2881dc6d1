//===- StreamGroup.cpp - Stripes and rolling buffers of a stream group ----===//
//
// Rows are projected backwards stripe by stripe, like FusionGroup does for
// tiles, but each layer computes only the rows past the last one it computed
// before (H_l), so nothing is recomputed. A rolling buffer is checked to get
// exactly those rows: every real row of the consumer's window is either kept
// from the previous stripe or new in this one.
//
//===----------------------------------------------------------------------===//

#include "mafat/Analysis/StreamGroup.h"

#include <algorithm>

using namespace mafat;

namespace {

bool isStreamableKind(LayerKind kind) {
  switch (kind) {
  case LayerKind::Conv:
  case LayerKind::DepthwiseConv:
  case LayerKind::MaxPool:
  case LayerKind::SumPool:
  case LayerKind::Elementwise:
    return true;
  default:
    return false;
  }
}

/// The rows operand `i` of `node` needs for output rows `out`, clipped, and
/// the padding around them.
WindowInput rowsRead(const LayerNode &node, unsigned i, Interval out) {
  WindowInput in;
  if (node.operands[i].access == SpatialAccess::Window) {
    in = windowInput(node.window->rows, out);
    return in;
  }
  in.full = in.clipped = in.read = out;
  return in;
}

} // namespace

std::optional<StreamGroup> StreamGroup::build(const LayerGraph &graph,
                                              const FusionGroup &group,
                                              std::string &error) {
  auto fail = [&](const std::string &msg) -> std::optional<StreamGroup> {
    error = "group '" + group.name().str() + "': " + msg;
    return std::nullopt;
  };
  llvm::ArrayRef<FusedLayer> layers = group.layers();
  unsigned n = layers.size();
  StreamGroup sg;
  sg.fusion = &group;
  sg.writes.assign(n, -1);
  sg.reads.assign(n, -1);

  // Chains of supported kinds; the one in-group reader of every layer.
  std::vector<int> consumer(n, -1), consumerOperand(n, -1);
  for (unsigned l = 0; l < n; ++l) {
    const LayerNode &node = graph.node(layers[l].node);
    if (!isStreamableKind(node.kind))
      return fail("layer '" + node.name + "' (" +
                  stringifyLayerKind(node.kind).str() +
                  ") is not supported by the stream transform yet; give it "
                  "a recompute group or its own group");
    if (node.kind != LayerKind::Elementwise &&
        (!node.window || node.operands.empty() ||
         node.operands[0].access != SpatialAccess::Window))
      return fail("layer '" + node.name +
                  "' has no window the stream transform can follow");
    for (auto [i, p] : llvm::enumerate(layers[l].operandLayer)) {
      if (p < 0)
        continue;
      const LayerNode &producer = graph.node(layers[p].node);
      if (consumer[p] >= 0)
        return fail("layer '" + producer.name + "' is read by '" +
                    graph.node(layers[consumer[p]].node).name + "' and '" +
                    node.name +
                    "'; a stream group is a chain (residual adds and concats "
                    "inside a stream group are not supported yet)");
      if (node.operands[i].access == SpatialAccess::Window && i != 0)
        return fail("layer '" + node.name +
                    "' reads a layer of the group through a window as "
                    "operand " +
                    std::to_string(i));
      consumer[p] = l;
      consumerOperand[p] = i;
    }
  }

  // Rolling buffers: a layer whose reader takes it through a window.
  const TileAxis &cols = group.cols();
  for (unsigned l = 0; l + 1 < n; ++l) {
    int c = consumer[l];
    const LayerNode &reader = graph.node(layers[c].node);
    if (reader.operands[consumerOperand[l]].access != SpatialAccess::Window)
      continue;
    RollingBuffer buffer;
    buffer.producer = l;
    buffer.consumer = c;
    buffer.colPadLow = cols.padLow[0][c];
    buffer.colPadHigh = cols.padHigh[0][c];
    buffer.rowPadLow = reader.window->rows.padLow;
    Interval colRead = cols.read[0][c][0];
    if (colRead != cols.span[0][l])
      return fail("layer '" + graph.node(layers[l].node).name +
                  "' computes columns " + cols.span[0][l].str() + " but '" +
                  reader.name + "' reads " + colRead.str());
    buffer.cols = buffer.colPadLow + colRead.size() + buffer.colPadHigh;
    buffer.channels = graph.node(layers[l].node).outputShape[3];
    sg.writes[l] = sg.bufferList.size();
    sg.reads[c] = sg.bufferList.size();
    sg.bufferList.push_back(buffer);
  }

  const TileAxis &rows = group.rows();
  std::vector<int64_t> computedTo(n, -1); // H_l: last row computed so far.
  std::vector<Interval> lastWindow(sg.bufferList.size());
  for (unsigned t = 0; t < rows.size(); ++t) {
    Stripe stripe;
    stripe.rows.assign(n, Interval());
    stripe.rows[n - 1] = rows.tiles[t];
    for (int l = (int)n - 2; l >= 0; --l) {
      int c = consumer[l];
      Interval need;
      if (!stripe.rows[c].isEmpty())
        need = rowsRead(graph.node(layers[c].node), consumerOperand[l],
                        stripe.rows[c])
                   .clipped;
      Interval fresh = need.intersect(
          Interval(computedTo[l] + 1, std::numeric_limits<int64_t>::max()));
      // A pointwise reader needs exactly the rows it computes, all new.
      if (sg.writes[l] < 0 && fresh != need)
        return fail("internal error: layer '" +
                    graph.node(layers[l].node).name + "' would recompute rows");
      stripe.rows[l] = fresh;
    }
    for (unsigned l = 0; l < n; ++l) {
      const LayerNode &node = graph.node(layers[l].node);
      stripe.externalRead.emplace_back();
      stripe.externalPadLow.emplace_back();
      stripe.externalPadHigh.emplace_back();
      for (auto [i, p] : llvm::enumerate(layers[l].operandLayer)) {
        WindowInput in;
        if (p < 0 && !stripe.rows[l].isEmpty())
          in = rowsRead(node, i, stripe.rows[l]);
        stripe.externalRead[l].push_back(p < 0 ? in.clipped : Interval());
        stripe.externalPadLow[l].push_back(p < 0 ? in.padLow : 0);
        stripe.externalPadHigh[l].push_back(p < 0 ? in.padHigh : 0);
      }
    }
    // Rolling buffers: what is kept, what enters.
    for (auto [b, buffer] : llvm::enumerate(sg.bufferList)) {
      BufferStep step;
      Interval out = stripe.rows[buffer.consumer];
      const LayerNode &reader = graph.node(layers[buffer.consumer].node);
      const LayerNode &producer = graph.node(layers[buffer.producer].node);
      int64_t height = producer.outputShape[1];
      int64_t padLow = buffer.rowPadLow;
      Interval fresh = stripe.rows[buffer.producer];
      if (!out.isEmpty()) {
        step.window = windowInput(reader.window->rows, out).full.shift(padLow);
        Interval prev = lastWindow[b];
        Interval entering = step.window;
        if (!prev.isEmpty()) {
          if (step.window.lo < prev.lo)
            return fail("internal error: the window of '" + reader.name +
                        "' moves up");
          step.keep = std::max<int64_t>(0, prev.hi - step.window.lo + 1);
          step.keepFrom = step.keep > 0 ? step.window.lo - prev.lo : 0;
          entering = step.window.intersect(
              Interval(prev.hi + 1, std::numeric_limits<int64_t>::max()));
        }
        Interval real =
            entering.intersect(Interval(padLow, padLow + height - 1));
        if (real.shift(-padLow) != fresh)
          return fail("internal error: layer '" + producer.name +
                      "' computes rows " + fresh.str() + " but rows " +
                      real.shift(-padLow).str() + " enter the window of '" +
                      reader.name + "'");
        if (!fresh.isEmpty())
          step.newAt = fresh.lo + padLow - step.window.lo;
        if (!prev.isEmpty()) {
          if (!entering.isEmpty() && entering.lo < padLow)
            return fail("layer '" + reader.name +
                        "': rows of top padding enter its window after the "
                        "first stripe; use taller stripes");
          Interval bottom = entering.intersect(
              Interval(padLow + height, std::numeric_limits<int64_t>::max()));
          if (!bottom.isEmpty()) {
            step.padAt = bottom.lo - step.window.lo;
            step.padRows = bottom.size();
          }
        }
        lastWindow[b] = step.window;
        sg.bufferList[b].rows =
            std::max(sg.bufferList[b].rows, step.window.size());
      } else if (!fresh.isEmpty()) {
        return fail("internal error: layer '" + producer.name +
                    "' computes rows no window reads");
      }
      stripe.buffers.push_back(step);
    }
    for (unsigned l = 0; l < n; ++l)
      if (!stripe.rows[l].isEmpty())
        computedTo[l] = stripe.rows[l].hi;
    sg.stripeList.push_back(std::move(stripe));
  }

  // A buffer that never keeps a row and never holds padding (a 2x2 pool of
  // stride 2) only ever holds the producer's rows of the stripe: the
  // consumer reads the producer's fresh tile instead, which lives in the
  // stripe body's arena rather than across the whole loop.
  std::vector<int> renumber(sg.bufferList.size(), -1);
  std::vector<RollingBuffer> kept;
  for (auto [b, buffer] : llvm::enumerate(sg.bufferList)) {
    bool needed = buffer.colPadLow || buffer.colPadHigh || buffer.rowPadLow;
    for (const Stripe &stripe : sg.stripeList) {
      const BufferStep &step = stripe.buffers[b];
      needed |= step.keep > 0 || step.padRows > 0 ||
                step.window.size() != stripe.rows[buffer.producer].size();
    }
    if (!needed) {
      sg.writes[buffer.producer] = sg.reads[buffer.consumer] = -1;
      continue;
    }
    renumber[b] = kept.size();
    sg.writes[buffer.producer] = sg.reads[buffer.consumer] = kept.size();
    kept.push_back(buffer);
  }
  for (Stripe &stripe : sg.stripeList) {
    std::vector<BufferStep> steps;
    for (auto [b, step] : llvm::enumerate(stripe.buffers))
      if (renumber[b] >= 0)
        steps.push_back(step);
    stripe.buffers = std::move(steps);
  }
  sg.bufferList = std::move(kept);
  return sg;
}

std::vector<StripeRun> StreamGroup::runs() const {
  // Static facts of a stripe, and its absolute offsets.
  auto shape = [&](const Stripe &s) {
    std::vector<int64_t> key;
    for (Interval r : s.rows)
      key.push_back(r.size());
    for (unsigned l = 0; l < s.externalRead.size(); ++l)
      for (unsigned i = 0; i < s.externalRead[l].size(); ++i) {
        key.push_back(s.externalRead[l][i].size());
        key.push_back(s.externalPadLow[l][i]);
        key.push_back(s.externalPadHigh[l][i]);
      }
    for (const BufferStep &b : s.buffers) {
      key.push_back(b.window.size());
      key.push_back(b.keep);
      key.push_back(b.keepFrom);
      key.push_back(b.padAt);
      key.push_back(b.padRows);
      key.push_back(b.newAt);
    }
    return key;
  };
  auto offsets = [&](const Stripe &s) {
    std::vector<int64_t> key;
    for (Interval r : s.rows)
      key.push_back(r.isEmpty() ? 0 : r.lo);
    for (const auto &reads : s.externalRead)
      for (Interval r : reads)
        key.push_back(r.isEmpty() ? 0 : r.lo);
    return key;
  };
  std::vector<StripeRun> result;
  unsigned t = 0, n = stripeList.size();
  while (t < n) {
    StripeRun run{t, 1};
    std::vector<int64_t> key = shape(stripeList[t]);
    std::vector<int64_t> base = offsets(stripeList[t]), step;
    while (t + run.count < n) {
      const Stripe &next = stripeList[t + run.count];
      if (shape(next) != key)
        break;
      std::vector<int64_t> at = offsets(next);
      std::vector<int64_t> delta(at.size());
      for (size_t k = 0; k < at.size(); ++k)
        delta[k] = at[k] - base[k];
      // The k-th stripe of the run is at base + k * step.
      if (run.count == 1)
        step = delta;
      else {
        bool arithmetic = true;
        for (size_t k = 0; k < at.size(); ++k)
          arithmetic &= delta[k] == step[k] * (int64_t)run.count;
        if (!arithmetic)
          break;
      }
      ++run.count;
    }
    result.push_back(run);
    t += run.count;
  }
  return result;
}

std::string mafat::checkStreamable(const LayerGraph &graph,
                                   const FusionGroup &group) {
  std::string error;
  if (StreamGroup::build(graph, group, error))
    return "";
  // FusionGroup::build names the group itself.
  std::string prefix = "group '" + group.name().str() + "': ";
  if (llvm::StringRef(error).starts_with(prefix))
    return error.substr(prefix.size());
  return error;
}
