//===- StreamGroup.h - Stripes and rolling buffers of a stream group -*- C++
//-*-===//
//
// The geometry of a fusion group in stream mode (PlanGroup::mode ==
// GroupMode::Stream): the group's output is produced in stripes of S rows,
// top to bottom (full width, or per column tile: see Hybrid below), and
// every layer computes every row once. A layer read through a window (conv,
// depthwise conv, pool) by the next layer writes its new rows into a
// *rolling buffer*: the reader's padded input window, full width (of the
// column tile) with the reader's column padding, holding only the
// rows the reader's next window starts at and below. Before each write the
// rows the reader still needs move to the top of the buffer (the "shift"),
// the producer writes its new rows below them, and rows of bottom padding
// entering the window are filled with the reader's padding value.
//
// The schedule is a pipeline of *steps*. In each step every layer, in
// order, computes the rows its producers have made available, but at most
// its steady-state rate (S times the row strides of the windows below it),
// and the output layer computes one whole stripe once it is available.
// A layer read only pointwise (an epilogue, a 1x1 conv, an add, a concat
// operand; a window of one row, stride 1 and no padding counts as
// pointwise) is *pulled*: it computes exactly the rows its readers take in
// the step, so the layers the output reads pointwise compute its stripe
// with it, and the 1x1 expand conv of a fire module keeps step with the
// 3x3 expand beside it instead of running a row ahead. The
// first steps fill the pipeline (the output computes nothing); after that
// every step produces one stripe. The rate limit is what keeps the buffers
// small: a pull schedule that computes the whole receptive field of the
// first stripe at once needs buffers of that height (on YOLOv2-608 layers
// 0-15 in one-row stripes, 74 rows of the first map: 9.75 MiB instead of
// 3.72 MiB). A layer also stops each step at a row that ends one of its
// reader's windows, so that a non-overlapping reader (a 2x2 pool of stride
// 2) consumes every row it gets and needs no buffer (2.75 MiB).
//
// The fuse-tile transform (Transforms/StreamGroup.cpp) emits exactly this,
// and the memory model prices exactly this, so it is computed in one place.
// The steps are rows only: columns come from FusionGroup's column axis.
//
// Hybrid (several column tiles, DeFiNES's H-cached): the whole pipeline
// runs once per column tile of the output, top to bottom, on that tile's
// receptive-field columns (FusionGroup::cols(): column halos are recomputed
// by neighbouring column tiles, rows never). The steps are the same in
// every column tile; only the columns differ, so a rolling buffer has per
// column tile its own width and column padding (BufferColumns: the padding
// only where the tile meets the image border) and is allocated as wide as
// the widest; it is filled with the padding value again per column tile.
//
// Residual adds and concats (DAGs): a layer may have several readers in
// the group, at most one through a window and any number pointwise (the
// add of an inverted residual block, which lags the block input by the
// depthwise conv's halo; the 1x1 expand of a fire module beside its 3x3
// expand). A channel concat is a pointwise reader of its operands; a layer
// only it reads writes its channels of the concat's destination directly
// (directConcat). It still writes one rolling buffer, read by all of them:
// the window reader's padded rows (the buffer's *main* reader), the others
// (*skip* readers) their real rows (and columns, BufferColumns::read)
// inside it. A row stays until the last reader has read it, so every row is
// computed and written once. A reader that takes exactly the rows its
// producer writes in the same step reads the fresh tile (a view of the
// buffer), and the transform inserts the tile into the buffer's value after
// such readers (see readsFreshTile).
//
// Global reductions: the last layer may be a sum or max pool whose window
// spans its whole input (isGlobalReduction: a global average pool's sum,
// its divisor a separate layer). Instead of a rolling buffer of every row,
// it *accumulates*: in each step it reads its producer's fresh rows, the
// stripe of the plan's stripe_rows rows of the reduced map (its output has
// one row), and adds them into the group's output map, filled once with the
// pool's init value before the loop. Its Stripe::rows are those input rows,
// in order, each once; the output is complete after the last step. The
// pool's reduction runs window rows outer and columns inner per output
// channel (RegisterBlock.cpp), so accumulating rows in order, step after
// step, adds the same values in the same order as the whole pool.
// Full-width stripes only: a column tile would need a partial accumulator
// per tile.
//
// Upsampling (nearest, by f) of a map from outside the group: a pointwise
// layer to the pipeline, scheduled like any other, whose rows [a, b] of a step
// read rows [a / f, b / f] of its map. Its input needs no buffer (the map
// is whole), so no rows are recomputed; YOLOv3's route after an upsampled
// branch concatenates it with an earlier map without the upsampled map
// ever being whole. Upsampling a layer of the group would step that layer
// at 1/f of its reader's rate and is not supported.
//
// Supported (checked by build, errors name the group and the layer): convs,
// depthwise convs, max/sum pools, elementwise layers, channel concats and
// upsampling of a map from outside the group, every layer but the last read
// in the group, at most once through a window (its operand 0), all readers
// of a layer at one rate (rows per step). Two window readers of one layer,
// standalone pads and windows whose stride exceeds their extent are not
// supported yet; a concat read only by a concat keeps its own tile, which
// the outer concat copies.
// Chunked segments are chains. Column tiles combine with everything here
// (residual adds, chunk_rows, split steps on threads).
//
// Chunked segments (PlanGroup::chunkRows = C): a *segment* is a run of
// layers ending at the writer of a rolling buffer and starting after the
// writer of the one before (the first, the *head*, at layer 0), passing
// fresh tiles along inside. A segment's rows of a step (16 conv rows of
// YOLOv2-608's L0 at S = 1, 8 of L2) dominate the step's arena. With C it
// runs in pieces of C rows of its last layer, each writing its rows into
// the buffer below the last piece's and reading its window of the buffer
// before, so only one piece's tiles are live at a time. Every row is still
// computed once, by the same layer, so the output is bit-identical.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_GRAPH_STREAMGROUP_H
#define MAFAT_GRAPH_STREAMGROUP_H

#include "mafat/Graph/FusionGroup.h"

#include <optional>
#include <string>
#include <vector>

namespace mafat {

/// A rolling buffer's columns in one column tile of the group
/// (FusionGroup::cols()): the producer's span in that tile with the main
/// reader's column padding around it.
struct BufferColumns {
  /// Padded width: the producer writes buffer columns [padLow, cols -
  /// padHigh), its span in this column tile.
  int64_t cols = 0;
  int64_t padLow = 0;
  int64_t padHigh = 0;
  /// Per reader k (BufferStep::windowOf's numbering): the buffer columns it
  /// reads, padding included for the main window reader.
  llvm::SmallVector<Interval, 2> read;
  /// The columns the producer writes.
  Interval written() const { return Interval(padLow, cols - padHigh - 1); }
};

/// The rolling buffer between layer `producer` and its window reader
/// `consumer` (positions in FusionGroup::layers()). Its rows are the
/// consumer's padded input rows; row i of the buffer holds padded row
/// `window.lo + i` of the current stripe.
struct RollingBuffer {
  int producer = 0;
  /// The main reader (operand `consumerOperand` of layer `consumer`): the
  /// producer's window reader if it has one, whose padded input rows the
  /// buffer holds; otherwise a pointwise reader (no padding).
  int consumer = 0;
  unsigned consumerOperand = 0;
  /// The producer's other in-group readers, all pointwise (an elementwise
  /// add reading the input of a residual block whose conv lags it by the
  /// depthwise conv's halo). They read real rows of the producer from the
  /// same buffer, so a row the window reader no longer needs stays until
  /// the last of them has read it, and every row is still written once.
  llvm::SmallVector<std::pair<unsigned, unsigned>, 1> skipReaders;
  /// Largest window over the stripes (rows) and the widest padded width
  /// over the column tiles: the buffer's static shape is 1 x rows x cols x
  /// channels. A narrower column tile uses its first columns.
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t channels = 0;
  /// Per column tile of the group: its columns in the buffer.
  std::vector<BufferColumns> columns;
  /// The consumer's row padding (padded row p is real row p - rowPadLow).
  int64_t rowPadLow = 0;

  int64_t bytes() const { return 4 * rows * cols * channels; }
};

/// What happens to one rolling buffer in one step.
struct BufferStep {
  /// Padded rows of the producer the consumer reads in this step, from
  /// buffer row 0; empty if the consumer does not run.
  Interval window;
  /// Rows kept from the previous stripe: buffer rows [keepFrom, keepFrom +
  /// keep) move to [0, keep). No move when keepFrom == 0 or keep == 0.
  int64_t keep = 0;
  int64_t keepFrom = 0;
  /// Buffer rows that enter as bottom padding: [padAt, padAt + padRows),
  /// filled with the consumer's padding value (the top padding is there from
  /// the start: the whole buffer is filled once before the loop).
  int64_t padAt = 0;
  int64_t padRows = 0;
  /// Buffer row where the producer's new rows go.
  int64_t newAt = 0;
  /// Buffer row where the consumer's window starts: 0 in a step, the
  /// piece's offset in a piece of a chunked segment.
  int64_t readAt = 0;
  /// Per skip reader (RollingBuffer::skipReaders): the padded rows it reads
  /// in this step (its own rows shifted by the row padding; empty if it does
  /// not run) and the buffer row they start at.
  llvm::SmallVector<Interval, 1> skipWindow;
  llvm::SmallVector<int64_t, 1> skipAt;

  /// Reader `k` of the buffer (0: the main reader, k > 0: skip reader k-1).
  Interval windowOf(unsigned k) const {
    return k == 0 ? window : skipWindow[k - 1];
  }
  int64_t readAtOf(unsigned k) const { return k == 0 ? readAt : skipAt[k - 1]; }
  bool moves() const { return keep > 0 && keepFrom > 0; }
};

/// One step of the pipeline (the output layer computes one stripe of the
/// plan, or nothing while the pipeline fills).
struct Stripe {
  /// Per layer: the rows it computes (empty: it does not run). For the
  /// group's global reduction (StreamGroup::reduction()): the rows of its
  /// input it accumulates in this step.
  std::vector<Interval> rows;
  /// Per layer and activation operand read from outside the group (-1
  /// producer in FusedLayer::operandLayer): the rows read, clipped, and the
  /// row padding below and past the map (window operands only).
  std::vector<llvm::SmallVector<Interval, 2>> externalRead;
  std::vector<llvm::SmallVector<int64_t, 2>> externalPadLow, externalPadHigh;
  /// Per layer: for an upsampling layer that runs, how many of its first
  /// input row's copies lie above its rows (FusionGroup.h, TileAxis::phase);
  /// 0 otherwise.
  std::vector<int64_t> phase;
  /// Per rolling buffer.
  std::vector<BufferStep> buffers;
  /// Chunked segments (PlanGroup::chunkRows): the pieces of the segments
  /// that run in this step in more than one piece, segment by segment, each
  /// with the rows of its segment's layers only (other layers' rows empty).
  /// Per rolling buffer: where the piece's rows go in the buffer its
  /// segment writes (newAt; the step itself shifts and pads that buffer
  /// once, before the first piece), and its window in the buffer its
  /// segment reads (window, readAt).
  std::vector<Stripe> pieces;
  /// A piece: its segment (StreamGroup::segments()); -1 for a step.
  int segment = -1;
};

/// Layers [first, last] of a stream group that run in pieces: `last`
/// writes a rolling buffer, `first` follows the writer of the one before
/// (or is layer 0), and inside them layers pass fresh tiles.
struct Segment {
  unsigned first = 0;
  unsigned last = 0;
};

/// Consecutive steps sharing one static-shaped body: every size, padding
/// and buffer row is equal and the absolute offsets advance by a constant
/// amount.
struct StripeRun {
  unsigned first = 0;
  unsigned count = 0;
};

class StreamGroup {
public:
  /// The stream geometry of `group` (a stream group's FusionGroup). Fails
  /// with a message naming the group and the layer if the group is outside
  /// what streaming supports (see the file comment).
  static std::optional<StreamGroup>
  build(const LayerGraph &graph, const FusionGroup &group, std::string &error);

  const FusionGroup &group() const { return *fusion; }
  /// The steps of the pipeline, in order.
  llvm::ArrayRef<Stripe> stripes() const { return stripeList; }
  llvm::ArrayRef<RollingBuffer> buffers() const { return bufferList; }
  /// Per layer: the rolling buffer it writes, or -1 (a fresh tile per
  /// stripe, or the group's output map for the last layer).
  int bufferOf(unsigned layer) const { return writes[layer]; }
  /// The rolling buffer operand `operand` of `layer` is read from, or -1
  /// (the producer's fresh tile, or a map from outside the group).
  int bufferReadBy(unsigned layer, unsigned operand) const {
    return reads[layer][operand].first;
  }
  /// Which reader of that buffer it is (BufferStep::windowOf).
  unsigned readerIndex(unsigned layer, unsigned operand) const {
    return reads[layer][operand].second;
  }
  /// Whether operand `operand` of `layer` reads, in `stripe` of column tile
  /// `colTile`, exactly the rows and columns its producer writes into its
  /// rolling buffer in the same stripe (a 1x1 conv in step with its
  /// producer, whose rows an add reads later from the buffer). The transform
  /// then passes the fresh tile, a view of the buffer (canonicalization
  /// would fold the slice to it anyway).
  bool readsFreshTile(const Stripe &stripe, unsigned layer, unsigned operand,
                      unsigned colTile) const;
  /// Per layer: its in-group readers (layer, operand).
  llvm::ArrayRef<std::pair<unsigned, unsigned>>
  readersOf(unsigned layer) const {
    return readers[layer];
  }
  /// Chunked segments, in order (empty unless PlanGroup::chunkRows).
  llvm::ArrayRef<Segment> segments() const { return segmentList; }
  /// The last layer if it is a global reduction accumulated step by step
  /// (its rows are its input rows, see the file comment), or -1.
  int reduction() const { return reductionLayer; }
  /// The step classes, in order.
  std::vector<StripeRun> runs() const;
  /// The concat layer `layer` writes its rows into directly, at channel
  /// offset directConcatChannel(layer), or -1. A layer read only by a
  /// concat, which takes its fresh tile in every step (the 1x1 and 3x3
  /// expand convs of a fire module), writes its channels of the concat's
  /// destination (the concat's fresh tile, rolling buffer or output map) in
  /// place instead of a tile of its own that the concat would copy; the
  /// concat's fresh tile, if it has one, is allocated where the first such
  /// layer runs.
  int directConcat(unsigned layer) const { return concatInto[layer].first; }
  int64_t directConcatChannel(unsigned layer) const {
    return concatInto[layer].second;
  }
  /// The first layer writing into concat `concat` directly, or -1.
  int firstDirectOperand(unsigned concat) const { return firstInto[concat]; }
  /// Whether operand `operand` of concat `concat` is written into it in
  /// place (its producer's directConcat), so the concat copies nothing of
  /// it.
  bool writesInPlace(unsigned concat, unsigned operand) const;

private:
  /// Splits the rows of every segment in every step into pieces of `chunk`
  /// rows of its last layer; "" or why the head cannot be (a later segment
  /// that cannot keeps whole steps).
  std::string chunkSegments(const LayerGraph &graph, int64_t chunk);
  /// One segment's pieces per step into `out`; "" or why it cannot.
  std::string chunkSegment(const LayerGraph &graph, int64_t chunk,
                           unsigned first, unsigned last, int segment,
                           std::vector<std::vector<Stripe>> &out);

  const FusionGroup *fusion = nullptr;
  std::vector<Stripe> stripeList;
  std::vector<RollingBuffer> bufferList;
  std::vector<int> writes;
  /// Per layer and operand: (buffer or -1, reader index).
  std::vector<llvm::SmallVector<std::pair<int, unsigned>, 2>> reads;
  /// Per layer: its in-group readers (layer, operand).
  std::vector<llvm::SmallVector<std::pair<unsigned, unsigned>, 2>> readers;
  std::vector<Segment> segmentList;
  int reductionLayer = -1;
  /// Per layer: (concat it writes into directly or -1, channel offset).
  std::vector<std::pair<int, int64_t>> concatInto;
  /// Per layer: the first layer writing into it directly, or -1.
  std::vector<int> firstInto;
};

/// Whether `node` reduces its whole input map to one position: a sum or max
/// pool whose window covers every row and column (no padding, no dilation),
/// such as the sum of a global average pool.
bool isGlobalReduction(const LayerNode &node);

/// The rows a global reduction reduces, which its stream group's stripes
/// cover (its input's height).
inline int64_t reducedRows(const LayerNode &node) {
  return node.operands[0].shape[1];
}

/// Whether operand `i` of `node` reads rows through a window, as the
/// stream pipeline sees it: a 1x1 window of stride 1 with no padding (a 1x1
/// conv) reads its operand pointwise, so a layer may feed a 1x1 and a 3x3
/// conv at once (a fire module's squeeze).
bool readsThroughWindow(const LayerNode &node, unsigned i);

/// The checks of StreamGroup::build alone, for FusionGroup::build: "" or
/// the message.
std::string checkStreamable(const LayerGraph &graph, const FusionGroup &group);

} // namespace mafat

#endif // MAFAT_GRAPH_STREAMGROUP_H
