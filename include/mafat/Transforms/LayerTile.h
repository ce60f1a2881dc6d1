//===- LayerTile.h - One layer cloned onto tile operands --------*- C++ -*-===//
//
// Both ways mafat runs a fused group piece by piece - recomputed tiles
// (mafat-fuse-tile) and streamed stripes (StreamGroup.h) - compute each
// layer of a piece by cloning the layer's linalg op onto the piece's
// operands: its activation operands and init replaced by tiles, weights
// used whole, a constant read per output position (an average pool's
// divisor map) sliced like the output. What differs between the two is
// where those tiles come from, which the callbacks say; the cloning rules
// live here once.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_LAYERTILE_H
#define MAFAT_TRANSFORMS_LAYERTILE_H

#include "mafat/Analysis/LayerGraph.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mafat {

/// Constants and values computed from constants alone (a transposed filter,
/// a broadcast bias, a pool's window shape): the same for every piece.
bool isComputedFromConstants(mlir::Value value);

/// Where one piece of a layer reads from and writes to.
struct LayerTileSources {
  /// The piece of activation operand `i` (the layer graph's operand order).
  llvm::function_ref<mlir::Value(unsigned i)> operand;
  /// The piece of operand `i` read through the folded pad `pad` in front of
  /// the layer, given the operand's piece.
  llvm::function_ref<mlir::Value(unsigned i, mlir::Value piece,
                                 mlir::tensor::PadOp pad)>
      padded;
  /// Where the piece's output goes: a slice of a map or rolling buffer the
  /// layer writes in place, or null for a fresh tile. The layer's init must
  /// be a `tensor.empty`, maybe filled (an accumulator's start value);
  /// cloneLayerOnPiece puts the same fill on the destination.
  llvm::function_ref<mlir::Value()> destination;
  /// The piece's offset along output dimension `dim` (1 rows, 2 columns).
  llvm::function_ref<mlir::OpFoldResult(unsigned dim)> outputOffset;
  /// The piece's output shape (NHWC).
  llvm::ArrayRef<int64_t> outputShape;
  /// "tile" or "stripe", for diagnostics.
  llvm::StringRef noun;
};

/// Rows [row, row + rows) and columns [col, col + cols) of rank-4 map
/// `full`, all its channels: an NHWC map, or with `channelsFirst` an NCHW
/// one (the operand of a layout transpose, SpatialAccess::ChannelsFirst).
mlir::Value sliceMapPiece(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value full, mlir::OpFoldResult row,
                          mlir::OpFoldResult col, int64_t rows, int64_t cols,
                          bool channelsFirst = false);

/// The piece of `operand` (its producer's whole map `full`) at rows [row,
/// row + rows) and columns [col, col + cols): sliceMapPiece, channels first
/// for a layout transpose's NCHW operand.
mlir::Value sliceOperandPiece(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value full, const LayerOperand &operand,
                              mlir::OpFoldResult row, mlir::OpFoldResult col,
                              int64_t rows, int64_t cols);

/// NHWC `piece` written into rank-4 NHWC map `into` at (row, col), all its
/// channels.
mlir::Value insertMapPiece(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value piece, mlir::Value into,
                           mlir::OpFoldResult row, mlir::OpFoldResult col);

/// `piece` padded by the given rows and columns with `pad`'s own padding
/// value (a layer's pad, applied only where the piece meets the image
/// border); `piece` itself when every amount is 0.
mlir::Value padPiece(mlir::OpBuilder &b, mlir::Value piece,
                     mlir::tensor::PadOp pad, int64_t lowRows, int64_t highRows,
                     int64_t lowCols, int64_t highCols);

/// Clones linalg layer `op` (node `node`, whose activation operands are
/// `operandOf`: the full value each operand reads -> its operand index) onto
/// the piece `sources` describe and returns the piece's result. Errors
/// (a value that is neither a layer output nor a constant, a constant read
/// through a map the piece cannot follow, an init that is not a filled or
/// bare `tensor.empty`) are
/// emitted through `error` and return failure.
mlir::FailureOr<mlir::Value>
cloneLayerOnPiece(mlir::OpBuilder &b, mlir::linalg::LinalgOp op,
                  const LayerNode &node,
                  const llvm::DenseMap<mlir::Value, unsigned> &operandOf,
                  const LayerTileSources &sources,
                  llvm::function_ref<mlir::InFlightDiagnostic()> error);

/// The piece of nearest-upsampling layer `node` (LayerKind::Upsample, whose
/// op is `op`: the generic with the floordiv map, or the Darknet importer's
/// collapse_shape of a rank-6 broadcast generic) of shape `outputShape`
/// from `input`, the rows and columns of its operand the piece reads:
/// out[y][x] = body(input[(y + phaseRows) floordiv factorRows]
/// [(x + phaseCols) floordiv factorCols]), where the phase is how far the
/// piece's first row (column) lies past the first output row of its first
/// input row (FusionGroup.h, TileAxis::phase) and `body` is the layer's own
/// generic body (a copy, or a Darknet `scale`). Written into `destination`
/// if given, else into a fresh tile. Fails through `error` if the body reads
/// more than its input element (upsamplesByCopy in FusionGroup.h keeps such
/// layers out of tiled groups).
///
/// Not a clone of the layer's op: the Darknet form has no one op to clone,
/// and the floordiv form cloned onto a slice divides the piece's local
/// index, which reads the wrong rows when the piece starts between two
/// copies of a row (phase > 0). The body, applied to the same element, is:
/// pieces are bit-identical to the layer.
mlir::FailureOr<mlir::Value>
emitUpsamplePiece(mlir::OpBuilder &b, mlir::Operation *op,
                  const LayerNode &node, mlir::Value input,
                  mlir::Value destination, llvm::ArrayRef<int64_t> outputShape,
                  int64_t phaseRows, int64_t phaseCols,
                  llvm::function_ref<mlir::InFlightDiagnostic()> error);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_LAYERTILE_H
