#include "search/neighbour_graph.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <thread>

#include "models/face_pipeline.h"  // set_blas_threads
#include "storage/index_choice.h"

namespace facedex::search {
namespace {

constexpr size_t kProbes = 12;
constexpr size_t kTrainingPerList = 40;  // FAISS warns below 39 points per centroid
// Lists only need to be roughly balanced; k-means is most of the work at a
// million faces (FAISS's default of 25 rounds took half the graph's time at 100k).
constexpr int kKmeansIterations = 6;

std::vector<std::vector<storage::Neighbor>> exact_graph(const std::vector<Descriptor>& faces, int k) {
  auto index = storage::make_faiss_index("Flat", dims_of(faces));
  std::vector<uint64_t> ids(faces.size());
  std::iota(ids.begin(), ids.end(), 0);
  (*index)->add(ids, faces);
  return (*index)->search_many(faces, k);
}

// The k best (squared distance, face) of one face, kept sorted.
struct TopK {
  std::vector<float> d2;
  std::vector<uint32_t> id;
  void offer(float d, uint32_t face, size_t k) {
    if (d2.size() == k && d >= d2.back()) return;
    if (std::find(id.begin(), id.end(), face) != id.end()) return;  // seen through another list
    const size_t at = size_t(std::upper_bound(d2.begin(), d2.end(), d) - d2.begin());
    d2.insert(d2.begin() + long(at), d);
    id.insert(id.begin() + long(at), face);
    if (d2.size() > k) {
      d2.pop_back();
      id.pop_back();
    }
  }
};

std::vector<std::vector<storage::Neighbor>> inverted_file_graph(const std::vector<Descriptor>& faces, int k) {
  const size_t n = faces.size(), d = size_t(dims_of(faces));
  const std::vector<float> all = flatten(faces, d);
  const float* x = all.data();
  const size_t lists = storage::inverted_file_lists(n);

  // Centroids from an even sample of the faces.
  const size_t sample = std::min(n, lists * kTrainingPerList);
  std::vector<float> training(sample * d);
  for (size_t i = 0; i < sample; ++i) std::copy_n(faces[i * n / sample].data(), d, training.data() + i * d);
  faiss::ClusteringParameters params;
  params.niter = kKmeansIterations;
  params.verbose = false;
  faiss::Clustering kmeans(int(d), int(lists), params);
  faiss::IndexFlatL2 quantizer{faiss::Index::idx_t(d)};
  kmeans.train(faiss::Index::idx_t(sample), training.data(), quantizer);  // leaves the centroids in `quantizer`

  // Every face's kProbes nearest lists; it belongs to the first.
  std::vector<float> centroid_d2(n * kProbes);
  std::vector<faiss::Index::idx_t> probe(n * kProbes);
  quantizer.search(faiss::Index::idx_t(n), x, faiss::Index::idx_t(kProbes), centroid_d2.data(), probe.data());
  std::vector<std::vector<uint32_t>> members(lists), probers(lists);
  for (size_t i = 0; i < n; ++i) {
    members[size_t(probe[i * kProbes])].push_back(uint32_t(i));
    for (size_t p = 0; p < kProbes; ++p)
      if (probe[i * kProbes + p] >= 0) probers[size_t(probe[i * kProbes + p])].push_back(uint32_t(i));
  }

  // List by list: all its probers against all its members, one BLAS product.
  // Lists run in parallel (one single-threaded BLAS call each: many small
  // products keep a multi-threaded BLAS busy synchronising), in rounds whose
  // results are then merged by one thread, since a face probes 16 lists.
  struct ListResult {
    std::vector<float> d2;
    std::vector<int64_t> at;
    size_t k = 0;
  };
  std::vector<TopK> best(n);
  const size_t round = 64;
  std::vector<ListResult> results(round);
  models::set_blas_threads(1);
  for (size_t first = 0; first < lists; first += round) {
    const size_t count = std::min(round, lists - first);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t r = 0; r < count; ++r) {
      const auto& m = members[first + r];
      const auto& q = probers[first + r];
      ListResult& res = results[r];
      res.k = 0;
      if (m.empty() || q.empty()) continue;
      std::vector<float> base(m.size() * d), queries(q.size() * d);
      for (size_t i = 0; i < m.size(); ++i) std::copy_n(faces[m[i]].data(), d, base.data() + i * d);
      for (size_t i = 0; i < q.size(); ++i) std::copy_n(faces[q[i]].data(), d, queries.data() + i * d);
      res.k = std::min(size_t(k), m.size());
      res.d2.resize(q.size() * res.k);
      res.at.resize(q.size() * res.k);
      faiss::knn_L2sqr(queries.data(), base.data(), d, q.size(), m.size(), res.k, res.d2.data(), res.at.data());
    }
    for (size_t r = 0; r < count; ++r) {
      const auto& m = members[first + r];
      const auto& q = probers[first + r];
      const ListResult& res = results[r];
      for (size_t i = 0; i < q.size() && res.k; ++i)
        for (size_t j = 0; j < res.k; ++j) {
          const int64_t at = res.at[i * res.k + j];
          if (at >= 0) best[q[i]].offer(res.d2[i * res.k + j], m[size_t(at)], size_t(k));
        }
    }
  }
  models::set_blas_threads(int(std::max(1u, std::thread::hardware_concurrency())));

  std::vector<std::vector<storage::Neighbor>> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].reserve(best[i].id.size());
    for (size_t j = 0; j < best[i].id.size(); ++j)
      out[i].push_back({best[i].id[j], std::sqrt(std::max(0.0f, best[i].d2[j]))});
  }
  return out;
}

}  // namespace

std::vector<std::vector<storage::Neighbor>> neighbour_graph(const std::vector<Descriptor>& faces, int k,
                                                            size_t exact_up_to) {
  if (faces.empty() || k <= 0) return std::vector<std::vector<storage::Neighbor>>(faces.size());
  return faces.size() <= exact_up_to ? exact_graph(faces, k) : inverted_file_graph(faces, k);
}

}  // namespace facedex::search
