#include "search/group_split.h"

#include <algorithm>
#include <map>

namespace facedex::search {
namespace {

// At most this many faces of each part are compared, spread over the part:
// a person with thousands of faces costs no more than one with 32.
constexpr size_t kComparedPerPart = 32;

std::vector<size_t> spread(const std::vector<size_t>& part) {
  const size_t n = std::min(part.size(), kComparedPerPart);
  std::vector<size_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = part[i * part.size() / n];
  return out;
}

}  // namespace

std::optional<GroupSplit> split_group(const std::vector<Descriptor>& descriptors,
                                      const std::vector<uint64_t>& photo_ids, const ClusterParams& params,
                                      float same_person_distance) {
  if (descriptors.size() < 4) return std::nullopt;
  ClusterInput in;
  in.descriptors = descriptors;
  in.photo_ids = photo_ids;
  in.person_ids.assign(descriptors.size(), 0);
  const auto labels = cluster_faces(in, params);
  std::map<unsigned long, std::vector<size_t>> parts;
  for (size_t k = 0; k < labels.size(); ++k) parts[labels[k]].push_back(k);
  std::vector<std::vector<size_t>> big;
  for (auto& [label, members] : parts)
    if (members.size() >= 2) big.push_back(std::move(members));
  if (big.size() < 2) return std::nullopt;
  std::stable_sort(big.begin(), big.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });

  GroupSplit s;
  s.first = std::move(big[0]);
  s.second = std::move(big[1]);
  const auto a = spread(s.first), b = spread(s.second);
  double across = 0;
  for (size_t i : a)
    for (size_t j : b) {
      const float d = descriptor_distance(descriptors[i], descriptors[j]);
      across += d;
      s.close_pairs += d < same_person_distance;
    }
  s.pairs = a.size() * b.size();
  s.between = float(across / double(s.pairs));
  double inside = 0;
  size_t inside_pairs = 0;
  for (const auto* part : {&a, &b})
    for (size_t x = 0; x < part->size(); ++x)
      for (size_t y = x + 1; y < part->size(); ++y, ++inside_pairs)
        inside += descriptor_distance(descriptors[(*part)[x]], descriptors[(*part)[y]]);
  s.within = float(inside / double(inside_pairs));
  return s;
}

}  // namespace facedex::search
