#include "search/people.h"

#include <chrono>
#include <algorithm>
#include <map>

namespace facedex::search {
namespace {

Expected<storage::Person> require_person(const storage::GalleryStore& store, const std::string& name) {
  auto p = store.person_by_name(name);
  if (!p) return p.status();
  if (!*p) return Status::not_found("no person named \"" + name + "\" (see facedex persons)");
  return **p;
}

Expected<std::vector<uint64_t>> faces_of(const storage::GalleryStore& store, uint64_t person_id) {
  std::vector<uint64_t> ids;
  Status s = store.for_each_face_of_person(person_id, [&](uint64_t id) {
    ids.push_back(id);
    return true;
  });
  if (!s) return s;
  return ids;
}

// Points the listed faces at person_id (0 = no one) in `batch`.
Status reassign(const storage::GalleryStore& store, const std::vector<uint64_t>& face_ids, uint64_t person_id,
                storage::GalleryBatch& batch) {
  for (uint64_t fid : face_ids) {
    auto f = store.face(fid);
    if (!f) return f.status();
    if (!*f) return Status::not_found("no face with id " + std::to_string(fid) + " (see facedex export)");
    storage::Face face = **f;
    const uint64_t old = face.person_id;
    face.person_id = person_id;
    batch.update_face(face, old);
  }
  return Status::ok();
}

}  // namespace

Status name_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids, const std::string& name) {
  if (name.empty()) return Status::invalid_input("a person's name cannot be empty");
  auto& store = gallery.store();
  auto existing = store.person_by_name(name);
  if (!existing) return existing.status();
  storage::GalleryBatch batch = store.new_batch();
  storage::Person person;
  if (*existing) {
    person = **existing;
  } else {
    person.name = name;
    person.created_at =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    batch.put_person(person);
  }
  if (Status s = reassign(store, face_ids, person.id, batch); !s) return s;
  return gallery.commit(batch, true);
}

Status split_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids, const std::string& name) {
  if (Status s = name_faces(gallery, face_ids, name); !s) return s;
  auto& store = gallery.store();
  storage::GalleryBatch batch = store.new_batch();
  const uint64_t cluster = batch.new_cluster_id();
  for (uint64_t fid : face_ids) {
    auto f = store.face(fid);
    if (!f) return f.status();
    if (!*f) continue;
    storage::Face face = **f;
    face.cluster_id = cluster;
    batch.update_face(face, face.person_id);
  }
  return gallery.commit(batch, true);
}

Status rename_person(storage::Gallery& gallery, const std::string& from, const std::string& to) {
  if (to.empty()) return Status::invalid_input("a person's name cannot be empty");
  auto& store = gallery.store();
  auto person = require_person(store, from);
  if (!person) return person.status();
  auto clash = store.person_by_name(to);
  if (!clash) return clash.status();
  if (*clash) return Status::invalid_input("a person named \"" + to + "\" exists already: use facedex merge");
  storage::Person renamed = *person;
  renamed.name = to;
  storage::GalleryBatch batch = store.new_batch();
  batch.put_person(renamed, from);
  return gallery.commit(batch, true);
}

Expected<uint64_t> merge_persons(storage::Gallery& gallery, const std::string& into, const std::string& from) {
  if (into == from) return Status::invalid_input("cannot merge a person into themselves");
  auto& store = gallery.store();
  auto a = require_person(store, into);
  if (!a) return a.status();
  auto b = require_person(store, from);
  if (!b) return b.status();
  auto faces = faces_of(store, b->id);
  if (!faces) return faces.status();
  storage::GalleryBatch batch = store.new_batch();
  if (Status s = reassign(store, *faces, a->id, batch); !s) return s;
  batch.remove_person(*b);
  if (Status s = gallery.commit(batch, true); !s) return s;
  return uint64_t(faces->size());
}

Expected<ForgetResult> forget_person(storage::Gallery& gallery, const std::string& name, bool delete_faces) {
  auto& store = gallery.store();
  auto person = require_person(store, name);
  if (!person) return person.status();
  auto faces = faces_of(store, person->id);
  if (!faces) return faces.status();
  ForgetResult result;
  storage::GalleryBatch batch = store.new_batch();
  if (!delete_faces) {
    if (Status s = reassign(store, *faces, 0, batch); !s) return s;
    result.faces_unnamed = faces->size();
  } else {
    std::map<uint64_t, storage::Photo> photos;  // photos losing faces
    for (uint64_t fid : *faces) {
      auto f = store.face(fid);
      if (!f) return f.status();
      if (!*f) continue;
      auto it = photos.find((*f)->photo_id);
      if (it == photos.end()) {
        auto p = store.photo((*f)->photo_id);
        if (!p) return p.status();
        if (*p) it = photos.emplace((*f)->photo_id, **p).first;
      }
      if (it != photos.end()) {
        auto& ids = it->second.face_ids;
        ids.erase(std::remove(ids.begin(), ids.end(), fid), ids.end());
      }
      batch.remove_face(fid);
      ++result.faces_deleted;
    }
    for (const auto& [id, p] : photos) batch.update_photo(p);
  }
  batch.remove_person(*person);
  if (Status s = gallery.commit(batch, true); !s) return s;
  if (delete_faces) {
    // The index file on disk still holds the descriptors until it is rewritten,
    // and RocksDB keeps deleted values in its files until they are compacted.
    if (Status s = gallery.save_vectors(); !s) return s;
    if (Status s = store.compact(); !s) return s;
  }
  return result;
}

Expected<std::vector<PersonSummary>> list_persons(const storage::GalleryStore& store) {
  std::vector<PersonSummary> out;
  Status s = store.for_each_person([&](const storage::Person& p) {
    out.push_back({p, 0});
    return true;
  });
  if (!s) return s;
  for (auto& ps : out) {
    s = store.for_each_face_of_person(ps.person.id, [&](uint64_t) {
      ++ps.faces;
      return true;
    });
    if (!s) return s;
  }
  std::sort(out.begin(), out.end(), [](const PersonSummary& a, const PersonSummary& b) {
    return a.faces != b.faces ? a.faces > b.faces : a.person.name < b.person.name;
  });
  return out;
}

}  // namespace facedex::search
