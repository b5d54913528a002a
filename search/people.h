// Naming people: persons are names attached to gallery faces. Every function
// here commits its change atomically with a history entry (search/naming_change.h),
// or changes nothing; with dry_run it only says what it would change.
#pragma once

#include <string>
#include <vector>

#include "storage/gallery.h"

namespace facedex::search {

struct PersonSummary {
  storage::Person person;
  uint64_t faces = 0;      // faces named as this person
  uint64_t automatic = 0;  // of those, named automatically (not confirmed by a user)
};

struct NamingOptions {
  bool dry_run = false;     // build the change, say what it is, commit nothing
  bool force = false;       // take faces a user named as somebody else
  bool new_person = false;  // create a person whose name differs from an existing one only by case
  // Use the existing person whose name differs only by case (enroll), and say so.
  bool adopt_case_variant = false;
};

struct NamingResult {
  uint64_t history_id = 0;  // 0 when nothing was committed (dry run, no change)
  size_t faces_changed = 0;
  std::vector<std::string> changes;  // dry run only: one line per face that would change
  std::string note;                  // e.g. "using the existing person \"Barack Obama\""
  std::string person;                // the name the faces now carry, as stored
};

// Names faces as `name` (trimmed), creating the person if needed. Faces a user
// already named as somebody else need options.force; automatic names give way.
Expected<NamingResult> name_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids,
                                  const std::string& name, const NamingOptions& options,
                                  const std::string& action = "name");

// Takes the names off faces and remembers that they are not that person.
Expected<NamingResult> unname_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids,
                                    const NamingOptions& options);

// Takes faces out of their person and cluster into `name` (created if needed)
// and a cluster of their own. They remember that they are not their old person
// and not with their old cluster's faces: neither clustering nor automatic
// naming puts them back.
Expected<NamingResult> split_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids,
                                   const std::string& name, const NamingOptions& options);

// kInvalidInput if `to` exists already (use merge) or `from` does not.
Expected<NamingResult> rename_person(storage::Gallery& gallery, const std::string& from, const std::string& to,
                                     const NamingOptions& options);

// Moves every face of `from` to `into` and deletes `from`.
Expected<NamingResult> merge_persons(storage::Gallery& gallery, const std::string& into, const std::string& from,
                                     const NamingOptions& options);

// Deletes the person; their faces stay, unnamed. Undoable.
Expected<NamingResult> forget_person(storage::Gallery& gallery, const std::string& name, const NamingOptions& options);

struct DeleteResult {
  uint64_t faces_deleted = 0;  // faces and descriptors deleted from RocksDB and FAISS
};

// forget --faces: deletes the person and the faces named as them: records,
// descriptors, thumbnails, the vector index entries; the index file is
// rewritten and RocksDB compacted so the bytes leave the disk. Not undoable.
// Faces of that person that nobody named are not touched.
Expected<DeleteResult> delete_person_faces(storage::Gallery& gallery, const std::string& name);

// Remembers that faces `a` and faces `b` are not one person (a report finding
// the user rejected): the report never lists them together again. Changes no
// name; one undoable history entry.
Expected<NamingResult> keep_apart(storage::Gallery& gallery, const std::vector<uint64_t>& a,
                                  const std::vector<uint64_t>& b, const std::string& summary,
                                  const NamingOptions& options);

// Remembers that faces `faces` are one person (a "two people under one name"
// finding the user rejected): the report never lists them as two again.
// Changes no name; one undoable history entry ("same").
Expected<NamingResult> keep_together(storage::Gallery& gallery, const std::vector<uint64_t>& faces,
                                     const std::string& summary, const NamingOptions& options);

// Reverts history entry `id` (0: the newest entry still in effect that is not
// itself an undo). Faces changed since are left as they are and counted in
// the note.
Expected<NamingResult> undo(storage::Gallery& gallery, uint64_t id, const NamingOptions& options);

// Persons with their face counts; those with no faces only with `all`.
Expected<std::vector<PersonSummary>> list_persons(const storage::GalleryStore& store, bool all = false);

// The stored person for a name typed by a user: exact, else the one that
// differs only by case (with a note), else kNotFound with a hint.
Expected<storage::Person> find_person(const storage::GalleryStore& store, const std::string& name);

}  // namespace facedex::search
