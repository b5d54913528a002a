#include "storage/gallery.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace facedex::storage {
namespace {

constexpr const char* kVectorsFile = "vectors.faiss";
constexpr const char* kVectorsMagic = "facedex-vectors";
constexpr int kVectorsFormat = 1;

struct FileHeader {
  uint64_t applied_seq = 0;
  std::string index_type;
  std::string model;
  uint64_t count = 0;
};

bool read_header(FILE* f, FileHeader* h) {
  char line[512];
  if (!std::fgets(line, sizeof(line), f)) return false;
  std::istringstream in(line);
  std::string magic;
  int format = 0;
  in >> magic >> format >> h->applied_seq >> h->index_type >> h->model >> h->count;
  if (h->model == "-") h->model.clear();
  return in && magic == kVectorsMagic && format == kVectorsFormat;
}

}  // namespace

std::string Gallery::vectors_path() const { return store_->dir() + "/" + kVectorsFile; }

Expected<std::unique_ptr<Gallery>> Gallery::open(const std::string& dir, OpenMode mode, const NoticeFn& notice,
                                                 const std::string& index_type, size_t approximate_from,
                                                 bool accept_lost_writes) {
  if (!index_type.empty())
    if (Status s = check_index_type(index_type); !s) return s;
  auto store = GalleryStore::open(dir, mode, accept_lost_writes);
  if (!store) return store.status();
  if (!index_type.empty())
    if (Status s = check_index_type(index_type, (*store)->descriptor_dims()); !s) return s;
  std::unique_ptr<Gallery> g(new Gallery());
  g->store_ = std::move(*store);
  g->index_type_ = !index_type.empty()                ? index_type
                   : !g->store_->index_type().empty() ? g->store_->index_type()
                                                      : kDefaultIndexType;
  g->approximate_from_ = approximate_from;
  g->notice_ = notice;
  g->accept_lost_writes_ = accept_lost_writes;
  // An older facedex stored any string: one that is not runnable falls back.
  if (Status s = check_index_type(g->index_type_, g->store_->descriptor_dims()); !s) {
    if (notice) notice("the stored " + s.message() + "; using auto (facedex index --index-type TYPE changes it)");
    g->index_type_ = kDefaultIndexType;
  }
  Status loaded = g->load_or_rebuild(notice);
  if (!loaded && index_type.empty() && g->index_type_ != kDefaultIndexType) {
    // The stored type cannot be made from these faces: answer with auto rather than not at all.
    if (notice) notice(loaded.message() + "; using auto (facedex index --index-type TYPE changes it)");
    g->index_type_ = kDefaultIndexType;
    loaded = g->load_or_rebuild(notice);
  }
  if (!loaded) return loaded;
  if (mode == OpenMode::kReadWrite && g->store_->purge_pending()) {
    if (Status s = g->purge_deleted(); !s) return s;
    if (notice) notice("finished an interrupted deletion: the deleted faces' bytes have left the disk");
  }
  // Stored only once an index of that type was made from the faces: a type
  // FAISS cannot make here never reaches the store.
  if (!index_type.empty() && index_type != g->store_->index_type() && mode == OpenMode::kReadWrite) {
    if (Status s = g->store_->set_index_type(index_type); !s) return s;
  }
  return g;
}

Status Gallery::load_or_rebuild(const NoticeFn& notice) {
  const std::string path = vectors_path();
  std::string why;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    FileHeader h;
    if (!read_header(f, &h)) {
      why = "unreadable";
    } else if (index_type_ == kAutoIndexType ? !is_auto_index_choice(h.index_type) : h.index_type != index_type_) {
      why = "of type " + h.index_type + ", not " + index_type_;
    } else if (h.model != store_->model_fingerprint()) {
      why = "from another model";
    } else if (h.applied_seq > store_->last_log_seq() && !accept_lost_writes_) {
      // The file reflects commits RocksDB no longer has.
      std::fclose(f);
      return Status::corruption("database " + store_->dir() + " lost committed writes: " + path +
                                " holds changes up to log entry " + std::to_string(h.applied_seq) +
                                ", RocksDB only up to " + std::to_string(store_->last_log_seq()) +
                                " (its write-ahead log was damaged or deleted). Nothing was changed; restore the "
                                "folder from a backup, or keep what is left: facedex check --repair "
                                "--accept-lost-writes");
    } else if (h.applied_seq < store_->vector_log_trimmed_upto() || h.applied_seq > store_->last_log_seq()) {
      why = "out of step with the database";
    } else {
      auto index = read_faiss_index(f, h.index_type, store_->descriptor_dims(), auto_search_parameters(h.index_type));
      if (!index) {
        why = index.status().message();
      } else if ((*index)->size() != h.count) {
        why = "truncated";
      } else {
        vectors_ = std::move(*index);
        applied_seq_ = saved_seq_ = h.applied_seq;
      }
    }
    std::fclose(f);
  } else if (store_->last_log_seq() > 0) {
    why = "missing";
  }
  if (vectors_) {
    if (Status s = catch_up(); !s) return s;
    if (index_type_ != kAutoIndexType ||
        !auto_index_should_switch(vectors_->type(), vectors_->size(), approximate_from_))
      return Status::ok();
    why = "sized for another number of faces";
    vectors_.reset();
  }
  if (Status s = rebuild_vectors(); !s) return s;
  rebuilt_because_ = why;
  if (!why.empty() && notice)
    notice("vector index " + path + " was " + why + ": rebuilt from the " + std::to_string(vectors_->size()) +
           " faces in the database");
  return Status::ok();
}

Status Gallery::rebuild_vectors() {
  const uint64_t seq = store_->last_log_seq();
  std::vector<uint64_t> ids;
  std::vector<Descriptor> vecs;
  Status s = store_->for_each_face([&](const Face& f) {
    ids.push_back(f.id);
    vecs.push_back(f.descriptor);
    return true;
  });
  if (!s) return s;
  const std::string type = index_type_ == kAutoIndexType ? auto_index_type(ids.size(), approximate_from_) : index_type_;
  auto index = make_trained_faiss_index(type, store_->descriptor_dims(), vecs, auto_search_parameters(type));
  if (!index) return index.status();
  vectors_ = std::move(*index);
  vectors_->add(ids, vecs);
  applied_seq_ = seq;
  saved_seq_ = 0;
  return Status::ok();
}

Status Gallery::catch_up() {
  std::vector<uint64_t> add_ids, remove_ids;
  std::vector<Descriptor> add_vecs;
  Status lookup_error;
  auto flush = [&]() {
    vectors_->add(add_ids, add_vecs);
    vectors_->remove(remove_ids);
    add_ids.clear();
    add_vecs.clear();
    remove_ids.clear();
  };
  uint64_t last = applied_seq_;
  Status s = store_->for_each_vector_op(applied_seq_, [&](const VectorOp& op) {
    if (op.kind == VectorOp::kAdd) {
      if (!remove_ids.empty()) flush();
      auto face = store_->face(op.face_id);
      if (!face) {
        lookup_error = face.status();
        return false;
      }
      // A face added then removed later in the log is simply skipped.
      if (*face) {
        add_ids.push_back(op.face_id);
        add_vecs.push_back((*face)->descriptor);
      }
    } else {
      if (!add_ids.empty()) flush();
      remove_ids.push_back(op.face_id);
    }
    last = op.seq;
    return true;
  });
  if (!s) return s;
  if (!lookup_error) return lookup_error;
  flush();
  applied_seq_ = std::max(last, store_->last_log_seq());
  return Status::ok();
}

Status Gallery::commit(GalleryBatch& batch, bool sync) {
  // One model's descriptors, one length: FAISS reads each vector as that many floats.
  for (const auto& [id, descriptor] : batch.added())
    if (descriptor.size() != size_t(store_->descriptor_dims()))
      return Status::invalid_input("face " + std::to_string(id) + " has a " + std::to_string(descriptor.size()) +
                                   "-d descriptor; database " + store_->dir() + " holds " +
                                   std::to_string(store_->descriptor_dims()) + "-d ones");
  // The empty index made before the first model was bound may be of another length.
  if (vectors_->size() == 0 && vectors_->dims() != store_->descriptor_dims())
    if (Status s = rebuild_vectors(); !s) return s;
  if (Status s = store_->commit(batch, sync); !s) return s;
  std::vector<uint64_t> ids;
  std::vector<Descriptor> vecs;
  size_t next_add = 0;
  std::vector<uint64_t> removes;
  for (const VectorOp& op : batch.vector_ops()) {
    if (op.kind == VectorOp::kAdd) {
      if (!removes.empty()) vectors_->remove(removes), removes.clear();
      ids.push_back(batch.added()[next_add].first);
      vecs.push_back(batch.added()[next_add].second);
      ++next_add;
    } else {
      if (!ids.empty()) vectors_->add(ids, vecs), ids.clear(), vecs.clear();
      removes.push_back(op.face_id);
    }
    applied_seq_ = op.seq;
  }
  vectors_->add(ids, vecs);
  vectors_->remove(removes);
  return Status::ok();
}

Status Gallery::purge_deleted() {
  // The file must be rewritten even when it is "saved": it may predate the deletion.
  saved_seq_ = 0;
  if (Status s = save_vectors(); !s) return s;
  if (Status s = store_->compact(); !s) return s;
  if (Status s = store_->clear_purge_pending(); !s) return s;
  return store_->reopen();
}

Status Gallery::save_vectors() {
  if (store_->read_only()) return Status::io_error("database is open read-only");
  if (index_type_ == kAutoIndexType &&
      auto_index_should_switch(vectors_->type(), vectors_->size(), approximate_from_)) {
    const std::string was = vectors_->type();
    if (Status s = rebuild_vectors(); !s) return s;
    if (notice_)
      notice_("vector index switched from " + was + " to " + vectors_->type() + " for " +
              std::to_string(vectors_->size()) + " faces (exact search is slow beyond " +
              std::to_string(approximate_from_) + "; --index-type Flat forces it)");
  }
  if (vectors_->has_hidden_removals()) {
    if (Status s = rebuild_vectors(); !s) return s;
    if (notice_)
      notice_("vector index " + vectors_->type() + " cannot delete vectors: rebuilt without the removed faces");
  }
  if (saved_seq_ == applied_seq_ && saved_seq_ != 0) return Status::ok();
  const std::string path = vectors_path(), tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::io_error(tmp + ": cannot create (" + std::strerror(errno) + ")");
  const std::string model = store_->model_fingerprint().empty() ? "-" : store_->model_fingerprint();
  std::fprintf(f, "%s %d %llu %s %s %zu\n", kVectorsMagic, kVectorsFormat,
               static_cast<unsigned long long>(applied_seq_), vectors_->type().c_str(), model.c_str(),
               vectors_->size());
  Status s = write_faiss_index(*vectors_, f);
  const bool flushed = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (s && !flushed) s = Status::io_error(tmp + ": cannot write (" + std::strerror(errno) + ", disk full?)");
  if (!s) {
    std::remove(tmp.c_str());
    return s;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::io_error(path + ": cannot rename into place (" + std::strerror(errno) + ")");
  }
  if (int dfd = ::open(store_->dir().c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  saved_seq_ = applied_seq_;
  rebuilt_because_.clear();
  return store_->trim_vector_log(saved_seq_);
}

}  // namespace facedex::storage
