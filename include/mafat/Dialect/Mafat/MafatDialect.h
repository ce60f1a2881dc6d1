//===- MafatDialect.h - The mafat dialect -----------------------*- C++ -*-===//
//
// The dialect that owns mafat's plan attributes (MafatAttrs.h). It has no
// operations; it exists so that plans are checked, printable IR values.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_DIALECT_MAFAT_MAFATDIALECT_H
#define MAFAT_DIALECT_MAFAT_MAFATDIALECT_H

#include "mlir/IR/Dialect.h"

#include "mafat/Dialect/Mafat/MafatDialect.h.inc"

#endif // MAFAT_DIALECT_MAFAT_MAFATDIALECT_H
