//===- CHeader.h - The C header of a compiled model -------------*- C++ -*-===//

#ifndef MAFAT_TARGET_CHEADER_H
#define MAFAT_TARGET_CHEADER_H

#include "mafat/Target/ModelInterface.h"
#include <string>

namespace mafat {

/// The header declaring `model`: workspace size and alignment, each input and
/// output (name, shape, element type, layout) and the run function.
std::string emitCHeader(const ModelInterface &model,
                        llvm::StringRef sourceName);

} // namespace mafat

#endif // MAFAT_TARGET_CHEADER_H
