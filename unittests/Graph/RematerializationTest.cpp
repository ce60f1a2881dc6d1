//===- RematerializationTest.cpp - Which maps are recomputed, from what ---===//

#include "mafat/Graph/Rematerialization.h"
#include "Graph/GraphBuilder.h"

#include "gtest/gtest.h"

using namespace mafat;
using namespace mafat::test;

namespace {

/// yolov3-tiny's route in small: L2 (conv + leaky, 16 channels) is read by
/// the trunk's pool and, after it, by the concat with the upsampled trunk.
/// L1's map (8 channels) is half of L2's.
struct RouteGraph {
  LayerGraph graph;
  unsigned conv = 0, leaky = 0, pool = 0, concat = 0, source = 0;
};

RouteGraph routeGraph() {
  GraphBuilder b("route");
  MapValue x = b.input(16, 16, 3);
  MapValue c0 = b.conv("L0:conv", x, 3, 8, 1, 1);
  MapValue p1 = b.maxpool("L1:maxpool", c0);
  MapValue c2 = b.conv("L2:conv", p1, 3, 16, 1, 1);
  MapValue l2 = b.eltwise("L2:leaky", {c2}, 2, 64);
  MapValue p3 = b.maxpool("L3:maxpool", l2);
  MapValue c4 = b.conv("L4:conv", p3, 1, 16, 1, 0);
  // The concat reads two maps of the same rows: stands for upsample+route.
  MapValue c5 = b.conv("L5:conv", l2, 1, 16, 1, 0);
  MapValue cat = b.concat("L6:concat", {c5, l2});
  RouteGraph r;
  r.graph = b.finish({c4, cat});
  r.conv = c2.node;
  r.leaky = l2.node;
  r.pool = p3.node;
  r.concat = cat.node;
  r.source = p1.node;
  return r;
}

TEST(Rematerialization, ChainBackToTheFirstSmallerMap) {
  RouteGraph r = routeGraph();
  std::string why;
  std::optional<Rematerialization> found =
      findRematerialization(r.graph, r.leaky, why);
  ASSERT_TRUE(found) << why;
  EXPECT_EQ(found->node, r.leaky);
  EXPECT_EQ(found->chain, (std::vector<unsigned>{r.conv, r.leaky}));
  EXPECT_EQ(found->source, r.source);
  // The pool reads first; L5:conv and the concat read the copy.
  EXPECT_EQ(found->lateUsers,
            (std::vector<unsigned>{*r.graph.lookup("L5:conv"), r.concat}));
  EXPECT_EQ(found->extraFlops,
            r.graph.node(r.conv).flops + r.graph.node(r.leaky).flops);
  // The only candidate: every other map has one reader.
  std::vector<Rematerialization> all = rematerializationCandidates(r.graph);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].node, r.leaky);
}

TEST(Rematerialization, Rejections) {
  std::string why;
  {
    // One reader.
    RouteGraph r = routeGraph();
    EXPECT_FALSE(findRematerialization(r.graph, r.pool, why));
    EXPECT_EQ(why, "'L3:maxpool' has 1 reader(s); only a map read twice or "
                   "more is kept for a later reader");
  }
  {
    // No smaller map before it: a 1x1 conv that shrinks channels.
    GraphBuilder b;
    MapValue x = b.input(8, 8, 16);
    MapValue c0 = b.conv("L0:conv", x, 3, 16, 1, 1);
    MapValue c1 = b.conv("L1:conv", c0, 1, 8, 1, 0);
    MapValue p2 = b.maxpool("L2:maxpool", c1);
    MapValue c3 = b.conv("L3:conv", c1, 1, 8, 1, 0);
    LayerGraph g = b.finish({p2, c3});
    EXPECT_FALSE(findRematerialization(g, c1.node, why));
    EXPECT_EQ(why, "no map smaller than 'L1:conv' (2048 bytes) is within 3 "
                   "single-reader layers before it");
    EXPECT_TRUE(rematerializationCandidates(g).empty());
  }
  {
    // A residual add reads two maps.
    GraphBuilder b;
    MapValue x = b.input(8, 8, 4);
    MapValue c0 = b.conv("L0:conv", x, 3, 8, 1, 1);
    MapValue c1 = b.conv("L1:conv", x, 3, 8, 1, 1);
    MapValue add = b.eltwise("L2:add", {c0, c1}, 1);
    MapValue p3 = b.maxpool("L3:maxpool", add);
    MapValue c4 = b.conv("L4:conv", add, 1, 8, 1, 0);
    LayerGraph g = b.finish({p3, c4});
    EXPECT_FALSE(findRematerialization(g, add.node, why));
    EXPECT_EQ(why, "'L2:add' reads more than one map");
  }
  {
    // A model output: the caller's buffer holds it anyway.
    GraphBuilder b;
    MapValue x = b.input(8, 8, 4);
    MapValue p0 = b.maxpool("L0:maxpool", x);
    MapValue c1 = b.conv("L1:conv", p0, 3, 16, 1, 1);
    MapValue p2 = b.maxpool("L2:maxpool", c1);
    MapValue c3 = b.conv("L3:conv", c1, 1, 4, 1, 0);
    LayerGraph g = b.finish({p2, c3, c1});
    EXPECT_FALSE(findRematerialization(g, c1.node, why));
    EXPECT_EQ(why, "'L1:conv' is a model output, which the caller's buffer "
                   "holds anyway");
  }
  {
    // A concat is not recomputed.
    GraphBuilder b;
    MapValue x = b.input(8, 8, 4);
    MapValue cat = b.concat("L0:concat", {x, x});
    MapValue p1 = b.maxpool("L1:maxpool", cat);
    MapValue c2 = b.conv("L2:conv", cat, 1, 8, 1, 0);
    LayerGraph g = b.finish({p1, c2});
    EXPECT_FALSE(findRematerialization(g, cat.node, why));
    EXPECT_EQ(why, "'L0:concat' is a concat layer; only convs, pools, "
                   "elementwise layers and pads are recomputed");
  }
}

TEST(Rematerialization, CopyNames) {
  EXPECT_EQ(rematerializedName("L8:conv"), "L8:conv.remat");
  EXPECT_EQ(rematerializedOriginal("L8:conv.remat"),
            std::optional<llvm::StringRef>("L8:conv"));
  EXPECT_FALSE(rematerializedOriginal("L8:conv"));
}

} // namespace
