//===- mafat-opt.cpp - mlir-opt with mafat's passes and pipelines ---------===//
//
// Everything mlir-opt users rely on (--pass-pipeline, --split-input-file,
// --verify-diagnostics, --mlir-print-ir-after-all) comes from MlirOptMain;
// mafat adds its passes and named pipelines on top of all upstream ones.
//
//===----------------------------------------------------------------------===//

#include "mafat/Dialect/Mafat/MafatDialect.h"
#include "mafat/Pipelines/Pipelines.h"
#include "mafat/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mafat::registerMafatPasses();
  mafat::registerMafatPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mafat::MafatDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "mafat optimizer driver: MLIR passes plus mafat's\n",
      registry));
}
