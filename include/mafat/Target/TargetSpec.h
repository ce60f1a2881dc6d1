//===- TargetSpec.h - The machine mafat compiles for ------------*- C++ -*-===//

#ifndef MAFAT_TARGET_TARGETSPEC_H
#define MAFAT_TARGET_TARGETSPEC_H

#include "llvm/Target/TargetMachine.h"
#include <memory>
#include <string>

namespace mafat {

/// A resolved target: the LLVM TargetMachine plus what codegen decisions
/// (register blocks) need to know about its SIMD unit.
struct TargetSpec {
  std::string triple; ///< As the user named it, e.g. "aarch64-linux-gnu".
  std::string cpu;
  std::string features;
  unsigned vectorBits = 128;
  unsigned vectorRegisters = 16;
  bool isHost = false;
  /// Mark generated functions for ThreadSanitizer (mafat-compile
  /// --emit=llvm --tsan, then clang -fsanitize=thread on the .ll): the
  /// threaded model's own loads and stores are then checked too.
  bool threadSanitizer = false;
  std::unique_ptr<llvm::TargetMachine> machine;
};

/// The triples mafat supports, for diagnostics.
llvm::StringRef supportedTriples();

/// Resolves `triple` (empty: the host) and `cpu` (empty: the host CPU when
/// compiling for the host, a generic CPU otherwise). On failure returns null
/// and sets `error` to a one-line message.
std::unique_ptr<TargetSpec> resolveTarget(llvm::StringRef triple,
                                          llvm::StringRef cpu, int optLevel,
                                          std::string &error);

} // namespace mafat

#endif // MAFAT_TARGET_TARGETSPEC_H
