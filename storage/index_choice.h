// Which vector index a gallery uses when left to choose ("auto", the default):
// exact search while it is fast enough, an inverted-file index (IVF) beyond.
// IVF, unlike HNSW, removes vectors, so forgetting and re-indexing keep working.
// The figures behind the numbers: benchmarks/RESULTS.md, "Search at scale".
#pragma once

#include <cstddef>
#include <string>

#include "util/status.h"

namespace facedex::storage {

inline constexpr const char* kAutoIndexType = "auto";

// kInvalidInput unless `type` is "auto" or a FAISS factory string facedex
// runs: Flat, IVF<n>,Flat, IVF<n>,SQ8, IVF<n>,PQ<m>, HNSW<m>.
// Checked before a type is stored: FAISS crashes on some strings (HNSW0).
// Given the gallery's descriptor length (0: not known yet), PQ's m must divide it.
Status check_index_type(const std::string& type, int descriptor_dims = 0);
// Exact (Flat) search grows with the gallery; from here on an IVF index answers
// far sooner for nearly the same neighbours (benchmarks/RESULTS.md, "Search at scale").
inline constexpr size_t kApproximateIndexFaces = 200000;

// Inverted lists for an IVF index of `faces` faces: ~4·sqrt(n) (FAISS's
// guidance), the nearest power of two (1M faces -> 4096).
size_t inverted_file_lists(size_t faces);
// The concrete FAISS factory string for `faces` faces under "auto".
std::string auto_index_type(size_t faces, size_t approximate_from = kApproximateIndexFaces);
// Whether an "auto" gallery whose index is `current` should be rebuilt as another
// type now that it holds `faces` faces (back to Flat only below half the
// threshold, so a gallery near it does not flip back and forth).
bool auto_index_should_switch(const std::string& current, size_t faces,
                              size_t approximate_from = kApproximateIndexFaces);
// Whether `concrete` is a type "auto" may have chosen (a saved file of it is reusable).
bool is_auto_index_choice(const std::string& concrete);
// Lists an IVF index of `lists` lists scans per query: an eighth of them
// where the index scores codes first (storage/ann/fast_search.h; AVX2 CPUs), a
// sixteenth where it compares every probed vector exactly; at least 64.
// An eighth is where the exact 10 nearest almost always lie among faces shaped
// like real descriptors, and scoring codes makes that many lists affordable
// (benchmarks/RESULTS.md, "Search at scale").
size_t auto_nprobe(size_t lists);
// FAISS ParameterSpace settings for the types auto_index_type returns.
std::string auto_search_parameters(const std::string& concrete);

}  // namespace facedex::storage
