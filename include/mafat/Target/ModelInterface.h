//===- ModelInterface.h - What a compiled model looks like from C -*- C++ -*-===//
//
// The interface of a compiled model: its tensors, its workspace and the
// figures the memory planner reported. Read off the IR once, then used to
// write the C header, the self-description and mafat-compile's report.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_TARGET_MODELINTERFACE_H
#define MAFAT_TARGET_MODELINTERFACE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include <cstdint>
#include <string>
#include <vector>

namespace mafat {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  std::string layout; ///< "NHWC", "NC", ... (a hint for humans and tools)
  int64_t numElements() const;
};

struct ModelInterface {
  std::string name; ///< C identifier prefix, e.g. "yolo" -> yolo_run().
  std::string entry; ///< The MLIR function compiled.
  std::string triple;
  std::vector<TensorInfo> inputs, outputs;
  uint64_t workspaceBytes = 0, workspaceAlign = 64, naiveBytes = 0;
  uint64_t weightBytes = 0, stackBoundBytes = 0;
  unsigned threads = 1; ///< Threads the plan was made for.
};

/// Reads inputs and outputs from the entry's tensor signature (names from
/// `mafat.input_names` / `mafat.output_names` when present).
mlir::FailureOr<ModelInterface> readInterface(mlir::func::FuncOp entry);

/// Fills the memory figures from a bufferized, planned module: the
/// `mafat.workspace_*` attributes of the entry and the constant globals.
mlir::LogicalResult readMemoryFigures(mlir::ModuleOp module,
                                      llvm::StringRef entry,
                                      ModelInterface &model);

/// Turns any name into a C identifier.
std::string toCIdentifier(llvm::StringRef name);

} // namespace mafat

#endif // MAFAT_TARGET_MODELINTERFACE_H
