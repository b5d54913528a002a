// IVF indexes of 20,000 vectors and more score 4-bit codes first and re-rank
// the best candidates exactly (storage/ann/pq_fast_scan.h). These tests hold that
// path against exact search on clumped descriptor-like vectors: what it
// returns, the distances it reports, and that the codes follow additions,
// removals and a reload.
#include "storage/ann/pq_fast_scan.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "storage/ann/fast_search.h"
#include "storage/ann/query_helper.h"
#include "tests/support/clumped_descriptors.h"
#include "tests/support/faiss_round_trip.h"

namespace facedex {
namespace {

using idx_t = faiss::Index::idx_t;

float squared_distance(const Descriptor& a, const Descriptor& b) {
  float sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return sum;
}

// Of `exact`'s 10 nearest, the share `index` returns; every distance `index`
// reports must be the exact one of the face it names.
double recall_at_10(const faiss::Index& exact, const faiss::Index& index, const std::vector<Descriptor>& queries,
                    const std::vector<Descriptor>& vector_of_id) {
  std::vector<float> d1(10), d2(10);
  std::vector<idx_t> l1(10), l2(10);
  size_t hits = 0;
  for (const auto& q : queries) {
    exact.search(1, q.data(), 10, d1.data(), l1.data());
    index.search(1, q.data(), 10, d2.data(), l2.data());
    const std::set<idx_t> want(l1.begin(), l1.end());
    for (size_t i = 0; i < 10; ++i) {
      if (l2[i] < 0) continue;
      hits += want.count(l2[i]);
      EXPECT_NEAR(d2[i], squared_distance(q, vector_of_id.at(size_t(l2[i]))), 1e-4f);
    }
  }
  return double(hits) / double(10 * queries.size());
}

struct IvfFixture {
  explicit IvfFixture(size_t n, size_t lists) : data(testing::clumped_descriptors(n, 11)), vector_of_id(n) {
    auto* quantizer = new faiss::IndexFlatL2(kDescriptorDims);
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, kDescriptorDims, lists);
    ivf->own_fields = true;
    ivf->train(idx_t(n), flatten(data, kDescriptorDims).data());
    std::vector<idx_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = idx_t(i), vector_of_id[i] = data[i];
    exact.add(idx_t(n), flatten(data, kDescriptorDims).data());
    fast = storage::with_fast_search(std::move(ivf));
    fast->add_with_ids(idx_t(n), flatten(data, kDescriptorDims).data(), ids.data());
  }
  std::vector<Descriptor> data;
  std::vector<Descriptor> vector_of_id;  // by id (ids are positions here)
  faiss::IndexFlatL2 exact{kDescriptorDims};
  std::unique_ptr<faiss::Index> fast;
};

faiss::IndexIVFFlat& ivf_of(faiss::Index& index) { return dynamic_cast<faiss::IndexIVFFlat&>(index); }

TEST(PqFastScanTest, CodesThenExactRankingFindWhatExactSearchFinds) {
  if (!storage::PqFastScan::supported())
    GTEST_SKIP() << "no AVX2/FMA here, or FACEDEX_KERNELS=generic: IVF scans floats only";
  IvfFixture f(24000, 128);
  ASSERT_TRUE(storage::set_fast_scan_rerank(*f.fast, storage::kAutoFastScanRerank));
  const std::vector<Descriptor> queries = testing::clumped_descriptors(300, 12);

  // Every list probed: only the codes' first passes can lose a neighbour.
  // These vectors are isotropic, where 16-byte codes rank neighbours ten
  // times worse than on descriptors: the index measures that and keeps 32.
  ivf_of(*f.fast).nprobe = 128;
  const std::string described = storage::describe_search(*f.fast);
  EXPECT_EQ(described.rfind("approximate: 128 of 128 lists probed, their 32-byte codes scored, the best ", 0), 0u)
      << described;
  EXPECT_NE(described.find("re-scored by 8-bit copies and the best 16 of those compared exactly"), std::string::npos)
      << described;
  const double all_lists = recall_at_10(f.exact, *f.fast, queries, f.vector_of_id);
  std::printf("codes over all lists (%s): recall@10 %.3f\n", described.c_str(), all_lists);
  EXPECT_GE(all_lists, 0.98);

  // Fewer lists: about as good as comparing their floats.
  ivf_of(*f.fast).nprobe = 16;
  const double codes16 = recall_at_10(f.exact, *f.fast, queries, f.vector_of_id);
  storage::set_fast_scan_rerank(*f.fast, 0);  // FAISS's way: every vector of 16 lists compared exactly
  const double floats16 = recall_at_10(f.exact, *f.fast, queries, f.vector_of_id);
  std::printf("16 of 128 lists: recall@10 %.3f with codes, %.3f comparing floats\n", codes16, floats16);
  EXPECT_GE(codes16, floats16 - 0.03);
  EXPECT_LT(floats16, 0.999);  // so that the comparison above says something

  // From 1,024 lists the lists themselves are shortlisted by their centroids'
  // codes, then picked by exact distance: as good as picking them exactly.
  IvfFixture many_lists(24000, 1024);
  ivf_of(*many_lists.fast).nprobe = 128;
  storage::set_fast_scan_rerank(*many_lists.fast, storage::kAutoFastScanRerank);
  const double shortlisted = recall_at_10(many_lists.exact, *many_lists.fast, queries, many_lists.vector_of_id);
  storage::set_fast_scan_rerank(*many_lists.fast, 0);
  const double exactly = recall_at_10(many_lists.exact, *many_lists.fast, queries, many_lists.vector_of_id);
  std::printf("128 of 1024 lists: recall@10 %.3f with codes, %.3f comparing floats\n", shortlisted, exactly);
  EXPECT_GE(shortlisted, exactly - 0.03);

  // Below 20,000 vectors an index keeps no codes.
  IvfFixture small(6000, 64);
  EXPECT_FALSE(storage::set_fast_scan_rerank(*small.fast, storage::kAutoFastScanRerank));
}

TEST(PqFastScanTest, CodesFollowAdditionsRemovalsAndReload) {
  if (!storage::PqFastScan::supported())
    GTEST_SKIP() << "no AVX2/FMA here, or FACEDEX_KERNELS=generic: IVF scans floats only";
  IvfFixture f(24000, 128);
  ivf_of(*f.fast).nprobe = 128;

  // Added faces are found, each as its own nearest at distance 0.
  const std::vector<Descriptor> more = testing::clumped_descriptors(1000, 13);
  std::vector<idx_t> more_ids(more.size());
  for (size_t i = 0; i < more.size(); ++i) {
    more_ids[i] = idx_t(f.vector_of_id.size());
    f.vector_of_id.push_back(more[i]);
  }
  f.fast->add_with_ids(idx_t(more.size()), flatten(more, kDescriptorDims).data(), more_ids.data());
  f.exact.add(idx_t(more.size()), flatten(more, kDescriptorDims).data());
  std::vector<float> d(10);
  std::vector<idx_t> l(10);
  for (size_t i = 0; i < 100; ++i) {
    f.fast->search(1, more[i].data(), 10, d.data(), l.data());
    EXPECT_EQ(l[0], more_ids[i]);
    EXPECT_NEAR(d[0], 0.f, 1e-6f);
  }

  // Removed faces (old and new) are never answered; the others still are.
  std::vector<idx_t> gone;
  for (idx_t id = 0; id < 500; ++id) gone.push_back(id);
  gone.insert(gone.end(), more_ids.begin(), more_ids.begin() + 50);
  faiss::IDSelectorBatch removal(gone.size(), gone.data());
  EXPECT_EQ(f.fast->remove_ids(removal), gone.size());
  const std::set<idx_t> removed(gone.begin(), gone.end());
  for (idx_t id : {idx_t(0), idx_t(7), idx_t(499), more_ids[0], more_ids[49]}) {
    f.fast->search(1, f.vector_of_id[size_t(id)].data(), 10, d.data(), l.data());
    for (idx_t label : l) EXPECT_EQ(removed.count(label), 0u) << "removed face " << label << " answered";
  }
  // The exact oracle without the removed faces: a Flat index of what is left.
  faiss::IndexFlatL2 left(kDescriptorDims);
  std::vector<Descriptor> left_vectors;
  for (size_t id = 0; id < f.vector_of_id.size(); ++id)
    if (!removed.count(idx_t(id))) left_vectors.push_back(f.vector_of_id[id]);
  left.add(idx_t(left_vectors.size()), flatten(left_vectors, kDescriptorDims).data());
  // Flat numbers its vectors by position: map answers back to ids for the oracle.
  std::vector<idx_t> id_at;
  for (size_t id = 0; id < f.vector_of_id.size(); ++id)
    if (!removed.count(idx_t(id))) id_at.push_back(idx_t(id));
  const std::vector<Descriptor> queries = testing::clumped_descriptors(200, 14);
  auto recall_after_removals = [&](const faiss::Index& index) {
    size_t hits = 0;
    std::vector<float> de(10);
    std::vector<idx_t> le(10);
    for (const auto& q : queries) {
      left.search(1, q.data(), 10, de.data(), le.data());
      index.search(1, q.data(), 10, d.data(), l.data());
      const std::set<idx_t> got(l.begin(), l.end());
      for (idx_t p : le) hits += got.count(id_at[size_t(p)]);
    }
    return double(hits) / double(10 * queries.size());
  };
  EXPECT_GE(recall_after_removals(*f.fast), 0.98);

  // Reloaded: the codes are made again from the stored vectors (learnt from
  // another sample, so answers may differ where codes decide, not in quality).
  std::unique_ptr<faiss::Index> again = storage::with_fast_search(testing::faiss_round_trip(*f.fast));
  ASSERT_TRUE(storage::set_fast_scan_rerank(*again, storage::kAutoFastScanRerank));
  ivf_of(*again).nprobe = 128;
  EXPECT_EQ(again->ntotal, f.fast->ntotal);
  EXPECT_GE(recall_after_removals(*again), 0.98);
}

TEST(PqFastScanTest, OneQueryOnTwoThreadsAnswersAsOnOne) {
  if (!storage::PqFastScan::supported())
    GTEST_SKIP() << "no AVX2/FMA here, or FACEDEX_KERNELS=generic: IVF scans floats only";
  // A single query with 32,768 codes or more to scan uses the helper thread
  // when OpenMP may use two threads; with one it runs alone. Both keep the
  // same best candidates, so the answers differ at most where scores tie at
  // a cut.
  IvfFixture f(40000, 256);
  ivf_of(*f.fast).nprobe = 256;
  ASSERT_TRUE(storage::set_fast_scan_rerank(*f.fast, storage::kAutoFastScanRerank));
  const std::vector<Descriptor> queries = testing::clumped_descriptors(300, 15);
  const int threads = omp_get_max_threads();
  auto answers = [&](int use) {
    omp_set_num_threads(use);
    std::vector<idx_t> all(10 * queries.size());
    std::vector<float> d(10);
    for (size_t q = 0; q < queries.size(); ++q) f.fast->search(1, queries[q].data(), 10, d.data(), &all[10 * q]);
    return all;
  };
  // Whether the helper takes part in a given query depends on timing
  // (QueryHelperTest checks that it runs what is posted); the answers must not.
  const std::vector<idx_t> shared = answers(2);
  const std::vector<idx_t> alone = answers(1);
  omp_set_num_threads(threads);
  size_t same = 0;
  for (size_t i = 0; i < alone.size(); ++i) same += alone[i] == shared[i];
  EXPECT_GE(double(same), 0.98 * double(alone.size()));
  omp_set_num_threads(2);
  const double recall_shared = recall_at_10(f.exact, *f.fast, queries, f.vector_of_id);
  omp_set_num_threads(1);
  const double recall_alone = recall_at_10(f.exact, *f.fast, queries, f.vector_of_id);
  omp_set_num_threads(threads);
  std::printf("256 of 256 lists: recall@10 %.3f on two threads, %.3f on one; %zu of %zu answers equal\n", recall_shared,
              recall_alone, same, alone.size());
  EXPECT_GE(recall_shared, recall_alone - 0.005);
}

TEST(PqFastScanTest, ReservoirKeepsTheBestCandidates) {
  if (!storage::PqFastScan::supported())
    GTEST_SKIP() << "no AVX2 here, or FACEDEX_KERNELS=generic: the reservoir is compiled for it";
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> score(0, 5000);
  for (size_t want : {1, 7, 100}) {
    storage::PqFastScan::Reservoir reservoir(want);
    std::vector<uint16_t> all;
    for (uint32_t i = 0; i < 3000; ++i) {
      const auto s = uint16_t(score(rng));
      all.push_back(s);
      if (s < reservoir.threshold()) reservoir.add({s, 0, i});  // offered as a scan does: only below the threshold
    }
    std::vector<uint16_t> kept;
    for (const auto& c : reservoir.best()) kept.push_back(c.approx);
    std::sort(kept.begin(), kept.end());
    std::sort(all.begin(), all.end());
    ASSERT_EQ(kept.size(), want);
    for (size_t i = 0; i < want; ++i) EXPECT_EQ(kept[i], all[i]) << "rank " << i;
  }
}

}  // namespace
}  // namespace facedex
