// Each face's k nearest faces, for clustering. Exact (FAISS Flat, BLAS) up to
// kExactNeighbourFaces faces. Beyond, an inverted-file search done as matrix
// products: k-means cuts the faces into ~4·sqrt(n) lists, each face is looked
// up in the 12 lists nearest to it, and each list's queries are compared with
// its members in one BLAS call. Debian's FAISS is a generic build whose own IVF
// scan computes distances one pair at a time (scalar code): this is ~10x faster.
#pragma once

#include <cstddef>
#include <vector>

#include "storage/vector_index.h"
#include "util/descriptor.h"

namespace facedex::search {

inline constexpr size_t kExactNeighbourFaces = 50000;

// Nearest first; each face is its own nearest neighbour (distance 0).
std::vector<std::vector<storage::Neighbor>> neighbour_graph(const std::vector<Descriptor>& faces, int k,
                                                            size_t exact_up_to = kExactNeighbourFaces);

}  // namespace facedex::search
