#include "storage/gallery_store.h"

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>

namespace facedex::storage {
namespace {

// Column families (see storage/README.md).
constexpr const char* kMetaCf = "default";
constexpr const char* kPhotosCf = "photos";
constexpr const char* kPathsCf = "paths";
constexpr const char* kHashesCf = "hashes";
constexpr const char* kFacesCf = "faces";
constexpr const char* kPersonsCf = "persons";
constexpr const char* kPersonNamesCf = "person_names";
constexpr const char* kVectorLogCf = "vector_log";
constexpr const char* kPersonFacesCf = "person_faces";
constexpr const char* kHistoryCf = "history";

constexpr const char* kMetaSchema = "schema_version";
constexpr const char* kMetaModel = "model_fingerprint";
constexpr const char* kMetaSamePersonDistance = "same_person_distance";
constexpr const char* kMetaDescriptorDims = "descriptor_dims";  // absent: dlib's 128
constexpr const char* kMetaIndexType = "index_type";
constexpr const char* kMetaNextPhoto = "next_photo_id";
constexpr const char* kMetaNextFace = "next_face_id";
constexpr const char* kMetaNextPerson = "next_person_id";
constexpr const char* kMetaNextLogSeq = "next_log_seq";
constexpr const char* kMetaNextCluster = "next_cluster_id";
constexpr const char* kMetaLogTrimmed = "vector_log_trimmed_upto";
constexpr const char* kMetaNextHistory = "next_history_id";
constexpr const char* kMetaPurgePending = "purge_pending";

constexpr const char* kLockFile = "facedex.lock";
// RocksDB's sequence number after the last synced commit, and when: a database
// whose RocksDB is behind it lost committed writes (a damaged or deleted WAL).
constexpr const char* kCommitFile = "facedex.commit";

// What a database directory holds, looked at before RocksDB may write to it.
enum class DirState { kAbsent, kEmpty, kDatabase, kDamaged, kForeign };

bool is_database_file(const std::string& name) {
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  auto ends = [&](const char* e) {
    const std::string s(e);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return name == "CURRENT" || name == "IDENTITY" || name == "LOCK" || starts("LOG") || starts("MANIFEST-") ||
         starts("OPTIONS-") || ends(".sst") || ends(".log") || ends(".blob") || starts("vectors.faiss") ||
         name == kLockFile || name == kCommitFile;
}

// A directory with RocksDB or facedex files but no CURRENT is damaged: opening
// it would start an empty database over the old files (and delete them).
DirState dir_state(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return DirState::kAbsent;
  if (std::filesystem::exists(dir + "/CURRENT", ec)) return DirState::kDatabase;
  bool ours = false, other = false;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    // A lock file alone is what an open that stopped early leaves.
    if (name == kLockFile || name == "LOCK") continue;
    (is_database_file(name) ? ours : other) = true;
  }
  if (ec) return DirState::kForeign;
  return ours ? DirState::kDamaged : other ? DirState::kForeign : DirState::kEmpty;
}

struct CommitMark {
  uint64_t sequence = 0;
  int64_t at = 0;  // unix seconds
};

std::optional<CommitMark> read_commit_mark(const std::string& dir) {
  FILE* f = std::fopen((dir + "/" + kCommitFile).c_str(), "r");
  if (!f) return std::nullopt;
  unsigned long long seq = 0;
  long long at = 0;
  const bool ok = std::fscanf(f, "%llu %lld", &seq, &at) == 2;
  std::fclose(f);
  if (!ok) return std::nullopt;
  return CommitMark{seq, at};
}

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::ok();
  if (s.IsNoSpace()) return Status::io_error(what + ": disk full (" + s.ToString() + ")");
  if (s.IsCorruption()) return Status::corruption(what + ": " + s.ToString());
  if (s.IsNotFound()) return Status::not_found(what + ": " + s.ToString());
  return Status::io_error(what + ": " + s.ToString());
}

std::string hash_key(const std::string& hash, uint64_t photo_id) { return hash + id_key(photo_id); }
// The pixels' hashes share the content hashes' column family under a prefix
// that no hex content hash starts with.
constexpr const char* kPixelsPrefix = "px:";
std::string pixels_key(const std::string& pixels_hash, uint64_t photo_id) {
  return kPixelsPrefix + pixels_hash + id_key(photo_id);
}
std::string person_face_key(uint64_t person_id, uint64_t face_id) { return id_key(person_id) + id_key(face_id); }

// flock is released by the kernel when the process dies, however it dies, so a
// kill -9 never leaves a stale lock behind.
Expected<int> take_writer_lock(const std::string& dir) {
  const std::string path = dir + "/" + kLockFile;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error(path + ": cannot open lock file (" + std::strerror(errno) + ")");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    const std::string pid = n > 0 ? std::string(buf, size_t(n)) : "unknown";
    return Status::busy("database " + dir + " is in use by PID " + pid.substr(0, pid.find('\n')) +
                        " (another facedex is writing to it); wait for it to finish or stop it");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock itself holds; only the PID shown to others is missing.
  }
  return fd;
}

// RocksDB's own LOG writer aborts the process when it writes again after a
// failed write (a full disk): this one appends the same lines with stdio and
// drops what it cannot write.
class LogFileLogger final : public rocksdb::Logger {
 public:
  explicit LogFileLogger(const std::string& path)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), file_(std::fopen(path.c_str(), "a")) {}
  ~LogFileLogger() override {
    if (file_) std::fclose(file_);
  }
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (!file_) return;
    std::vfprintf(file_, format, ap);
    std::fputc('\n', file_);
    std::fflush(file_);
  }

 private:
  FILE* file_;
};

rocksdb::Options base_options() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_open_files = 512;
  options.keep_log_file_num = 2;
  options.info_log_level = rocksdb::WARN_LEVEL;
  // Small galleries should not cost a 64 MB memtable per column family.
  options.write_buffer_size = 16 << 20;
  options.IncreaseParallelism(2);
  return options;
}

}  // namespace

GalleryBatch::GalleryBatch(GalleryStore* store) : store_(store), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
GalleryBatch::~GalleryBatch() = default;
GalleryBatch::GalleryBatch(GalleryBatch&&) noexcept = default;
GalleryBatch& GalleryBatch::operator=(GalleryBatch&&) noexcept = default;

bool GalleryBatch::empty() const { return batch_->Count() == 0; }

void GalleryBatch::log(VectorOp::Kind kind, uint64_t face_id) {
  VectorOp op{store_->next_log_seq_++, kind, face_id};
  std::string value(1, char(kind));
  value += id_key(face_id);
  batch_->Put(store_->vector_log_, id_key(op.seq), value);
  ops_.push_back(op);
}

void GalleryBatch::put_new_face(Photo& photo, Face& f) {
  f.id = store_->next_face_id_++;
  f.photo_id = photo.id;
  photo.face_ids.push_back(f.id);
  batch_->Put(store_->faces_, id_key(f.id), encode(f));
  if (f.person_id) batch_->Put(store_->person_faces_, person_face_key(f.person_id, f.id), "");
  log(VectorOp::kAdd, f.id);
  added_.emplace_back(f.id, f.descriptor);
}

void GalleryBatch::add_photo(Photo& photo, std::vector<Face>& faces) {
  if (photo.id == 0) photo.id = store_->next_photo_id_++;
  photo.face_ids.clear();
  for (Face& f : faces) put_new_face(photo, f);
  batch_->Put(store_->photos_, id_key(photo.id), encode(photo));
  batch_->Put(store_->paths_, photo.path, id_key(photo.id));
  if (!photo.content_hash.empty()) batch_->Put(store_->hashes_, hash_key(photo.content_hash, photo.id), "");
  if (!photo.pixels_hash.empty()) batch_->Put(store_->hashes_, pixels_key(photo.pixels_hash, photo.id), "");
}

void GalleryBatch::add_faces(Photo& photo, std::vector<Face>& faces) {
  for (Face& f : faces) put_new_face(photo, f);
  update_photo(photo);
}

void GalleryBatch::update_photo(const Photo& photo, const Photo* stored) {
  batch_->Put(store_->photos_, id_key(photo.id), encode(photo));
  if (stored && stored->path != photo.path) batch_->Delete(store_->paths_, stored->path);
  if (stored && !stored->content_hash.empty() && stored->content_hash != photo.content_hash)
    batch_->Delete(store_->hashes_, hash_key(stored->content_hash, stored->id));
  if (stored && !stored->pixels_hash.empty() && stored->pixels_hash != photo.pixels_hash)
    batch_->Delete(store_->hashes_, pixels_key(stored->pixels_hash, stored->id));
  batch_->Put(store_->paths_, photo.path, id_key(photo.id));
  if (!photo.content_hash.empty()) batch_->Put(store_->hashes_, hash_key(photo.content_hash, photo.id), "");
  if (!photo.pixels_hash.empty()) batch_->Put(store_->hashes_, pixels_key(photo.pixels_hash, photo.id), "");
}

void GalleryBatch::remove_photo(const Photo& photo) {
  for (uint64_t face_id : photo.face_ids) remove_face(face_id);
  batch_->Delete(store_->photos_, id_key(photo.id));
  batch_->Delete(store_->paths_, photo.path);
  if (!photo.content_hash.empty()) batch_->Delete(store_->hashes_, hash_key(photo.content_hash, photo.id));
  if (!photo.pixels_hash.empty()) batch_->Delete(store_->hashes_, pixels_key(photo.pixels_hash, photo.id));
}

void GalleryBatch::update_face(const Face& face, uint64_t old_person_id) {
  batch_->Put(store_->faces_, id_key(face.id), encode(face));
  if (old_person_id == face.person_id) return;
  if (old_person_id) batch_->Delete(store_->person_faces_, person_face_key(old_person_id, face.id));
  if (face.person_id) batch_->Put(store_->person_faces_, person_face_key(face.person_id, face.id), "");
}

void GalleryBatch::remove_face(uint64_t face_id) {
  // The name index entry goes too; the committed record says which person.
  if (auto f = store_->face(face_id); f && *f && (*f)->person_id && store_->person_faces_)
    batch_->Delete(store_->person_faces_, person_face_key((*f)->person_id, face_id));
  batch_->Delete(store_->faces_, id_key(face_id));
  log(VectorOp::kRemove, face_id);
}

void GalleryBatch::put_person(Person& person, const std::string& old_name) {
  if (person.id == 0) person.id = store_->next_person_id_++;
  batch_->Put(store_->persons_, id_key(person.id), encode(person));
  if (!old_name.empty() && old_name != person.name) batch_->Delete(store_->person_names_, old_name);
  batch_->Put(store_->person_names_, person.name, id_key(person.id));
}

uint64_t GalleryBatch::new_cluster_id() { return store_->next_cluster_id_++; }

void GalleryBatch::mark_purge_pending() {
  batch_->Put(store_->meta_, kMetaPurgePending, "1");
  store_->purge_pending_ = true;
}

void GalleryBatch::put_history(HistoryEntry& entry) {
  if (entry.id == 0) entry.id = store_->next_history_id_++;
  batch_->Put(store_->history_, id_key(entry.id), encode(entry));
}

void GalleryBatch::remove_person(const Person& person) {
  batch_->Delete(store_->persons_, id_key(person.id));
  batch_->Delete(store_->person_names_, person.name);
}

Expected<std::unique_ptr<GalleryStore>> GalleryStore::open(const std::string& dir_arg, OpenMode mode,
                                                           bool accept_lost_writes) {
  std::error_code ec;
  const std::string dir = std::filesystem::absolute(dir_arg, ec).lexically_normal().string();
  std::unique_ptr<GalleryStore> store(new GalleryStore());
  store->dir_ = dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
  store->read_only_ = mode == OpenMode::kReadOnly;
  const DirState state = dir_state(store->dir_);
  const bool exists = state == DirState::kDatabase;
  if (state == DirState::kDamaged)
    return Status::corruption("database " + store->dir_ +
                              " is damaged: its CURRENT file is missing but its data files are there. Nothing was "
                              "changed. Restore CURRENT (one line naming the newest MANIFEST-* file, with a newline) "
                              "or the whole folder from a backup");
  if (store->read_only_ && !exists)
    return Status::not_found("no facedex database at " + store->dir_ + " (run `facedex index` first)");
  if (!store->read_only_) {
    if (state == DirState::kForeign)
      return Status::unsupported(store->dir_ +
                                 " is not empty and not a facedex database: give --db a new or empty folder");
    if (state == DirState::kAbsent) {
      std::filesystem::create_directories(store->dir_, ec);
      if (ec) return Status::io_error(store->dir_ + ": cannot create database directory (" + ec.message() + ")");
    }
    // Faces are biometric data: a new database is private to its owner. A
    // folder that existed (empty) keeps its mode only if already private.
    if (!exists && ::chmod(store->dir_.c_str(), 0700) != 0)
      return Status::io_error(store->dir_ + ": cannot make the database directory private (" + std::strerror(errno) +
                              ")");
    auto fd = take_writer_lock(store->dir_);
    if (!fd) return fd.status();
    store->lock_fd_ = *fd;
  }

  // Read before RocksDB opens, so that a writer committing meanwhile can only
  // make the mark older than what this opener sees, never newer.
  const std::optional<CommitMark> mark = read_commit_mark(store->dir_);
  if (Status st = store->open_rocksdb(!exists); !st) return st;
  store->lost_writes_ = mark && store->db_->GetLatestSequenceNumber() < mark->sequence;
  if (store->lost_writes_ && !accept_lost_writes) {
    char when[32] = "";
    const time_t t = time_t(mark->at);
    std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return Status::corruption("database " + store->dir_ + " lost committed writes since " + when +
                              " (its write-ahead log was damaged or deleted: RocksDB is at sequence " +
                              std::to_string(store->db_->GetLatestSequenceNumber()) + ", facedex had committed " +
                              std::to_string(mark->sequence) +
                              "). Nothing was changed; restore the folder from a "
                              "backup, or keep what is left: facedex check --repair --accept-lost-writes");
  }
  if (Status st = store->load_meta(); !st) return st;
  // Accepted: what is left is the database from now on.
  if (store->lost_writes_ && !store->read_only_)
    if (Status st = store->write_commit_mark(); !st) return st;
  return store;
}

Status GalleryStore::open_rocksdb(bool create) {
  rocksdb::Options options = base_options();
  options.create_if_missing = create;
  if (!read_only_) options.info_log = std::make_shared<LogFileLogger>(dir_ + "/LOG");
  const std::vector<std::string> wanted = {kMetaCf,    kPhotosCf,      kPathsCf,     kHashesCf,      kFacesCf,
                                           kPersonsCf, kPersonNamesCf, kVectorLogCf, kPersonFacesCf, kHistoryCf};
  // A read-only opener cannot create column families a newer facedex added:
  // it opens those that exist and treats the others as empty.
  std::vector<std::string> existing = wanted;
  if (read_only_) rocksdb::DB::ListColumnFamilies(options, dir_, &existing);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  std::vector<int> slot(wanted.size(), -1);
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (std::find(existing.begin(), existing.end(), wanted[i]) == existing.end()) continue;
    slot[i] = int(cfs.size());
    cfs.emplace_back(wanted[i], rocksdb::ColumnFamilyOptions(options));
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = read_only_ ? rocksdb::DB::OpenForReadOnly(options, dir_, cfs, &handles_, &db)
                                 : rocksdb::DB::Open(options, dir_, cfs, &handles_, &db);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
      return Status::busy("database " + dir_ + " is locked by another process (" + s.ToString() + ")");
    return from_rocks(s, "cannot open database " + dir_);
  }
  db_.reset(db);
  rocksdb::ColumnFamilyHandle** targets[] = {&meta_,    &photos_,       &paths_,      &hashes_,       &faces_,
                                             &persons_, &person_names_, &vector_log_, &person_faces_, &history_};
  for (size_t i = 0; i < wanted.size(); ++i) *targets[i] = slot[i] >= 0 ? handles_[size_t(slot[i])] : nullptr;
  if (!meta_ || !photos_ || !paths_ || !hashes_ || !faces_ || !persons_ || !person_names_ || !vector_log_)
    return Status::corruption("database " + dir_ + " lacks column families facedex needs");
  return Status::ok();
}

Status GalleryStore::reopen() {
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  if (Status s = from_rocks(db_->Close(), "closing " + dir_); !s) return s;
  db_.reset();
  return open_rocksdb(false);
}

Status GalleryStore::written(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) write_failed_ = true;
  return from_rocks(s, what);
}

GalleryStore::~GalleryStore() {
  if (db_ && write_failed_) {
    // After a failed write (a full disk) RocksDB aborts the process when it is
    // closed. Leave it as a crash would: every committed batch is in the WAL.
    (void)db_.release();
  } else if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
    db_.reset();
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status GalleryStore::load_meta() {
  auto get = [&](const char* key, std::string* value) {
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, key, value);
    return s.ok();
  };
  std::string value;
  if (get(kMetaSchema, &value)) {
    if (value != std::to_string(kSchemaVersion))
      return Status::unsupported("database " + dir_ + " has schema version " + value + "; this facedex reads version " +
                                 std::to_string(kSchemaVersion));
  } else if (!read_only_) {
    if (Status s = written(db_->Put(rocksdb::WriteOptions(), meta_, kMetaSchema, std::to_string(kSchemaVersion)),
                           "writing metadata");
        !s)
      return s;
  }
  if (get(kMetaModel, &value)) model_fingerprint_ = value;
  if (get(kMetaSamePersonDistance, &value)) same_person_distance_ = std::stof(value);
  if (get(kMetaDescriptorDims, &value)) {
    descriptor_dims_ = std::atoi(value.c_str());
    if (descriptor_dims_ < kMinDescriptorDims || descriptor_dims_ > kMaxDescriptorDims)
      return Status::corruption("database " + dir_ + ": its descriptor length '" + value +
                                "' is not one facedex makes");
  }
  index_type_ = get(kMetaIndexType, &value) ? value : "";
  auto counter = [&](const char* key, uint64_t* out) {
    if (get(key, &value)) *out = std::stoull(value);
  };
  counter(kMetaNextPhoto, &next_photo_id_);
  counter(kMetaNextFace, &next_face_id_);
  counter(kMetaNextPerson, &next_person_id_);
  counter(kMetaNextLogSeq, &next_log_seq_);
  counter(kMetaNextCluster, &next_cluster_id_);
  counter(kMetaLogTrimmed, &log_trimmed_upto_);
  counter(kMetaNextHistory, &next_history_id_);
  purge_pending_ = get(kMetaPurgePending, &value);
  return Status::ok();
}

Status GalleryStore::bind_model(const std::string& fingerprint, float same_person_distance, int descriptor_dims) {
  if (model_fingerprint_ == fingerprint) return Status::ok();
  if (!model_fingerprint_.empty())
    return Status::model_mismatch("database " + dir_ + " holds descriptors of model " + model_fingerprint_ +
                                  ", but the models in use have fingerprint " + fingerprint +
                                  ". Descriptors of two models cannot be compared: index into a new database "
                                  "(--db NEW_DIR), or use the --models and --embedder this database was made with.");
  if (read_only_) return Status::ok();
  rocksdb::WriteBatch b;
  b.Put(meta_, kMetaModel, fingerprint);
  b.Put(meta_, kMetaSamePersonDistance, std::to_string(same_person_distance));
  b.Put(meta_, kMetaDescriptorDims, std::to_string(descriptor_dims));
  if (Status s = written(db_->Write(rocksdb::WriteOptions(), &b), "writing metadata"); !s) return s;
  model_fingerprint_ = fingerprint;
  same_person_distance_ = same_person_distance;
  descriptor_dims_ = descriptor_dims;
  return Status::ok();
}

Status GalleryStore::set_index_type(const std::string& type) {
  if (Status s = written(db_->Put(rocksdb::WriteOptions(), meta_, kMetaIndexType, type), "writing metadata"); !s)
    return s;
  index_type_ = type;
  return Status::ok();
}

template <typename T>
Expected<std::optional<T>> GalleryStore::get_record(rocksdb::ColumnFamilyHandle* cf, const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, key, &value);
  if (s.IsNotFound()) return std::optional<T>();
  if (!s.ok()) return from_rocks(s, "reading " + dir_);
  T record;
  if (!decode(value, &record))
    return Status::corruption("database " + dir_ + ": undecodable record in " + cf->GetName() +
                              " (run `facedex check --repair`)");
  return std::optional<T>(std::move(record));
}

Expected<std::optional<Photo>> GalleryStore::photo(uint64_t id) const { return get_record<Photo>(photos_, id_key(id)); }

Expected<std::optional<Photo>> GalleryStore::photo_by_path(const std::string& path) const {
  std::string id;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), paths_, path, &id);
  if (s.IsNotFound()) return std::optional<Photo>();
  if (!s.ok()) return from_rocks(s, "reading " + dir_);
  return photo(id_from_key(id));
}

Expected<std::vector<uint64_t>> GalleryStore::photo_ids_by_hash(const std::string& content_hash) const {
  return photo_ids_under(content_hash);
}

Expected<std::vector<uint64_t>> GalleryStore::photo_ids_by_pixels(const std::string& pixels_hash) const {
  return photo_ids_under(kPixelsPrefix + pixels_hash);
}

Expected<std::vector<uint64_t>> GalleryStore::photo_ids_under(const std::string& prefix) const {
  std::vector<uint64_t> ids;
  if (prefix.empty()) return ids;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), hashes_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string key = it->key().ToString();
    if (key.size() == prefix.size() + 8) ids.push_back(id_from_key(key.substr(prefix.size())));
  }
  if (!it->status().ok()) return from_rocks(it->status(), "reading " + dir_);
  return ids;
}

Expected<std::optional<Face>> GalleryStore::face(uint64_t id) const { return get_record<Face>(faces_, id_key(id)); }

Expected<std::optional<Person>> GalleryStore::person(uint64_t id) const {
  return get_record<Person>(persons_, id_key(id));
}

Expected<std::optional<Person>> GalleryStore::person_by_name(const std::string& name) const {
  std::string id;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), person_names_, name, &id);
  if (s.IsNotFound()) return std::optional<Person>();
  if (!s.ok()) return from_rocks(s, "reading " + dir_);
  return person(id_from_key(id));
}

template <typename T>
Status GalleryStore::scan(rocksdb::ColumnFamilyHandle* cf, const std::function<bool(const T&)>& fn,
                          const std::string& from_key) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));
  T record;
  if (from_key.empty())
    it->SeekToFirst();
  else
    it->Seek(from_key);
  for (; it->Valid(); it->Next()) {
    if (!decode(it->value().ToString(), &record))
      return Status::corruption("database " + dir_ + ": undecodable record in " + cf->GetName() +
                                " (run `facedex check --repair`)");
    if (!fn(record)) break;
  }
  return from_rocks(it->status(), "reading " + dir_);
}

Status GalleryStore::for_each_photo(const std::function<bool(const Photo&)>& fn) const { return scan(photos_, fn); }
Status GalleryStore::for_each_face(const std::function<bool(const Face&)>& fn) const { return scan(faces_, fn); }
Status GalleryStore::for_each_face_from(uint64_t first_id, const std::function<bool(const Face&)>& fn) const {
  return scan(faces_, fn, first_id ? id_key(first_id) : "");
}
Status GalleryStore::for_each_person(const std::function<bool(const Person&)>& fn) const { return scan(persons_, fn); }

Status GalleryStore::for_each_face_of_person(uint64_t person_id,
                                             const std::function<bool(uint64_t face_id)>& fn) const {
  if (!person_faces_) return Status::ok();  // an older database opened read-only: nobody named yet
  const std::string prefix = id_key(person_id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), person_faces_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    if (!fn(id_from_key(it->key().ToString().substr(8)))) break;
  return from_rocks(it->status(), "reading " + dir_);
}

Status GalleryStore::for_each_vector_op(uint64_t after, const std::function<bool(const VectorOp&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), vector_log_));
  for (it->Seek(id_key(after + 1)); it->Valid(); it->Next()) {
    const rocksdb::Slice v = it->value();
    if (v.size() != 9 || (v[0] != VectorOp::kAdd && v[0] != VectorOp::kRemove))
      return Status::corruption("database " + dir_ + ": bad vector log entry");
    VectorOp op{id_from_key(it->key().ToString()), VectorOp::Kind(v[0]), id_from_key(std::string(v.data() + 1, 8))};
    if (!fn(op)) break;
  }
  return from_rocks(it->status(), "reading " + dir_);
}

Status GalleryStore::for_each_history_newest_first(const std::function<bool(const HistoryEntry&)>& fn) const {
  if (!history_) return Status::ok();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), history_));
  HistoryEntry entry;
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    if (!decode(it->value().ToString(), &entry))
      return Status::corruption("database " + dir_ + ": undecodable record in history");
    if (!fn(entry)) break;
  }
  return from_rocks(it->status(), "reading " + dir_);
}

Expected<std::optional<HistoryEntry>> GalleryStore::history(uint64_t id) const {
  if (!history_) return std::optional<HistoryEntry>();
  return get_record<HistoryEntry>(history_, id_key(id));
}

namespace {

// Whether `value` is a record of type T that this version can read.
template <typename T>
bool decodes(const std::string& value) {
  T record;
  return decode(value, &record);
}

}  // namespace

Status GalleryStore::verify_every_record(std::vector<std::string>* problems) const {
  if (rocksdb::Status s = db_->VerifyChecksum(); !s.ok())
    problems->push_back("RocksDB files fail their checksums: " + s.ToString());
  for (auto* h : handles_) {
    const std::string cf = h->GetName();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
    uint64_t bad = 0;
    std::string first_bad;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString(), value = it->value().ToString();
      bool ok = true;
      if (h == photos_)
        ok = decodes<Photo>(value);
      else if (h == faces_)
        ok = decodes<Face>(value);
      else if (h == persons_)
        ok = decodes<Person>(value);
      else if (h == history_)
        ok = decodes<HistoryEntry>(value);
      else if (h == paths_ || h == person_names_)
        ok = value.size() == 8;
      else if (h == hashes_)
        ok = (key.size() == 72 || (key.rfind(kPixelsPrefix, 0) == 0 && key.size() > 11)) && value.empty();
      else if (h == person_faces_)
        ok = key.size() == 16 && value.empty();
      else if (h == vector_log_)
        ok = key.size() == 8 && value.size() == 9;
      if (!ok && bad++ == 0) first_bad = key.size() == 8 ? "key " + std::to_string(id_from_key(key)) : "a key";
    }
    if (!it->status().ok()) problems->push_back("column family " + cf + " cannot be read: " + it->status().ToString());
    if (bad)
      problems->push_back("column family " + cf + " holds " + std::to_string(bad) +
                          " undecodable entries (first: " + first_bad + ")");
  }
  return Status::ok();
}

GalleryBatch GalleryStore::new_batch() { return GalleryBatch(this); }

Status GalleryStore::commit(GalleryBatch& batch, bool sync) {
  if (read_only_) return Status::io_error("database " + dir_ + " is open read-only");
  auto& b = *batch.batch_;
  b.Put(meta_, kMetaNextPhoto, std::to_string(next_photo_id_));
  b.Put(meta_, kMetaNextFace, std::to_string(next_face_id_));
  b.Put(meta_, kMetaNextPerson, std::to_string(next_person_id_));
  b.Put(meta_, kMetaNextLogSeq, std::to_string(next_log_seq_));
  b.Put(meta_, kMetaNextCluster, std::to_string(next_cluster_id_));
  b.Put(meta_, kMetaNextHistory, std::to_string(next_history_id_));
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  if (Status s = written(db_->Write(wo, &b), "writing to " + dir_); !s) return s;
  return sync ? write_commit_mark() : Status::ok();
}

Status GalleryStore::write_commit_mark() {
  const std::string path = dir_ + "/" + kCommitFile, tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return Status::io_error(tmp + ": cannot create (" + std::strerror(errno) + ")");
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::fprintf(f, "%llu %lld\n", (unsigned long long)db_->GetLatestSequenceNumber(), now);
  const bool written = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::io_error(path + ": cannot write (" + std::strerror(errno) + ", disk full?)");
  }
  return Status::ok();
}

Status GalleryStore::trim_vector_log(uint64_t upto_seq) {
  if (upto_seq <= log_trimmed_upto_) return Status::ok();
  rocksdb::WriteBatch b;
  b.DeleteRange(vector_log_, id_key(0), id_key(upto_seq + 1));
  b.Put(meta_, kMetaLogTrimmed, std::to_string(upto_seq));
  if (Status s = written(db_->Write(rocksdb::WriteOptions(), &b), "trimming the vector log"); !s) return s;
  log_trimmed_upto_ = upto_seq;
  return Status::ok();
}

Status GalleryStore::clear_purge_pending() {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (Status s = written(db_->Delete(wo, meta_, kMetaPurgePending), "writing metadata"); !s) return s;
  purge_pending_ = false;
  return Status::ok();
}

Status GalleryStore::compact() {
  if (read_only_) return Status::io_error("database " + dir_ + " is open read-only");
  if (Status s = written(db_->FlushWAL(true), "flushing " + dir_); !s) return s;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : handles_) {
    if (Status s = written(db_->Flush(rocksdb::FlushOptions(), h), "flushing " + dir_); !s) return s;
    if (Status s = written(db_->CompactRange(options, h, nullptr, nullptr), "compacting " + dir_); !s) return s;
  }
  return Status::ok();
}

Expected<GalleryStore::Counts> GalleryStore::counts() const {
  Counts c;
  Status s = for_each_photo([&](const Photo& p) {
    ++c.photos;
    if (p.status == PhotoStatus::kFailed) ++c.photos_failed;
    c.faces += p.face_ids.size();
    return true;
  });
  if (!s) return s;
  s = for_each_person([&](const Person&) {
    ++c.persons;
    return true;
  });
  if (!s) return s;
  return c;
}

uint64_t GalleryStore::disk_bytes() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  return total;
}

}  // namespace facedex::storage
