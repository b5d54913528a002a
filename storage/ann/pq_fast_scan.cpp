#include "storage/ann/pq_fast_scan.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "storage/ann/l2_distance.h"
#include "util/kernel_choice.h"

namespace facedex::storage {
namespace {

// Sums the 16-bit lanes of the two 128-bit halves: 8 sums.
__attribute__((target("avx2"))) inline __m128i fold(__m256i v) {
  return _mm_add_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

// Approximate distances of one block's 32 vectors: vectors 0-15 in `low`,
// 16-31 in `high`, as 16-bit lanes in vector order.
template <size_t kSubquantizers>
__attribute__((target("avx2"))) inline void score_block(const uint8_t* block, const uint8_t* lut, __m256i* low,
                                                        __m256i* high) {
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i low_byte = _mm256_set1_epi16(0x00ff);
  __m256i low_even = _mm256_setzero_si256(), low_odd = _mm256_setzero_si256();
  __m256i high_even = _mm256_setzero_si256(), high_odd = _mm256_setzero_si256();
  // Two pairs of subquantizers per step: table entries are at most 127, so
  // two of them add up in a byte before widening to 16 bits.
  for (size_t pair = 0; pair < kSubquantizers / 2; pair += 2) {
    const __m256i codes0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + pair * 32));
    const __m256i codes1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + pair * 32 + 32));
    const __m256i table0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + pair * 32));
    const __m256i table1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + pair * 32 + 32));
    // Per 128-bit half (one subquantizer each): byte i = table[code of vector i].
    const __m256i d_low = _mm256_add_epi8(_mm256_shuffle_epi8(table0, _mm256_and_si256(codes0, nibble)),
                                          _mm256_shuffle_epi8(table1, _mm256_and_si256(codes1, nibble)));
    const __m256i d_high =
        _mm256_add_epi8(_mm256_shuffle_epi8(table0, _mm256_and_si256(_mm256_srli_epi16(codes0, 4), nibble)),
                        _mm256_shuffle_epi8(table1, _mm256_and_si256(_mm256_srli_epi16(codes1, 4), nibble)));
    // Widen to 16 bits: even bytes (vectors 0, 2, ...) and odd bytes apart.
    low_even = _mm256_add_epi16(low_even, _mm256_and_si256(d_low, low_byte));
    low_odd = _mm256_add_epi16(low_odd, _mm256_srli_epi16(d_low, 8));
    high_even = _mm256_add_epi16(high_even, _mm256_and_si256(d_high, low_byte));
    high_odd = _mm256_add_epi16(high_odd, _mm256_srli_epi16(d_high, 8));
  }
  // Add the two subquantizers of each pair (the halves), then interleave even
  // and odd vectors back into order.
  const __m128i le = fold(low_even), lo = fold(low_odd), he = fold(high_even), ho = fold(high_odd);
  *low = _mm256_set_m128i(_mm_unpackhi_epi16(le, lo), _mm_unpacklo_epi16(le, lo));
  *high = _mm256_set_m128i(_mm_unpackhi_epi16(he, ho), _mm_unpacklo_epi16(he, ho));
}

// Offers the vectors of `scores` (16 lanes, first at `first`) below the
// reservoir's threshold; `valid` bounds the positions that hold vectors.
__attribute__((target("avx2"))) inline void offer(__m256i scores, uint32_t list, uint32_t first, uint32_t valid,
                                                  PqFastScan::Reservoir* reservoir) {
  // Scores are at most 64 * 127, so signed 16-bit comparison is safe.
  uint32_t mask =
      uint32_t(_mm256_movemask_epi8(_mm256_cmpgt_epi16(_mm256_set1_epi16(int16_t(reservoir->threshold())), scores)));
  if (!mask) return;
  alignas(32) uint16_t values[16];
  _mm256_store_si256(reinterpret_cast<__m256i*>(values), scores);
  while (mask) {
    const uint32_t lane = uint32_t(__builtin_ctz(mask)) / 2;
    mask &= ~(3u << (2 * lane));
    const uint32_t position = first + lane;
    if (position >= valid) break;
    if (values[lane] < reservoir->threshold()) reservoir->add(values[lane], list, position);
  }
}

// Which of 16 centroids, stored by dimension ([j][c], `dim` of them), is
// nearest to `point`; its squared distance goes to *distance. 8 centroids at
// a time, the minimum found in registers (reading lanes back from memory
// stalls store forwarding).
__attribute__((target("avx2,fma"))) inline size_t nearest_of_16(const float* by_dim, const float* point, size_t dim,
                                                                float* distance) {
  __m256 first = _mm256_setzero_ps(), second = _mm256_setzero_ps();
  for (size_t j = 0; j < dim; ++j) {
    const __m256 x = _mm256_set1_ps(point[j]);
    const __m256 t0 = _mm256_sub_ps(x, _mm256_loadu_ps(by_dim + j * 16));
    const __m256 t1 = _mm256_sub_ps(x, _mm256_loadu_ps(by_dim + j * 16 + 8));
    first = _mm256_fmadd_ps(t0, t0, first);
    second = _mm256_fmadd_ps(t1, t1, second);
  }
  __m256 smallest = _mm256_min_ps(first, second);
  smallest = _mm256_min_ps(smallest, _mm256_permute2f128_ps(smallest, smallest, 1));
  smallest = _mm256_min_ps(smallest, _mm256_shuffle_ps(smallest, smallest, _MM_SHUFFLE(1, 0, 3, 2)));
  smallest = _mm256_min_ps(smallest, _mm256_shuffle_ps(smallest, smallest, _MM_SHUFFLE(2, 3, 0, 1)));
  *distance = _mm_cvtss_f32(_mm256_castps256_ps128(smallest));
  const unsigned where = unsigned(_mm256_movemask_ps(_mm256_cmp_ps(first, smallest, _CMP_EQ_OQ))) |
                         unsigned(_mm256_movemask_ps(_mm256_cmp_ps(second, smallest, _CMP_EQ_OQ))) << 8;
  return where ? size_t(__builtin_ctz(where)) : 0;  // 0: NaN input
}

// Lloyd's k-means of n points of `dim` dimensions into 16 centroids, started
// from 16 points spread over the sample (which is spread over the index). A
// centroid left without points moves to the point farthest from its own.
__attribute__((target("avx2,fma"))) void kmeans16(const float* x, size_t n, size_t dim, float* centroids) {
  if (n == 0) return;
  constexpr size_t k = 16;
  for (size_t c = 0; c < k; ++c) std::copy_n(x + (c * n / k) * dim, dim, centroids + c * dim);
  std::vector<size_t> assigned(n), counts(k);
  std::vector<float> distance(n), sums(k * dim), by_dim(k * dim);
  for (int iteration = 0; iteration < 20; ++iteration) {
    for (size_t c = 0; c < k; ++c)
      for (size_t j = 0; j < dim; ++j) by_dim[j * k + c] = centroids[c * dim + j];
    for (size_t i = 0; i < n; ++i) assigned[i] = nearest_of_16(by_dim.data(), x + i * dim, dim, &distance[i]);
    std::fill(sums.begin(), sums.end(), 0.f);
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t i = 0; i < n; ++i) {
      ++counts[assigned[i]];
      for (size_t j = 0; j < dim; ++j) sums[assigned[i] * dim + j] += x[i * dim + j];
    }
    for (size_t c = 0; c < k; ++c) {
      if (counts[c] == 0) {
        const size_t far = size_t(std::max_element(distance.begin(), distance.end()) - distance.begin());
        std::copy_n(x + far * dim, dim, centroids + c * dim);
        distance[far] = 0;
        continue;
      }
      for (size_t j = 0; j < dim; ++j) centroids[c * dim + j] = sums[c * dim + j] / float(counts[c]);
    }
  }
}

}  // namespace

bool PqFastScan::supported() { return use_avx2_kernels(); }

void PqFastScan::train(size_t d, const float* sample, size_t n, size_t subquantizers) {
  m_ = subquantizers == 32 ? 32 : 64;
  centroids_.clear();
  if (d == 0 || d > kMaxDims || d % m_ != 0) return;  // stays untrained: the caller scans floats
  d_ = d;
  dsub_ = d / m_;
  centroids_.assign(m_ * kCentroids * dsub_, 0.f);
  // Each subquantizer's k-means on at most 4,096 points (what FAISS's
  // ProductQuantizer samples too; it took ~0.8 s for the 64 of them, mostly
  // in BLAS calls on 2-column matrices, against ~0.05 s here).
  rotation_.learn(d, sample, n, m_);
  const size_t points = std::min<size_t>(n, 4096);
  std::vector<float> rotated(points * d);
  for (size_t i = 0; i < points; ++i) rotation_.apply(sample + (i * n / points) * d, rotated.data() + i * d);
  std::vector<float> sub(points * dsub_);
  for (size_t q = 0; q < m_; ++q) {
    for (size_t i = 0; i < points; ++i)
      std::copy_n(rotated.begin() + long(i * d + q * dsub_), dsub_, sub.begin() + long(i * dsub_));
    kmeans16(sub.data(), points, dsub_, centroids_.data() + q * kCentroids * dsub_);
  }
  centroids_by_dim_.resize(centroids_.size());
  for (size_t q = 0; q < m_; ++q)
    for (size_t c = 0; c < kCentroids; ++c)
      for (size_t j = 0; j < dsub_; ++j)
        centroids_by_dim_[(q * dsub_ + j) * kCentroids + c] = centroids_[(q * kCentroids + c) * dsub_ + j];
  arena_.reset();
  start_.clear();
  room_.clear();
  counts_.clear();
}

__attribute__((target("avx2,fma"))) void PqFastScan::encode(const float* original, size_t list, size_t position) {
  float vector[kMaxDims];
  rotation_.apply(original, vector);
  uint8_t* block = list_codes(list) + (position / kBlock) * block_bytes();
  const size_t lane = position % kBlock;
  for (size_t q = 0; q < m_; ++q) {
    float distance;
    const size_t best =
        nearest_of_16(centroids_by_dim_.data() + q * dsub_ * kCentroids, vector + q * dsub_, dsub_, &distance);
    uint8_t& byte = block[(q / 2) * 32 + (q % 2) * 16 + lane % 16];
    byte = lane < 16 ? uint8_t((byte & 0xf0) | best) : uint8_t((byte & 0x0f) | (best << 4));
  }
}

PqFastScan PqFastScan::codebooks_only() const {
  PqFastScan copy;
  copy.d_ = d_;
  copy.dsub_ = dsub_;
  copy.m_ = m_;
  copy.rotation_ = rotation_;
  copy.centroids_ = centroids_;
  copy.centroids_by_dim_ = centroids_by_dim_;
  return copy;
}

void PqFastScan::prefetch_list(size_t list) const {
  if (list >= counts_.size()) return;
  const char* codes = reinterpret_cast<const char*>(list_codes(list));
  const size_t bytes = std::min<size_t>(blocks_for(counts_[list]) * block_bytes(), 2048);
  for (size_t at = 0; at < bytes; at += 64) _mm_prefetch(codes + at, _MM_HINT_T0);
}

void PqFastScan::reserve(const std::vector<size_t>& sizes) {
  const size_t lists = std::max(sizes.size(), counts_.size());
  bool fits = arena_ != nullptr && lists == room_.size();
  for (size_t l = 0; fits && l < sizes.size(); ++l) fits = blocks_for(sizes[l]) <= room_[l];
  if (fits) return;
  // A new lay-out: each list's room for its size and a quarter more, the
  // codes held so far copied over.
  std::vector<size_t> start(lists), room(lists);
  size_t total = 0;
  for (size_t l = 0; l < lists; ++l) {
    const size_t want = std::max(l < sizes.size() ? sizes[l] : 0, l < counts_.size() ? counts_[l] : 0);
    room[l] = blocks_for(want) + blocks_for(want) / 4 + 1;
    start[l] = total;
    total += room[l];
  }
  AlignedBlock memory = allocate_block(total * block_bytes());
  std::memset(memory.get(), 0, total * block_bytes());
  for (size_t l = 0; l < counts_.size(); ++l)
    if (counts_[l] > 0)
      std::memcpy(memory.get() + start[l] * block_bytes(), list_codes(l), blocks_for(counts_[l]) * block_bytes());
  arena_ = std::move(memory);
  start_.swap(start);
  room_.swap(room);
  counts_.resize(lists, 0);
}

void PqFastScan::sync_list(size_t list, const float* vectors, size_t n, bool from_scratch) {
  if (list >= room_.size() || blocks_for(n) > room_[list]) {
    std::vector<size_t> sizes(counts_);
    sizes.resize(std::max(sizes.size(), list + 1), 0);
    sizes[list] = n;
    reserve(sizes);
  }
  size_t start = from_scratch ? 0 : counts_[list];
  if (start > n) start = 0;  // shrank without a from_scratch: treat as one
  uint8_t* codes = list_codes(list);
  if (start == 0) std::memset(codes, 0, room_[list] * block_bytes());
  for (size_t i = start; i < n; ++i) encode(vectors + i * d_, list, i);
  counts_[list] = n;
}

__attribute__((target("avx2,fma"))) void PqFastScan::make_tables(const float* original, QueryTables* tables) const {
  float query[kMaxDims];
  rotation_.apply(original, query);
  float distances[kMaxSubquantizers][kCentroids];
  float largest_span = 0;
  float lowest[kMaxSubquantizers];
  for (size_t q = 0; q < m_; ++q) {
    lowest[q] = std::numeric_limits<float>::max();
    float highest = 0;
    for (size_t c = 0; c < kCentroids; ++c) {
      float distance = 0;
      for (size_t j = 0; j < dsub_; ++j) {
        const float t = query[q * dsub_ + j] - centroids_[(q * kCentroids + c) * dsub_ + j];
        distance += t * t;
      }
      distances[q][c] = distance;
      lowest[q] = std::min(lowest[q], distance);
      highest = std::max(highest, distance);
    }
    largest_span = std::max(largest_span, highest - lowest[q]);
  }
  // One scale for every table, so that sums of bytes compare like sums of
  // distances; each table's minimum is dropped (the same for every vector).
  // At most 127, so that score_block can add two entries in a byte.
  const float scale = largest_span > 0 ? 127.f / largest_span : 1.f;
  tables->lut.resize(m_ * kCentroids);
  for (size_t q = 0; q < m_; ++q)
    for (size_t c = 0; c < kCentroids; ++c)
      tables->lut[(q / 2) * 32 + (q % 2) * 16 + c] =
          uint8_t(std::min(127.f, std::nearbyint((distances[q][c] - lowest[q]) * scale)));
}

double PqFastScan::neighbour_rank_share(const float* sample, size_t n) const {
  constexpr size_t kQueries = 64, kNearest = 10, kMaxReference = 16384;
  if (!trained() || n < 2 * kQueries + 4 * kNearest) return 1.0;
  // Reference vectors and queries both spread over the whole sample (which
  // comes list by list): the reference every `stride`-th vector, the queries
  // next to some of those.
  const size_t reference = std::min(n / 2, kMaxReference), stride = n / reference;
  std::vector<float> base(reference * d_);
  for (size_t i = 0; i < reference; ++i) std::copy_n(sample + i * stride * d_, d_, base.begin() + long(i * d_));
  PqFastScan scorer = codebooks_only();
  scorer.sync_list(0, base.data(), reference, true);
  std::vector<double> ranks;
  std::vector<std::pair<float, uint32_t>> exact(reference);
  std::vector<uint16_t> approx(reference);
  for (size_t q = 0; q < kQueries; ++q) {
    const float* query = sample + ((q * reference / kQueries) * stride + 1) * d_;
    for (size_t i = 0; i < reference; ++i) exact[i] = {l2_squared(query, base.data() + i * d_, d_), uint32_t(i)};
    std::partial_sort(exact.begin(), exact.begin() + long(kNearest), exact.end());
    QueryTables tables;
    scorer.make_tables(query, &tables);
    Reservoir everything(reference);
    scorer.scan_list(tables, 0, &everything);
    for (const Candidate& c : everything.best()) approx[c.offset] = c.approx;
    for (size_t k = 0; k < kNearest; ++k) {
      const uint16_t mine = approx[exact[k].second];
      size_t better = 0, tied = 0;
      for (uint16_t a : approx) better += a < mine, tied += a == mine;
      ranks.push_back(double(better) + 0.5 * double(tied));
    }
  }
  std::sort(ranks.begin(), ranks.end());
  return (ranks[ranks.size() * 9 / 10] + 1.0) / double(reference);
}

namespace {

// One list's blocks of `m` subquantizers' codes, each vector offered to `reservoir`.
template <size_t m>
__attribute__((target("avx2"))) void scan_blocks(const uint8_t* codes, uint32_t n, const uint8_t* lut, uint32_t list,
                                                 PqFastScan::Reservoir* reservoir) {
  constexpr size_t kBlockBytes = m * PqFastScan::kBlock / 2;
  const uint8_t* end = codes + (n + PqFastScan::kBlock - 1) / PqFastScan::kBlock * kBlockBytes;
  for (uint32_t first = 0; first < n; first += PqFastScan::kBlock, codes += kBlockBytes) {
    // Two blocks ahead: the lists are read from memory, not from the cache.
    if (codes + 2 * kBlockBytes < end)
      for (size_t at = 0; at < kBlockBytes; at += 64)
        _mm_prefetch(reinterpret_cast<const char*>(codes + 2 * kBlockBytes + at), _MM_HINT_T0);
    __m256i low, high;
    score_block<m>(codes, lut, &low, &high);
    offer(low, list, first, n, reservoir);
    if (first + 16 < n) offer(high, list, first + 16, n, reservoir);
  }
}

// Every vector's score of one list, in order (`scores` holds the list's
// size rounded up to a block).
template <size_t m>
__attribute__((target("avx2"))) void score_blocks(const uint8_t* codes, uint32_t n, const uint8_t* lut,
                                                  uint16_t* scores) {
  constexpr size_t kBlockBytes = m * PqFastScan::kBlock / 2;
  for (uint32_t first = 0; first < n; first += PqFastScan::kBlock, codes += kBlockBytes) {
    __m256i low, high;
    score_block<m>(codes, lut, &low, &high);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(scores + first), low);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(scores + first + 16), high);
  }
}

}  // namespace

void PqFastScan::score_list(const QueryTables& tables, size_t list, std::vector<uint16_t>* scores) const {
  const uint32_t n = list < counts_.size() ? uint32_t(counts_[list]) : 0;
  scores->resize(blocks_for(n) * kBlock);
  if (m_ == 32)
    score_blocks<32>(list_codes(list), n, tables.lut.data(), scores->data());
  else
    score_blocks<64>(list_codes(list), n, tables.lut.data(), scores->data());
  scores->resize(n);
}

void PqFastScan::scan_list(const QueryTables& tables, size_t list, Reservoir* reservoir) const {
  if (list >= counts_.size()) return;
  const uint32_t n = uint32_t(counts_[list]);
  if (m_ == 32)
    scan_blocks<32>(list_codes(list), n, tables.lut.data(), uint32_t(list), reservoir);
  else
    scan_blocks<64>(list_codes(list), n, tables.lut.data(), uint32_t(list), reservoir);
}

// The want-th smallest score by counting (scores are below 2^15, and below
// the threshold once a cut was made), then the items under it moved to the
// front: ~3x cheaper than nth_element on the 12-byte candidates, which took a
// third of a million-face scan.
__attribute__((target("avx2"))) void PqFastScan::Reservoir::cut() {
  if (size_ <= want_) return;
  uint16_t highest = 0;
  for (size_t i = 0; i < size_; ++i) highest = std::max(highest, items_[i].approx);
  std::vector<uint32_t>& counts = counts_;
  counts.assign(size_t(highest) + 1, 0);
  for (size_t i = 0; i < size_; ++i) ++counts[items_[i].approx];
  size_t below = 0;  // items scoring under `cutoff`
  uint16_t cutoff = 0;
  while (below + counts[cutoff] < want_) below += counts[cutoff++];
  // Keep every item under the cutoff and want_ - below of those at it.
  size_t ties = want_ - below, kept = 0;
  for (size_t i = 0; i < size_; ++i) {
    const uint16_t score = items_[i].approx;
    if (score < cutoff || (score == cutoff && ties > 0 && ties--)) items_[kept++] = items_[i];
  }
  size_ = kept;
  threshold_ = cutoff;
}

const std::vector<PqFastScan::Candidate>& PqFastScan::Reservoir::best() {
  cut();
  items_.resize(size_);
  return items_;
}

}  // namespace facedex::storage
