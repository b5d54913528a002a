// 4-bit product-quantized copies of an IVF-Flat index's vectors, laid out for
// AVX2 table lookups: a cheap first pass over many inverted lists that picks
// candidates, which the caller then re-ranks with the exact vectors.
//
// Why: on galleries shaped like real ones a million-face IVF-Flat index needs
// to scan about an eighth of its lists for recall@10 0.98 (benchmarks/RESULTS.md,
// "Search at scale"): 64 MB of floats per query at this machine's ~5-9 GB/s.
// Here each vector takes 16 or 32 bytes instead of 512 and a block of 32
// vectors is scored with one byte-shuffle per subquantizer (the "fast scan" of
// André et al.). FAISS has it too, but Debian's FAISS 1.7.3 is a generic build
// (no AVX2 for it) and its fast-scan lists (BlockInvertedLists) cannot remove
// ids, which deleting photos needs; RESULTS.md, "FAISS's own fast scan", has
// the comparison.
//
// Codes: 32 subquantizers of 4 dimensions or 64 of 2, 16 centroids each, of
// the vectors rotated by a BalancedRotation (storage/ann/balanced_rotation.h).
// Per list, blocks of 32 vectors; a block holds, for each pair of
// subquantizers (2p, 2p+1), 16 bytes of subquantizer 2p then 16 of 2p+1, byte
// i carrying vector i in its low nibble and vector i + 16 in its high one. The
// codes are derived data: they are made from the index's own vectors when it
// is loaded or grows, and never written to disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "storage/ann/aligned_block.h"
#include "storage/ann/balanced_rotation.h"

namespace facedex::storage {

class PqFastScan {
 public:
  // The default of train(); the IVF search picks 32 or 64 by measurement
  // (neighbour_rank_share). Without the rotation, 32 subquantizers of 4
  // dimensions lose far more of the exact 10 nearest than 64 of 2
  // (benchmarks/RESULTS.md, "Search at scale").
  static constexpr size_t kSubquantizers = 64;
  static constexpr size_t kMaxSubquantizers = 64;
  static constexpr size_t kMaxDims = 512;
  static constexpr size_t kCentroids = 16;  // fixed: 4-bit codes, and kmeans16/nearest_of_16
  static constexpr size_t kBlock = 32;      // vectors scored together

  // Learns the codebooks from n vectors of d dimensions: `subquantizers` of
  // them (32 or 64), d a multiple of that.
  void train(size_t d, const float* sample, size_t n, size_t subquantizers = kSubquantizers);
  size_t subquantizers() const { return m_; }
  size_t code_bytes() const { return m_ / 2; }
  bool trained() const { return !centroids_.empty(); }
  // A copy with the same codebooks and no codes, to encode other vectors alike.
  PqFastScan codebooks_only() const;

  // Makes room for list l to hold sizes[l] vectors, for every list (laying
  // the codes out anew, with room to grow, when one outgrows its room), so
  // that sync_list may then run on different lists from several threads.
  void reserve(const std::vector<size_t>& sizes);
  // Makes list `list`'s codes those of its `n` vectors: encodes the vectors
  // past those already held (lists grow at the end), or all of them when
  // `from_scratch` (after removals, which move vectors within a list).
  // Without room reserved for them it makes room itself: one thread only.
  void sync_list(size_t list, const float* vectors, size_t n, bool from_scratch);
  // How many vectors of `list` have codes.
  size_t encoded(size_t list) const { return list < counts_.size() ? counts_[list] : 0; }

  // A query's lookup tables: distances from its subvectors to every centroid,
  // as bytes on one scale (only their order matters: exact distances come
  // from the floats).
  struct QueryTables {
    std::vector<uint8_t> lut;  // subquantizers * kCentroids, in the pair layout above
  };
  void make_tables(const float* query, QueryTables* tables) const;

  // A candidate: approximate distance in table units, list and position.
  struct Candidate {
    uint16_t approx;
    uint32_t list;
    uint32_t offset;
  };
  // The best `want` candidates seen: a buffer of up to twice that, cut back to
  // the best `want` when full (cheaper than a heap when many get in).
  class Reservoir {
   public:
    explicit Reservoir(size_t want) : want_(want > 0 ? want : 1), items_(2 * want_) {}
    // Scores at or above this cannot be among the best `want`.
    uint16_t threshold() const { return threshold_; }
    // Fields written one by one into the buffer: a Candidate built on the
    // stack and copied in stalled on store forwarding (a quarter of a scan).
    void add(uint16_t approx, uint32_t list, uint32_t offset) {
      Candidate& slot = items_[size_];
      slot.approx = approx;
      slot.list = list;
      slot.offset = offset;
      if (++size_ == items_.size()) cut();
    }
    void add(const Candidate& c) { add(c.approx, c.list, c.offset); }
    // The best `want` (at most), in no particular order. Add nothing after.
    const std::vector<Candidate>& best();

   private:
    void cut();
    size_t want_;
    uint16_t threshold_ = 0x7fff;
    std::vector<Candidate> items_;  // 2 * want_ slots, the first size_ in use
    size_t size_ = 0;
    std::vector<uint32_t> counts_;  // cut()'s count of each score, kept for its memory
  };
  // Offers every vector of `list` to `reservoir`.
  void scan_list(const QueryTables& tables, size_t list, Reservoir* reservoir) const;

  // How far down the codes' ranking a true neighbour falls, as a share of
  // the vectors scored: the 90th percentile, over queries drawn from
  // `sample` (n vectors), of the rank by code of each of their exact 10
  // nearest among the rest of the sample. Real descriptors concentrate their
  // variance and rank well (~0.28% on the two-covariance gallery); isotropic
  // vectors, where 16 bytes keep less, can need ten times more. The search
  // keeps a shortlist sized by it (storage/ann/fast_search.cpp).
  double neighbour_rank_share(const float* sample, size_t n) const;

  // Every vector's score of `list`, in order: for picking a large share of
  // a short list (the coarse centroids), where a reservoir takes in nearly all.
  void score_list(const QueryTables& tables, size_t list, std::vector<uint16_t>* scores) const;

  // Starts fetching the first codes of `list` into the cache.
  void prefetch_list(size_t list) const;

  // Whether this CPU has AVX2 and FMA, which the scan and storage's other
  // fast loops need; without them the caller scans floats.
  static bool supported();

 private:
  void encode(const float* vector, size_t list, size_t position);
  size_t block_bytes() const { return m_ * kBlock / 2; }
  static size_t blocks_for(size_t vectors) { return (vectors + kBlock - 1) / kBlock; }
  uint8_t* list_codes(size_t list) const { return arena_.get() + start_[list] * block_bytes(); }

  size_t d_ = 0, dsub_ = 0, m_ = kSubquantizers;
  BalancedRotation rotation_;            // applied to vectors and queries before coding
  std::vector<float> centroids_;         // m_ x kCentroids x dsub_
  std::vector<float> centroids_by_dim_;  // m_ x dsub_ x kCentroids, for encoding
  // Every list's blocks in one allocation (huge pages when large): at a
  // million faces a query reads 512 lists scattered over 16 MB, and with
  // 4,096 separate allocations nearly each one began with a TLB miss.
  AlignedBlock arena_;
  std::vector<size_t> start_, room_;  // per list, in blocks
  std::vector<size_t> counts_;        // per list, vectors with codes
};

}  // namespace facedex::storage
