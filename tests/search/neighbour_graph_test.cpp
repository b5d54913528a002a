// The inverted-file neighbour graph (used beyond 50,000 faces) against the
// exact one, on clumped descriptor-like vectors: five faces per person, the
// shape of a real gallery and the hard case for inverted files.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "search/neighbour_graph.h"

namespace facedex::search {
namespace {

std::vector<Descriptor> clumped_faces(size_t n) {
  std::mt19937 rng(11);
  std::normal_distribution<float> centre(0.f, 0.09f), noise(0.f, 0.024f);
  std::vector<Descriptor> out;
  Descriptor c{};
  for (size_t i = 0; i < n; ++i) {
    if (i % 5 == 0)
      for (auto& v : c) v = centre(rng);
    Descriptor d;
    for (size_t j = 0; j < d.size(); ++j) d[j] = c[j] + noise(rng);
    out.push_back(d);
  }
  return out;
}

TEST(NeighbourGraphTest, InvertedFileGraphFindsNearlyEveryExactNeighbour) {
  const std::vector<Descriptor> faces = clumped_faces(6000);
  const auto exact = neighbour_graph(faces, 11, /*exact_up_to=*/faces.size());
  const auto approx = neighbour_graph(faces, 11, /*exact_up_to=*/1000);
  ASSERT_EQ(approx.size(), faces.size());
  size_t hits = 0, same_person_hits = 0, same_person = 0;
  for (size_t i = 0; i < faces.size(); ++i) {
    ASSERT_EQ(approx[i].size(), 11u);
    EXPECT_EQ(approx[i][0].id, i);  // itself first
    EXPECT_NEAR(approx[i][0].distance, 0.0f, 1e-3);
    for (size_t j = 1; j < approx[i].size(); ++j) EXPECT_LE(approx[i][j - 1].distance, approx[i][j].distance);
    std::set<uint64_t> truth;
    for (const auto& nb : exact[i]) truth.insert(nb.id);
    for (const auto& nb : approx[i]) {
      hits += truth.count(nb.id);
      if (nb.id / 5 == i / 5) ++same_person_hits;
    }
    same_person += 5;
  }
  const double recall = double(hits) / double(11 * faces.size());
  const double person_recall = double(same_person_hits) / double(same_person);
  std::printf("inverted-file graph: recall@11 %.3f, same-person neighbours found %.3f\n", recall, person_recall);
  EXPECT_GE(recall, 0.95);
  EXPECT_GE(person_recall, 0.995);
}

}  // namespace
}  // namespace facedex::search
