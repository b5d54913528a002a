// The records facedex keeps (ARCHITECTURE.md "Records"). Plain structs: who
// fills each field is said beside it. Ids are 64-bit, start at 1, and are never
// reused; 0 means "none". A face id is the same key in RocksDB and FAISS.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "util/descriptor.h"

namespace facedex::storage {

enum class PhotoStatus : uint8_t {
  kIndexed = 0,  // decoded and searched; face_ids holds what was found (maybe none)
  kFailed = 1,   // could not be used; failure says why
};

struct Photo {
  uint64_t id = 0;
  std::string path;          // absolute, as the crawler found it (bytes, not necessarily UTF-8)
  uint64_t size = 0;         // bytes, from stat
  int64_t mtime_ns = 0;      // modification time from stat, nanoseconds since the epoch
  std::string content_hash;  // sha256 hex of the file's bytes; empty if it could not be read
  int width = 0;             // upright pixels (after EXIF orientation)
  int height = 0;
  int orientation = 1;   // EXIF orientation tag found in the file
  std::string format;    // "jpeg", "png", ...
  std::string taken_at;  // EXIF DateTimeOriginal, empty if none
  PhotoStatus status = PhotoStatus::kIndexed;
  std::string failure;             // reason, when status == kFailed
  std::string failure_kind;        // short group for summaries: "truncated", "not an image", ...
  std::vector<uint64_t> face_ids;  // faces found in this photo, largest first
  int64_t indexed_at = 0;          // unix seconds of the last (re)index
  // Unix seconds since the file was first found missing; 0 = present. A missing
  // photo keeps its faces and names (an unmounted drive is not a deletion) until
  // `facedex prune`; its content hash finds it again wherever it comes back.
  int64_t missing_since = 0;
  // The face detector that analysed it (models::detector_record_name); a run with another
  // detector analyses it again once, keeping every face it has.
  std::string detector;
  // What the face tags were last read from (search/face_tags.h): the content
  // hash and the sidecar's path, size and mtime. Empty: never read.
  std::string tags_read;
  // "WIDTHxHEIGHT:sha256" of the decoded upright pixels; empty: not known (stored
  // before). A file edited in its metadata only (tags written into it, a date
  // fixed) keeps its faces when this is unchanged.
  std::string pixels_hash;
};

// Box in the upright photo's pixels; right and bottom exclusive.
struct Box {
  int left = 0, top = 0, right = 0, bottom = 0;
};

// Who gave a face its person: names a user gave always win over automatic ones.
enum class NameSource : uint8_t {
  kNone = 0,
  kUser = 1,  // name, enroll, split, merge, or a confirmed automatic name
  kAuto = 2,  // the identity rule or a user-named cluster (search/auto_naming.h)
};

struct Face {
  uint64_t id = 0;
  uint64_t photo_id = 0;
  Box box;
  float score = 0;                              // detector confidence
  std::vector<std::array<float, 2>> landmarks;  // (x, y) in photo pixels
  Descriptor descriptor;                        // in the Euclidean space of the model below
  std::string model;                            // fingerprint of the models that made the descriptor
  std::string thumbnail_jpeg;                   // small aligned face, for reports
  uint64_t person_id = 0;                       // named person (0 = none); set by users, kept across re-index
  uint64_t cluster_id = 0;                      // cluster from `facedex cluster` (0 = none)
  NameSource name_source = NameSource::kNone;   // kNone exactly when person_id == 0
  // "Not this person": persons a user took this face away from (split, unname).
  // Automatic naming never gives it one of them, clustering never joins them.
  std::vector<uint64_t> rejected_person_ids;
  // Faces this one was split away from: clustering never puts it with them again.
  std::vector<uint64_t> not_with_face_ids;
};

struct Person {
  uint64_t id = 0;
  std::string name;        // free UTF-8 text, stored unchanged
  int64_t created_at = 0;  // unix seconds
};

// The naming state of one face, as the history records it before and after a change.
struct FaceLabels {
  uint64_t person_id = 0;
  NameSource name_source = NameSource::kNone;
  uint64_t cluster_id = 0;
  std::vector<uint64_t> rejected_person_ids;
  std::vector<uint64_t> not_with_face_ids;
  bool operator==(const FaceLabels& o) const {
    return person_id == o.person_id && name_source == o.name_source && cluster_id == o.cluster_id &&
           rejected_person_ids == o.rejected_person_ids && not_with_face_ids == o.not_with_face_ids;
  }
  bool operator!=(const FaceLabels& o) const { return !(*this == o); }
};
FaceLabels labels_of(const Face& f);
void set_labels(Face* f, const FaceLabels& labels);

// One naming action (name, rename, merge, split, unname, forget, enroll,
// automatic naming, undo), with enough of the state before and after to undo it.
struct HistoryEntry {
  uint64_t id = 0;      // 1, 2, ... in the order the actions were committed
  int64_t at = 0;       // unix seconds
  std::string action;   // "name", "rename", ...
  std::string summary;  // what a user reads in `facedex history`
  struct FaceChange {
    uint64_t face_id = 0;
    FaceLabels before, after;
  };
  struct PersonChange {
    uint64_t person_id = 0;
    bool existed_before = false, exists_after = false;
    std::string name_before, name_after;
    int64_t created_at = 0;
  };
  std::vector<FaceChange> faces;
  std::vector<PersonChange> persons;
  uint64_t undoes = 0;     // this entry reverted entry `undoes`
  uint64_t undone_by = 0;  // entry that reverted this one (0 = still in effect)
  // "different": faces a user said are not one person with the other side's
  // (a report finding rejected); changes no label.
  std::vector<uint64_t> apart_a, apart_b;
};

// Encoding into RocksDB values. Each record starts with a format version byte;
// decode fails (returns false) on anything it does not recognise.
std::string encode(const Photo& p);
std::string encode(const Face& f);
std::string encode(const Person& p);
bool decode(const std::string& bytes, Photo* p);
bool decode(const std::string& bytes, Face* f);
bool decode(const std::string& bytes, Person* p);
std::string encode(const HistoryEntry& h);
bool decode(const std::string& bytes, HistoryEntry* h);

// Big-endian fixed-width keys sort numerically in RocksDB.
std::string id_key(uint64_t id);
uint64_t id_from_key(const std::string& key);

}  // namespace facedex::storage
