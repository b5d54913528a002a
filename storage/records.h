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
  int orientation = 1;       // EXIF orientation tag found in the file
  std::string format;        // "jpeg", "png", ...
  std::string taken_at;      // EXIF DateTimeOriginal, empty if none
  PhotoStatus status = PhotoStatus::kIndexed;
  std::string failure;       // reason, when status == kFailed
  std::string failure_kind;  // short group for summaries: "truncated", "not an image", ...
  std::vector<uint64_t> face_ids;  // faces found in this photo, largest first
  int64_t indexed_at = 0;    // unix seconds of the last (re)index
};

// Box in the upright photo's pixels; right and bottom exclusive.
struct Box {
  int left = 0, top = 0, right = 0, bottom = 0;
};

struct Face {
  uint64_t id = 0;
  uint64_t photo_id = 0;
  Box box;
  float score = 0;                              // detector confidence
  std::vector<std::array<float, 2>> landmarks;  // (x, y) in photo pixels
  Descriptor descriptor{};                      // 128-d, Euclidean space of the model below
  std::string model;                            // fingerprint of the models that made the descriptor
  std::string thumbnail_jpeg;                   // small aligned face, for reports
  uint64_t person_id = 0;                       // named person (0 = none); set by users, kept across re-index
  uint64_t cluster_id = 0;                      // cluster from `facedex cluster` (0 = none)
};

struct Person {
  uint64_t id = 0;
  std::string name;        // free UTF-8 text, stored unchanged
  int64_t created_at = 0;  // unix seconds
};

// Encoding into RocksDB values. Each record starts with a format version byte;
// decode fails (returns false) on anything it does not recognise.
std::string encode(const Photo& p);
std::string encode(const Face& f);
std::string encode(const Person& p);
bool decode(const std::string& bytes, Photo* p);
bool decode(const std::string& bytes, Face* f);
bool decode(const std::string& bytes, Person* p);

// Big-endian fixed-width keys sort numerically in RocksDB.
std::string id_key(uint64_t id);
uint64_t id_from_key(const std::string& key);

}  // namespace facedex::storage
