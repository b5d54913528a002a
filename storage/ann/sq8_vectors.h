// 8-bit copies of an IVF index's vectors, one byte a dimension, in one block
// of memory laid out list by list: the middle pass of a search, between the
// 4-bit codes (storage/ann/pq_fast_scan.h) and the exact floats.
//
// Why: ranking the candidates by their floats in FAISS's lists waits on
// memory: 8 cache lines a vector, in thousands of separately allocated lists,
// so nearly every vector also misses the TLB and its prefetches do not
// overlap (benchmarks/RESULTS.md, "Search at scale"). Here a vector is 2 cache lines in
// one allocation that the kernel is asked to back with huge pages, and the
// byte values rank near-ties almost as the floats do, so only the few best
// go on to exact distances.
//
// Each dimension has its own range, learnt from a sample (values outside it
// are clamped): value = low[j] + step[j] * byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "storage/ann/aligned_block.h"

namespace facedex::storage {

class Sq8Vectors {
 public:
  Sq8Vectors() = default;
  Sq8Vectors(Sq8Vectors&&) = default;
  Sq8Vectors& operator=(Sq8Vectors&&) = default;

  // Learns each dimension's range from n vectors of d dimensions.
  void train(size_t d, const float* sample, size_t n);
  bool trained() const { return d_ > 0; }

  // Makes list l's copies those of its sizes[l] vectors at vectors[l], for
  // every list: encodes what lists gained at their end, re-encodes lists that
  // shrank (removals move vectors within a list), and lays the block out anew
  // (with room to grow) when a list outgrows its room.
  void sync(const std::vector<const float*>& vectors, const std::vector<size_t>& sizes);

  // The query in the form distance() takes.
  struct Query {
    std::vector<float> shifted;  // query - low, per dimension
  };
  void prepare(const float* query, Query* out) const;
  // Squared distance from the query to the copy of vector `offset` of `list`.
  float distance(const Query& query, size_t list, size_t offset) const;
  // The same by row: where vector `offset` of `list` is, or kNoRow when the
  // copy does not hold it (the lists changed since the last sync).
  static constexpr size_t kNoRow = ~size_t(0);
  size_t row(size_t list, size_t offset) const {
    return list < count_.size() && offset < count_[list] ? start_[list] + offset : kNoRow;
  }
  float distance_at(const Query& query, size_t row) const;
  void prefetch_row(size_t row) const;

 private:
  void encode(const float* vector, uint8_t* out) const;
  void lay_out(const std::vector<const float*>& vectors, const std::vector<size_t>& sizes);

  size_t d_ = 0;
  std::vector<float> low_, step_, inverse_step_;
  AlignedBlock block_;                        // huge pages from 4 MB on
  std::vector<size_t> start_, room_, count_;  // per list, in vectors
};

}  // namespace facedex::storage
