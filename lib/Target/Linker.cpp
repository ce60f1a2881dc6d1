//===- Linker.cpp - Objects to shared libraries and executables -----------===//
//
// The final link is delegated to the LLVM 22 clang driver with ld.lld: it
// knows where each target's C library and crt files live (Debian's
// cross libc for aarch64), which no in-process API does.
//
//===----------------------------------------------------------------------===//

#include "mafat/Target/Linker.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#ifndef MAFAT_LLVM_BIN_DIR
#define MAFAT_LLVM_BIN_DIR "/usr/lib/llvm-22/bin"
#endif

namespace mafat {

bool linkObjects(LinkKind kind, llvm::StringRef triple,
                 llvm::ArrayRef<std::string> objects, llvm::StringRef output,
                 llvm::StringRef driverDir, std::string &error) {
  std::string tool = kind == LinkKind::Relocatable
                         ? MAFAT_LLVM_BIN_DIR "/ld.lld"
                         : MAFAT_LLVM_BIN_DIR "/clang";
  std::vector<std::string> args{tool};
  if (kind == LinkKind::Relocatable) {
    args.push_back("-r");
  } else {
    args.push_back(("--target=" + triple).str());
    args.push_back("-fuse-ld=lld");
    if (kind == LinkKind::SharedLibrary)
      args.push_back("-shared");
  }
  args.insert(args.end(), objects.begin(), objects.end());
  if (kind == LinkKind::Executable) {
    llvm::SmallString<256> archive(driverDir);
    llvm::sys::path::append(archive, triple, "libmafat_driver.a");
    if (!llvm::sys::fs::exists(archive)) {
      error = "the mafat driver for '" + triple.str() + "' is missing (" +
              archive.str().str() + "); build the mafat-driver-archives target";
      return false;
    }
    args.push_back(archive.str().str());
  }
  if (kind != LinkKind::Relocatable)
    args.push_back("-lm");
  args.push_back("-o");
  args.push_back(output.str());

  llvm::SmallVector<llvm::StringRef> argv(args.begin(), args.end());
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(tool, argv, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "link failed";
    if (!message.empty())
      error += " (" + message + ")";
    error += ":";
    for (const std::string &a : args)
      error += " " + a;
    return false;
  }
  return true;
}

} // namespace mafat
