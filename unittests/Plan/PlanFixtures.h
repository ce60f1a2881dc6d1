//===- PlanFixtures.h - Plans the plan tests share --------------*- C++ -*-===//
//
// The plans over the chain L0:conv (8x8) -> L1:maxpool (4x4) -> L2:conv
// (4x4) -> L3:conv (2x3) that the JSON tests (unittests/Plan) and the
// attribute tests (unittests/Dialect) both use, written once.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_UNITTESTS_PLAN_PLANFIXTURES_H
#define MAFAT_UNITTESTS_PLAN_PLANFIXTURES_H

#include "mafat/Plan/Plan.h"

#include <string>
#include <vector>

namespace mafat::fixtures {

inline PlanGroup group(std::string name, std::vector<std::string> layers,
                       int64_t rows, int64_t cols,
                       std::vector<Interval> rowTiles,
                       std::vector<Interval> colTiles) {
  PlanGroup g;
  g.name = std::move(name);
  g.layers = std::move(layers);
  g.gridRows = rows;
  g.gridCols = cols;
  g.rowTiles = std::move(rowTiles);
  g.colTiles = std::move(colTiles);
  return g;
}

/// A valid plan over the chain: L0-L1 on a 2x2 grid, L2-L3 on 1x3.
inline Plan validPlan() {
  Plan plan;
  plan.groups.push_back(group("g0", {"L0:conv", "L1:maxpool"}, 2, 2,
                              {{0, 1}, {2, 3}}, {{0, 1}, {2, 3}}));
  plan.groups.push_back(group("g1", {"L2:conv", "L3:conv"}, 1, 3, {{0, 1}},
                              {{0, 0}, {1, 1}, {2, 2}}));
  return plan;
}

/// L0:conv (8 rows) in stripes of 3: [0, 2], [3, 5], [6, 7].
inline PlanGroup streamGroup() {
  PlanGroup g = group("s", {"L0:conv"}, 3, 1, {}, {});
  g.mode = GroupMode::Stream;
  g.stripeRows = 3;
  return g;
}

} // namespace mafat::fixtures

#endif // MAFAT_UNITTESTS_PLAN_PLANFIXTURES_H
