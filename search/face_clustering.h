// Grouping faces into people without names. Candidate pairs come from a
// k-nearest-neighbour graph built with FAISS (never all pairs); they are tried
// nearest first, and two clusters merge only when their faces are close on
// average (average linkage), when they share no photo (two faces of one photo
// are two people) and are not two differently named persons.
//
// Distances are not equally telling everywhere: the model packs some
// populations (on LFW, East Asian faces) closer together than others, so one
// threshold merges look-alikes there and splits people elsewhere. A first,
// strict pass groups the obvious matches; then each face's crowding is measured
// as its distance to the 10th nearest face *outside* its first-pass group (so a
// person with thousands of photos does not count as their own crowd), and in
// crowded places distances are stretched by crowd_distance / crowding before
// the final pass. Measured on LFW against chinese whispers: benchmarks/RESULTS.md.
#pragma once

#include <cstdint>
#include <vector>

#include "util/descriptor.h"

namespace facedex::search {

struct ClusterParams {
  // Clusters merge while the mean (crowd-stretched) distance between their
  // faces is below this.
  float threshold = 0.54f;
  // Neighbours per face in the graph: bounds the work to n·k edges.
  int k = 20;
  // The strict first pass (plain distances) that crowding is measured around.
  float first_pass_threshold = 0.45f;
  // Crowding of a face: distance to its n-th nearest face outside its first-pass group...
  int crowd_neighbours = 10;
  // ...and below this typical value the face's distances are stretched by
  // crowd_distance / crowding (pairs: the geometric mean of both faces').
  // 0 turns stretching off (one plain pass at `threshold`).
  float crowd_distance = 0.60f;
};

// The distances above were chosen for dlib's ResNet (same-person distance
// 0.6); another model's scale with its same-person distance.
ClusterParams cluster_params_for_model(float same_person_distance, ClusterParams defaults = {});

struct ClusterInput {
  std::vector<Descriptor> descriptors;
  std::vector<uint64_t> photo_ids;   // faces of one photo never share a cluster
  std::vector<uint64_t> person_ids;  // 0 = unnamed; one person = one cluster, two persons = two clusters
  // Optional, per face: persons it is not (a cluster named so never takes it).
  std::vector<std::vector<uint64_t>> rejected_persons;
  // Optional: pairs of faces (indices) that never share a cluster (a split).
  std::vector<std::pair<size_t, size_t>> cannot_link;
};

// A label per face, contiguous from 0.
std::vector<unsigned long> cluster_faces(const ClusterInput& input, const ClusterParams& params);

}  // namespace facedex::search
