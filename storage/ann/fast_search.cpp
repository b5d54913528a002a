#include "storage/ann/fast_search.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/DirectMap.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/utils/Heap.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <typeinfo>
#include <vector>

#include "storage/ann/l2_distance.h"
#include "storage/ann/pq_fast_scan.h"
#include "storage/ann/query_helper.h"
#include "storage/ann/sq8_vectors.h"

namespace facedex::storage {
namespace {

using idx_t = faiss::Index::idx_t;

const bool kAvx2 = PqFastScan::supported();

// Positions of the `k` smallest keys (ties broken by position), in no
// particular order: keys counted into at most 4,096 buckets of their high
// bits, every key below the bucket holding the k-th taken, the rest picked
// from that bucket exactly. (Counting by the full 16 bits cleared and walked
// up to 256 KB of counts: ~60 us of a million-face query.)
std::vector<uint32_t> smallest(const std::vector<uint16_t>& keys, size_t k) {
  std::vector<uint32_t> out;
  if (k == 0) return out;
  if (k >= keys.size()) {
    for (size_t i = 0; i < keys.size(); ++i) out.push_back(uint32_t(i));
    return out;
  }
  constexpr size_t kBuckets = 4096;
  const uint16_t highest = keys.empty() ? 0 : *std::max_element(keys.begin(), keys.end());
  int shift = 0;
  while ((size_t(highest) >> shift) >= kBuckets) ++shift;
  uint32_t counts[kBuckets];
  std::fill(counts, counts + (size_t(highest) >> shift) + 1, 0u);
  for (uint16_t key : keys) ++counts[key >> shift];
  size_t below = 0;
  uint32_t cutoff = 0;
  while (below + counts[cutoff] < k) below += counts[cutoff++];
  // Branch-free: which side of the cutoff a key falls is a coin toss.
  out.resize(keys.size());
  std::vector<std::pair<uint16_t, uint32_t>> bucket(keys.size());  // (key, position) in the cutoff's bucket
  size_t taken = 0, tied = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint32_t b = uint32_t(keys[i] >> shift);
    out[taken] = uint32_t(i);
    taken += b < cutoff;
    bucket[tied] = {keys[i], uint32_t(i)};
    tied += b == cutoff;
  }
  out.resize(taken);
  const size_t rest = k - below;
  std::nth_element(bucket.begin(), bucket.begin() + long(rest - 1), bucket.begin() + long(tied));
  for (size_t i = 0; i < rest; ++i) out.push_back(bucket[i].second);
  return out;
}

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
      scan_into_heap(
          x + q * d, base, size_t(ntotal), size_t(d), dis, ids, size_t(k), [](size_t j) { return idx_t(j); },
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

bool is_plain_flat_l2(const faiss::Index* index) { return index && typeid(*index) == typeid(faiss::IndexFlatL2); }

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

// Below this many vectors an IVF index scans its lists' floats; from here on it
// keeps 4-bit codes (PqFastScan, 16 or 32 bytes a vector) and 8-bit copies
// (Sq8Vectors, 128 bytes) of them too, made in ~1.2-2 s per million.
constexpr faiss::Index::idx_t kFastScanMinVectors = 20000;
constexpr size_t kFastScanTrainingSample = 65536;
// Lists whose codes are scanned first, nearest first (nearest_lists).
constexpr size_t kNearestListsFirst = 32;
// 8-bit copies (two cache lines each) are fetched this many ahead.
constexpr size_t kRowsAhead = 16;
// Work shared with the query's helper thread (storage/ann/query_helper.h) is
// taken in chunks of this many lists or 8-bit rows: big enough that taking
// one (an atomic add on a cache line both cores write) costs little.
constexpr size_t kListsPerChunk = 4;
constexpr size_t kRowsPerChunk = 64;
// A query shares its work from this many codes to scan: below it, sharing
// costs about what it saves (benchmarks/RESULTS.md, "Search at scale").
constexpr size_t kHelperMinScanned = 32768;
// Vectors whose exact distances come next are fetched this many ahead.
constexpr size_t kPrefetchAhead = 6;
// From this many lists the coarse centroids get codes too (nearest_lists).
constexpr size_t kCentroidCodesMinLists = 1024;
// Costs behind choose_codes, in one unit per scanned vector: its code, 0.85
// per 16 bytes (lookups and memory grow with the size), and its share of the
// shortlist, 60 a candidate (an 8-bit copy fetched from memory and scored);
// ratios read off the million-face runs.
constexpr double kScanCostPer16Bytes = 0.85;
constexpr double kShortlistCandidateCost = 60;
// The auto shortlist (FastIVFFlat::auto_shortlist): with the codes' measured
// 90th-percentile rank share r, keep margin * r of the scanned vectors, at
// least kMinShortlist. On the million-face two-covariance gallery r was about
// 0.0028 (~500 of ~150,000 scanned: recall@10 0.982-0.984); the isotropic
// clumps of the unit tests measure 0.034 with 16-byte codes.
constexpr double kShortlistMargin = 1.25;
constexpr size_t kMinShortlist = 256;

// out(i, distance) for i in [begin, end): the 8-bit distance of row rows[i]
// of `vectors` (infinity for kNoRow), each row fetched kRowsAhead ahead.
template <typename Rows, typename Out>
__attribute__((target("avx2,fma"))) void sq8_distances(const Sq8Vectors& vectors, const Sq8Vectors::Query& q8,
                                                       const Rows& rows, size_t begin, size_t end, Out out) {
  for (size_t i = begin; i < std::min(begin + kRowsAhead, end); ++i)
    if (rows[i] != Sq8Vectors::kNoRow) vectors.prefetch_row(rows[i]);
  for (size_t i = begin; i < end; ++i) {
    if (i + kRowsAhead < end && rows[i + kRowsAhead] != Sq8Vectors::kNoRow) vectors.prefetch_row(rows[i + kRowsAhead]);
    out(i, rows[i] != Sq8Vectors::kNoRow ? vectors.distance_at(q8, rows[i]) : std::numeric_limits<float>::infinity());
  }
}

struct FastIVFFlat final : faiss::IndexIVFFlat {
  // Takes over `from`'s lists and quantizer (which it leaves empty).
  explicit FastIVFFlat(faiss::IndexIVFFlat& from) : faiss::IndexIVFFlat(from) {
    from.invlists = nullptr;
    from.own_invlists = false;
    from.quantizer = nullptr;
    from.own_fields = false;
    quantizer = take_over(quantizer, own_fields);
    own_fields = true;
    sync_fast_scan();
  }
  faiss::InvertedListScanner* get_InvertedListScanner(bool store_pairs, const faiss::IDSelector* sel) const override {
    if (!kAvx2 || metric_type != faiss::METRIC_L2)
      return faiss::IndexIVFFlat::get_InvertedListScanner(store_pairs, sel);
    return new Avx2FlatScanner(size_t(d), store_pairs, sel);
  }

  void add_with_ids(idx_t n, const float* x, const idx_t* xids) override {
    faiss::IndexIVFFlat::add_with_ids(n, x, xids);
    sync_fast_scan();
  }
  size_t remove_ids(const faiss::IDSelector& sel) override {
    const size_t removed = faiss::IndexIVFFlat::remove_ids(sel);
    sync_fast_scan();
    return removed;
  }
  void reset() override {
    faiss::IndexIVFFlat::reset();
    codes4 = PqFastScan();
    centroid_codes = PqFastScan();
    sq8 = Sq8Vectors();
    centroid_sq8 = Sq8Vectors();
  }

  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override {
    if (!codes4.trained() || rerank == 0 || params || k <= 0 || metric_type != faiss::METRIC_L2) {
      faiss::IndexIVFFlat::search(n, x, k, distances, labels, params);
      return;
    }
#pragma omp parallel for if (n > 1)
    for (idx_t q = 0; q < n; ++q) search_one(x + q * d, size_t(k), distances + q * k, labels + q * k);
  }

  // The codes' first pass keeps max(rerank, k) candidates; their 8-bit
  // copies' distances pick the best max(refine, k), ranked exactly.
  size_t rerank = kAutoFastScanRerank;
  size_t refine = kDefaultFastScanRefine;
  double rank_share = 1.0;  // codes4.neighbour_rank_share of the training sample

  // The first pass's shortlist under kAutoFastScanRerank: kShortlistMargin
  // times the share of the scanned vectors that the codes' 90th-percentile
  // true neighbour ranks within.
  size_t auto_shortlist(const std::vector<uint32_t>& lists) const {
    size_t scanned = 0;
    for (uint32_t list : lists) scanned += codes4.encoded(list);
    const double want = std::ceil(kShortlistMargin * rank_share * double(scanned));
    return std::clamp<size_t>(size_t(want), kMinShortlist, std::max(kMinShortlist, scanned));
  }
  PqFastScan codes4;
  Sq8Vectors sq8;

 private:
  // Learns 16- and 32-byte codes and keeps the ones whose search costs less:
  // a scan of every probed vector's code plus a shortlist sized by how well
  // those codes rank neighbours (PqFastScan::neighbour_rank_share). Descriptor-
  // like vectors (most variance in a few directions) take 16 bytes; isotropic
  // ones, where 16 bytes rank neighbours ten times worse, take 32.
  void choose_codes(const float* sample, size_t count) {
    double best_cost = std::numeric_limits<double>::infinity();
    for (const size_t subquantizers : {size_t(32), size_t(64)}) {
      // The scan alone already costs more than the best so far: same choice,
      // without learning and measuring these codes (a good part of a load).
      const double scan_cost = double(subquantizers / 2) / 16.0 * kScanCostPer16Bytes;
      if (scan_cost >= best_cost) continue;
      PqFastScan codes;
      codes.train(size_t(d), sample, count, subquantizers);
      if (!codes.trained()) continue;
      const double share = codes.neighbour_rank_share(sample, count);
      const double cost = scan_cost + kShortlistMargin * share * kShortlistCandidateCost;
      if (cost < best_cost) best_cost = cost, codes4 = std::move(codes), rank_share = share;
    }
  }

  // Keeps codes4 equal to the lists: learns the codebooks once the index is
  // large enough, encodes what lists gained, re-encodes lists that lost vectors.
  void sync_fast_scan() {
    if (!PqFastScan::supported() || !dynamic_cast<faiss::ArrayInvertedLists*>(invlists)) return;
    if (!codes4.trained()) {
      if (ntotal < kFastScanMinVectors) return;
      const size_t step = std::max<size_t>(1, size_t(ntotal) / kFastScanTrainingSample);
      std::vector<float> sample;
      size_t seen = 0;
      for (size_t list = 0; list < nlist; ++list) {
        const float* vectors = reinterpret_cast<const float*>(invlists->get_codes(list));
        for (size_t i = 0; i < invlists->list_size(list); ++i, ++seen)
          if (seen % step == 0) sample.insert(sample.end(), vectors + i * size_t(d), vectors + (i + 1) * size_t(d));
      }
      const size_t count = sample.size() / size_t(d);
      choose_codes(sample.data(), count);
      sq8.train(size_t(d), sample.data(), count);
      if (nlist >= kCentroidCodesMinLists) {
        const float* centroids = static_cast<const faiss::IndexFlatL2*>(quantizer)->get_xb();
        centroid_codes = codes4.codebooks_only();
        centroid_codes.sync_list(0, centroids, nlist, true);
        centroid_sq8.train(size_t(d), centroids, nlist);
        centroid_sq8.sync({centroids}, {nlist});
      }
    }
    // Lists apart on both cores: a million faces take ~0.5 s on one.
    std::vector<size_t> list_sizes(nlist);
    for (size_t list = 0; list < nlist; ++list) list_sizes[list] = invlists->list_size(list);
    codes4.reserve(list_sizes);
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t list = 0; list < nlist; ++list) {
      const size_t size = invlists->list_size(list);
      if (size == codes4.encoded(list)) continue;
      codes4.sync_list(list, reinterpret_cast<const float*>(invlists->get_codes(list)), size,
                       /*from_scratch=*/size < codes4.encoded(list));
    }
    std::vector<const float*> vectors(nlist);
    std::vector<size_t> sizes(nlist);
    for (size_t list = 0; list < nlist; ++list) {
      vectors[list] = reinterpret_cast<const float*>(invlists->get_codes(list));
      sizes[list] = invlists->list_size(list);
    }
    sq8.sync(vectors, sizes);
  }

  // The codes exist only on AVX2 + FMA CPUs, so the whole path is compiled
  // for them (generic code around the kernels took ~12% more at 1M faces).
  __attribute__((target("avx2,fma"))) void search_one(const float* query, size_t k, float* distances,
                                                      idx_t* labels) const {
    // Poked now, a sleeping helper may be up by the time the lists are chosen.
    // Only for a single query (a batch already runs one query per thread) with
    // enough codes to scan.
    std::optional<QueryHelperLease> lease;
    const size_t scanned = size_t(ntotal) / std::max<size_t>(1, nlist) * std::min(nprobe, nlist);
    if (scanned >= kHelperMinScanned && omp_get_max_threads() > 1 && !omp_in_parallel()) lease.emplace();
    QueryHelper* const helper = lease ? lease->get() : nullptr;
    PqFastScan::QueryTables tables;
    codes4.make_tables(query, &tables);
    const std::vector<uint32_t> lists = nearest_lists(query, tables, helper);

    const size_t want = std::max(rerank == kAutoFastScanRerank ? auto_shortlist(lists) : rerank, k);
    // The lists in chunks taken in order by this thread and the helper, each
    // into its own reservoir, the two shortlists merged.
    PqFastScan::Reservoir mine(want), theirs(want);
    PqFastScan::Reservoir* const into[2] = {&mine, &theirs};
    share_work(
        helper, lists.size(), kListsPerChunk,
        [&](size_t begin, size_t end, int who) {
          for (size_t i = begin; i < end; ++i) {
            if (i + 1 < lists.size()) codes4.prefetch_list(lists[i + 1]);
            codes4.scan_list(tables, lists[i], into[who]);
          }
        },
        [&](int who) { into[who]->best(); });
    std::vector<PqFastScan::Candidate> candidates;
    if (theirs.best().empty()) {
      candidates = mine.best();
    } else {
      PqFastScan::Reservoir both(want);
      for (const PqFastScan::Candidate& c : mine.best()) both.add(c);
      for (const PqFastScan::Candidate& c : theirs.best()) both.add(c);
      candidates = both.best();
    }

    // Their 8-bit copies' distances, shared alike.
    std::vector<std::pair<float, uint32_t>> approx;  // 8-bit distance, index in candidates
    const size_t keep = std::max(refine, k);
    if (sq8.trained() && candidates.size() > keep) {
      Sq8Vectors::Query q8;
      sq8.prepare(query, &q8);
      // Rows by the 8-bit block's own table (looking up the lists' sizes,
      // another cache line per list, cost ~25 us a query).
      std::vector<size_t> rows(candidates.size());
      for (size_t i = 0; i < candidates.size(); ++i) rows[i] = sq8.row(candidates[i].list, candidates[i].offset);
      approx.resize(candidates.size());
      share_work(
          helper, candidates.size(), kRowsPerChunk,
          [&](size_t begin, size_t end, int) {
            sq8_distances(sq8, q8, rows, begin, end, [&](size_t i, float d) { approx[i] = {d, uint32_t(i)}; });
          },
          [](int) {});
    }
    // The best of those by their 8-bit distances go on.
    if (!approx.empty()) {
      std::nth_element(approx.begin(), approx.begin() + long(keep - 1), approx.end());
      std::vector<PqFastScan::Candidate> best(keep);
      for (size_t i = 0; i < keep; ++i) best[i] = candidates[approx[i].second];
      candidates.swap(best);
    }

    // Exact distances of the candidates, their vectors fetched a few ahead.
    faiss::maxheap_heapify(k, distances, labels);
    auto vector_of = [&](const PqFastScan::Candidate& c) {
      return reinterpret_cast<const float*>(invlists->get_codes(c.list)) + size_t(c.offset) * size_t(d);
    };
    for (size_t i = 0; i < std::min(kPrefetchAhead, candidates.size()); ++i)
      prefetch_vector(vector_of(candidates[i]), size_t(d));
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (i + kPrefetchAhead < candidates.size()) prefetch_vector(vector_of(candidates[i + kPrefetchAhead]), size_t(d));
      const auto& c = candidates[i];
      if (c.offset >= invlists->list_size(c.list)) continue;  // lists changed behind this class's back
      const float dis = l2_squared_avx2(query, vector_of(c), size_t(d));
      if (dis < distances[0])
        faiss::maxheap_replace_top(k, distances, labels, dis, invlists->get_ids(c.list)[c.offset]);
    }
    faiss::maxheap_reorder(k, distances, labels);
  }

  // The nprobe lists whose centroids are nearest. With many lists, twice as
  // many are picked by their centroids' codes and the nearest half of those
  // by their 8-bit copies, the nearest few of them first: scoring every
  // centroid exactly reads every centroid's floats per query, and codes alone
  // choose worse lists.
  __attribute__((target("avx2,fma"))) std::vector<uint32_t> nearest_lists(const float* query,
                                                                          const PqFastScan::QueryTables& tables,
                                                                          QueryHelper* helper) const {
    const size_t probes = std::min(nprobe, nlist);
    std::vector<uint32_t> lists;
    if (!centroid_codes.trained() || 2 * probes >= nlist) {
      std::vector<idx_t> labels(probes);
      std::vector<float> distances(probes);
      quantizer->search(1, query, idx_t(probes), distances.data(), labels.data());
      for (idx_t l : labels)
        if (l >= 0) lists.push_back(uint32_t(l));
      return lists;
    }
    // Every centroid's code scored, the best 2 * probes kept by counting (a
    // reservoir took in most of the 4,096 and cost ~40 us a query).
    std::vector<uint16_t> codes;
    centroid_codes.score_list(tables, 0, &codes);
    const std::vector<uint32_t> candidates = smallest(codes, 2 * probes);
    Sq8Vectors::Query q8;
    centroid_sq8.prepare(query, &q8);
    // Their 8-bit distances, as 16-bit keys on the largest one's scale, and
    // the best `probes` of those by counting again (nth_element on 1,024
    // pairs took ~15 us).
    std::vector<float> distance(candidates.size());
    share_work(
        helper, candidates.size(), kRowsPerChunk,
        [&](size_t begin, size_t end, int) {
          sq8_distances(centroid_sq8, q8, candidates, begin, end, [&](size_t i, float d) { distance[i] = d; });
        },
        [](int) {});
    const float largest = distance.empty() ? 0.f : *std::max_element(distance.begin(), distance.end());
    std::vector<uint16_t> keys(candidates.size());
    const float scale = largest > 0 ? 65535.f / largest : 0.f;
    for (size_t i = 0; i < candidates.size(); ++i) keys[i] = uint16_t(std::min(65535.f, distance[i] * scale));
    // The nearest kNearestListsFirst first: their good candidates lower the
    // reservoir's threshold early, so fewer of the later ones get in (-5%).
    std::vector<std::pair<uint16_t, uint32_t>> order;
    for (uint32_t i : smallest(keys, probes)) order.emplace_back(keys[i], candidates[i]);
    std::partial_sort(order.begin(), order.begin() + long(std::min(kNearestListsFirst, order.size())), order.end());
    for (const auto& [key, list] : order) lists.push_back(list);
    return lists;
  }

  static void prefetch_vector(const float* v, size_t d) {
    const char* bytes = reinterpret_cast<const char*>(v);
    for (size_t at = 0; at < d * sizeof(float); at += 64) _mm_prefetch(bytes + at, _MM_HINT_T0);
  }

  PqFastScan centroid_codes;  // list 0: the coarse centroids, with codes4's codebooks
  Sq8Vectors centroid_sq8;    // list 0: the coarse centroids, on their own ranges
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

bool set_fast_scan_rerank(faiss::Index& index, size_t rerank, size_t refine) {
  auto* ivf = dynamic_cast<FastIVFFlat*>(&index);
  if (!ivf) return false;
  ivf->rerank = rerank;
  ivf->refine = refine;
  return ivf->codes4.trained();
}

std::string describe_search(const faiss::Index& index) {
  if (const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&index)) {
    std::string out = "approximate: " + std::to_string(std::min(ivf->nprobe, ivf->nlist)) + " of " +
                      std::to_string(ivf->nlist) + " lists probed";
    const auto* fast = dynamic_cast<const FastIVFFlat*>(&index);
    if (fast && fast->codes4.trained() && fast->rerank > 0) {
      char share[32];
      std::snprintf(share, sizeof share, "%.2f%%", 100.0 * std::min(1.0, kShortlistMargin * fast->rank_share));
      out += ", their " + std::to_string(fast->codes4.code_bytes()) + "-byte codes scored, the best ";
      out += fast->rerank == kAutoFastScanRerank ? std::string(share) + " of them" : std::to_string(fast->rerank);
      if (fast->sq8.trained())
        out += " re-scored by 8-bit copies and the best " + std::to_string(fast->refine) + " of those";
      return out + " compared exactly";
    }
    return out + ", every face in them compared exactly";
  }
  if (const auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(&index))
    return "approximate: graph search (efSearch " + std::to_string(hnsw->hnsw.efSearch) + ")";
  if (const auto* map = dynamic_cast<const faiss::IndexIDMap*>(&index)) return describe_search(*map->index);
  if (dynamic_cast<const faiss::IndexFlat*>(&index)) return "exact";
  return "";
}

bool has_fast_search(const faiss::Index& index) {
  if (const auto* map = dynamic_cast<const faiss::IndexIDMap*>(&index))
    return dynamic_cast<const FastFlatL2*>(map->index) != nullptr;
  return dynamic_cast<const FastIVFFlat*>(&index) != nullptr;
}

bool fast_scan_supported() { return PqFastScan::supported(); }

}  // namespace facedex::storage
