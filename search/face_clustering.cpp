#include "search/face_clustering.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_map>

#include "models/model_constants.h"
#include "search/neighbour_graph.h"
#include "storage/vector_index.h"

namespace facedex::search {

ClusterParams cluster_params_for_model(float same_person_distance, ClusterParams defaults) {
  const float scale = same_person_distance / models::kSamePersonDistance;
  defaults.threshold *= scale;
  defaults.first_pass_threshold *= scale;
  defaults.crowd_distance *= scale;
  return defaults;
}
namespace {

// Clusters under construction: members, the photos they come from, the person
// they are named as (0 = none).
struct Groups {
  std::vector<size_t> parent;
  std::vector<std::vector<size_t>> members;
  std::vector<std::set<uint64_t>> photos;
  std::vector<uint64_t> person;
  std::vector<std::set<uint64_t>> rejected;  // per root: persons some member is not
  std::vector<std::vector<size_t>> cannot;   // per face: faces it never shares a cluster with

  // Whether roots a and b may become one cluster.
  bool compatible(size_t a, size_t b) {
    if (person[a] && person[b] && person[a] != person[b]) return false;  // two named people
    if ((person[a] && rejected[b].count(person[a])) || (person[b] && rejected[a].count(person[b]))) return false;
    const auto& small = photos[a].size() < photos[b].size() ? photos[a] : photos[b];
    const auto& large = photos[a].size() < photos[b].size() ? photos[b] : photos[a];
    if (std::any_of(small.begin(), small.end(), [&](uint64_t p) { return large.count(p) > 0; }))
      return false;  // two faces of one photo are two people
    if (!cannot.empty()) {
      const size_t from = members[a].size() < members[b].size() ? a : b, to = from == a ? b : a;
      for (size_t m : members[from])
        for (size_t other : cannot[m])
          if (find(other) == to) return false;
    }
    return true;
  }

  size_t find(size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void merge(size_t a, size_t b) {  // REQUIRES: roots
    if (members[a].size() < members[b].size()) std::swap(a, b);
    parent[b] = a;
    members[a].insert(members[a].end(), members[b].begin(), members[b].end());
    photos[a].insert(photos[b].begin(), photos[b].end());
    rejected[a].insert(rejected[b].begin(), rejected[b].end());
    rejected[b].clear();
    if (!person[a]) person[a] = person[b];
    members[b].clear();
    members[b].shrink_to_fit();
    photos[b].clear();
  }
};

// The distance the passes compare: plain, or stretched where faces are crowded.
struct PairDistance {
  const std::vector<Descriptor>& d;
  // Per face 1/sqrt(crowding); empty = plain distances.
  const std::vector<float>& inv_sqrt_crowding;
  float crowd_distance;

  float operator()(size_t a, size_t b) const { return stretch(a, b) * descriptor_distance(d[a], d[b]); }
  float stretch(size_t a, size_t b) const {
    if (inv_sqrt_crowding.empty()) return 1.0f;
    return std::max(1.0f, crowd_distance * inv_sqrt_crowding[a] * inv_sqrt_crowding[b]);
  }
};

// Mean distance between two clusters' faces, on at most 32 faces of each side
// (evenly spread) so that merging into a very large cluster stays cheap.
float average_linkage(const PairDistance& dist, const std::vector<size_t>& a, const std::vector<size_t>& b) {
  const size_t sa = std::min<size_t>(a.size(), 32), sb = std::min<size_t>(b.size(), 32);
  double sum = 0;
  for (size_t i = 0; i < sa; ++i)
    for (size_t j = 0; j < sb; ++j) sum += dist(a[i * a.size() / sa], b[j * b.size() / sb]);
  return float(sum / double(sa * sb));
}

// One agglomerative pass over the neighbour graph.
Groups agglomerate(const ClusterInput& in, const std::vector<std::vector<storage::Neighbor>>& knn,
                   const PairDistance& dist, float threshold) {
  const size_t n = in.descriptors.size();
  Groups g;
  g.parent.resize(n);
  std::iota(g.parent.begin(), g.parent.end(), 0);
  g.members.resize(n);
  g.photos.resize(n);
  g.person = in.person_ids;
  g.rejected.resize(n);
  for (size_t i = 0; i < n; ++i) {
    g.members[i] = {i};
    g.photos[i] = {in.photo_ids[i]};
    if (i < in.rejected_persons.size())
      g.rejected[i].insert(in.rejected_persons[i].begin(), in.rejected_persons[i].end());
  }
  if (!in.cannot_link.empty()) {
    g.cannot.resize(n);
    for (const auto& [a, b] : in.cannot_link) {
      g.cannot[a].push_back(b);
      g.cannot[b].push_back(a);
    }
  }
  // One named person is one cluster whatever the distances.
  std::unordered_map<uint64_t, size_t> first_of_person;
  for (size_t i = 0; i < n; ++i) {
    if (!in.person_ids[i]) continue;
    auto [it, inserted] = first_of_person.try_emplace(in.person_ids[i], i);
    if (!inserted) {
      const size_t a = g.find(it->second), b = g.find(i);
      if (a != b) g.merge(a, b);
    }
  }

  // Candidate merges: the k-nearest-neighbour edges under the threshold,
  // nearest first. A merge happens when the clusters' faces are close on
  // average (average linkage), not just through their two closest faces:
  // single links chain look-alikes into one giant cluster.
  struct Edge {
    float d;
    uint32_t a, b;
  };
  std::vector<Edge> edges;
  for (size_t i = 0; i < n; ++i)
    for (const auto& nb : knn[i]) {
      if (nb.id <= i) continue;
      const float d = nb.distance * dist.stretch(i, size_t(nb.id));
      if (d < threshold) edges.push_back({d, uint32_t(i), uint32_t(nb.id)});
    }
  std::sort(edges.begin(), edges.end(), [](const Edge& x, const Edge& y) { return x.d < y.d; });
  for (const Edge& e : edges) {
    const size_t a = g.find(e.a), b = g.find(e.b);
    if (a == b) continue;
    if (!g.compatible(a, b)) continue;
    if (average_linkage(dist, g.members[a], g.members[b]) >= threshold) continue;
    g.merge(a, b);
  }
  return g;
}

// 1/sqrt(crowding) per face: crowding = distance to the params.crowd_neighbours-th
// nearest face outside the face's first-pass group. Where the neighbour list
// holds fewer outsiders (a face of a large group), the outsiders are further
// than its last neighbour: that distance, at least crowd_distance, stands in.
std::vector<float> inverse_sqrt_crowding(const std::vector<std::vector<storage::Neighbor>>& knn, Groups& first,
                                         const ClusterParams& params) {
  std::vector<float> out(knn.size());
  for (size_t i = 0; i < knn.size(); ++i) {
    const size_t group = first.find(i);
    int outside = 0;
    float crowding = 0, furthest = 0;
    for (const auto& nb : knn[i]) {
      if (nb.id == i) continue;
      furthest = std::max(furthest, nb.distance);
      if (first.find(size_t(nb.id)) == group) continue;
      if (++outside == params.crowd_neighbours) {
        crowding = nb.distance;
        break;
      }
    }
    if (outside < params.crowd_neighbours) crowding = std::max(furthest, params.crowd_distance);
    out[i] = 1.0f / std::sqrt(std::max(crowding, 1e-6f));
  }
  return out;
}

}  // namespace

std::vector<unsigned long> cluster_faces(const ClusterInput& in, const ClusterParams& params) {
  const size_t n = in.descriptors.size();
  std::vector<unsigned long> labels(n);
  if (n == 0) return labels;

  const int neighbours = std::max(params.k, params.crowd_neighbours);
  const auto knn = neighbour_graph(in.descriptors, neighbours + 1);

  const std::vector<float> plain;
  Groups g;
  if (params.crowd_distance > 0) {
    Groups first = agglomerate(in, knn, PairDistance{in.descriptors, plain, 0}, params.first_pass_threshold);
    const std::vector<float> stretch = inverse_sqrt_crowding(knn, first, params);
    g = agglomerate(in, knn, PairDistance{in.descriptors, stretch, params.crowd_distance}, params.threshold);
  } else {
    g = agglomerate(in, knn, PairDistance{in.descriptors, plain, 0}, params.threshold);
  }
  std::unordered_map<size_t, unsigned long> label_of_root;
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = label_of_root.try_emplace(g.find(i), label_of_root.size());
    labels[i] = it->second;
  }
  return labels;
}

}  // namespace facedex::search
