// Naming people: persons are names attached to gallery faces. Every function
// here commits its change atomically, or changes nothing.
#pragma once

#include <string>
#include <vector>

#include "storage/gallery.h"

namespace facedex::search {

struct PersonSummary {
  storage::Person person;
  uint64_t faces = 0;  // faces named as this person
};

// Names faces as `name`, creating the person if needed. Faces already named
// otherwise are renamed to this person.
Status name_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids, const std::string& name);

// Takes faces out of their person and cluster into `name` (created if needed)
// and a cluster of their own: a wrong merge or a wrong cluster can be undone.
// Clustering keeps two named persons apart afterwards.
Status split_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids, const std::string& name);

// kInvalidInput if `to` exists already (use merge) or `from` does not.
Status rename_person(storage::Gallery& gallery, const std::string& from, const std::string& to);

// Moves every face of `from` to `into` and deletes `from`. Returns faces moved.
Expected<uint64_t> merge_persons(storage::Gallery& gallery, const std::string& into, const std::string& from);

struct ForgetResult {
  uint64_t faces_unnamed = 0;  // names removed, faces kept
  uint64_t faces_deleted = 0;  // faces and descriptors deleted from RocksDB and FAISS
};

// Deletes the person. With delete_faces, the faces named as them are deleted
// too: records, descriptors, thumbnails, the vector index entries; the index
// file is rewritten and RocksDB compacted so the bytes leave the disk.
// Faces of that person that nobody named are not touched.
Expected<ForgetResult> forget_person(storage::Gallery& gallery, const std::string& name, bool delete_faces);

Expected<std::vector<PersonSummary>> list_persons(const storage::GalleryStore& store);

}  // namespace facedex::search
