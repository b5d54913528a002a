#include "storage/fast_search.h"

#include <immintrin.h>

#include <typeinfo>

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/DirectMap.h>
#include <faiss/utils/Heap.h>

namespace facedex::storage {
namespace {

using idx_t = faiss::Index::idx_t;

__attribute__((target("avx2,fma"))) float l2_squared_avx2(const float* a, const float* b, size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    acc0 = _mm256_fmadd_ps(t0, t0, acc0);
    acc1 = _mm256_fmadd_ps(t1, t1, acc1);
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
  float sum = _mm_cvtss_f32(_mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1)));
  for (; i < d; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return sum;
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
const bool kAvx2 = cpu_has_avx2();

// Pushes the n vectors at `base` (d floats each) into a max-heap of the k
// nearest; `label(j)` names vector j, `keep(j)` filters it.
template <typename Label, typename Keep>
size_t scan_into_heap(const float* query, const float* base, size_t n, size_t d, float* heap_dis, idx_t* heap_ids,
                      size_t k, Label label, Keep keep) {
  size_t updates = 0;
  for (size_t j = 0; j < n; ++j) {
    const float dis = l2_squared_avx2(query, base + j * d, d);
    if (dis < heap_dis[0] && keep(j)) {
      faiss::maxheap_replace_top(k, heap_dis, heap_ids, dis, label(j));
      ++updates;
    }
  }
  return updates;
}

// Exact search, and IVF's coarse quantizer: FAISS uses BLAS from 20 queries
// on, and a scalar loop below (every single query).
struct FastFlatL2 final : faiss::IndexFlatL2 {
  explicit FastFlatL2(idx_t d) : faiss::IndexFlatL2(d) {}
  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override {
    if (!kAvx2 || n >= 20 || params || k <= 0) {
      faiss::IndexFlatL2::search(n, x, k, distances, labels, params);
      return;
    }
    const float* base = get_xb();
    for (idx_t q = 0; q < n; ++q) {
      float* dis = distances + q * k;
      idx_t* ids = labels + q * k;
      faiss::maxheap_heapify(size_t(k), dis, ids);
      scan_into_heap(x + q * d, base, size_t(ntotal), size_t(d), dis, ids, size_t(k), [](size_t j) { return idx_t(j); },
                     [](size_t) { return true; });
      faiss::maxheap_reorder(size_t(k), dis, ids);
    }
  }
};

// A FastFlatL2 holding `flat`'s vectors; deletes `flat` when `owned`.
FastFlatL2* take_over(faiss::Index* index, bool owned) {
  auto* flat = static_cast<faiss::IndexFlatL2*>(index);
  auto* fast = new FastFlatL2(flat->d);
  fast->codes.swap(flat->codes);
  fast->ntotal = flat->ntotal;
  if (owned) delete flat;
  return fast;
}

bool is_plain_flat_l2(const faiss::Index* index) {
  return index && typeid(*index) == typeid(faiss::IndexFlatL2);
}

struct Avx2FlatScanner final : faiss::InvertedListScanner {
  Avx2FlatScanner(size_t d, bool store_pairs, const faiss::IDSelector* sel)
      : faiss::InvertedListScanner(store_pairs, sel), d(d) {
    code_size = d * sizeof(float);
  }
  void set_query(const float* x) override { query = x; }
  void set_list(idx_t list, float) override { list_no = list; }
  float distance_to_code(const uint8_t* code) const override {
    return l2_squared_avx2(query, reinterpret_cast<const float*>(code), d);
  }
  size_t scan_codes(size_t n, const uint8_t* codes, const idx_t* ids, float* distances, idx_t* labels,
                    size_t k) const override {
    const float* base = reinterpret_cast<const float*>(codes);
    auto label = [&](size_t j) { return store_pairs ? idx_t(faiss::lo_build(uint64_t(list_no), j)) : ids[j]; };
    if (!sel) return scan_into_heap(query, base, n, d, distances, labels, k, label, [](size_t) { return true; });
    return scan_into_heap(query, base, n, d, distances, labels, k, label,
                          [&](size_t j) { return sel->is_member(ids[j]); });
  }

  size_t d;
  const float* query = nullptr;
};

struct FastIVFFlat final : faiss::IndexIVFFlat {
  // Takes over `from`'s lists and quantizer (which it leaves empty).
  explicit FastIVFFlat(faiss::IndexIVFFlat& from) : faiss::IndexIVFFlat(from) {
    from.invlists = nullptr;
    from.own_invlists = false;
    from.quantizer = nullptr;
    from.own_fields = false;
    quantizer = take_over(quantizer, own_fields);
    own_fields = true;
  }
  faiss::InvertedListScanner* get_InvertedListScanner(bool store_pairs,
                                                      const faiss::IDSelector* sel) const override {
    if (!kAvx2 || metric_type != faiss::METRIC_L2) return faiss::IndexIVFFlat::get_InvertedListScanner(store_pairs, sel);
    return new Avx2FlatScanner(size_t(d), store_pairs, sel);
  }
};

}  // namespace

std::unique_ptr<faiss::Index> with_fast_search(std::unique_ptr<faiss::Index> index) {
  if (auto* map = dynamic_cast<faiss::IndexIDMap*>(index.get());
      map && typeid(*map) == typeid(faiss::IndexIDMap) && map->own_fields && is_plain_flat_l2(map->index)) {
    map->index = take_over(map->index, true);
    return index;
  }
  auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(index.get());
  if (!ivf || typeid(*ivf) != typeid(faiss::IndexIVFFlat) || ivf->metric_type != faiss::METRIC_L2 ||
      !is_plain_flat_l2(ivf->quantizer) || !ivf->own_fields || !ivf->own_invlists)
    return index;
  return std::make_unique<FastIVFFlat>(*ivf);
}

bool has_fast_search(const faiss::Index& index) {
  if (const auto* map = dynamic_cast<const faiss::IndexIDMap*>(&index))
    return dynamic_cast<const FastFlatL2*>(map->index) != nullptr;
  return dynamic_cast<const FastIVFFlat*>(&index) != nullptr;
}

}  // namespace facedex::storage
