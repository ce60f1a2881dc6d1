//===- MafatDialect.td - The mafat dialect -----------------*- tablegen -*-===//
//
// mafat's own IR is data, not ops: the plan the search writes and the
// fuse-tile transform reads. A dialect gives that data a checked, printable
// form (#mafat.plan, #mafat.group) instead of nested builtin arrays whose
// meaning only the code that reads them knows.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_DIALECT_MAFAT_MAFATDIALECT_TD
#define MAFAT_DIALECT_MAFAT_MAFATDIALECT_TD

// OpBase.td, not just DialectBase.td: -gen-dialect-doc needs the Op class
// even for a dialect without ops.
include "mlir/IR/OpBase.td"

def Mafat_Dialect : Dialect {
  let name = "mafat";
  let cppNamespace = "::mafat";
  let summary = "Fused tile partitioning plans for CNN inference";
  let description = [{
    The mafat dialect has no operations. It defines the attributes of a
    fused-tile-partitioning plan: `#mafat.group` (a fusion group, its layers
    and its output tile grid) and `#mafat.plan` (the groups in execution
    order). A plan is attached to the module as the attribute `mafat.plan`;
    the dialect checks that attribute whenever the module is verified.
    Other `mafat.*` discardable attributes (`mafat.workspace_bytes`,
    `mafat.input_names`, ...) are left alone.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    // In MafatAttrs.cpp, where the attribute storage classes are complete.
    void registerAttributes();
  }];
}

#endif // MAFAT_DIALECT_MAFAT_MAFATDIALECT_TD
