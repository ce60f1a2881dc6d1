//===- StreamGroup.cpp - Stripes and rolling buffers of a stream group ----===//
//
// The pipeline is simulated step by step (see the header); done[l] is the
// last row layer l has computed. Every rolling buffer is checked to get
// exactly the producer's new rows: every real row entering the reader's
// window is the producer's, written in the same step, and every other row
// of the window was kept or is padding.
//
//===----------------------------------------------------------------------===//

#include "mafat/Graph/StreamGroup.h"

#include <algorithm>
#include <functional>

using namespace mafat;

namespace {

bool isStreamableKind(LayerKind kind) {
  switch (kind) {
  case LayerKind::Conv:
  case LayerKind::DepthwiseConv:
  case LayerKind::MaxPool:
  case LayerKind::SumPool:
  case LayerKind::Elementwise:
  case LayerKind::Concat:
  case LayerKind::Upsample:
  case LayerKind::Transpose:
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
  if (node.operands[i].access == SpatialAccess::Upsample) {
    in.full = in.clipped = in.read = upsampleInput(node.factorRows, out);
    return in;
  }
  in.full = in.clipped = in.read = out;
  return in;
}

/// Appends to `s` what layer `l` (`node`, `layer`) reads of each operand
/// from outside the group for its rows in `s`: the clipped rows and the
/// padding around them; empty for in-group operands and when it does not
/// run. And an upsampling layer's row phase. Steps and the pieces of
/// chunked segments record them alike.
void appendExternalReads(const LayerNode &node, const FusedLayer &layer,
                         unsigned l, Stripe &s) {
  s.externalRead.emplace_back();
  s.externalPadLow.emplace_back();
  s.externalPadHigh.emplace_back();
  for (auto [i, p] : llvm::enumerate(layer.operandLayer)) {
    WindowInput in;
    if (p < 0 && !s.rows[l].isEmpty())
      in = rowsRead(node, i, s.rows[l]);
    s.externalRead[l].push_back(p < 0 ? in.clipped : Interval());
    s.externalPadLow[l].push_back(p < 0 ? in.padLow : 0);
    s.externalPadHigh[l].push_back(p < 0 ? in.padHigh : 0);
  }
  s.phase.push_back(node.kind == LayerKind::Upsample
                        ? upsamplePhase(node.factorRows, s.rows[l])
                        : 0);
}

} // namespace

bool mafat::readsThroughWindow(const LayerNode &node, unsigned i) {
  if (node.operands[i].access != SpatialAccess::Window)
    return false;
  auto trivial = [](const Window1D &w) {
    return w.extent() == 1 && w.stride == 1 && w.padLow == 0 && w.padHigh == 0;
  };
  return !trivial(node.window->rows) || !trivial(node.window->cols);
}

bool mafat::isGlobalReduction(const LayerNode &node) {
  if ((node.kind != LayerKind::SumPool && node.kind != LayerKind::MaxPool) ||
      !node.window || node.operands.empty() ||
      node.operands[0].access != SpatialAccess::Window ||
      node.operands[0].shape.size() != 4 || node.outputShape.size() != 4)
    return false;
  auto whole = [](const Window1D &w, int64_t size) {
    return w.dilation == 1 && w.padLow == 0 && w.padHigh == 0 &&
           w.kernel == size;
  };
  return node.outputShape[1] == 1 && node.outputShape[2] == 1 &&
         whole(node.window->rows, node.operands[0].shape[1]) &&
         whole(node.window->cols, node.operands[0].shape[2]);
}

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
  sg.reads.resize(n);
  sg.readers.resize(n);
  auto name = [&](unsigned l) { return graph.node(layers[l].node).name; };

  // Supported kinds; the in-group readers of every layer.
  for (unsigned l = 0; l < n; ++l) {
    const LayerNode &node = graph.node(layers[l].node);
    sg.reads[l].assign(layers[l].operandLayer.size(), {-1, 0});
    if (!isStreamableKind(node.kind) || !isFusableLayer(node))
      return fail("layer '" + node.name + "' (" +
                  stringifyLayerKind(node.kind).str() +
                  ") is not supported by the stream transform yet; give it "
                  "a recompute group or its own group");
    // Upsampling reads a map from outside the group (an in-group producer
    // would step at a fraction of its reader's rate).
    if (node.kind == LayerKind::Upsample && layers[l].operandLayer[0] >= 0)
      return fail("layer '" + node.name + "' upsamples '" +
                  graph.node(node.operands[0].producer).name +
                  "', a layer of the group; a stream group upsamples maps "
                  "from outside it, so start the group at the upsampling");
    if (node.kind != LayerKind::Elementwise && node.kind != LayerKind::Concat &&
        node.kind != LayerKind::Upsample && !isLayoutTranspose(node) &&
        (!node.window || node.operands.empty() ||
         node.operands[0].access != SpatialAccess::Window))
      return fail("layer '" + node.name +
                  "' has no window the stream transform can follow");
    for (auto [i, p] : llvm::enumerate(layers[l].operandLayer)) {
      if (p < 0)
        continue;
      if (node.operands[i].access == SpatialAccess::Window && i != 0)
        return fail("layer '" + node.name +
                    "' reads a layer of the group through a window as "
                    "operand " +
                    std::to_string(i));
      sg.readers[p].push_back({l, (unsigned)i});
    }
  }
  for (unsigned l = 0; l + 1 < n; ++l)
    if (sg.readers[l].empty())
      return fail("layer '" + name(l) + "' has no reader in the group");

  // A global reduction at the end accumulates its producer's fresh rows
  // step by step: to the pipeline it is a pointwise reader whose rows are
  // its input rows, in stripes of the plan's stripe_rows.
  const LayerNode &outNode = graph.node(layers[n - 1].node);
  std::vector<Interval> stripes = group.rows().tiles;
  if (isGlobalReduction(outNode)) {
    int64_t reduced = reducedRows(outNode);
    int64_t s = group.plan().stripeRows;
    if (layers[n - 1].operandLayer[0] < 0)
      return fail("layer '" + outNode.name +
                  "' reduces a map from outside the group; a stream group "
                  "accumulates a reduction of one of its own layers");
    if (group.cols().size() > 1)
      return fail("layer '" + outNode.name +
                  "' reduces all rows and columns; column tiles (hybrid) "
                  "are not supported with a global reduction, stream it in "
                  "full-width stripes");
    if (s >= reduced)
      return fail("stripe_rows " + std::to_string(s) +
                  " leaves nothing to stream: '" + outNode.name + "' reduces " +
                  std::to_string(reduced) + " rows");
    sg.reductionLayer = n - 1;
    stripes = stripeSplit(reduced, s);
  } else if (outNode.outputShape.size() == 4 && outNode.outputShape[1] == 1 &&
             group.rows().size() == 1) {
    return fail("layer '" + outNode.name +
                "' has one output row and is not a global sum or max pool "
                "(a window over every row and column, no padding); only "
                "such a reduction streams in stripes of its input");
  }
  // How operand r.second of layer r.first reads its producer's rows: the
  // reduction reads them like a pointwise layer, as they come.
  auto isWindow = [&](std::pair<unsigned, unsigned> r) {
    return (int)r.first != sg.reductionLayer &&
           readsThroughWindow(graph.node(layers[r.first].node), r.second);
  };

  // Rows per step in the steady state: the output's stripe, times the
  // strides of the windows below each layer. Every reader of a layer must
  // ask for the same rate (the operands of an add have one resolution).
  std::vector<int64_t> rate(n, group.plan().stripeRows);
  for (int l = (int)n - 2; l >= 0; --l)
    for (auto [k, r] : llvm::enumerate(sg.readers[l])) {
      int64_t stride =
          isWindow(r) ? graph.node(layers[r.first].node).window->rows.stride
                      : 1;
      int64_t want = rate[r.first] * stride;
      if (k > 0 && want != rate[l])
        return fail("layer '" + name(l) + "' is read by '" +
                    name(sg.readers[l][0].first) + "' and '" + name(r.first) +
                    "' at different row rates");
      rate[l] = want;
    }
  // Where each layer should stop in a step: at a row that ends a window of
  // its reader (d = o * stride - padLow + extent - 1 for some output o).
  // Stopping elsewhere leaves rows the reader cannot use yet, which then
  // need a rolling buffer: a 2x2 pool of stride 2 reading a 3x3 conv that
  // lags its producer by one row keeps one row per step, and on YOLOv2-608
  // layers 0-15 those full-width buffers were 1.04 MiB of 3.72. An
  // elementwise reader computes the same rows as the layer, so the layer
  // inherits the reader's alignment; of several readers, the coarsest
  // alignment wins (it only saves buffer rows, correctness never depends on
  // it). rate[l] is a multiple of alignMod[l], so an aligned layer stays
  // aligned.
  std::vector<int64_t> alignMod(n, 1), alignRes(n, 0);
  for (int l = (int)n - 2; l >= 0; --l)
    for (auto r : sg.readers[l]) {
      unsigned c = r.first;
      int64_t mod = alignMod[c], res = alignRes[c];
      if (isWindow(r)) {
        const Window1D &w = graph.node(layers[c].node).window->rows;
        mod = w.stride;
        res = w.extent() - 1 - w.padLow -
              floorDiv(w.extent() - 1 - w.padLow, w.stride) * w.stride;
      }
      if (mod > alignMod[l]) {
        alignMod[l] = mod;
        alignRes[l] = res;
      }
    }
  std::vector<int64_t> extent(n);
  for (unsigned l = 0; l < n; ++l)
    extent[l] = graph.node(layers[l].node).outputShape[1];
  // The reduction's rows are its input's.
  if (sg.reductionLayer >= 0)
    extent[n - 1] = reducedRows(outNode);
  // The highest row of layer l computable once every in-group producer p
  // has computed up to done[p].
  auto available = [&](unsigned l, const std::vector<int64_t> &done) {
    const LayerNode &node = graph.node(layers[l].node);
    int64_t avail = extent[l] - 1;
    for (auto [i, p] : llvm::enumerate(layers[l].operandLayer)) {
      if (p < 0)
        continue;
      if (!isWindow({l, (unsigned)i})) {
        avail = std::min(avail, done[p]);
        continue;
      }
      if (done[p] >= extent[p] - 1)
        continue; // The producer is complete: its bottom padding is known.
      const Window1D &w = node.window->rows;
      // Output o reads unpadded rows up to o * s - padLow + extent - 1.
      avail = std::min(avail,
                       floorDiv(done[p] + w.padLow - w.extent() + 1, w.stride));
    }
    return avail;
  };

  // The pipeline: in every step each layer computes, in order, the rows its
  // producers have made available, at most its steady-state rate; the output
  // layer waits for a whole stripe of the plan. The first steps fill the
  // pipeline (the output computes nothing), so no layer ever computes more
  // than its rate per step and the rolling buffers hold a few rows each.
  std::vector<int64_t> done(n, -1);
  // A layer every reader of which reads it pointwise (a conv's epilogue,
  // a 1x1 conv, an add, a concat) is *pulled*: in each step it computes
  // exactly the rows its readers take in that step, never ahead. So the
  // output layer and the layers it reads pointwise compute whole stripes
  // of the plan, in the same step, and a pointwise reader takes its
  // producer's fresh rows of the step. (Computing at their rate instead, a
  // producer could spread a short last stripe over two steps: YOLOv2-608
  // L8-L15 in stripes of 8 rows gave L15:leaky a 1-row tile of L15:conv for
  // a 6-row stripe; and the 1x1 conv of a fire module would run a row ahead
  // of the 3x3 conv beside it, both feeding one concat, and need a buffer
  // of its own.) A pointwise reader that lags its producer anyway (the add
  // of a residual block, behind its input by the block's halo) reads it
  // from a rolling buffer below. The other layers compute, in order, the
  // rows their producers make available (a pulled producer counts as far
  // as its own producers allow), at most their steady-state rate.
  std::vector<bool> pulled(n, false);
  for (unsigned l = 0; l + 1 < n; ++l)
    pulled[l] = llvm::none_of(sg.readers[l], isWindow);
  unsigned nextStripe = 0;
  int64_t maxSteps = 4;
  for (int64_t e : extent)
    maxSteps += 2 * e;
  while (done[n - 1] < extent[n - 1] - 1) {
    if ((int64_t)sg.stripeList.size() > maxSteps)
      return fail("internal error: the stream pipeline does not advance");
    Stripe stripe;
    stripe.rows.assign(n, Interval());
    // What each layer has computed, or for a pulled one could compute.
    std::vector<int64_t> reach = done;
    for (unsigned l = 0; l + 1 < n; ++l) {
      if (pulled[l]) {
        reach[l] = std::max(done[l], available(l, reach));
        continue;
      }
      int64_t hi = std::min(done[l] + rate[l], available(l, reach));
      // The last row is the reader's whatever its alignment (its bottom
      // padding follows).
      if (hi < extent[l] - 1)
        hi -= hi - alignRes[l] -
              floorDiv(hi - alignRes[l], alignMod[l]) * alignMod[l];
      stripe.rows[l] = Interval(done[l] + 1, hi);
      if (!stripe.rows[l].isEmpty())
        done[l] = reach[l] = hi;
    }
    if (nextStripe < stripes.size() &&
        available(n - 1, reach) >= stripes[nextStripe].hi) {
      stripe.rows[n - 1] = stripes[nextStripe++];
      done[n - 1] = stripe.rows[n - 1].hi;
    }
    // The pulled layers, readers first: the rows their readers take.
    for (int l = (int)n - 2; l >= 0; --l) {
      if (!pulled[l])
        continue;
      int64_t need = done[l];
      for (auto r : sg.readers[l])
        if (!stripe.rows[r.first].isEmpty())
          need = std::max(need, stripe.rows[r.first].hi);
      if (need > reach[l])
        return fail("internal error: '" + name(l) + "' is pulled past row " +
                    std::to_string(reach[l]));
      stripe.rows[l] = Interval(done[l] + 1, need);
      done[l] = need;
    }
    for (unsigned l = 0; l < n; ++l)
      appendExternalReads(graph.node(layers[l].node), layers[l], l, stripe);
    sg.stripeList.push_back(std::move(stripe));
  }
  if (nextStripe != stripes.size())
    return fail("internal error: the stream pipeline skipped a stripe");
  // The reduction adds every row of its input once, in order, in the step
  // its producer computes it (it reads the fresh tile): the whole pool's
  // order of additions.
  if (sg.reductionLayer >= 0) {
    int p = layers[n - 1].operandLayer[0];
    int64_t next = 0;
    for (const Stripe &stripe : sg.stripeList) {
      Interval r = stripe.rows[n - 1];
      if (r.isEmpty())
        continue;
      if (r.lo != next || r != stripe.rows[p])
        return fail("internal error: '" + outNode.name + "' accumulates rows " +
                    r.str() + " but '" + name(p) + "' computes " +
                    stripe.rows[p].str());
      next = r.hi + 1;
    }
    if (next != extent[n - 1])
      return fail("internal error: '" + outNode.name +
                  "' does not accumulate every row");
  }

  // Rolling buffers: one per layer read through a window, or read pointwise
  // by a layer that does not compute the same rows in the same step. All of
  // the layer's readers then read the buffer: the window reader (whose
  // padded rows the buffer holds) first, the others real rows in it.
  const TileAxis &cols = group.cols();
  for (unsigned l = 0; l + 1 < n; ++l) {
    llvm::SmallVector<std::pair<unsigned, unsigned>, 2> windowReaders,
        pointwise;
    for (auto r : sg.readers[l])
      (isWindow(r) ? windowReaders : pointwise).push_back(r);
    if (windowReaders.size() > 1)
      return fail("layer '" + name(l) + "' is read through windows by '" +
                  name(windowReaders[0].first) + "' and '" +
                  name(windowReaders[1].first) +
                  "'; the stream transform supports one window reader per "
                  "layer");
    bool lags = llvm::any_of(pointwise, [&](auto r) {
      return llvm::any_of(sg.stripeList, [&](const Stripe &s) {
        return !s.rows[r.first].isEmpty() && s.rows[r.first] != s.rows[l];
      });
    });
    if (windowReaders.empty() && !lags) {
      // Its readers take the producer's fresh tile whole: in every column
      // tile each must read exactly the columns it computes (with column
      // tiles, one may need fewer than the hull of all of them).
      for (unsigned t = 0; t < cols.size(); ++t)
        for (auto r : pointwise)
          if (cols.read[t][r.first][r.second] != cols.span[t][l])
            return fail("layer '" + name(l) + "' computes columns " +
                        cols.span[t][l].str() + " in column tile " +
                        std::to_string(t) + " but '" + name(r.first) +
                        "' reads " + cols.read[t][r.first][r.second].str() +
                        "; a pointwise reader in step with its producer "
                        "takes all its columns");
      continue;
    }
    RollingBuffer buffer;
    buffer.producer = l;
    auto main = windowReaders.empty() ? pointwise[0] : windowReaders[0];
    buffer.consumer = main.first;
    buffer.consumerOperand = main.second;
    for (auto r : sg.readers[l])
      if (r != main)
        buffer.skipReaders.push_back(r);
    unsigned c = main.first;
    if (isWindow(main))
      buffer.rowPadLow = graph.node(layers[c].node).window->rows.padLow;
    // Per column tile: the producer's span with the main window reader's
    // column padding around it; each reader reads its own columns of it
    // (the span is their hull, FusionGroup's back-projection).
    llvm::SmallVector<std::pair<unsigned, unsigned>, 2> all = {main};
    llvm::append_range(all, buffer.skipReaders);
    for (unsigned t = 0; t < cols.size(); ++t) {
      BufferColumns in;
      Interval span = cols.span[t][l];
      if (isWindow(main)) {
        in.padLow = cols.padLow[t][c];
        in.padHigh = cols.padHigh[t][c];
      }
      in.cols = in.padLow + span.size() + in.padHigh;
      for (auto [k, r] : llvm::enumerate(all)) {
        Interval read =
            cols.read[t][r.first][r.second].shift(in.padLow - span.lo);
        // Padding lies next to the image border, where the read starts or
        // ends with the span.
        if (k == 0)
          read = Interval(read.lo - in.padLow, read.hi + in.padHigh);
        if (read.lo < 0 || read.hi >= in.cols)
          return fail("internal error: '" + name(r.first) + "' reads columns " +
                      read.str() + " of the rolling buffer of '" + name(l) +
                      "'");
        in.read.push_back(read);
      }
      buffer.cols = std::max(buffer.cols, in.cols);
      buffer.columns.push_back(std::move(in));
    }
    buffer.channels = graph.node(layers[l].node).outputShape[3];
    int index = sg.bufferList.size();
    sg.writes[l] = index;
    sg.reads[c][main.second] = {index, 0};
    for (auto [k, r] : llvm::enumerate(buffer.skipReaders))
      sg.reads[r.first][r.second] = {index, (unsigned)k + 1};
    sg.bufferList.push_back(buffer);
  }

  // What each buffer keeps, takes in and gives its readers, step by step.
  // A buffer holds padded rows [lo, hi] of its producer from buffer row 0:
  // lo is the first row any reader's next read starts at, hi the last row
  // written (or padding). Before the first step it holds the top padding,
  // filled once before the loop.
  std::vector<Interval> content(sg.bufferList.size());
  for (auto [b, buffer] : llvm::enumerate(sg.bufferList))
    content[b] = Interval(0, buffer.rowPadLow - 1);
  std::fill(done.begin(), done.end(), -1);
  for (Stripe &stripe : sg.stripeList) {
    for (unsigned l = 0; l < n; ++l)
      if (!stripe.rows[l].isEmpty())
        done[l] = stripe.rows[l].hi;
    for (auto [b, buffer] : llvm::enumerate(sg.bufferList)) {
      BufferStep step;
      const LayerNode &reader = graph.node(layers[buffer.consumer].node);
      const LayerNode &producer = graph.node(layers[buffer.producer].node);
      int64_t padLow = buffer.rowPadLow;
      int64_t height = extent[buffer.producer];
      Interval fresh = stripe.rows[buffer.producer];
      Interval prev = content[b];
      int64_t hi = prev.hi;
      if (!fresh.isEmpty())
        hi = std::max(hi, fresh.hi + padLow);
      // Every reader's padded rows of this step and where its next read
      // starts: a window reader's next window at its next output row, a
      // pointwise reader at its next row.
      llvm::SmallVector<std::pair<unsigned, unsigned>, 2> all = {
          {buffer.consumer, buffer.consumerOperand}};
      llvm::append_range(all, buffer.skipReaders);
      int64_t lo = std::numeric_limits<int64_t>::max();
      llvm::SmallVector<Interval, 2> windows;
      for (auto r : all) {
        Interval out = stripe.rows[r.first];
        int64_t readerDone = out.isEmpty() ? done[r.first] : out.lo - 1;
        Interval window;
        if (isWindow(r)) {
          const Window1D &w = graph.node(layers[r.first].node).window->rows;
          lo = std::min(lo, (readerDone + 1) * w.stride);
          if (!out.isEmpty())
            window = windowInput(w, out).full.shift(padLow);
        } else {
          lo = std::min(lo, readerDone + 1 + padLow);
          window = out.shift(padLow);
        }
        if (!window.isEmpty())
          hi = std::max(hi, window.hi);
        windows.push_back(window);
      }
      if (lo < prev.lo)
        return fail("internal error: the reads of '" + producer.name +
                    "' by '" + reader.name + "' move up");
      step.keep = std::max<int64_t>(0, prev.hi - lo + 1);
      step.keepFrom = step.keep > 0 ? lo - prev.lo : 0;
      Interval entering(prev.hi + 1, hi);
      Interval real = entering.intersect(Interval(padLow, padLow + height - 1));
      if (real.shift(-padLow) != fresh)
        return fail("internal error: layer '" + producer.name +
                    "' computes rows " + fresh.str() + " but rows " +
                    real.shift(-padLow).str() + " enter the buffer read by '" +
                    reader.name + "'");
      if (!fresh.isEmpty()) {
        if (fresh.lo + padLow < lo)
          return fail("layer '" + reader.name + "' skips rows of '" +
                      producer.name +
                      "' (its stride is larger than its window); the stream "
                      "transform does not support that yet");
        step.newAt = fresh.lo + padLow - lo;
      }
      Interval bottom = entering.intersect(
          Interval(padLow + height, std::numeric_limits<int64_t>::max()));
      if (!bottom.isEmpty()) {
        step.padAt = bottom.lo - lo;
        step.padRows = bottom.size();
      }
      for (auto [k, window] : llvm::enumerate(windows)) {
        if (!window.isEmpty() && (window.lo < lo || window.hi > hi))
          return fail("internal error: the rows '" + name(all[k].first) +
                      "' reads of '" + producer.name +
                      "' are not in its rolling buffer");
        int64_t at = window.isEmpty() ? 0 : window.lo - lo;
        if (k == 0) {
          step.window = window;
          step.readAt = at;
        } else {
          step.skipWindow.push_back(window);
          step.skipAt.push_back(at);
        }
      }
      content[b] = Interval(lo, hi);
      sg.bufferList[b].rows = std::max(sg.bufferList[b].rows, hi - lo + 1);
      stripe.buffers.push_back(step);
    }
  }

  // A buffer that never keeps a row and never holds padding, whose readers
  // all read the producer's rows of the step (a 2x2 pool of stride 2, a 1x1
  // conv in step with its producer), only ever holds those rows: the
  // readers take the producer's fresh tile instead, which lives in the
  // stripe body's arena rather than across the whole loop.
  std::vector<int> renumber(sg.bufferList.size(), -1);
  std::vector<RollingBuffer> kept;
  for (auto [b, buffer] : llvm::enumerate(sg.bufferList)) {
    bool needed = buffer.rowPadLow != 0;
    for (const BufferColumns &in : buffer.columns)
      for (Interval read : in.read)
        needed |= read != in.written();
    for (const Stripe &stripe : sg.stripeList) {
      const BufferStep &step = stripe.buffers[b];
      needed |= step.keep > 0 || step.padRows > 0;
      for (unsigned k = 0; k <= buffer.skipReaders.size(); ++k)
        needed |= step.windowOf(k) != stripe.rows[buffer.producer];
    }
    llvm::SmallVector<std::pair<unsigned, unsigned>, 2> all = {
        {buffer.consumer, buffer.consumerOperand}};
    llvm::append_range(all, buffer.skipReaders);
    int index = needed ? (int)kept.size() : -1;
    sg.writes[buffer.producer] = index;
    for (auto [k, r] : llvm::enumerate(all))
      sg.reads[r.first][r.second] = {index, needed ? (unsigned)k : 0};
    if (!needed)
      continue;
    renumber[b] = kept.size();
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

  if (int64_t chunk = group.plan().chunkRows; chunk > 0) {
    std::string why = sg.chunkSegments(graph, chunk);
    if (!why.empty())
      return fail(why);
  }

  // Operands a concat takes as fresh tiles from layers it alone reads are
  // written into their channels of its destination directly (see
  // directConcat); layers of chunked segments keep their own tiles.
  sg.concatInto.assign(n, {-1, 0});
  sg.firstInto.assign(n, -1);
  auto chunked = [&](unsigned l) {
    return llvm::any_of(sg.segmentList, [&](const Segment &segment) {
      return segment.first <= l && l <= segment.last;
    });
  };
  for (unsigned c = 0; c < n; ++c) {
    const LayerNode &node = graph.node(layers[c].node);
    if (node.kind != LayerKind::Concat || chunked(c))
      continue;
    int64_t channel = 0;
    for (auto [k, p] : llvm::enumerate(layers[c].operandLayer)) {
      bool direct = p >= 0 && sg.readers[p].size() == 1 &&
                    sg.reads[c][k].first < 0 && !chunked(p) &&
                    graph.node(layers[p].node).kind != LayerKind::Concat;
      if (direct) {
        sg.concatInto[p] = {(int)c, channel};
        if (sg.firstInto[c] < 0 || p < sg.firstInto[c])
          sg.firstInto[c] = p;
      }
      channel += node.operands[k].shape[3];
    }
  }
  return sg;
}

std::string StreamGroup::chunkSegments(const LayerGraph &graph, int64_t chunk) {
  std::string prefix = "chunk_rows " + std::to_string(chunk) + ": ";
  if (bufferList.empty())
    return prefix + "the group has no rolling buffer, so it has no head to "
                    "run in pieces";
  // Segments end at the writers of the rolling buffers (in producer order).
  // The head must split; a later segment that cannot keeps whole steps.
  std::vector<std::vector<Stripe>> pieces(stripeList.size());
  unsigned first = 0;
  for (const RollingBuffer &buffer : bufferList) {
    unsigned last = buffer.producer;
    std::vector<std::vector<Stripe>> more(stripeList.size());
    std::string why =
        chunkSegment(graph, chunk, first, last, segmentList.size(), more);
    if (!why.empty() && first == 0)
      return prefix + why;
    if (why.empty()) {
      for (auto [t, list] : llvm::enumerate(more))
        for (Stripe &piece : list)
          pieces[t].push_back(std::move(piece));
      segmentList.push_back(Segment{first, last});
    }
    first = last + 1;
  }
  for (auto [t, list] : llvm::enumerate(pieces))
    stripeList[t].pieces = std::move(list);
  return "";
}

std::string StreamGroup::chunkSegment(const LayerGraph &graph, int64_t chunk,
                                      unsigned first, unsigned last,
                                      int segment,
                                      std::vector<std::vector<Stripe>> &out) {
  llvm::ArrayRef<FusedLayer> layers = fusion->layers();
  unsigned n = layers.size();
  auto name = [&](unsigned l) { return graph.node(layers[l].node).name; };
  // Pieces follow a chain: inside the segment, every layer passes its fresh
  // tile to its one reader inside it, and only the main reader of the
  // buffer the segment reads and writes takes part (a skip reader would
  // read rows of another step).
  std::vector<int> consumer(n, -1), operandOf(n, -1);
  for (unsigned l = first; l < last; ++l) {
    if (readers[l].size() != 1)
      return "layer '" + name(l) + "' has " +
             std::to_string(readers[l].size()) +
             " readers in the group; chunk_rows needs a chain";
    consumer[l] = readers[l][0].first;
    operandOf[l] = readers[l][0].second;
    if (consumer[l] > (int)last)
      return "layer '" + name(l) + "' is read by '" + name(consumer[l]) +
             "' after '" + name(last) + "', the writer of a rolling buffer";
  }
  int bufferOut = writes[last];
  if (!bufferList[bufferOut].skipReaders.empty())
    return "the rolling buffer of '" + name(last) +
           "' has several readers; chunk_rows needs a chain";
  int bufferIn = reads[first].empty() ? -1 : reads[first][0].first;
  // A piece reads its part of the buffer through its first layer's window
  // (a 1x1 conv's too); an elementwise main reader has none.
  if (bufferIn >= 0 && !graph.node(layers[first].node).window)
    return "layer '" + name(first) +
           "' reads its rolling buffer pointwise; chunk_rows needs a window "
           "reader";
  for (unsigned l = first; l <= last; ++l)
    for (auto [i, read] : llvm::enumerate(reads[l]))
      if (read.first >= 0 && (l != first || i != 0 || read.second != 0))
        return "layer '" + name(l) + "' reads a rolling buffer after '" +
               name(first) + "'";
  for (auto [t, stripe] : llvm::enumerate(stripeList)) {
    Interval rows = stripe.rows[last];
    if (rows.isEmpty()) {
      for (unsigned l = first; l < last; ++l)
        if (!stripe.rows[l].isEmpty())
          return "layer '" + name(l) + "' runs in a step in which '" +
                 name(last) + "' does not";
      continue;
    }
    // One piece would be the step itself.
    if (rows.size() <= chunk)
      continue;
    std::vector<Stripe> &list = out[t];
    for (int64_t lo = rows.lo; lo <= rows.hi; lo += chunk) {
      Stripe piece;
      piece.segment = segment;
      piece.rows.assign(n, Interval());
      piece.rows[last] = Interval(lo, std::min(rows.hi, lo + chunk - 1));
      // Backwards through the segment: the rows each reader's piece reads,
      // which must need no padding (the reader takes the fresh tile).
      for (int l = (int)last - 1; l >= (int)first; --l) {
        int c = consumer[l];
        WindowInput in =
            rowsRead(graph.node(layers[c].node), operandOf[l], piece.rows[c]);
        if (in.padLow || in.padHigh)
          return "layer '" + name(c) + "' reads '" + name(l) +
                 "' with row padding";
        piece.rows[l] = in.clipped;
      }
      for (unsigned l = 0; l < n; ++l)
        appendExternalReads(graph.node(layers[l].node), layers[l], l, piece);
      piece.buffers.assign(bufferList.size(), BufferStep());
      piece.buffers[bufferOut].newAt =
          stripe.buffers[bufferOut].newAt + (lo - rows.lo);
      if (bufferIn >= 0) {
        // The piece's window inside the step's window (from buffer row 0).
        const Window1D &w = graph.node(layers[first].node).window->rows;
        Interval step = stripe.buffers[bufferIn].window;
        Interval window = windowInput(w, piece.rows[first])
                              .full.shift(bufferList[bufferIn].rowPadLow);
        if (window.lo < step.lo || window.hi > step.hi)
          return "internal error: a piece of '" + name(first) +
                 "' reads outside the step's window";
        piece.buffers[bufferIn].window = window;
        piece.buffers[bufferIn].readAt =
            stripe.buffers[bufferIn].readAt + window.lo - step.lo;
      }
      list.push_back(std::move(piece));
    }
    // The pieces must split every layer's rows of the step exactly: each
    // row computed once, by one piece, in order.
    for (unsigned l = first; l < last; ++l) {
      int64_t next = stripe.rows[l].lo;
      bool split = true;
      for (const Stripe &piece : list) {
        split &= !piece.rows[l].isEmpty() && piece.rows[l].lo == next;
        next = piece.rows[l].hi + 1;
      }
      if (!split || next != stripe.rows[l].hi + 1)
        return "the pieces of '" + name(last) + "' do not split the rows of '" +
               name(l) + "' (" + stripe.rows[l].str() + " in one step)";
    }
  }
  return "";
}

bool StreamGroup::writesInPlace(unsigned concat, unsigned operand) const {
  int p = fusion->layers()[concat].operandLayer[operand];
  return p >= 0 && directConcat(p) == (int)concat;
}

bool StreamGroup::readsFreshTile(const Stripe &stripe, unsigned layer,
                                 unsigned operand, unsigned colTile) const {
  int b = bufferReadBy(layer, operand);
  if (b < 0 || (unsigned)b >= stripe.buffers.size())
    return false;
  const RollingBuffer &buffer = bufferList[b];
  const BufferStep &step = stripe.buffers[b];
  unsigned k = readerIndex(layer, operand);
  if (k > step.skipWindow.size())
    return false;
  Interval fresh = stripe.rows[buffer.producer];
  if (fresh.isEmpty() || stripe.rows[layer].isEmpty())
    return false;
  // A producer that ran in pieces (a chunked segment) left only its last
  // piece's tile; its rows of the step are in the buffer.
  if (llvm::any_of(stripe.pieces, [&](const Stripe &piece) {
        return !piece.rows[buffer.producer].isEmpty();
      }))
    return false;
  const BufferColumns &in = buffer.columns[colTile];
  bool sameCols = in.read[k] == in.written();
  return sameCols && step.readAtOf(k) == step.newAt &&
         step.windowOf(k).size() == fresh.size();
}

std::vector<StripeRun> StreamGroup::runs() const {
  // Static facts of a stripe, and its absolute offsets (pieces included).
  std::function<std::vector<int64_t>(const Stripe &)> shape, offsets;
  shape = [&](const Stripe &s) {
    std::vector<int64_t> key;
    for (Interval r : s.rows)
      key.push_back(r.size());
    llvm::append_range(key, s.phase);
    for (unsigned l = 0; l < s.externalRead.size(); ++l)
      for (unsigned i = 0; i < s.externalRead[l].size(); ++i) {
        key.push_back(s.externalRead[l][i].size());
        key.push_back(s.externalPadLow[l][i]);
        key.push_back(s.externalPadHigh[l][i]);
      }
    key.push_back(s.segment);
    for (const BufferStep &b : s.buffers) {
      key.push_back(b.window.size());
      key.push_back(b.readAt);
      key.push_back(b.keep);
      key.push_back(b.keepFrom);
      key.push_back(b.padAt);
      key.push_back(b.padRows);
      key.push_back(b.newAt);
      for (auto [window, at] : llvm::zip(b.skipWindow, b.skipAt)) {
        key.push_back(window.size());
        key.push_back(at);
      }
    }
    key.push_back(s.pieces.size());
    for (const Stripe &piece : s.pieces)
      llvm::append_range(key, shape(piece));
    return key;
  };
  offsets = [&](const Stripe &s) {
    std::vector<int64_t> key;
    for (Interval r : s.rows)
      key.push_back(r.isEmpty() ? 0 : r.lo);
    for (const auto &reads : s.externalRead)
      for (Interval r : reads)
        key.push_back(r.isEmpty() ? 0 : r.lo);
    for (const Stripe &piece : s.pieces)
      llvm::append_range(key, offsets(piece));
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
