#include "search/who.h"

#include <algorithm>
#include <set>

#include "models/model_constants.h"

namespace facedex::search {

namespace {

// Gallery faces looked at around a probe or a reference face, and which of
// them measures crowding (the rule's weights were fitted with these).
constexpr int kAround = 64;
constexpr size_t kCrowdingRank = 10;

// The kCrowdingRank-th distance among `d` (sorted), or the last one when
// fewer are left: a lower bound, which only makes the rule stricter.
float crowding_of(const std::vector<float>& d) {
  if (d.empty()) return kNoRunnerUpDistance;
  return d[std::min(d.size(), kCrowdingRank) - 1];
}

}  // namespace

Expected<std::unique_ptr<Identifier>> Identifier::create(const storage::Gallery& gallery) {
  std::unique_ptr<Identifier> id(new Identifier(gallery));
  auto index = storage::make_faiss_index("Flat", gallery.store().descriptor_dims());
  if (!index) return index.status();
  id->named_ = std::move(*index);
  const auto& store = gallery.store();
  std::vector<storage::Person> persons;
  Status s = store.for_each_person([&](const storage::Person& p) {
    persons.push_back(p);
    return true;
  });
  if (!s) return s;
  std::vector<uint64_t> ids;
  std::vector<Descriptor> vecs;
  for (const auto& p : persons) {
    id->person_names_[p.id] = p.name;
    Status lookup;
    s = store.for_each_face_of_person(p.id, [&](uint64_t fid) {
      auto f = store.face(fid);
      if (!f) {
        lookup = f.status();
        return false;
      }
      if (*f) {
        ids.push_back(fid);
        vecs.push_back((*f)->descriptor);
        id->person_of_face_[fid] = p.id;
        if ((*f)->cluster_id && (*f)->name_source == storage::NameSource::kUser) {
          auto [it, inserted] = id->cluster_person_.try_emplace((*f)->cluster_id, p.id);
          if (!inserted && it->second != p.id) it->second = 0;  // two persons: no one's
        }
      }
      return true;
    });
    if (!s) return s;
    if (!lookup) return lookup;
  }
  id->named_->add(ids, vecs);
  for (auto it = id->cluster_person_.begin(); it != id->cluster_person_.end();)
    it = it->second == 0 ? id->cluster_person_.erase(it) : std::next(it);
  return id;
}

std::string Identifier::person_name(uint64_t person_id) const {
  auto it = person_names_.find(person_id);
  return it == person_names_.end() ? "" : it->second;
}

std::vector<GalleryMatch> Identifier::nearest(const Descriptor& face, int k) const {
  std::vector<GalleryMatch> out;
  const auto& store = gallery_.store();
  // Copies take places in the raw answer: ask for more than k.
  std::map<std::string, size_t> seen;  // content hash + box -> index in out
  for (const auto& n : gallery_.vectors().search(face, 3 * k)) {
    if (out.size() >= size_t(k)) break;
    auto f = store.face(n.id);
    if (!f || !*f) continue;  // removed since the index was loaded
    auto p = store.photo((*f)->photo_id);
    const bool have_photo = p && *p;
    if (have_photo && !(*p)->content_hash.empty()) {
      const auto& b = (*f)->box;
      const std::string key = (*p)->content_hash + "/" + std::to_string(b.left) + "," + std::to_string(b.top) + "," +
                              std::to_string(b.right) + "," + std::to_string(b.bottom);
      auto [it, inserted] = seen.try_emplace(key, out.size());
      if (!inserted) {
        GalleryMatch& kept = out[it->second];
        // A named copy speaks for the others: show its id and name.
        if (kept.person.empty() && (*f)->person_id) {
          kept.copies.push_back(kept.photo);
          kept.face_id = n.id;
          kept.photo = (*p)->path;
          kept.person = person_name((*f)->person_id);
          kept.automatic = (*f)->name_source == storage::NameSource::kAuto;
          kept.cluster_id = (*f)->cluster_id;
          kept.missing = (*p)->missing_since != 0;
        } else {
          kept.copies.push_back((*p)->path);
        }
        continue;
      }
    }
    GalleryMatch m;
    m.face_id = n.id;
    m.photo = have_photo ? (*p)->path : "";
    m.distance = n.distance;
    m.person = person_name((*f)->person_id);
    m.automatic = (*f)->name_source == storage::NameSource::kAuto;
    m.cluster_id = (*f)->cluster_id;
    m.missing = have_photo && (*p)->missing_since != 0;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<NamedNeighbor> Identifier::references(const Descriptor& face, int k, std::vector<NearFace>* around) const {
  std::vector<NamedNeighbor> out;
  std::set<uint64_t> seen;
  for (const auto& n : named_->search(face, k)) {
    out.push_back({n.id, person_of_face_.at(n.id), n.distance});
    seen.insert(n.id);
  }
  const auto& store = gallery_.store();
  for (const auto& n : gallery_.vectors().search(face, kAround)) {
    auto f = store.face(n.id);
    if (!f || !*f) continue;
    storage::Face record = std::move(**f);
    record.thumbnail_jpeg.clear();
    if (!seen.count(n.id)) {
      if (auto c = cluster_person_.find(record.cluster_id); record.person_id == 0 && c != cluster_person_.end())
        out.push_back({n.id, c->second, n.distance});
    }
    around->push_back({std::move(record), n.distance});
  }
  return out;
}

float Identifier::reference_crowding(uint64_t face_id) const {
  {
    std::lock_guard<std::mutex> lock(crowding_mu_);
    if (auto it = crowding_cache_.find(face_id); it != crowding_cache_.end()) return it->second;
  }
  const auto& store = gallery_.store();
  auto face = store.face(face_id);
  if (!face || !*face) return kNoRunnerUpDistance;
  const uint64_t cluster = (*face)->cluster_id;
  std::vector<float> d;
  for (const auto& n : gallery_.vectors().search((*face)->descriptor, kAround)) {
    if (n.id == face_id) continue;
    if (cluster) {
      auto f = store.face(n.id);
      if (f && *f && (*f)->cluster_id == cluster) continue;
    }
    d.push_back(n.distance);
  }
  const float crowding = crowding_of(d);
  std::lock_guard<std::mutex> lock(crowding_mu_);
  crowding_cache_[face_id] = crowding;
  return crowding;
}

IdentityEvidence Identifier::evidence(const std::vector<Candidate>& candidates, const std::vector<NearFace>& around,
                                      float no_runner_up) const {
  IdentityEvidence e;
  const Candidate& best = candidates[0];
  e.distance = best.distance;
  e.margin = (candidates.size() > 1 ? candidates[1].distance : no_runner_up) - best.distance;
  // The person's clusters: those a user named them in, and their nearest face's.
  std::set<uint64_t> clusters;
  for (const auto& [c, p] : cluster_person_)
    if (p == best.person_id) clusters.insert(c);
  if (auto f = gallery_.store().face(best.face_id); f && *f && (*f)->cluster_id) clusters.insert((*f)->cluster_id);
  std::vector<float> d;  // `around` is nearest first
  for (const auto& n : around) {
    const storage::Face& f = n.face;
    if (f.id == best.face_id || f.person_id == best.person_id || (f.cluster_id && clusters.count(f.cluster_id)))
      continue;
    d.push_back(n.distance);
  }
  e.probe_crowding = crowding_of(d);
  e.reference_crowding = reference_crowding(best.face_id);
  return e;
}

std::vector<FaceAnswer> Identifier::identify(const std::vector<Descriptor>& faces, const IdentityRule& rule,
                                             int matches) const {
  std::vector<std::vector<Candidate>> candidates(faces.size());
  std::vector<bool> accepted(faces.size());
  std::vector<FaceAnswer> out(faces.size());
  // The margin when nobody else is near, in the model's own distances.
  const float no_runner_up =
      kNoRunnerUpDistance * gallery_.store().same_person_distance() / models::kSamePersonDistance;
  for (size_t i = 0; i < faces.size(); ++i) {
    if (rule.crowding && !rule.plain_threshold) {
      std::vector<NearFace> around;
      candidates[i] = rank_candidates(references(faces[i], rule.k, &around));
      if (candidates[i].empty()) continue;
      out[i].evidence = evidence(candidates[i], around, no_runner_up);
      out[i].score = crowding_score(*out[i].evidence, *rule.crowding);
      accepted[i] = out[i].score >= 0 && candidates[i][0].distance <= rule.crowding_max_distance;
    } else {
      std::vector<NamedNeighbor> neighbors;
      for (const auto& n : named_->search(faces[i], rule.k))
        neighbors.push_back({n.id, person_of_face_.at(n.id), n.distance});
      candidates[i] = rank_candidates(neighbors);
      accepted[i] = accepts(candidates[i], rule);
    }
  }
  const std::vector<int> chosen = assign_identities(candidates, accepted);
  for (size_t i = 0; i < faces.size(); ++i) {
    FaceAnswer& a = out[i];
    if (!candidates[i].empty()) a.distance = candidates[i][0].distance;
    if (chosen[i] >= 0) a.identity = person_name(candidates[i][size_t(chosen[i])].person_id);
    for (const auto& c : candidates[i]) a.candidates.push_back({person_name(c.person_id), c.distance, c.votes});
    if (matches > 0) a.matches = nearest(faces[i], matches);
  }
  return out;
}

}  // namespace facedex::search
