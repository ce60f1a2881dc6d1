//===- PlanAttrTest.cpp - Plans through the #mafat.plan attribute ---------===//
//
// A plan travels in the IR as #mafat.plan: the round trip through the
// attribute (printed form included) and its verifiers, which run the same
// checks with the same messages as a JSON plan (unittests/Plan/PlanTest.cpp
// pins those).
//
//===----------------------------------------------------------------------===//

#include "Plan/PlanFixtures.h"
#include "mafat/Dialect/Mafat/MafatAttrs.h"
#include "mafat/Plan/Plan.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mafat;
using namespace mafat::fixtures;

namespace {

TEST(PlanAttr, RoundTripThroughTheIR) {
  mlir::MLIRContext context;
  context.loadDialect<MafatDialect>();
  Plan plan = validPlan();
  PlanAttr attr = toAttr(&context, plan);
  ASSERT_TRUE(attr);
  EXPECT_EQ(fromAttr(attr), plan);
  // Uniqued: the same plan is the same attribute.
  EXPECT_EQ(toAttr(&context, validPlan()), attr);
  EXPECT_EQ(fromAttr(toAttr(&context, Plan())), Plan());

  std::string text;
  llvm::raw_string_ostream os(text);
  mlir::Attribute(attr.getGroups()[1]).print(os);
  EXPECT_EQ(text, "#mafat.group<name = \"g1\", layers = [\"L2:conv\", "
                  "\"L3:conv\"], grid = [1, 3], row_tiles = [[0, 1]], "
                  "col_tiles = [[0, 0], [1, 1], [2, 2]]>");

  // Slots travel through the attribute and are printed only above 1.
  plan.groups[1].slots = 2;
  PlanAttr slotted = toAttr(&context, plan);
  EXPECT_EQ(fromAttr(slotted), plan);
  text.clear();
  mlir::Attribute(slotted.getGroups()[1]).print(os);
  EXPECT_NE(text.find("col_tiles = [[0, 0], [1, 1], [2, 2]], slots = 2>"),
            std::string::npos)
      << text;
}

TEST(PlanAttr, VerifierUsesThePlanChecks) {
  mlir::MLIRContext context;
  context.loadDialect<MafatDialect>();
  std::string message;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    message = d.str();
    return mlir::success();
  });
  auto loc = mlir::UnknownLoc::get(&context);
  auto emit = [&] { return mlir::emitError(loc); };

  // getChecked with exactly the generated parameter types: anything else
  // picks StorageUserBase's template, which needs the storage classes.
  auto checkedGroup = [&](const PlanGroup &g,
                          llvm::ArrayRef<mlir::StringAttr> layers) {
    return GroupAttr::getChecked(emit, &context, llvm::StringRef(g.name),
                                 layers, g.gridRows, g.gridCols,
                                 llvm::ArrayRef<Interval>(g.rowTiles),
                                 llvm::ArrayRef<Interval>(g.colTiles), g.mode,
                                 g.stripeRows, g.slots, g.chunkRows);
  };

  Plan plan = validPlan();
  plan.groups[1].layers[0] = "L0:conv";
  llvm::SmallVector<GroupAttr> groups(toAttr(&context, plan).getGroups());
  EXPECT_FALSE(
      PlanAttr::getChecked(emit, &context, llvm::ArrayRef<GroupAttr>(groups)));
  EXPECT_EQ(message, "group 'g1': layer 'L0:conv' is also in group 'g0'");

  PlanGroup g = validPlan().groups[0];
  g.rowTiles = {{0, 0}, {2, 3}};
  EXPECT_FALSE(checkedGroup(g, {}));
  EXPECT_EQ(message, "group 'g0': group has no layers");
  mlir::StringAttr layer = mlir::StringAttr::get(&context, "L0:conv");
  EXPECT_FALSE(checkedGroup(g, layer));
  EXPECT_EQ(message, "group 'g0': gap between row tiles [0, 0] and [2, 3]");

  // More slots than tiles is rejected in the attribute as in JSON.
  PlanGroup slotted = validPlan().groups[0];
  slotted.slots = slotted.gridRows * slotted.gridCols + 1;
  EXPECT_FALSE(checkedGroup(slotted, layer));
  EXPECT_EQ(message, "group 'g0': slots must be from 1 to the group's tile "
                     "count 4 (at most 256), got 5");
  slotted.slots = slotted.gridRows * slotted.gridCols;
  EXPECT_TRUE(checkedGroup(slotted, layer));
}

TEST(StreamPlan, AttrRoundTrip) {
  mlir::MLIRContext context;
  context.loadDialect<MafatDialect>();
  Plan plan;
  plan.groups.push_back(streamGroup());
  plan.groups[0].rowTiles = {{0, 2}, {3, 5}, {6, 7}};
  plan.groups[0].colTiles = {{0, 7}};
  PlanAttr attr = toAttr(&context, plan);
  EXPECT_EQ(fromAttr(attr), plan);
  std::string text;
  llvm::raw_string_ostream os(text);
  mlir::Attribute(attr.getGroups()[0]).print(os);
  EXPECT_EQ(text, "#mafat.group<name = \"s\", layers = [\"L0:conv\"], grid = "
                  "[3, 1], row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = "
                  "[[0, 7]], mode = stream, stripe_rows = 3>");
  // Chunked heads print their chunk rows, and round-trip.
  plan.groups[0].chunkRows = 1;
  attr = toAttr(&context, plan);
  EXPECT_EQ(fromAttr(attr), plan);
  text.clear();
  mlir::Attribute(attr.getGroups()[0]).print(os);
  EXPECT_EQ(text, "#mafat.group<name = \"s\", layers = [\"L0:conv\"], grid = "
                  "[3, 1], row_tiles = [[0, 2], [3, 5], [6, 7]], col_tiles = "
                  "[[0, 7]], mode = stream, stripe_rows = 3, chunk_rows = 1>");
}

} // namespace
