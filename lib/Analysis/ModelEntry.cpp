//===- ModelEntry.cpp - Which function of a module is the model -----------===//

#include "mafat/Analysis/ModelEntry.h"

using namespace mlir;

func::FuncOp mafat::findEntry(ModuleOp module, StringRef entry,
                              StringRef who) {
  if (!entry.empty()) {
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal()) {
      module.emitError() << who << "entry function '" << entry
                         << "' not found in the model";
      return nullptr;
    }
    return func;
  }
  func::FuncOp found;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || func.isPrivate())
      continue;
    if (found) {
      module.emitError() << who << "the model has several public functions ('"
                         << found.getSymName() << "', '" << func.getSymName()
                         << "'); choose one with --entry (entry= on the "
                            "passes)";
      return nullptr;
    }
    found = func;
  }
  if (!found)
    module.emitError() << who << "the model has no public function to compile";
  return found;
}
