// FAISS's exact (Flat) and IVF-Flat searches with their distance loops in
// AVX2 + FMA when the CPU has them.
//
// Why: Debian's FAISS 1.7.3 is a generic x86-64 build, so a single query
// computes its distances with scalar code (fvec_L2sqr_ref in a profile): to
// every face in exact search, and to the coarse centroids and every vector of
// the probed lists in IVF (benchmarks/RESULTS.md, "Search at scale"). The
// stored vectors, the lists, the file format and the
// answers stay FAISS's (tests/storage/fast_search_test.cpp compares them with
// FAISS's own loops); only the inner loops of single queries change (from 20
// queries at once FAISS uses BLAS, which is fast already).
#pragma once

#include <faiss/Index.h>

#include <cstddef>
#include <memory>
#include <string>

namespace facedex::storage {

// An IndexIVFFlat (L2, flat quantizer) or an IndexIDMap over an IndexFlatL2,
// as index_factory and read_index make them, comes back as the faster
// equivalent holding the same vectors; any other index comes back as it is.
// Without AVX2 the faster one runs FAISS's own loops.
std::unique_ptr<faiss::Index> with_fast_search(std::unique_ptr<faiss::Index> index);

// IVF indexes of 20,000 vectors and more also keep 16-byte codes of their
// vectors (storage/ann/pq_fast_scan.h) and 8-bit copies (storage/ann/sq8_vectors.h):
// a single query scores the probed lists' codes and keeps the best `rerank`
// candidates, scores those by their 8-bit copies and ranks the best `refine`
// of those exactly. kAutoFastScanRerank (the default) sizes the first
// shortlist by how well the codes ranked neighbours on the index's own
// sample; 0 turns codes off (every probed vector compared exactly, as FAISS
// does). A single query with 32,768 codes or more to scan shares that work
// with a helper thread (storage/ann/query_helper.h) when OpenMP may use more than
// one thread. Returns whether `index` uses codes now.
inline constexpr size_t kAutoFastScanRerank = ~size_t(0);
inline constexpr size_t kDefaultFastScanRefine = 16;
bool set_fast_scan_rerank(faiss::Index& index, size_t rerank, size_t refine = kDefaultFastScanRefine);

// How `index` answers a single query, for people: "exact", or how it is
// approximate ("512 of 4096 lists probed, ...").
std::string describe_search(const faiss::Index& index);

// Whether IVF indexes score 4-bit codes first here (AVX2 + FMA, and
// FACEDEX_KERNELS not "generic"); otherwise they compare every probed vector.
bool fast_scan_supported();

// Whether `index` is one with_fast_search made faster.
bool has_fast_search(const faiss::Index& index);

}  // namespace facedex::storage
