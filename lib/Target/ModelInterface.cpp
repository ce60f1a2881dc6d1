//===- ModelInterface.cpp - What a compiled model looks like from C -------===//

#include "mafat/Target/ModelInterface.h"
#include "mafat/Dialect/Mafat/AttrNames.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace mafat {

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string toCIdentifier(StringRef name) {
  std::string id;
  for (char c : name)
    id.push_back(llvm::isAlnum(c) ? c : '_');
  if (id.empty() || llvm::isDigit(id.front()))
    id.insert(id.begin(), '_');
  return id;
}

static std::string defaultLayout(size_t rank) {
  switch (rank) {
  case 4:
    return "NHWC";
  case 2:
    return "NC";
  case 3:
    return "NWC";
  default:
    return "dense";
  }
}

static FailureOr<TensorInfo> readTensor(func::FuncOp func, Type type,
                                        ArrayAttr names, ArrayAttr layouts,
                                        unsigned index, StringRef kind) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape() ||
      !tensor.getElementType().isF32())
    return func.emitError() << kind << " #" << index
                            << " must be a static f32 tensor, got " << type;
  TensorInfo info;
  info.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  info.layout = defaultLayout(info.shape.size());
  // Importers that keep a model's own interface layout (ONNX: NCHW) say so.
  if (layouts && index < layouts.size())
    if (auto s = dyn_cast<StringAttr>(layouts[index]))
      info.layout = s.getValue().str();
  if (names && index < names.size())
    if (auto s = dyn_cast<StringAttr>(names[index]))
      info.name = s.getValue().str();
  if (info.name.empty())
    info.name = (kind + Twine(index)).str();
  return info;
}

FailureOr<ModelInterface> readInterface(func::FuncOp entry) {
  ModelInterface model;
  model.entry = entry.getSymName().str();
  model.name = toCIdentifier(model.entry);
  auto inNames = entry->getAttrOfType<ArrayAttr>(mafat::kInputNamesAttr);
  auto outNames = entry->getAttrOfType<ArrayAttr>(mafat::kOutputNamesAttr);
  auto inLayouts = entry->getAttrOfType<ArrayAttr>(mafat::kInputLayoutsAttr);
  auto outLayouts = entry->getAttrOfType<ArrayAttr>(mafat::kOutputLayoutsAttr);
  for (auto [i, type] : llvm::enumerate(entry.getArgumentTypes())) {
    FailureOr<TensorInfo> t = readTensor(entry, type, inNames, inLayouts, i, "input");
    if (failed(t))
      return failure();
    model.inputs.push_back(*t);
  }
  for (auto [i, type] : llvm::enumerate(entry.getResultTypes())) {
    FailureOr<TensorInfo> t = readTensor(entry, type, outNames, outLayouts, i, "output");
    if (failed(t))
      return failure();
    model.outputs.push_back(*t);
  }
  if (model.outputs.empty())
    return entry.emitError("the model has no outputs");
  return model;
}

LogicalResult readMemoryFigures(ModuleOp module, StringRef entry,
                                ModelInterface &model) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func)
    return module.emitError() << "entry '" << entry << "' vanished";
  auto get = [&](StringRef name, uint64_t &out) -> LogicalResult {
    auto attr = func->getAttrOfType<IntegerAttr>(name);
    if (!attr)
      return func.emitError() << "missing '" << name
                              << "': the memory planner did not run";
    out = attr.getValue().getZExtValue();
    return success();
  };
  if (failed(get(mafat::kWorkspaceBytesAttr, model.workspaceBytes)) ||
      failed(get(mafat::kWorkspaceAlignAttr, model.workspaceAlign)) ||
      failed(get(mafat::kNaiveBytesAttr, model.naiveBytes)))
    return failure();
  if (auto threads = func->getAttrOfType<IntegerAttr>(kThreadsAttr))
    model.threads = threads.getInt();
  model.weightBytes = 0;
  module.walk([&](memref::GlobalOp global) {
    if (global.getConstant())
      model.weightBytes += global.getType().getNumElements() *
                           ((global.getType().getElementTypeBitWidth() + 7) /
                            8);
  });
  return success();
}

} // namespace mafat
