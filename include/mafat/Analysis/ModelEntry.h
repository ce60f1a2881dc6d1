//===- ModelEntry.h - Which function of a module is the model ----*- C++ -*-===//
//
// A mafat module may hold helper functions; the model is one public function
// with a body. Every pass and tool that picks "the model" (mafat-plan,
// mafat-fuse-tile, mafat-compile) asks here, so they cannot pick different
// ones.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_ANALYSIS_MODELENTRY_H
#define MAFAT_ANALYSIS_MODELENTRY_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mafat {

/// The entry function: `entry` if given, else the only public function with
/// a body. Emits an error at the module (prefixed by `who`, e.g.
/// "mafat-plan: ") and returns null if there is none or several.
mlir::func::FuncOp findEntry(mlir::ModuleOp module, llvm::StringRef entry,
                             llvm::StringRef who = "");

} // namespace mafat

#endif // MAFAT_ANALYSIS_MODELENTRY_H
