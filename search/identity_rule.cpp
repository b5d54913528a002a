#include "search/identity_rule.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "models/model_constants.h"

namespace facedex::search {

CrowdingWeights default_crowding_weights() {
  // Fitted by benchmarks/lfw_who (benchmarks/RESULTS.md, "who on a gallery").
  return {-2.6170f, -36.2260f, 18.1901f, 1.2906f, 32.1502f};
}

IdentityRule identity_rule_for_model(float same_person_distance, const std::optional<std::array<float, 5>>& fitted) {
  IdentityRule rule;
  const float scale = same_person_distance / models::kSamePersonDistance;
  rule.max_distance *= scale;
  rule.min_margin *= scale;
  rule.crowding_max_distance *= scale;
  // Every feature is a distance: weights divide by the scale, the bias stays.
  CrowdingWeights w = default_crowding_weights();
  w.distance /= scale;
  w.margin /= scale;
  w.probe_crowding /= scale;
  w.reference_crowding /= scale;
  if (fitted) w = {(*fitted)[0], (*fitted)[1], (*fitted)[2], (*fitted)[3], (*fitted)[4]};
  rule.crowding = w;
  return rule;
}

float crowding_score(const IdentityEvidence& e, const CrowdingWeights& w) {
  return w.bias + w.distance * e.distance + w.margin * e.margin + w.probe_crowding * e.probe_crowding +
         w.reference_crowding * e.reference_crowding;
}

std::vector<Candidate> rank_candidates(const std::vector<NamedNeighbor>& neighbors) {
  std::map<uint64_t, Candidate> by_person;
  for (const auto& n : neighbors) {
    auto [it, inserted] = by_person.try_emplace(n.person_id, Candidate{n.person_id, n.distance, 0, n.face_id});
    if (n.distance < it->second.distance) {
      it->second.distance = n.distance;
      it->second.face_id = n.face_id;
    }
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
  std::vector<bool> accepted(faces.size());
  for (size_t i = 0; i < faces.size(); ++i) accepted[i] = accepts(faces[i], rule);
  return assign_identities(faces, accepted);
}

std::vector<int> assign_identities(const std::vector<std::vector<Candidate>>& faces,
                                   const std::vector<bool>& accepted) {
  std::vector<int> out(faces.size(), -1);
  std::vector<size_t> order;
  for (size_t i = 0; i < faces.size(); ++i)
    if (accepted[i] && !faces[i].empty()) order.push_back(i);
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
