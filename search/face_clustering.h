// Grouping faces into people without names. Candidate pairs come from a
// k-nearest-neighbour graph built with FAISS (never all pairs); they are tried
// nearest first, and two clusters merge only when their faces are close on
// average (average linkage), when they share no photo (two faces of one photo
// are two people) and are not two differently named persons. Measured on LFW
// against chinese whispers: benchmarks/RESULTS.md.
#pragma once

#include <cstdint>
#include <vector>

#include "util/descriptor.h"

namespace facedex::search {

struct ClusterParams {
  // Clusters merge while the mean distance between their faces is below this.
  float threshold = 0.5f;
  // Neighbours per face in the graph: bounds the work to n·k edges.
  int k = 20;
};

struct ClusterInput {
  std::vector<Descriptor> descriptors;
  std::vector<uint64_t> photo_ids;   // faces of one photo never share a cluster
  std::vector<uint64_t> person_ids;  // 0 = unnamed; one person = one cluster, two persons = two clusters
};

// A label per face, contiguous from 0.
std::vector<unsigned long> cluster_faces(const ClusterInput& input, const ClusterParams& params);

}  // namespace facedex::search
