//===- RegisterBlock.h - Per-op, per-target register blocking ---*- C++ -*-===//
//
// Chooses the register block of a layer from its shape and the target's SIMD
// width and register count, so no recipe is ever hand-edited for one shape.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TRANSFORMS_REGISTERBLOCK_H
#define MAFAT_TRANSFORMS_REGISTERBLOCK_H

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>

namespace mafat {

/// What the register block depends on.
struct VectorTarget {
  unsigned lanes = 16;     ///< f32 lanes per SIMD register.
  unsigned registers = 32; ///< SIMD registers available.
};

/// Tile sizes over the op's loops (0 = not tiled), in loop order.
struct RegisterBlock {
  /// Parallel dims tiled first, fusing the accumulator's fill.
  llvm::SmallVector<int64_t> parallel;
  /// Then reduction dims of the tiled op (window dims to 1, channels small:
  /// 4 measured faster than 16 for 3x3 convs on AVX-512, where 16 made LLVM
  /// spill; 1x1 convs take 16).
  llvm::SmallVector<int64_t> reduction;
  /// Loop order of the parallel tiling (interchange), empty for identity.
  llvm::SmallVector<int64_t> interchange;
  /// Cache blocking for convs whose filter slice would not stay in cache
  /// (deep layers: 3x3x1024 x 64 filters is 2.4 MB): first tile the
  /// parallel dims to `cacheParallel` (filters only), then the channels to
  /// `cacheReduction`, and register-block inside. Empty when not needed.
  llvm::SmallVector<int64_t> cacheParallel;
  llvm::SmallVector<int64_t> cacheReduction;
};

/// Bytes of filter one cache block may hold (L2-resident with room for the
/// input and output tiles).
constexpr int64_t kFilterCacheBytes = 256 * 1024;

/// Largest divisor of `n` that is <= `cap`, preferring multiples of
/// `multiple` when one exists. Sizes that divide keep every tile identical;
/// where none is good the pass peels the remainder instead.
int64_t chooseDivisor(int64_t n, int64_t cap, int64_t multiple = 1);

/// Block of a vectorized (innermost) dim of size `n`, at most `cap`
/// elements, always a power of two of whole registers when `n` exceeds one
/// register: the largest that divides `n`; else the largest whose remainder
/// is a power of two >= 4 or equals `n % lanes` (the pass peels it); else
/// one register. Below one register: a power of two >= 4 that divides `n`,
/// else `chooseDivisor(n, cap, lanes)`. LLVM splits a vector of 2^k registers
/// into registers and maps 4 or 8 lanes to a narrower register, but widens any
/// other width (48, 24) to the next power of two and assembles it lane by
/// lane: 1x1 convs with 144 or 24 filters ran 3-5x slower in 48- and
/// 24-wide blocks than in 16- and 8-wide ones.
int64_t chooseVectorBlock(int64_t n, int64_t cap, int64_t lanes);

/// The register block for `op`, or nullopt if mafat does not register-block
/// this kind of op (it is then lowered to loops).
std::optional<RegisterBlock> chooseRegisterBlock(mlir::linalg::LinalgOp op,
                                                 const VectorTarget &target);

} // namespace mafat

#endif // MAFAT_TRANSFORMS_REGISTERBLOCK_H
