//===- MafatAttrs.h - Plan and group attributes -----------------*- C++ -*-===//
//
// #mafat.group and #mafat.plan (see MafatAttrs.td for the syntax), and the
// conversions between them and the IR-independent mafat::Plan that the
// search, the JSON reader/writer and the unit tests work with.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_DIALECT_MAFAT_MAFATATTRS_H
#define MAFAT_DIALECT_MAFAT_MAFATATTRS_H

#include "mafat/Dialect/Mafat/MafatDialect.h"
#include "mafat/Geometry/ReceptiveField.h"
#include "mafat/Plan/Plan.h"

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/Hashing.h"

namespace mafat {

/// Attribute storage uniques tile lists by hash; Interval's operator==
/// treats every empty interval as equal, so empties hash alike too.
inline llvm::hash_code hash_value(Interval interval) {
  if (interval.isEmpty())
    return llvm::hash_combine(int64_t(0), int64_t(-1));
  return llvm::hash_combine(interval.lo, interval.hi);
}

} // namespace mafat

#define GET_ATTRDEF_CLASSES
#include "mafat/Dialect/Mafat/MafatAttrs.h.inc"

namespace mafat {

/// The module attribute that carries the plan.
inline constexpr llvm::StringLiteral kPlanAttrName = "mafat.plan";

/// The plan as an attribute. Builds without verifying: run validatePlan (or
/// at least checkPlanStructure with tiles required) first. An invalid plan
/// still cannot slip through unnoticed, because the dialect re-verifies
/// `mafat.plan` whenever the module it is attached to is verified.
PlanAttr toAttr(mlir::MLIRContext *context, const Plan &plan);

/// The plan an attribute holds; fromAttr(toAttr(ctx, p)) == p for a plan
/// without `rematerialize`, which the attribute does not carry (mafat-plan
/// has applied it to the IR by then).
Plan fromAttr(PlanAttr attr);

} // namespace mafat

#endif // MAFAT_DIALECT_MAFAT_MAFATATTRS_H
