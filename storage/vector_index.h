// Our interface over FAISS (STYLE.md section 4): descriptors under face ids,
// the same keys as in RocksDB. The index is derived data: GalleryStore is the
// truth, and Gallery rebuilds or catches up the index from it.
//
// Not thread-safe for writes; concurrent const searches are fine.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "util/descriptor.h"
#include "util/status.h"

namespace facedex::storage {

struct Neighbor {
  uint64_t id = 0;     // face id
  float distance = 0;  // Euclidean (not squared), like dlib's 0.6 threshold
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  // REQUIRES: ids.size() == vectors.size(); ids not already present; every
  // vector as long as the index's (one model's descriptors).
  virtual void add(const std::vector<uint64_t>& ids, const std::vector<Descriptor>& vectors) = 0;
  // Removes those present; returns how many were.
  virtual size_t remove(const std::vector<uint64_t>& ids) = 0;
  // At most k neighbours, nearest first.
  virtual std::vector<Neighbor> search(const Descriptor& query, int k) const = 0;
  // The same for many queries at once (FAISS spreads them over its threads).
  virtual std::vector<std::vector<Neighbor>> search_many(const std::vector<Descriptor>& queries, int k) const;
  virtual size_t size() const = 0;
  // The length of the vectors it holds (brute force: 0 until the first).
  virtual int dims() const = 0;
  // Every id held, in no particular order (for consistency checks).
  virtual std::vector<uint64_t> ids() const = 0;
  // Every stored vector with its id, where the index keeps them exactly
  // (Flat, IVF-Flat, brute force); false, calling nothing, for types that
  // keep only codes (PQ, SQ8) or a graph (HNSW). For `check`.
  virtual bool for_each_vector(const std::function<void(uint64_t id, const float* v)>& fn) const = 0;
  // The FAISS factory string ("Flat", "HNSW32", ...) or "BruteForce".
  virtual std::string type() const = 0;
  // How a query is answered: "exact", or in what way it is approximate.
  virtual std::string search_method() const { return "exact"; }
  // True when removed vectors are only hidden (HNSW cannot remove): the
  // gallery then rebuilds the index before saving it.
  virtual bool has_hidden_removals() const { return false; }
};

// The default index type: "auto" (storage/index_choice.h) picks exact search
// while it is fast enough and an IVF index beyond.
inline constexpr const char* kDefaultIndexType = "auto";

// FAISS index of `dims`-d vectors from a factory string, wrapped in an id map.
// Only types that need no training (kUnsupported otherwise: see
// make_trained_faiss_index).
Expected<std::unique_ptr<VectorIndex>> make_faiss_index(const std::string& factory, int dims);
// Any index type, including those that learn from data first (IVF...): those
// are trained on an even sample of `data` (nothing is added), then every type
// is tuned with FAISS ParameterSpace settings such as "nprobe=64" ("" for none).
Expected<std::unique_ptr<VectorIndex>> make_trained_faiss_index(const std::string& factory, int dims,
                                                                const std::vector<Descriptor>& data,
                                                                const std::string& search_parameters);

// Exact search in plain C++: the oracle that tests hold FAISS against.
std::unique_ptr<VectorIndex> make_brute_force_index();

// Binary (de)serialisation of a FAISS index made by make_faiss_index.
Status write_faiss_index(const VectorIndex& index, FILE* out);
// search_parameters: FAISS ParameterSpace settings to apply ("nprobe=64"), or "".
// kCorruption unless it holds `dims`-d vectors.
Expected<std::unique_ptr<VectorIndex>> read_faiss_index(FILE* in, const std::string& factory, int dims,
                                                        const std::string& search_parameters = "");

}  // namespace facedex::storage
