#include "search/identity_rule.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "models/model_constants.h"

namespace facedex::search {

IdentityRule identity_rule_for_model(float same_person_distance) {
  IdentityRule rule;
  const float scale = same_person_distance / models::kSamePersonDistance;
  rule.max_distance *= scale;
  rule.min_margin *= scale;
  return rule;
}

std::vector<Candidate> rank_candidates(const std::vector<NamedNeighbor>& neighbors) {
  std::map<uint64_t, Candidate> by_person;
  for (const auto& n : neighbors) {
    auto [it, inserted] = by_person.try_emplace(n.person_id, Candidate{n.person_id, n.distance, 0});
    it->second.distance = std::min(it->second.distance, n.distance);
    ++it->second.votes;
  }
  std::vector<Candidate> out;
  for (const auto& [id, c] : by_person) out.push_back(c);
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.person_id < b.person_id;
  });
  return out;
}

bool accepts(const std::vector<Candidate>& candidates, const IdentityRule& rule) {
  if (candidates.empty() || candidates[0].distance > rule.max_distance) return false;
  if (rule.plain_threshold) return true;
  const float runner_up = candidates.size() > 1 ? candidates[1].distance : std::numeric_limits<float>::infinity();
  return runner_up - candidates[0].distance >= rule.min_margin;
}

std::vector<int> assign_identities(const std::vector<std::vector<Candidate>>& faces, const IdentityRule& rule) {
  std::vector<int> out(faces.size(), -1);
  std::vector<size_t> order;
  for (size_t i = 0; i < faces.size(); ++i)
    if (accepts(faces[i], rule)) order.push_back(i);
  // Nearest claims first: the face closest to a person keeps them.
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return faces[a][0].distance < faces[b][0].distance; });
  std::set<uint64_t> taken;
  for (size_t i : order) {
    if (taken.insert(faces[i][0].person_id).second) out[i] = 0;
  }
  return out;
}

}  // namespace facedex::search
