#include "search/neighbour_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>

namespace facedex::search {
namespace {

constexpr size_t kProbes = 16;
constexpr size_t kTrainingPerList = 64;  // FAISS wants 39-256 points per centroid

std::vector<std::vector<storage::Neighbor>> exact_graph(const std::vector<Descriptor>& faces, int k) {
  auto index = storage::make_faiss_index("Flat");
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
  const size_t n = faces.size(), d = size_t(kDescriptorDims);
  const float* x = faces[0].data();
  size_t lists = 1;
  while (double(lists) * std::sqrt(2.0) < 4 * std::sqrt(double(n))) lists *= 2;

  // Centroids from an even sample of the faces.
  const size_t sample = std::min(n, lists * kTrainingPerList);
  std::vector<float> training(sample * d), centroids(lists * d);
  for (size_t i = 0; i < sample; ++i) std::copy_n(faces[i * n / sample].data(), d, training.data() + i * d);
  faiss::kmeans_clustering(d, sample, lists, training.data(), centroids.data());

  // Every face's kProbes nearest lists; it belongs to the first.
  faiss::IndexFlatL2 quantizer{faiss::Index::idx_t(d)};
  quantizer.add(faiss::Index::idx_t(lists), centroids.data());
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
  std::vector<TopK> best(n);
  std::vector<float> queries, base, result_d2;
  std::vector<int64_t> result_id;
  for (size_t list = 0; list < lists; ++list) {
    const auto& m = members[list];
    const auto& q = probers[list];
    if (m.empty() || q.empty()) continue;
    base.resize(m.size() * d);
    queries.resize(q.size() * d);
    for (size_t i = 0; i < m.size(); ++i) std::copy_n(faces[m[i]].data(), d, base.data() + i * d);
    for (size_t i = 0; i < q.size(); ++i) std::copy_n(faces[q[i]].data(), d, queries.data() + i * d);
    const size_t kk = std::min(size_t(k), m.size());
    result_d2.resize(q.size() * kk);
    result_id.resize(q.size() * kk);
    faiss::knn_L2sqr(queries.data(), base.data(), d, q.size(), m.size(), kk, result_d2.data(), result_id.data());
    for (size_t i = 0; i < q.size(); ++i)
      for (size_t j = 0; j < kk; ++j) {
        const int64_t at = result_id[i * kk + j];
        if (at >= 0) best[q[i]].offer(result_d2[i * kk + j], m[size_t(at)], size_t(k));
      }
  }

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
