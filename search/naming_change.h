// One naming action as a unit: the faces and persons it changes, committed
// atomically together with its history entry, so that `facedex undo` can
// revert it. Every command that names, renames, merges, splits, unnames or
// forgets goes through here; a dry run builds the change and never commits it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "storage/gallery.h"

namespace facedex::search {

class NamingChange {
 public:
  NamingChange(storage::Gallery& gallery, std::string action);

  // The face as this change leaves it (the stored record before any edit).
  Expected<storage::Face*> face(uint64_t face_id);
  // Person id for an exact name: the stored one, or one this change creates.
  uint64_t person_named(const std::string& name, const std::optional<storage::Person>& stored);
  void rename_person(const storage::Person& person, const std::string& to);
  void remove_person(const storage::Person& person);
  // Puts back a person removed earlier, under their old id (undo).
  void restore_person(uint64_t id, const std::string& name, int64_t created_at);
  // The batch the change commits in, for records that go with it (the photos
  // whose face tags named faces).
  storage::GalleryBatch& batch() { return batch_; }
  // Faces a user said are not one person with the others (a rejected report
  // finding): kept in the history entry, no label changes.
  // (keep_together records its faces as `a`, with no `b`.)
  void keep_apart(std::vector<uint64_t> a, std::vector<uint64_t> b);
  // Commit a history entry even when nothing else changes (undoing keep_apart).
  void record_even_if_empty() { record_even_if_empty_ = true; }
  // A cluster id never handed out before (split gives faces a cluster of their own).
  uint64_t new_cluster_id() { return batch_.new_cluster_id(); }

  // The name a person id has in this change (new and renamed ones included).
  std::string name_of(uint64_t person_id) const;

  // Face changes as "face 12 (photo.jpg): Joe Biden -> Barack Obama", one per face.
  std::vector<std::string> describe_faces() const;
  size_t changed_faces() const;

  // Commits the faces, persons and the history entry (with `summary`) in one
  // batch. Returns the entry; a change with no face or person in it commits
  // no history entry (only what else was put in its batch).
  Expected<storage::HistoryEntry> commit(const std::string& summary, uint64_t undoes = 0);

 private:
  storage::Gallery& gallery_;
  storage::GalleryBatch batch_;
  storage::HistoryEntry entry_;
  std::map<uint64_t, storage::Face> faces_;         // current state, by face id
  std::map<uint64_t, storage::FaceLabels> before_;  // labels as stored
  std::map<uint64_t, storage::HistoryEntry::PersonChange> persons_;
  std::map<uint64_t, std::string> known_names_;  // stored names looked up so far
  bool record_even_if_empty_ = false;
};

// Seconds since the epoch, the clock of history entries and missing photos.
int64_t unix_seconds_now();

// Adds a history entry saying that a deletion happened (never what was
// deleted: deletions really delete); `undo` refuses it.
void record_deletion(storage::GalleryBatch& batch, const std::string& summary);

// "Barack Obama (user)" style label for a face's naming state, for dry runs.
std::string describe_labels(const storage::FaceLabels& labels, const std::string& person_name);

}  // namespace facedex::search
