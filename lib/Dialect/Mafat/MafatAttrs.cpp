//===- MafatAttrs.cpp - Plan and group attributes -------------------------===//
//
// Custom syntax because the declarative one cannot say what a reader of a
// plan wants to see: bracketed lists of names and of [lo, hi] pairs, all
// fields named. The verifiers delegate to mafat::checkPlanStructure so an IR
// plan and a JSON plan are held to the same rules, in the same words.
//
//===----------------------------------------------------------------------===//

#include "mafat/Dialect/Mafat/MafatAttrs.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mafat;

#define GET_ATTRDEF_CLASSES
#include "mafat/Dialect/Mafat/MafatAttrs.cpp.inc"

namespace {

PlanGroup toGroup(StringRef name, ArrayRef<StringAttr> layers, int64_t gridRows,
                  int64_t gridCols, ArrayRef<Interval> rowTiles,
                  ArrayRef<Interval> colTiles, GroupMode mode,
                  int64_t stripeRows, int64_t slots, int64_t chunkRows) {
  PlanGroup group;
  group.name = name.str();
  for (StringAttr layer : layers)
    group.layers.push_back(layer ? layer.str() : std::string());
  group.gridRows = gridRows;
  group.gridCols = gridCols;
  group.rowTiles.assign(rowTiles.begin(), rowTiles.end());
  group.colTiles.assign(colTiles.begin(), colTiles.end());
  group.mode = mode;
  group.stripeRows = stripeRows;
  group.slots = slots;
  group.chunkRows = chunkRows;
  return group;
}

PlanGroup toGroup(GroupAttr attr) {
  return toGroup(attr.getName(), attr.getLayers(), attr.getGridRows(),
                 attr.getGridCols(), attr.getRowTiles(), attr.getColTiles(),
                 attr.getMode(), attr.getStripeRows(), attr.getSlots(),
                 attr.getChunkRows());
}

/// `key =`
ParseResult parseKey(AsmParser &parser, StringRef key) {
  return failure(parser.parseKeyword(key) || parser.parseEqual());
}

/// `[[lo, hi], ...]`
ParseResult parseTiles(AsmParser &parser, SmallVectorImpl<Interval> &tiles) {
  return parser.parseCommaSeparatedList(
      AsmParser::Delimiter::Square, [&]() -> ParseResult {
        int64_t lo = 0, hi = 0;
        if (parser.parseLSquare() || parser.parseInteger(lo) ||
            parser.parseComma() || parser.parseInteger(hi) ||
            parser.parseRSquare())
          return failure();
        tiles.push_back(Interval(lo, hi));
        return success();
      });
}

void printTiles(AsmPrinter &printer, ArrayRef<Interval> tiles) {
  printer << "[";
  llvm::interleaveComma(tiles, printer, [&](Interval tile) {
    printer << "[" << tile.lo << ", " << tile.hi << "]";
  });
  printer << "]";
}

} // namespace

//===----------------------------------------------------------------------===//
// GroupAttr
//===----------------------------------------------------------------------===//

Attribute GroupAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  MLIRContext *context = parser.getContext();
  std::string name;
  SmallVector<StringAttr> layers;
  int64_t gridRows = 0, gridCols = 0;
  SmallVector<Interval> rowTiles, colTiles;
  int64_t slots = 1;
  int64_t chunkRows = 0;
  if (parser.parseLess() || parseKey(parser, "name") ||
      parser.parseString(&name) || parser.parseComma() ||
      parseKey(parser, "layers") ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     [&]() -> ParseResult {
                                       std::string layer;
                                       if (parser.parseString(&layer))
                                         return failure();
                                       layers.push_back(
                                           StringAttr::get(context, layer));
                                       return success();
                                     }) ||
      parser.parseComma() || parseKey(parser, "grid") ||
      parser.parseLSquare() || parser.parseInteger(gridRows) ||
      parser.parseComma() || parser.parseInteger(gridCols) ||
      parser.parseRSquare() || parser.parseComma() ||
      parseKey(parser, "row_tiles") || parseTiles(parser, rowTiles) ||
      parser.parseComma() || parseKey(parser, "col_tiles") ||
      parseTiles(parser, colTiles))
    return {};
  // Recompute groups leave the mode out, one-slot groups the slots.
  GroupMode mode = GroupMode::Recompute;
  int64_t stripeRows = 0;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    if (key == "slots") {
      if (parser.parseEqual() || parser.parseInteger(slots))
        return {};
      continue;
    }
    if (key == "chunk_rows") {
      if (parser.parseEqual() || parser.parseInteger(chunkRows))
        return {};
      continue;
    }
    if (key != "mode") {
      parser.emitError(keyLoc,
                       "expected 'mode', 'slots' or 'chunk_rows', got '")
          << key << "'";
      return {};
    }
    SMLoc modeLoc = parser.getCurrentLocation();
    std::string modeName;
    if (parser.parseEqual() || parser.parseKeywordOrString(&modeName))
      return {};
    std::optional<GroupMode> parsed = parseGroupMode(modeName);
    if (!parsed) {
      parser.emitError(modeLoc, "expected mode 'recompute' or 'stream', got '")
          << modeName << "'";
      return {};
    }
    mode = *parsed;
    if (parser.parseComma() || parseKey(parser, "stripe_rows") ||
        parser.parseInteger(stripeRows))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<GroupAttr>(loc, context, name, layers, gridRows,
                                      gridCols, rowTiles, colTiles, mode,
                                      stripeRows, slots, chunkRows);
}

void GroupAttr::print(AsmPrinter &printer) const {
  printer << "<name = ";
  printer.printString(getName());
  printer << ", layers = [";
  llvm::interleaveComma(getLayers(), printer, [&](StringAttr layer) {
    printer.printString(layer.getValue());
  });
  printer << "], grid = [" << getGridRows() << ", " << getGridCols()
          << "], row_tiles = ";
  printTiles(printer, getRowTiles());
  printer << ", col_tiles = ";
  printTiles(printer, getColTiles());
  if (getMode() != GroupMode::Recompute || getStripeRows() != 0)
    printer << ", mode = " << stringifyGroupMode(getMode())
            << ", stripe_rows = " << getStripeRows();
  if (getSlots() != 1)
    printer << ", slots = " << getSlots();
  if (getChunkRows() != 0)
    printer << ", chunk_rows = " << getChunkRows();
  printer << ">";
}

LogicalResult GroupAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                StringRef name, ArrayRef<StringAttr> layers,
                                int64_t gridRows, int64_t gridCols,
                                ArrayRef<Interval> rowTiles,
                                ArrayRef<Interval> colTiles, GroupMode mode,
                                int64_t stripeRows, int64_t slots,
                                int64_t chunkRows) {
  std::string message =
      checkGroupStructure(toGroup(name, layers, gridRows, gridCols, rowTiles,
                                  colTiles, mode, stripeRows, slots, chunkRows),
                          /*requireTiles=*/true);
  if (!message.empty())
    return emitError() << message;
  return success();
}

//===----------------------------------------------------------------------===//
// PlanAttr
//===----------------------------------------------------------------------===//

Attribute PlanAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<GroupAttr> groups;
  if (parser.parseLess() || parseKey(parser, "groups") ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     [&]() -> ParseResult {
                                       GroupAttr group;
                                       if (parser.parseAttribute(group))
                                         return failure();
                                       groups.push_back(group);
                                       return success();
                                     }) ||
      parser.parseGreater())
    return {};
  return parser.getChecked<PlanAttr>(loc, parser.getContext(), groups);
}

void PlanAttr::print(AsmPrinter &printer) const {
  printer << "<groups = [";
  llvm::interleaveComma(getGroups(), printer, [&](GroupAttr group) {
    printer.printAttribute(group);
  });
  printer << "]>";
}

LogicalResult PlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               ArrayRef<GroupAttr> groups) {
  Plan plan;
  for (GroupAttr group : groups) {
    if (!group)
      return emitError() << "null group in #mafat.plan";
    plan.groups.push_back(toGroup(group));
  }
  std::string message = checkPlanStructure(plan, /*requireTiles=*/true);
  if (!message.empty())
    return emitError() << message;
  return success();
}

void MafatDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "mafat/Dialect/Mafat/MafatAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

PlanAttr mafat::toAttr(MLIRContext *context, const Plan &plan) {
  SmallVector<GroupAttr> groups;
  for (const PlanGroup &group : plan.groups) {
    SmallVector<StringAttr> layers;
    for (const std::string &layer : group.layers)
      layers.push_back(StringAttr::get(context, layer));
    groups.push_back(GroupAttr::get(
        context, group.name, layers, group.gridRows, group.gridCols,
        group.rowTiles, group.colTiles, group.mode, group.stripeRows,
        group.slots, group.chunkRows));
  }
  return PlanAttr::get(context, groups);
}

Plan mafat::fromAttr(PlanAttr attr) {
  Plan plan;
  for (GroupAttr group : attr.getGroups())
    plan.groups.push_back(toGroup(group));
  return plan;
}
