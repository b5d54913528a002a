// The AVX2 searches must answer what FAISS's own loops answer on the same
// vectors: same neighbours (up to exact distance ties), same distances to
// float rounding, with id filters and after removals, and files FAISS reads back.
#include "storage/ann/fast_search.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <gtest/gtest.h>

#include "tests/support/clumped_descriptors.h"
#include "tests/support/faiss_round_trip.h"

namespace facedex {
namespace {

using idx_t = faiss::Index::idx_t;

// Same answers, allowing two neighbours to trade places only when their
// distances tie to rounding.
void expect_same_answers(const faiss::Index& plain, const faiss::Index& fast, const std::vector<Descriptor>& queries,
                         int k, const faiss::SearchParameters* params) {
  std::vector<float> d1(static_cast<size_t>(k)), d2(static_cast<size_t>(k));
  std::vector<idx_t> l1(static_cast<size_t>(k)), l2(static_cast<size_t>(k));
  size_t differing = 0;
  for (const auto& q : queries) {
    plain.search(1, q.data(), k, d1.data(), l1.data(), params);
    fast.search(1, q.data(), k, d2.data(), l2.data(), params);
    for (int i = 0; i < k; ++i) {
      EXPECT_NEAR(d1[size_t(i)], d2[size_t(i)], 1e-4f);
      if (l1[size_t(i)] != l2[size_t(i)]) ++differing;
    }
  }
  EXPECT_LE(differing, queries.size() / 50) << "more than ties differ";
}

TEST(FastSearchTest, IvfAnswersAsFaissDoesWithFiltersAndRemovals) {
  const std::vector<Descriptor> data = testing::clumped_descriptors(6000, 7);
  faiss::IndexFlatL2* quantizer = new faiss::IndexFlatL2(kDescriptorDims);
  auto plain = std::make_unique<faiss::IndexIVFFlat>(quantizer, kDescriptorDims, 64);
  plain->own_fields = true;
  plain->train(idx_t(data.size()), flatten(data, kDescriptorDims).data());
  std::vector<idx_t> ids(data.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = idx_t(1000 + 3 * i);  // ids are not positions
  plain->add_with_ids(idx_t(data.size()), flatten(data, kDescriptorDims).data(), ids.data());
  plain->nprobe = 8;

  std::unique_ptr<faiss::Index> fast = storage::with_fast_search(testing::faiss_round_trip(*plain));
  ASSERT_TRUE(storage::has_fast_search(*fast));
  EXPECT_EQ(fast->ntotal, plain->ntotal);
  EXPECT_FALSE(storage::has_fast_search(*storage::with_fast_search(
      std::make_unique<faiss::IndexFlatL2>(kDescriptorDims))));  // other indexes pass through

  const std::vector<Descriptor> queries = testing::clumped_descriptors(400, 8);
  expect_same_answers(*plain, *fast, queries, 10, nullptr);

  // An id filter (every other face) and a different nprobe, as search parameters.
  std::vector<idx_t> even;
  for (size_t i = 0; i < ids.size(); i += 2) even.push_back(ids[i]);
  faiss::IDSelectorBatch selector(even.size(), even.data());
  faiss::SearchParametersIVF params;
  params.nprobe = 16;
  params.sel = &selector;
  expect_same_answers(*plain, *fast, queries, 10, &params);
  std::vector<float> d(10);
  std::vector<idx_t> l(10);
  fast->search(1, flatten(queries, kDescriptorDims).data(), 10, d.data(), l.data(), &params);
  for (idx_t label : l) EXPECT_TRUE(label < 0 || (label - 1000) % 6 == 0) << label;

  // Removals: the same faces leave both, and are never answered.
  std::vector<idx_t> gone(ids.begin(), ids.begin() + 500);
  faiss::IDSelectorBatch removal(gone.size(), gone.data());
  EXPECT_EQ(plain->remove_ids(removal), 500u);
  EXPECT_EQ(fast->remove_ids(removal), 500u);
  expect_same_answers(*plain, *fast, queries, 10, nullptr);
  for (size_t i = 0; i < 50; ++i) {
    fast->search(1, data[i].data(), 10, d.data(), l.data());
    for (idx_t label : l) EXPECT_GE(label, 1000 + 3 * 500) << "a removed face was answered";
  }

  // Written and read back by FAISS alone: a plain IVF-Flat with the same answers.
  std::unique_ptr<faiss::Index> reread = testing::faiss_round_trip(*fast);
  EXPECT_NE(dynamic_cast<faiss::IndexIVFFlat*>(reread.get()), nullptr);
  EXPECT_FALSE(storage::has_fast_search(*reread));
  static_cast<faiss::IndexIVFFlat*>(reread.get())->nprobe = 8;
  expect_same_answers(*reread, *fast, queries, 10, nullptr);
}

TEST(FastSearchTest, ExactSearchAnswersAsFaissDoesAndKeepsRemovals) {
  const std::vector<Descriptor> data = testing::clumped_descriptors(3000, 9);
  auto plain = std::make_unique<faiss::IndexIDMap>(new faiss::IndexFlatL2(kDescriptorDims));
  plain->own_fields = true;
  std::vector<idx_t> ids(data.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = idx_t(7 * i + 1);
  plain->add_with_ids(idx_t(data.size()), flatten(data, kDescriptorDims).data(), ids.data());
  std::unique_ptr<faiss::Index> fast = storage::with_fast_search(testing::faiss_round_trip(*plain));
  ASSERT_TRUE(storage::has_fast_search(*fast));

  const std::vector<Descriptor> queries = testing::clumped_descriptors(300, 10);
  expect_same_answers(*plain, *fast, queries, 10, nullptr);
  // More neighbours than faces: the rest are -1, as FAISS answers.
  std::vector<float> d(4000);
  std::vector<idx_t> l(4000);
  fast->search(1, flatten(queries, kDescriptorDims).data(), 4000, d.data(), l.data());
  EXPECT_EQ(l[2999] >= 0, true);
  EXPECT_EQ(l[3000], -1);

  std::vector<idx_t> gone(ids.begin(), ids.begin() + 100);
  faiss::IDSelectorBatch removal(gone.size(), gone.data());
  EXPECT_EQ(plain->remove_ids(removal), 100u);
  EXPECT_EQ(fast->remove_ids(removal), 100u);
  expect_same_answers(*plain, *fast, queries, 10, nullptr);
  fast->search(1, flatten(data, kDescriptorDims).data(), 1, d.data(), l.data());
  EXPECT_NE(l[0], ids[0]) << "a removed face was answered";

  std::unique_ptr<faiss::Index> reread = testing::faiss_round_trip(*fast);
  EXPECT_FALSE(storage::has_fast_search(*reread));
  expect_same_answers(*reread, *fast, queries, 10, nullptr);
}

}  // namespace
}  // namespace facedex
