// Who is this face? The decision rule for searching a gallery of named faces.
//
// dlib's 0.6 is a 1:1 verification threshold. Searching a gallery of many
// people with it names strangers: on LFW with 1,680 enrolled people, nearest
// neighbour at 0.6 gave a never-enrolled person somebody's name 94% of the
// time. The rule here looks at the k nearest named faces, groups them by
// person, and accepts the nearest person only when it is close enough AND
// clearly closer than the runner-up person: a stranger tends to sit at similar
// distances from several people, a known face is near one person only.
// `who` also weighs how crowded the gallery is around the probe and around
// the matched face (CrowdingWeights): the model packs some people closer
// than others, and a fixed distance names strangers where it does.
// The defaults come from benchmarks/lfw_identification and benchmarks/lfw_who
// (benchmarks/RESULTS.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace facedex::search {

// What the gallery says about the nearest person. Crowding is the distance to
// the 10th nearest gallery face that is not the same person's (as far as
// names and clusters tell): small where the model packs faces close.
struct IdentityEvidence {
  float distance = 0;            // probe to the person's nearest reference face
  float margin = 0;              // runner-up person's distance minus `distance`
  float probe_crowding = 0;      // around the probe, the person's faces left out
  float reference_crowding = 0;  // around that reference face, its cluster left out
};

// A linear score over the evidence; the person is accepted when it is >= 0.
// Fitted by benchmarks/lfw_who on one half of LFW-dev (logistic regression,
// threshold for 97% of strangers "unknown") for dlib's model.
struct CrowdingWeights {
  float bias = 0, distance = 0, margin = 0, probe_crowding = 0, reference_crowding = 0;
};
CrowdingWeights default_crowding_weights();

struct IdentityRule {
  // Named gallery faces consulted per probe face.
  int k = 10;
  // The best person's nearest face must be at most this far...
  float max_distance = 0.51f;
  // ...and the runner-up person at least this much further.
  float min_margin = 0.05f;
  // Set by --threshold: a plain distance threshold, no margin (the 1:1 style rule).
  bool plain_threshold = false;
  // Set: accept by the crowding score instead of max_distance and min_margin
  // (who's default; automatic naming keeps the stricter distance rule).
  std::optional<CrowdingWeights> crowding;
  // With the crowding score, nobody further than this is named whatever the
  // score: the score was fitted on galleries where crowding can be measured,
  // and in a gallery of a few faces it cannot (0.9 of the 1:1 distance; on
  // LFW-dev no face the score named was further).
  float crowding_max_distance = 0.54f;
};

// The margin when there is no runner-up, for dlib's model (scaled with it).
constexpr float kNoRunnerUpDistance = 1.2f;

// The rule for a model whose 1:1 same-person distance is `same_person_distance`
// (dlib's: 0.6, for which the defaults above were calibrated): the distances
// scale with it. It uses the crowding score: `fitted` when the model's spec
// gives weights fitted for it, else dlib's scaled, a starting point only
// (another model's distances are not dlib's stretched).
// `fitted` in the order of an external model spec's who_weights: bias,
// distance, margin, probe_crowding, reference_crowding.
IdentityRule identity_rule_for_model(float same_person_distance,
                                     const std::optional<std::array<float, 5>>& fitted = std::nullopt);

// The crowding score of `e` (>= 0: accept).
float crowding_score(const IdentityEvidence& e, const CrowdingWeights& w);

// One named face among the k nearest.
struct NamedNeighbor {
  uint64_t face_id = 0;
  uint64_t person_id = 0;
  float distance = 0;
};

// A person among the k nearest: their nearest face and how many of the k are theirs.
struct Candidate {
  uint64_t person_id = 0;
  float distance = 0;
  int votes = 0;
  uint64_t face_id = 0;  // their nearest face
};

// Groups neighbours by person, nearest person first.
std::vector<Candidate> rank_candidates(const std::vector<NamedNeighbor>& neighbors);

// True when candidates[0] is accepted as the identity.
bool accepts(const std::vector<Candidate>& candidates, const IdentityRule& rule);

// Identities for all faces of one photo: faces[i] gets the index of its
// accepted candidate or -1. Two faces of one photo are two people, so a person
// goes to the face nearest to them; a face whose person was taken by a nearer
// face is left unknown.
std::vector<int> assign_identities(const std::vector<std::vector<Candidate>>& faces, const IdentityRule& rule);

// The same, with each face's acceptance of its nearest candidate decided already.
std::vector<int> assign_identities(const std::vector<std::vector<Candidate>>& faces, const std::vector<bool>& accepted);

}  // namespace facedex::search
