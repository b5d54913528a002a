#include "search/who.h"

namespace facedex::search {

Expected<std::unique_ptr<Identifier>> Identifier::create(const storage::Gallery& gallery) {
  std::unique_ptr<Identifier> id(new Identifier(gallery));
  auto index = storage::make_faiss_index("Flat");
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
      }
      return true;
    });
    if (!s) return s;
    if (!lookup) return lookup;
  }
  id->named_->add(ids, vecs);
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

std::vector<FaceAnswer> Identifier::identify(const std::vector<Descriptor>& faces, const IdentityRule& rule,
                                             int matches) const {
  std::vector<std::vector<Candidate>> candidates(faces.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    std::vector<NamedNeighbor> neighbors;
    for (const auto& n : named_->search(faces[i], rule.k))
      neighbors.push_back({n.id, person_of_face_.at(n.id), n.distance});
    candidates[i] = rank_candidates(neighbors);
  }
  const std::vector<int> chosen = assign_identities(candidates, rule);
  std::vector<FaceAnswer> out(faces.size());
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
