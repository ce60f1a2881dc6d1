//===- Passes.h - mafat transformation passes -------------------*- C++ -*-===//

#ifndef MAFAT_TRANSFORMS_PASSES_H
#define MAFAT_TRANSFORMS_PASSES_H

#include "mafat/CostModel/CodegenRules.h"
#include "mafat/Dialect/Mafat/MafatDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mafat {

#define GEN_PASS_DECL
#include "mafat/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mafat/Transforms/Passes.h.inc"

} // namespace mafat

#endif // MAFAT_TRANSFORMS_PASSES_H
