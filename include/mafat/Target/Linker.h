//===- Linker.h - Objects to shared libraries and executables ---*- C++ -*-===//

#ifndef MAFAT_TARGET_LINKER_H
#define MAFAT_TARGET_LINKER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include <string>

namespace mafat {

enum class LinkKind { Relocatable, SharedLibrary, Executable };

/// Links `objects` with the LLVM 22 clang driver and ld.lld for `triple`.
/// Executables also get the per-target mafat driver archive (found from
/// `driverDir`, laid out as <driverDir>/<triple>/libmafat_driver.a).
/// Returns false and sets `error` (with the command line) on failure.
bool linkObjects(LinkKind kind, llvm::StringRef triple,
                 llvm::ArrayRef<std::string> objects, llvm::StringRef output,
                 llvm::StringRef driverDir, std::string &error);

} // namespace mafat

#endif // MAFAT_TARGET_LINKER_H
