// FAISS against the brute-force oracle (hnswlib's bruteforce.h idea).
#include "storage/vector_index.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

namespace facedex::storage {
namespace {

std::vector<Descriptor> random_descriptors(size_t n, unsigned seed, int dims = kDescriptorDims) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 0.1f);
  std::vector<Descriptor> out(n, Descriptor(size_t(dims)));
  for (auto& d : out)
    for (float& v : d) v = normal(rng);
  return out;
}

// Any model's descriptor length: dlib's 128, MobileFaceNet's 192, FaceNet's 512.
class VectorIndexDimsTest : public testing::TestWithParam<int> {};

TEST_P(VectorIndexDimsTest, FlatFaissAgreesWithBruteForceThroughAddsAndRemoves) {
  const int dims = GetParam();
  auto faiss_index = make_faiss_index("Flat", dims);
  ASSERT_TRUE(faiss_index) << faiss_index.status().message();
  EXPECT_EQ((*faiss_index)->dims(), dims);
  auto oracle = make_brute_force_index();
  const auto vecs = random_descriptors(2000, 1, dims);
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < vecs.size(); ++i) ids.push_back(1000 + 3 * i);
  (*faiss_index)->add(ids, vecs);
  oracle->add(ids, vecs);
  std::vector<uint64_t> gone(ids.begin(), ids.begin() + 500);
  EXPECT_EQ((*faiss_index)->remove(gone), 500u);
  EXPECT_EQ(oracle->remove(gone), 500u);
  EXPECT_EQ((*faiss_index)->remove(gone), 0u);
  EXPECT_EQ((*faiss_index)->size(), 1500u);

  for (const auto& q : random_descriptors(50, 2, dims)) {
    const auto a = (*faiss_index)->search(q, 10);
    const auto b = oracle->search(q, 10);
    ASSERT_EQ(a.size(), 10u);
    ASSERT_EQ(b.size(), 10u);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].id, b[i].id);
      EXPECT_NEAR(a[i].distance, b[i].distance, 1e-4);
      EXPECT_GE(a[i].id, 1000u + 3 * 500);  // never a removed id
    }
  }
}

INSTANTIATE_TEST_SUITE_P(VectorIndexTest, VectorIndexDimsTest, testing::Values(128, 192, 512));

TEST(VectorIndexTest, SavedIndexReadsBackIdenticallyAndOnlyAsItsLength) {
  auto index = make_faiss_index("Flat", 192);
  ASSERT_TRUE(index);
  const auto vecs = random_descriptors(100, 3, 192);
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < vecs.size(); ++i) ids.push_back(i + 1);
  (*index)->add(ids, vecs);
  FILE* f = std::tmpfile();
  ASSERT_TRUE(write_faiss_index(**index, f));
  std::rewind(f);
  auto wrong = read_faiss_index(f, "Flat", 128);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.status().code(), Status::Code::kCorruption);
  EXPECT_NE(wrong.status().message().find("192-d"), std::string::npos) << wrong.status().message();
  std::rewind(f);
  auto back = read_faiss_index(f, "Flat", 192);
  std::fclose(f);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ((*back)->size(), 100u);
  EXPECT_EQ((*back)->search(vecs[17], 1).at(0).id, 18u);
}

TEST(VectorIndexTest, UnknownFactoryStringIsAClearError) {
  auto index = make_faiss_index("NoSuchIndex42", kDescriptorDims);
  ASSERT_FALSE(index);
  EXPECT_NE(index.status().message().find("NoSuchIndex42"), std::string::npos);
}

}  // namespace
}  // namespace facedex::storage
