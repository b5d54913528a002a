// The inverted-file neighbour graph (used beyond 50,000 faces) against the
// exact one, on clumped descriptor-like vectors: five faces per person, the
// shape of a real gallery and the hard case for inverted files.
#include "search/neighbour_graph.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/support/clumped_descriptors.h"

namespace facedex::search {
namespace {

TEST(NeighbourGraphTest, InvertedFileGraphFindsNearlyEveryExactNeighbour) {
  const std::vector<Descriptor> faces = testing::clumped_descriptors(6000, 11);
  const auto exact = neighbour_graph(faces, 11, /*exact_up_to=*/faces.size());
  const auto approx = neighbour_graph(faces, 11, /*exact_up_to=*/1000);
  ASSERT_EQ(approx.size(), faces.size());
  // What clustering needs: every neighbour within its distances (< 0.6).
  size_t hits = 0, near = 0, near_hits = 0;
  for (size_t i = 0; i < faces.size(); ++i) {
    ASSERT_EQ(approx[i].size(), 11u);
    EXPECT_EQ(approx[i][0].id, i);                   // itself first
    EXPECT_NEAR(approx[i][0].distance, 0.0f, 3e-3);  // |q|²+|m|²-2q·m in float
    for (size_t j = 1; j < approx[i].size(); ++j) EXPECT_LE(approx[i][j - 1].distance, approx[i][j].distance);
    std::set<uint64_t> found;
    for (const auto& nb : approx[i]) found.insert(nb.id);
    for (const auto& nb : exact[i]) {
      hits += found.count(nb.id);
      if (nb.distance < 0.6f) ++near, near_hits += found.count(nb.id);
    }
  }
  const double recall = double(hits) / double(11 * faces.size());
  const double near_recall = double(near_hits) / double(near);
  // The far neighbours (other people, all at similar distances) are near-ties
  // that an inverted file misses more often; they never link faces anyway.
  std::printf("inverted-file graph: recall@11 %.3f; of the %zu exact neighbours under 0.6: %.4f\n", recall, near,
              near_recall);
  EXPECT_GE(near_recall, 0.995);
  EXPECT_GE(recall, 0.7);
}

}  // namespace
}  // namespace facedex::search
