#include "search/auto_naming.h"

#include <algorithm>
#include <map>
#include <set>

#include "models/model_constants.h"
#include "search/naming_change.h"

namespace facedex::search {

AutoNameOptions auto_name_options_for_model(float same_person_distance, AutoNameOptions defaults) {
  const float scale = same_person_distance / models::kSamePersonDistance;
  defaults.rule.max_distance *= scale;
  defaults.rule.min_margin *= scale;
  defaults.cluster_max_distance *= scale;
  return defaults;
}

namespace {

struct Unnamed {
  uint64_t face_id, photo_id, cluster_id;
  Descriptor descriptor;
  std::vector<uint64_t> rejected;
};

bool rejects(const Unnamed& f, uint64_t person) {
  return std::find(f.rejected.begin(), f.rejected.end(), person) != f.rejected.end();
}

}  // namespace

Expected<AutoNameSummary> auto_name_faces(storage::Gallery& gallery, const AutoNameOptions& options) {
  auto& store = gallery.store();
  AutoNameSummary summary;
  std::vector<Unnamed> unnamed;
  Status s = store.for_each_face_from(options.first_face_id, [&](const storage::Face& f) {
    if (!f.person_id) unnamed.push_back({f.id, f.photo_id, f.cluster_id, f.descriptor, f.rejected_person_ids});
    return true;
  });
  if (!s) return s;
  summary.considered = unnamed.size();
  if (unnamed.empty()) return summary;

  // References: the user-named faces, through the name index (named faces are
  // few beside all faces).
  std::vector<uint64_t> ref_ids;
  std::vector<Descriptor> ref_vecs;
  std::map<uint64_t, uint64_t> person_of_ref;
  std::map<uint64_t, std::set<uint64_t>> persons_in_photo;  // any name, user or automatic
  std::map<uint64_t, std::set<uint64_t>> user_persons_in_cluster;
  std::vector<uint64_t> persons;
  s = store.for_each_person([&](const storage::Person& p) {
    persons.push_back(p.id);
    return true;
  });
  if (!s) return s;
  Status lookup;
  for (uint64_t person : persons) {
    s = store.for_each_face_of_person(person, [&](uint64_t fid) {
      auto f = store.face(fid);
      if (!f) lookup = f.status();
      if (!f || !*f) return bool(lookup);
      persons_in_photo[(*f)->photo_id].insert(person);
      if ((*f)->name_source != storage::NameSource::kUser) return true;
      ref_ids.push_back(fid);
      ref_vecs.push_back((*f)->descriptor);
      person_of_ref[fid] = person;
      if ((*f)->cluster_id) user_persons_in_cluster[(*f)->cluster_id].insert(person);
      return true;
    });
    if (!s) return s;
    if (!lookup) return lookup;
  }
  if (ref_ids.empty()) return summary;

  auto refs = storage::make_faiss_index("Flat", dims_of(ref_vecs));
  if (!refs) return refs.status();
  (*refs)->add(ref_ids, ref_vecs);
  std::vector<Descriptor> queries;
  for (const auto& u : unnamed) queries.push_back(u.descriptor);
  const auto nearest = (*refs)->search_many(queries, options.rule.k);

  // Per face its ranked candidates, persons it rejects left out.
  std::vector<std::vector<Candidate>> ranked(unnamed.size());
  for (size_t i = 0; i < unnamed.size(); ++i) {
    std::vector<NamedNeighbor> neighbors;
    for (const auto& n : nearest[i]) {
      const uint64_t person = person_of_ref.at(n.id);
      if (!rejects(unnamed[i], person)) neighbors.push_back({n.id, person, n.distance});
    }
    ranked[i] = rank_candidates(neighbors);
  }

  std::map<uint64_t, std::vector<size_t>> by_photo;
  for (size_t i = 0; i < unnamed.size(); ++i) by_photo[unnamed[i].photo_id].push_back(i);

  NamingChange change(gallery, "auto-name");
  for (const auto& [photo, members] : by_photo) {
    std::set<uint64_t> taken = persons_in_photo[photo];
    std::vector<std::vector<Candidate>> faces;
    for (size_t i : members) faces.push_back(ranked[i]);
    const std::vector<int> chosen = assign_identities(faces, options.rule);
    std::vector<uint64_t> person_for(members.size(), 0);
    std::vector<bool> by_rule(members.size(), false);
    // The rule's answers, nearest first (assign_identities already kept one face per person).
    for (size_t m = 0; m < members.size(); ++m)
      if (chosen[m] >= 0) {
        const uint64_t p = faces[m][size_t(chosen[m])].person_id;
        if (!taken.count(p)) person_for[m] = p, by_rule[m] = true;
      }
    for (size_t m = 0; m < members.size(); ++m)
      if (person_for[m]) taken.insert(person_for[m]);
    if (options.by_cluster) {
      for (size_t m = 0; m < members.size(); ++m) {
        const Unnamed& u = unnamed[members[m]];
        if (person_for[m] || !u.cluster_id) continue;
        auto it = user_persons_in_cluster.find(u.cluster_id);
        if (it == user_persons_in_cluster.end() || it->second.size() != 1) continue;
        const uint64_t p = *it->second.begin();
        if (rejects(u, p) || taken.count(p)) continue;
        // The cluster and the face's own nearest named person must agree.
        if (faces[m].empty() || faces[m][0].person_id != p || faces[m][0].distance > options.cluster_max_distance)
          continue;
        person_for[m] = p;
        taken.insert(p);
      }
    }
    for (size_t m = 0; m < members.size(); ++m) {
      if (!person_for[m]) continue;
      auto f = change.face(unnamed[members[m]].face_id);
      if (!f) return f.status();
      (*f)->person_id = person_for[m];
      (*f)->name_source = storage::NameSource::kAuto;
      ++(by_rule[m] ? summary.by_rule : summary.by_cluster);
    }
  }
  if (options.dry_run) {
    summary.changes = change.describe_faces();
    return summary;
  }
  if (change.changed_faces() == 0) return summary;
  auto entry = change.commit("automatic names for " + std::to_string(summary.by_rule + summary.by_cluster) +
                             " faces (" + std::to_string(summary.by_rule) + " by likeness, " +
                             std::to_string(summary.by_cluster) + " by cluster)");
  if (!entry) return entry.status();
  summary.history_id = entry->id;
  return summary;
}

}  // namespace facedex::search
