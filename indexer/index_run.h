// `facedex index`: turns photo folders into gallery records, incrementally.
//
// Stages, with bounded queues between them so memory stays flat whatever the
// collection size:
//   crawler (this thread): walk, stat, skip what is unchanged (size + mtime)
//   workers (one per core): read, hash, decode, detect, embed, thumbnail
//   writer: decide move / copy / re-index against the store, commit in batches
// Each photo commits atomically with its faces, so a kill at any moment loses
// at most the photos not yet committed; the next run redoes exactly those.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/face_pipeline.h"
#include "models/photo_decoder.h"
#include "storage/gallery.h"

namespace facedex::indexer {

struct IndexOptions {
  // Worker threads; 0 = one per core. Each runs its own single-threaded network
  // (one network per core beats one network with two BLAS threads here).
  int jobs = 0;
  models::DetectOptions detect;
  models::DecodeOptions decode;
  std::vector<std::string> excludes;  // fnmatch globs on path or name
  bool follow_symlinks = false;
  // Photos whose files are gone are never removed by an index run: they are
  // marked missing and keep their faces and names (`facedex prune` removes
  // them). With this set they are not even marked (kept for old scripts).
  bool keep_missing = false;
  // A batch commits after this many photos or this many seconds, whichever first.
  size_t commit_photos = 16;
  double commit_seconds = 2.0;
  // The vector index file is rewritten at most this often during a run (and at its end).
  double save_vectors_seconds = 120.0;
};

struct IndexProgress {
  uint64_t found = 0;       // photo files found so far
  uint64_t done = 0;        // of those, settled (unchanged, indexed, failed, ...)
  uint64_t faces = 0;       // faces added so far
  bool crawl_done = false;  // found is final
  double seconds = 0;
};

struct IndexSummary {
  uint64_t seen = 0;       // photo files found
  uint64_t indexed = 0;    // analysed (new or modified)
  uint64_t unchanged = 0;  // same size and mtime (or same content) as stored
  uint64_t moved = 0;      // same content found at a new path whose old path is gone: faces kept
  uint64_t copied = 0;     // same content as another stored photo: faces copied, not recomputed
  // Files whose bytes changed but not their upright pixels (tags or a date
  // written into them): faces kept as they were, the file's details updated.
  uint64_t metadata_edited = 0;
  // Unchanged photos that another detector had analysed, analysed again by
  // this run's: their faces are kept, and faces found anew added.
  uint64_t redetected = 0;
  uint64_t faces_found_again = 0;           // ... faces the new detector found again (kept as they were)
  uint64_t faces_added_by_redetection = 0;  // ... faces it found anew (counted in faces_added too)
  uint64_t removed = 0;                     // stored photos removed (an index run never removes photos now: always 0)
  uint64_t missing = 0;                     // stored photos under the roots whose files are gone (kept, marked missing)
  uint64_t newly_missing = 0;               // ... of which found missing in this run
  uint64_t restored = 0;                    // photos marked missing whose content is back (same path or another)
  uint64_t skipped_symlinks = 0;            // links not followed (--follow-symlinks follows them)
  // Roots that are missing, empty, or lost most of their photos at once: nothing
  // was removed, but the user should know (an unmounted drive?).
  std::vector<std::string> warnings;
  uint64_t failed = 0;  // could not be used this run (includes unchanged failures)
  uint64_t faces_added = 0;
  uint64_t faces_removed = 0;
  std::map<std::string, uint64_t> failures_by_kind;           // "truncated" -> 3
  std::vector<std::pair<std::string, std::string>> failures;  // (path, reason); first 1000
  std::vector<std::pair<std::string, std::string>> notices;   // (path, note) of indexed photos; first 1000
  // Photos a bug stopped (path, what): not counted as failed, nothing stored
  // for them, tried again by the next run; `facedex index` exits 5.
  std::vector<std::pair<std::string, std::string>> internal_errors;
  double seconds = 0;
};

using ProgressFn = std::function<void(const IndexProgress&)>;
// A file that could not be used, as it happens: path and reason.
using ProblemFn = std::function<void(const std::string& path, const std::string& reason)>;

// Fails only when the run itself cannot go on (database write error, model
// mismatch); bad photos are reported through `problem` and the summary.
Expected<IndexSummary> run_index(storage::Gallery& gallery, std::shared_ptr<const models::FaceModels> models,
                                 const std::vector<std::string>& roots, const IndexOptions& options,
                                 const ProgressFn& progress, const ProblemFn& problem);

// A short group name for a failure, for summaries: "truncated", "not an image"...
std::string failure_kind(const Status& status);

}  // namespace facedex::indexer
