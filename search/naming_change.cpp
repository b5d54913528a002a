#include "search/naming_change.h"

#include <chrono>

namespace facedex::search {
int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void record_deletion(storage::GalleryBatch& batch, const std::string& summary) {
  storage::HistoryEntry entry;
  entry.action = "delete";
  entry.at = unix_seconds_now();
  entry.summary = summary;
  batch.put_history(entry);
}

std::string describe_labels(const storage::FaceLabels& labels, const std::string& person_name) {
  if (!labels.person_id) return "(no name)";
  return person_name + (labels.name_source == storage::NameSource::kAuto ? " (automatic)" : "");
}

NamingChange::NamingChange(storage::Gallery& gallery, std::string action)
    : gallery_(gallery), batch_(gallery.store().new_batch()) {
  entry_.action = std::move(action);
}

Expected<storage::Face*> NamingChange::face(uint64_t face_id) {
  auto it = faces_.find(face_id);
  if (it != faces_.end()) return &it->second;
  auto f = gallery_.store().face(face_id);
  if (!f) return f.status();
  if (!*f) return Status::not_found("no face with id " + std::to_string(face_id) + " (see facedex photos or who)");
  before_[face_id] = storage::labels_of(**f);
  return &faces_.emplace(face_id, std::move(**f)).first->second;
}

uint64_t NamingChange::person_named(const std::string& name, const std::optional<storage::Person>& stored) {
  if (stored) return stored->id;
  for (const auto& [id, c] : persons_)
    if (c.exists_after && c.name_after == name) return id;
  storage::Person p;
  p.name = name;
  p.created_at = unix_seconds_now();
  batch_.put_person(p);
  persons_[p.id] = {p.id, false, true, "", name, p.created_at};
  return p.id;
}

void NamingChange::rename_person(const storage::Person& person, const std::string& to) {
  auto [it, inserted] = persons_.try_emplace(
      person.id, storage::HistoryEntry::PersonChange{person.id, true, true, person.name, to, person.created_at});
  it->second.name_after = to;
  it->second.exists_after = true;
  storage::Person renamed = person;
  renamed.name = to;
  batch_.put_person(renamed, person.name);
}

void NamingChange::remove_person(const storage::Person& person) {
  auto [it, inserted] = persons_.try_emplace(
      person.id, storage::HistoryEntry::PersonChange{person.id, true, false, person.name, "", person.created_at});
  it->second.exists_after = false;
  it->second.name_after.clear();
  batch_.remove_person(person);
}

void NamingChange::restore_person(uint64_t id, const std::string& name, int64_t created_at) {
  storage::Person p{id, name, created_at};
  persons_[id] = {id, false, true, "", name, created_at};
  batch_.put_person(p);
}

std::string NamingChange::name_of(uint64_t person_id) const {
  if (!person_id) return "";
  auto it = persons_.find(person_id);
  if (it != persons_.end() && it->second.exists_after) return it->second.name_after;
  auto p = gallery_.store().person(person_id);
  if (p && *p) return (*p)->name;
  if (it != persons_.end()) return it->second.name_before;
  return "person " + std::to_string(person_id);
}

size_t NamingChange::changed_faces() const {
  size_t n = 0;
  for (const auto& [id, f] : faces_) n += storage::labels_of(f) != before_.at(id);
  return n;
}

std::vector<std::string> NamingChange::describe_faces() const {
  std::vector<std::string> out;
  for (const auto& [id, f] : faces_) {
    const storage::FaceLabels& b = before_.at(id);
    const storage::FaceLabels a = storage::labels_of(f);
    if (a == b) continue;
    std::string photo;
    if (auto p = gallery_.store().photo(f.photo_id); p && *p) photo = (*p)->path;
    std::string line = "face " + std::to_string(id) + " (" + photo + "): " + describe_labels(b, name_of(b.person_id)) +
                       " -> " + describe_labels(a, name_of(a.person_id));
    if (a.cluster_id != b.cluster_id) line += ", cluster " + std::to_string(a.cluster_id);
    out.push_back(std::move(line));
  }
  return out;
}

void NamingChange::keep_apart(std::vector<uint64_t> a, std::vector<uint64_t> b) {
  entry_.apart_a = std::move(a);
  entry_.apart_b = std::move(b);
}

Expected<storage::HistoryEntry> NamingChange::commit(const std::string& summary, uint64_t undoes) {
  for (auto& [id, f] : faces_) {
    const storage::FaceLabels& b = before_.at(id);
    const storage::FaceLabels a = storage::labels_of(f);
    if (a == b) continue;
    batch_.update_face(f, b.person_id);
    entry_.faces.push_back({id, b, a});
  }
  for (const auto& [id, c] : persons_) entry_.persons.push_back(c);
  if (entry_.faces.empty() && entry_.persons.empty() && entry_.apart_a.empty() && !record_even_if_empty_) {
    if (!batch_.empty())
      if (Status s = gallery_.commit(batch_, true); !s) return s;
    return entry_;
  }
  entry_.at = unix_seconds_now();
  entry_.summary = summary;
  entry_.undoes = undoes;
  batch_.put_history(entry_);
  if (undoes) {
    auto undone = gallery_.store().history(undoes);
    if (!undone) return undone.status();
    if (*undone) {
      (*undone)->undone_by = entry_.id;
      batch_.put_history(**undone);
    }
  }
  if (Status s = gallery_.commit(batch_, true); !s) return s;
  return entry_;
}

}  // namespace facedex::search
