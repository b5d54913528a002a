// The 8-bit copies rank candidates between the codes and the exact floats:
// their distances must stay close to the exact ones, and their rows must
// follow the lists through growth, shrinking and a new lay-out.
#include "storage/ann/sq8_vectors.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tests/support/clumped_descriptors.h"

namespace facedex {
namespace {

float squared_distance(const float* a, const float* b) {
  float sum = 0;
  for (size_t j = 0; j < kDescriptorDims; ++j) sum += (a[j] - b[j]) * (a[j] - b[j]);
  return sum;
}

// Every vector of every list: the copy's distance to `query` close to the
// exact one, and nothing held past a list's end.
void expect_copies_match(const storage::Sq8Vectors& copies, const std::vector<std::vector<Descriptor>>& lists,
                         const Descriptor& query) {
  storage::Sq8Vectors::Query q;
  copies.prepare(query.data(), &q);
  for (size_t l = 0; l < lists.size(); ++l) {
    for (size_t i = 0; i < lists[l].size(); ++i) {
      const size_t row = copies.row(l, i);
      ASSERT_NE(row, storage::Sq8Vectors::kNoRow) << "list " << l << " vector " << i;
      const float exact = squared_distance(query.data(), lists[l][i].data());
      EXPECT_NEAR(copies.distance_at(q, row), exact, 0.01f * exact + 1e-4f) << "list " << l << " vector " << i;
      EXPECT_EQ(copies.distance(q, l, i), copies.distance_at(q, row));
    }
    EXPECT_EQ(copies.row(l, lists[l].size()), storage::Sq8Vectors::kNoRow);
  }
}

void sync(storage::Sq8Vectors& copies, const std::vector<std::vector<Descriptor>>& lists) {
  std::vector<std::vector<float>> flat;  // each list's vectors in one block, as an IVF list keeps them
  std::vector<const float*> vectors;
  std::vector<size_t> sizes;
  for (const auto& list : lists) flat.push_back(flatten(list, kDescriptorDims));
  for (size_t l = 0; l < lists.size(); ++l) {
    vectors.push_back(lists[l].empty() ? nullptr : flat[l].data());
    sizes.push_back(lists[l].size());
  }
  copies.sync(vectors, sizes);
}

TEST(Sq8VectorsTest, CopiesFollowTheListsAndRankLikeTheFloats) {
  const std::vector<Descriptor> data = testing::clumped_descriptors(3000, 21);
  std::vector<std::vector<Descriptor>> lists(7);
  for (size_t i = 0; i < 1000; ++i) lists[i % 7].push_back(data[i]);
  storage::Sq8Vectors copies;
  // Ranges from every vector the test adds: values past them are clamped
  // (a coarser copy, not a wrong one), which is not what this test is about.
  copies.train(kDescriptorDims, flatten(data, kDescriptorDims).data(), data.size());
  sync(copies, lists);
  const Descriptor query = data[2999];
  expect_copies_match(copies, lists, query);

  // Growth within the room each list was laid out with.
  for (size_t i = 1000; i < 1100; ++i) lists[i % 7].push_back(data[i]);
  sync(copies, lists);
  expect_copies_match(copies, lists, query);

  // Shrinking with vectors moved, as FAISS's removals move them.
  lists[3].erase(lists[3].begin(), lists[3].begin() + 40);
  std::swap(lists[5].front(), lists[5].back());
  lists[5].pop_back();
  sync(copies, lists);
  expect_copies_match(copies, lists, query);

  // One list outgrowing its room: a new lay-out.
  for (size_t i = 1100; i < 2900; ++i) lists[2].push_back(data[i]);
  sync(copies, lists);
  expect_copies_match(copies, lists, query);
}

}  // namespace
}  // namespace facedex
