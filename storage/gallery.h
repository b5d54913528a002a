// A gallery = the RocksDB store (truth) + the FAISS index of its descriptors
// (derived). Opening brings the index up to date with the store; committing a
// batch applies it to both, store first.
//
// The index file (DIR/vectors.faiss) records the last vector-log sequence it
// reflects. On open: a missing, unreadable, stale-beyond-the-log, or
// other-type file is rebuilt from the faces; otherwise the log entries after
// its sequence are replayed. Saving is atomic (temp file, fsync, rename), after
// which the replayed log is trimmed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "storage/gallery_store.h"
#include "storage/index_choice.h"
#include "storage/vector_index.h"

namespace facedex::storage {

// Receives human-readable notices ("vector index was missing: rebuilt from 42 faces").
using NoticeFn = std::function<void(const std::string&)>;

class Gallery {
 public:
  // index_type: "auto" or a FAISS factory string; empty keeps the database's
  // ("auto" for a new one). A different type than the saved one rebuilds the
  // index. Under "auto" the index becomes IVF from `approximate_from` faces on
  // (storage/index_choice.h), switched when the vectors are saved, with a notice.
  static Expected<std::unique_ptr<Gallery>> open(const std::string& dir, OpenMode mode, const NoticeFn& notice,
                                                 const std::string& index_type = "",
                                                 size_t approximate_from = kApproximateIndexFaces,
                                                 bool accept_lost_writes = false);

  GalleryStore& store() { return *store_; }
  const GalleryStore& store() const { return *store_; }
  const VectorIndex& vectors() const { return *vectors_; }

  // Commits to RocksDB, then applies the batch's vector changes in memory.
  Status commit(GalleryBatch& batch, bool sync = false);
  // Writes the index file atomically and trims the log it covers. REQUIRES: writable.
  Status save_vectors();
  // After a committed deletion (GalleryBatch::mark_purge_pending): rewrites
  // the index file and compacts RocksDB so the deleted bytes leave the disk,
  // then clears the mark. Opening a writable gallery whose mark is set (a
  // deletion killed midway) does this first.
  Status purge_deleted();
  // Log entries applied in memory but not yet in the saved file.
  uint64_t unsaved_ops() const { return applied_seq_ - saved_seq_; }
  std::string vectors_path() const;

  // Why the index file could not be used on open ("missing", "unreadable"...):
  // it was rebuilt in memory and is not saved yet. Empty when it was used.
  const std::string& rebuilt_because() const { return rebuilt_because_; }

  // Rebuilds the in-memory index from every face in the store.
  Status rebuild_vectors();

 private:
  Gallery() = default;
  Status load_or_rebuild(const NoticeFn& notice);
  Status catch_up();

  std::unique_ptr<GalleryStore> store_;
  std::unique_ptr<VectorIndex> vectors_;
  std::string index_type_;  // as asked: "auto" or a factory string; vectors_->type() is what it is
  size_t approximate_from_ = kApproximateIndexFaces;
  NoticeFn notice_;
  std::string rebuilt_because_;
  bool accept_lost_writes_ = false;
  uint64_t applied_seq_ = 0;  // vector log entries reflected in memory
  uint64_t saved_seq_ = 0;    // ... and in the file
};

}  // namespace facedex::storage
