// The gallery's source of truth: photos, faces, persons and metadata in RocksDB.
// Layout (column families, keys, values) is documented in storage/README.md.
//
// One writer process at a time (an flock'ed lock file holding its PID); any
// number of read-only openers alongside it. Thread-safety: lookups may run on
// any thread; commit() from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/records.h"
#include "util/status.h"

namespace rocksdb {
class DB;
class Status;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace facedex::storage {

enum class OpenMode { kReadWrite, kReadOnly };

inline constexpr int kSchemaVersion = 1;

// One change to the vector index, in commit order (the "vector log").
struct VectorOp {
  enum Kind : char { kAdd = 'A', kRemove = 'R' };
  uint64_t seq = 0;
  Kind kind = kAdd;
  uint64_t face_id = 0;
};

class GalleryStore;

// Changes that commit atomically: all of them or none.
class GalleryBatch {
 public:
  ~GalleryBatch();
  GalleryBatch(GalleryBatch&&) noexcept;
  GalleryBatch& operator=(GalleryBatch&&) noexcept;

  // A new photo record with its faces. Assigns photo.id (when 0) and every
  // face's id, fills photo.face_ids and face.photo_id, logs the additions.
  void add_photo(Photo& photo, std::vector<Face>& faces);
  // Rewrites a photo record whose faces do not change (mtime touched, moved,
  // failure updated, metadata edited). stored: the committed record, when the
  // path, content or pixels changed (their lookup entries move with them).
  void update_photo(const Photo& photo, const Photo* stored = nullptr);
  // Adds `faces` to a stored photo (ids assigned, appended to photo.face_ids)
  // and writes the photo record.
  void add_faces(Photo& photo, std::vector<Face>& faces);
  // Removes a photo, its path and hash entries, and its faces (logged).
  void remove_photo(const Photo& photo);
  // Rewrites a face record (person or cluster changes); the descriptor must not
  // change. old_person_id: the person the stored record had.
  void update_face(const Face& face, uint64_t old_person_id);
  // Removes single faces (forget); the caller updates the photo's face_ids.
  void remove_face(uint64_t face_id);
  // A person record; assigns person.id when 0.
  void put_person(Person& person, const std::string& old_name = "");
  void remove_person(const Person& person);
  // A cluster id never handed out before.
  uint64_t new_cluster_id();
  // A naming action's history entry; assigns entry.id when 0 (a rewrite, such
  // as marking an entry undone, keeps its id).
  void put_history(HistoryEntry& entry);
  // Records, with the deletions in this batch, that their bytes must still
  // leave the disk (vector file rewritten, RocksDB compacted): a deletion
  // interrupted after its commit is finished by the next writer
  // (Gallery::purge_deleted).
  void mark_purge_pending();

  const std::vector<VectorOp>& vector_ops() const { return ops_; }
  // Descriptors of the added faces, aligned with the kAdd entries of vector_ops().
  const std::vector<std::pair<uint64_t, Descriptor>>& added() const { return added_; }
  bool empty() const;

 private:
  friend class GalleryStore;
  explicit GalleryBatch(GalleryStore* store);
  void log(VectorOp::Kind kind, uint64_t face_id);
  // Writes a face that has no id yet: assigns one and lists it in `photo`.
  void put_new_face(Photo& photo, Face& f);

  GalleryStore* store_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  std::vector<VectorOp> ops_;
  std::vector<std::pair<uint64_t, Descriptor>> added_;
};

class GalleryStore {
 public:
  // kReadWrite creates the directory (mode 0700) and takes the writer lock:
  // kBusy "database DIR is in use by PID n" when another process holds it.
  // kReadOnly needs an existing database and works while a writer runs.
  //
  // A directory holding database files but no CURRENT is refused as damaged
  // (kCorruption), a non-empty one that is not a database as foreign
  // (kUnsupported): neither is ever written to. A RocksDB behind the sequence
  // recorded after the last synced commit lost committed writes (a damaged or
  // deleted WAL): kCorruption, unless accept_lost_writes (check --repair
  // --accept-lost-writes) says to go on with what is left.
  static Expected<std::unique_ptr<GalleryStore>> open(const std::string& dir, OpenMode mode,
                                                      bool accept_lost_writes = false);
  ~GalleryStore();

  const std::string& dir() const { return dir_; }
  // Opened with accept_lost_writes over a database that lost some.
  bool lost_writes() const { return lost_writes_; }
  bool read_only() const { return read_only_; }

  // Metadata. The model fingerprint is empty until the first face is stored.
  const std::string& model_fingerprint() const { return model_fingerprint_; }
  // kModelMismatch when the database holds faces of another model. The
  // model's same-person distance and descriptor length are kept with it:
  // commands that need no model (cluster, report) scale their distance rules
  // by the one, and every vector index is made for the other.
  Status bind_model(const std::string& fingerprint, float same_person_distance = kDefaultSamePersonDistance,
                    int descriptor_dims = kDescriptorDims);
  float same_person_distance() const { return same_person_distance_; }
  // The bound model's descriptor length (dlib's 128 before any is bound).
  int descriptor_dims() const { return descriptor_dims_; }
  // dlib's ResNet (models::kSamePersonDistance); storage does not depend on models/.
  static constexpr float kDefaultSamePersonDistance = 0.6f;
  const std::string& index_type() const { return index_type_; }
  Status set_index_type(const std::string& type);
  uint64_t last_log_seq() const { return next_log_seq_ - 1; }
  // The id the next new face will get.
  uint64_t next_face_id() const { return next_face_id_; }

  // Lookups in the committed state. Corrupt records give kCorruption.
  Expected<std::optional<Photo>> photo(uint64_t id) const;
  Expected<std::optional<Photo>> photo_by_path(const std::string& path) const;
  Expected<std::vector<uint64_t>> photo_ids_by_hash(const std::string& content_hash) const;
  // Photos whose decoded upright pixels have this hash (Photo::pixels_hash).
  Expected<std::vector<uint64_t>> photo_ids_by_pixels(const std::string& pixels_hash) const;
  Expected<std::optional<Face>> face(uint64_t id) const;
  Expected<std::optional<Person>> person(uint64_t id) const;
  Expected<std::optional<Person>> person_by_name(const std::string& name) const;

  // Full scans; fn returns false to stop early.
  Status for_each_photo(const std::function<bool(const Photo&)>& fn) const;
  Status for_each_face(const std::function<bool(const Face&)>& fn) const;
  // Faces with id >= first_id (those added since next_face_id() was first_id).
  Status for_each_face_from(uint64_t first_id, const std::function<bool(const Face&)>& fn) const;
  Status for_each_person(const std::function<bool(const Person&)>& fn) const;
  // Face ids named as this person (the person_faces index).
  Status for_each_face_of_person(uint64_t person_id, const std::function<bool(uint64_t face_id)>& fn) const;
  // Vector log entries with seq > after, in order.
  Status for_each_vector_op(uint64_t after, const std::function<bool(const VectorOp&)>& fn) const;
  // Naming history, newest first.
  Status for_each_history_newest_first(const std::function<bool(const HistoryEntry&)>& fn) const;
  Expected<std::optional<HistoryEntry>> history(uint64_t id) const;

  // Reads every column family whole: RocksDB's block checksums, then each
  // record's and index entry's shape. Appends one line per problem found.
  Status verify_every_record(std::vector<std::string>* problems) const;

  GalleryBatch new_batch();
  // REQUIRES: !read_only(). sync: fsync the WAL (end of a run); without it a
  // killed process still keeps every committed batch (the OS has the bytes).
  Status commit(GalleryBatch& batch, bool sync = false);
  // Drops vector log entries up to seq (they are in a saved vector index).
  Status trim_vector_log(uint64_t upto_seq);
  // Highest seq ever trimmed: a saved index older than this cannot be caught up.
  uint64_t vector_log_trimmed_upto() const { return log_trimmed_upto_; }

  // Rewrites every RocksDB file so deleted values physically leave the disk
  // (forget: faces are biometric data). REQUIRES: writable.
  Status compact();
  // Closes and opens RocksDB again: the new MANIFEST it starts with describes
  // only the files that exist, so the old one, whose records name the key
  // ranges (paths among them) of files compacted away, is deleted. After a
  // deletion (Gallery::purge_deleted). REQUIRES: writable.
  Status reopen();
  // A committed deletion whose bytes may still be on disk (mark_purge_pending).
  bool purge_pending() const { return purge_pending_; }
  Status clear_purge_pending();

  struct Counts {
    uint64_t photos = 0, photos_failed = 0, faces = 0, persons = 0;
  };
  Expected<Counts> counts() const;
  // Bytes on disk of the RocksDB files.
  uint64_t disk_bytes() const;

 private:
  friend class GalleryBatch;
  GalleryStore() = default;
  Status load_meta();
  // Photo ids under a key prefix of the hashes' column family.
  Expected<std::vector<uint64_t>> photo_ids_under(const std::string& prefix) const;
  // RocksDB's part of open(): options, column families, handles.
  Status open_rocksdb(bool create);
  // from_rocks for a write; remembers that one failed (see the destructor).
  Status written(const rocksdb::Status& s, const std::string& what);
  // Records RocksDB's sequence number after a synced commit (facedex.commit).
  Status write_commit_mark();
  template <typename T>
  Expected<std::optional<T>> get_record(rocksdb::ColumnFamilyHandle* cf, const std::string& key) const;
  template <typename T>
  Status scan(rocksdb::ColumnFamilyHandle* cf, const std::function<bool(const T&)>& fn,
              const std::string& from_key = "") const;

  std::string dir_;
  bool read_only_ = false;
  bool lost_writes_ = false;
  bool purge_pending_ = false;
  bool write_failed_ = false;
  int lock_fd_ = -1;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* photos_ = nullptr;
  rocksdb::ColumnFamilyHandle* paths_ = nullptr;
  rocksdb::ColumnFamilyHandle* hashes_ = nullptr;
  rocksdb::ColumnFamilyHandle* faces_ = nullptr;
  rocksdb::ColumnFamilyHandle* persons_ = nullptr;
  rocksdb::ColumnFamilyHandle* person_names_ = nullptr;
  rocksdb::ColumnFamilyHandle* vector_log_ = nullptr;
  rocksdb::ColumnFamilyHandle* person_faces_ = nullptr;
  rocksdb::ColumnFamilyHandle* history_ = nullptr;  // null only in an older database opened read-only

  std::string model_fingerprint_;
  float same_person_distance_ = kDefaultSamePersonDistance;
  int descriptor_dims_ = kDescriptorDims;
  std::string index_type_;
  // Next ids to hand out; written to meta in every batch that uses them.
  uint64_t log_trimmed_upto_ = 0;
  uint64_t next_photo_id_ = 1, next_face_id_ = 1, next_person_id_ = 1, next_log_seq_ = 1, next_cluster_id_ = 1,
           next_history_id_ = 1;
};

}  // namespace facedex::storage
