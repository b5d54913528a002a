#include "search/gallery_clusters.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

namespace facedex::search {

Expected<std::vector<uint64_t>> faces_in_cluster(const storage::GalleryStore& store, uint64_t cluster_id) {
  std::vector<uint64_t> ids;
  Status s = store.for_each_face([&](const storage::Face& f) {
    if (f.cluster_id == cluster_id) ids.push_back(f.id);
    return true;
  });
  if (!s) return s;
  return ids;
}

Expected<ClusterSummary> cluster_gallery(storage::Gallery& gallery, const ClusterOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  auto& store = gallery.store();
  ClusterInput input;
  std::vector<uint64_t> face_ids, old_clusters;
  std::vector<std::pair<size_t, uint64_t>> not_with;  // face index, face id it is kept apart from
  Status s = store.for_each_face([&](const storage::Face& f) {
    const size_t i = face_ids.size();
    face_ids.push_back(f.id);
    old_clusters.push_back(f.cluster_id);
    input.descriptors.push_back(f.descriptor);
    input.photo_ids.push_back(f.photo_id);
    // Only names a user gave bind the clustering: an automatic name is derived
    // from it and may be wrong.
    input.person_ids.push_back(f.name_source == storage::NameSource::kUser ? f.person_id : 0);
    input.rejected_persons.push_back(f.rejected_person_ids);
    for (uint64_t other : f.not_with_face_ids) not_with.emplace_back(i, other);
    return true;
  });
  if (!s) return s;
  {
    std::unordered_map<uint64_t, size_t> index_of;
    for (size_t i = 0; i < face_ids.size(); ++i) index_of[face_ids[i]] = i;
    for (const auto& [i, other] : not_with)
      if (auto it = index_of.find(other); it != index_of.end()) input.cannot_link.emplace_back(i, it->second);
  }
  ClusterSummary summary;
  summary.faces = face_ids.size();
  const auto labels = cluster_faces(input, options.params);

  std::map<unsigned long, std::vector<size_t>> groups;
  for (size_t i = 0; i < labels.size(); ++i) groups[labels[i]].push_back(i);

  // Stable ids: each new cluster takes the old id most of its faces had, the
  // largest overlaps choosing first; the rest get fresh ids.
  struct Overlap {
    size_t count;
    unsigned long label;
    uint64_t old_id;
  };
  std::vector<Overlap> overlaps;
  for (const auto& [label, members] : groups) {
    if (members.size() < size_t(options.min_size)) continue;
    std::map<uint64_t, size_t> counts;
    for (size_t i : members)
      if (old_clusters[i]) ++counts[old_clusters[i]];
    for (const auto& [old_id, count] : counts) overlaps.push_back({count, label, old_id});
  }
  std::sort(overlaps.begin(), overlaps.end(), [](const Overlap& a, const Overlap& b) {
    return a.count != b.count ? a.count > b.count : a.old_id < b.old_id;
  });
  std::map<unsigned long, uint64_t> id_of;
  std::set<uint64_t> taken;
  for (const auto& o : overlaps) {
    if (id_of.count(o.label) || taken.count(o.old_id)) continue;
    id_of[o.label] = o.old_id;
    taken.insert(o.old_id);
    ++summary.kept_ids;
  }
  storage::GalleryBatch batch = store.new_batch();
  for (const auto& [label, members] : groups) {
    if (members.size() < size_t(options.min_size)) {
      summary.unclustered += members.size();
      continue;
    }
    ++summary.clusters;
    if (!id_of.count(label)) {
      id_of[label] = batch.new_cluster_id();
      ++summary.new_ids;
    }
  }

  // Write the faces whose cluster changed.
  size_t pending = 0;
  for (size_t i = 0; i < face_ids.size(); ++i) {
    const uint64_t cluster = id_of.count(labels[i]) ? id_of[labels[i]] : 0;
    if (cluster == old_clusters[i]) continue;
    auto f = store.face(face_ids[i]);
    if (!f) return f.status();
    if (!*f) continue;
    storage::Face face = **f;
    face.cluster_id = cluster;
    batch.update_face(face, face.person_id);
    ++summary.faces_changed;
    if (++pending >= 1000) {
      if (Status c = gallery.commit(batch); !c) return c;
      batch = store.new_batch();
      pending = 0;
    }
  }
  if (Status c = gallery.commit(batch, true); !c) return c;

  // Suggestions: unnamed clusters that look like a named person.
  std::map<uint64_t, std::string> names;
  s = store.for_each_person([&](const storage::Person& p) {
    names[p.id] = p.name;
    return true;
  });
  if (!s) return s;
  // Each face of an unnamed cluster looks up its 10 nearest named faces (a
  // FAISS index of the named faces only); per person, the median over the
  // cluster's faces of the nearest distance decides.
  std::vector<uint64_t> named_pos;
  std::vector<Descriptor> named_vecs;
  for (size_t i = 0; i < face_ids.size(); ++i)
    if (input.person_ids[i]) {
      named_pos.push_back(i);
      named_vecs.push_back(input.descriptors[i]);
    }
  if (!named_pos.empty()) {
    auto named = storage::make_faiss_index("Flat", dims_of(named_vecs));
    if (!named) return named.status();
    std::vector<uint64_t> positions(named_pos.size());
    for (size_t i = 0; i < positions.size(); ++i) positions[i] = i;
    (*named)->add(positions, named_vecs);
    for (const auto& [label, members] : groups) {
      if (members.size() < size_t(options.min_size)) continue;
      if (std::any_of(members.begin(), members.end(), [&](size_t i) { return input.person_ids[i] != 0; })) continue;
      std::vector<Descriptor> queries;
      for (size_t i : members) queries.push_back(input.descriptors[i]);
      std::map<uint64_t, std::vector<float>> per_person;  // person -> nearest distance of each member
      const auto results = (*named)->search_many(queries, 10);
      for (const auto& nn : results) {
        std::map<uint64_t, float> nearest;
        for (const auto& n : nn) {
          const uint64_t person = input.person_ids[named_pos[n.id]];
          if (!nearest.count(person)) nearest[person] = n.distance;
        }
        for (const auto& [person, d] : nearest) per_person[person].push_back(d);
      }
      ClusterSuggestion best{id_of[label], "", 1e9f, members.size()};
      for (auto& [person, ds] : per_person) {
        ds.resize(members.size(), 1e9f);  // members with no face of that person among their 10 nearest
        std::nth_element(ds.begin(), ds.begin() + long(ds.size() / 2), ds.end());
        if (ds[ds.size() / 2] < best.distance) best = {id_of[label], names[person], ds[ds.size() / 2], members.size()};
      }
      if (best.distance <= options.suggest_distance) summary.suggestions.push_back(best);
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace facedex::search
