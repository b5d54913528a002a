#include "indexer/index_run.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <iterator>
#include <set>
#include <thread>
#include <variant>

#include "indexer/bounded_queue.h"
#include "indexer/crawler.h"
#include "util/sha256.h"

namespace facedex::indexer {
namespace {

using Clock = std::chrono::steady_clock;

struct WorkItem {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::optional<storage::Photo> existing;  // stored record for this path, if any
};

// What a worker found out about one file.
struct Outcome {
  // kStoreFailed: the gallery could not be read; the run stops (a damaged
  // database is not the photo's fault).
  // kRedetected: unchanged, but analysed by another detector than this run's:
  // faces and photo are this run's analysis, to add what it found anew.
  // kSamePixels: new bytes, the stored upright pixels (a metadata edit).
  enum Kind { kTouched, kSameContentAs, kAnalyzed, kRedetected, kSamePixels, kFailed, kStoreFailed } kind = kFailed;
  WorkItem item;
  std::string hash;
  std::string pixels_hash;              // kAnalyzed, kRedetected, kSamePixels
  std::vector<uint64_t> same_content;   // kSameContentAs: stored, indexed photos with this content
  storage::Photo photo;                 // kAnalyzed, kRedetected; kSamePixels: taken_at only
  std::vector<storage::Face> faces;     // kAnalyzed
  std::vector<models::FaceChip> chips;  // kAnalyzed, one per face until described
  std::string note;                     // kAnalyzed: the decoder's notice, if any
  Status error;                         // kFailed
};

int64_t mtime_ns_of(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec; }

// What the detector sees: the decoded upright pixels, with their size.
std::string pixels_hash_of(const cv::Mat& rgb) {
  const cv::Mat dense = rgb.isContinuous() ? rgb : rgb.clone();
  return std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + ":" +
         sha256_hex(dense.data, dense.total() * dense.elemSize());
}

bool is_transient(const std::string& kind) { return kind == "unreadable" || kind == "vanished"; }

// A face found again by another detector overlaps its stored box at least this
// much (HOG's square boxes and the CNN's taller ones overlap ~0.5-0.7).
constexpr double kSameFaceIou = 0.3;

models::FaceBox as_face_box(const storage::Box& b) { return {b.left, b.top, b.right, b.bottom}; }

// `link` is a symbolic link whose target is the file at `path`.
bool link_to_same_file(const std::string& link, const std::string& path) {
  struct stat l {
  }, a{}, b{};
  return ::lstat(link.c_str(), &l) == 0 && S_ISLNK(l.st_mode) && ::stat(link.c_str(), &a) == 0 &&
         ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Reads, hashes, decodes and detects one photo at a time, and describes the
// faces of several photos in one call: the network runs faster per face in
// batches, and Winograd's convolutions start at 8 chips (benchmarks/RESULTS.md,
// descriptor efficiency).
class Worker {
 public:
  // Faces whose descriptors are computed together (each also mirrored: 16 chips).
  static constexpr size_t kFacesPerBatch = 8;

  Worker(std::shared_ptr<const models::FaceModels> models, const storage::GalleryStore& store,
         const IndexOptions& options)
      : models_(std::move(models)), store_(store), options_(options) {}

  // Work items in, outcomes out, until `work` is closed and drained. Analysed
  // photos wait for descriptors until kFacesPerBatch faces are pending or no
  // more work is waiting, so that a slow crawl never holds a photo back.
  template <typename Work, typename Emit>
  void run(Work& work, Emit emit) {
    std::vector<Outcome> pending;
    size_t pending_faces = 0;
    auto flush = [&] {
      describe(pending);
      for (Outcome& o : pending) emit(std::move(o));
      pending.clear();
      pending_faces = 0;
    };
    for (;;) {
      std::optional<WorkItem> item = pending.empty() ? work.pop() : work.try_pop();
      if (!item) {
        if (pending.empty()) return;  // closed and drained
        flush();
        continue;
      }
      Outcome o = process(std::move(*item));
      // Faces another detector found need descriptors too, as new photos' do.
      if ((o.kind != Outcome::kAnalyzed && o.kind != Outcome::kRedetected) || o.faces.empty()) {
        emit(std::move(o));
        continue;
      }
      pending_faces += o.faces.size();
      pending.push_back(std::move(o));
      if (pending_faces >= kFacesPerBatch) flush();
    }
  }

 private:
  // Everything but the descriptors.
  Outcome process(WorkItem item) {
    Outcome out;
    out.item = std::move(item);
    try {
      analyse(out);
    } catch (const std::bad_alloc&) {
      out.kind = Outcome::kFailed;
      out.error = Status::unsupported(out.item.path + ": out of memory while decoding (photo too large)")
                      .because(Status::Reason::kTooLarge);
    } catch (const std::exception& e) {
      out.kind = Outcome::kFailed;
      out.error = Status::internal(out.item.path + ": internal error while analysing (" + e.what() + ")");
    }
    return out;
  }

  // The descriptors of every face of `batch` in one call.
  void describe(std::vector<Outcome>& batch) {
    std::vector<models::FaceChip> chips;
    for (Outcome& o : batch)
      chips.insert(chips.end(), std::make_move_iterator(o.chips.begin()), std::make_move_iterator(o.chips.end()));
    const auto descriptors = pipeline_->describe(chips);
    size_t next = 0;
    for (Outcome& o : batch) {
      if (descriptors) {
        for (storage::Face& f : o.faces) f.descriptor = (*descriptors)[next++];
      } else {
        o.kind = Outcome::kFailed;
        o.error = descriptors.status().prefixed(o.item.path + ": internal error while describing faces: ");
        o.faces.clear();
      }
      o.chips = {};  // moved into the batch above
    }
  }

  void analyse(Outcome& out) {
    const WorkItem& item = out.item;
    auto bytes = models::read_file_bytes(item.path, options_.decode.max_file_bytes);
    if (!bytes) return fail(out, bytes.status());
    out.hash = sha256_hex(*bytes);
    const bool redetect = item.existing && item.existing->content_hash == out.hash &&
                          item.existing->status == storage::PhotoStatus::kIndexed &&
                          item.existing->detector != detector_name();
    if (item.existing && item.existing->content_hash == out.hash && !redetect) {
      out.kind = Outcome::kTouched;
      return;
    }
    if (!redetect)
      if (Status s = other_indexed_photos(store_.photo_ids_by_hash(out.hash), item, &out.same_content); !s)
        return store_failed(out, s);
    if (!out.same_content.empty()) {
      out.kind = Outcome::kSameContentAs;
      return;
    }
    auto decoded = models::decode_photo(item.path, *bytes, options_.decode);
    if (!decoded) return fail(out, decoded.status());
    bytes->clear();
    bytes->shrink_to_fit();
    out.pixels_hash = pixels_hash_of(decoded->rgb);
    // Tags or a date written into the file change its bytes, not what the
    // detector sees: the faces stay, with their ids, names and clusters.
    if (item.existing && !redetect && item.existing->status == storage::PhotoStatus::kIndexed &&
        item.existing->detector == detector_name() && item.existing->pixels_hash == out.pixels_hash) {
      out.kind = Outcome::kSamePixels;
      out.photo.taken_at = decoded->taken_at;
      return;
    }
    // ...and when such a file was also moved or copied, its pixels find it.
    if (!redetect)
      if (Status s = other_indexed_photos(store_.photo_ids_by_pixels(out.pixels_hash), item, &out.same_content); !s)
        return store_failed(out, s);
    if (!out.same_content.empty()) {
      out.kind = Outcome::kSameContentAs;
      out.photo.taken_at = decoded->taken_at;
      return;
    }
    // The network is loaded on the first photo that needs it: a re-run where
    // everything is unchanged, moved or edited in its metadata never pays for it.
    if (!pipeline_) {
      auto pipeline = models::FacePipeline::create(models_);
      if (!pipeline) return fail(out, pipeline.status());
      pipeline_ = std::move(*pipeline);
    }

    storage::Photo& photo = out.photo;
    photo.path = item.path;
    photo.size = item.size;
    photo.mtime_ns = item.mtime_ns;
    photo.content_hash = out.hash;
    photo.pixels_hash = out.pixels_hash;
    photo.width = decoded->rgb.cols;
    photo.height = decoded->rgb.rows;
    photo.orientation = decoded->orientation;
    photo.format = decoded->format;
    photo.taken_at = decoded->taken_at;
    out.note = decoded->note;
    photo.status = storage::PhotoStatus::kIndexed;
    photo.detector = detector_name();
    const std::string& model = pipeline_->model_set().fingerprint;
    for (auto& detected : pipeline_->detect(decoded->rgb, options_.detect)) {
      storage::Face f;
      const auto& b = detected.box;
      f.box = {b.left, b.top, b.right, b.bottom};
      f.score = float(detected.score);
      f.landmarks = std::move(detected.landmarks);
      f.model = model;  // the descriptor comes in describe()
      f.thumbnail_jpeg = models::encode_thumbnail_jpeg(detected.chip);
      out.faces.push_back(std::move(f));
      out.chips.push_back(std::move(detected.chip));
    }
    out.kind = redetect ? Outcome::kRedetected : Outcome::kAnalyzed;
  }

  const char* detector_name() const { return models::detector_record_name(models_->detector_kind()); }

  // Of `ids`, the indexed photos other than the one stored at this path.
  Status other_indexed_photos(const Expected<std::vector<uint64_t>>& ids, const WorkItem& item,
                              std::vector<uint64_t>* out) const {
    if (!ids) return ids.status();
    for (uint64_t id : *ids) {
      if (item.existing && id == item.existing->id) continue;
      auto p = store_.photo(id);
      if (!p) return p.status();
      if (*p && (*p)->status == storage::PhotoStatus::kIndexed) out->push_back(id);
    }
    return Status::ok();
  }

  static void fail(Outcome& out, const Status& s) {
    out.kind = Outcome::kFailed;
    out.error = s;
  }
  static void store_failed(Outcome& out, const Status& s) {
    out.kind = Outcome::kStoreFailed;
    out.error = s;
  }

  std::shared_ptr<const models::FaceModels> models_;
  std::unique_ptr<models::FacePipeline> pipeline_;
  const storage::GalleryStore& store_;
  const IndexOptions& options_;
};

// The single thread that writes: it alone decides moves and copies, against the
// committed store plus what it has itself done in this run.
class Writer {
 public:
  Writer(storage::Gallery& gallery, const IndexOptions& options, IndexSummary& summary, const ProblemFn& problem)
      : gallery_(gallery),
        options_(options),
        summary_(summary),
        problem_(problem),
        batch_(gallery.store().new_batch()),
        last_commit_(Clock::now()),
        last_save_(Clock::now()) {}

  Status apply(Outcome& o) {
    switch (o.kind) {
      case Outcome::kTouched:
        touched(o);
        break;
      case Outcome::kSameContentAs:
        if (Status s = same_content(o); !s) return s;
        break;
      case Outcome::kAnalyzed:
        if (Status s = analysed(o); !s) return s;
        break;
      case Outcome::kRedetected:
        if (Status s = redetected(o); !s) return s;
        break;
      case Outcome::kSamePixels:
        same_pixels(o);
        break;
      case Outcome::kFailed:
        failed(o);
        break;
      case Outcome::kStoreFailed:
        return o.error;
    }
    ++pending_;
    return maybe_commit(false);
  }

  Status maybe_commit(bool force) {
    const auto now = Clock::now();
    if (pending_ == 0 && !force) return Status::ok();
    if (force || pending_ >= options_.commit_photos ||
        std::chrono::duration<double>(now - last_commit_).count() >= options_.commit_seconds) {
      if (!batch_.empty()) {
        if (Status s = gallery_.commit(batch_, force); !s) return s;
      }
      batch_ = gallery_.store().new_batch();
      pending_ = 0;
      last_commit_ = now;
    }
    if (force || std::chrono::duration<double>(now - last_save_).count() >= options_.save_vectors_seconds) {
      if (Status s = gallery_.save_vectors(); !s) return s;
      last_save_ = now;
    }
    return Status::ok();
  }

  // Marks stored photos under the roots whose files are gone as missing; they
  // keep their faces and names. Warns about roots that are missing, empty, or
  // lost most of their photos at once. found_per_root: photo files found.
  Status mark_missing(const std::vector<std::string>& roots, const std::vector<uint64_t>& found_per_root) {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::vector<uint64_t> stored(roots.size(), 0), vanished(roots.size(), 0);
    std::vector<storage::Photo> gone;
    Status s = gallery_.store().for_each_photo([&](const storage::Photo& p) {
      for (size_t r = 0; r < roots.size(); ++r) {
        if (!path_is_under(p.path, roots[r])) continue;
        ++stored[r];
        if (path_exists(p.path)) break;
        ++summary_.missing;
        ++vanished[r];
        if (!p.missing_since && !options_.keep_missing) gone.push_back(p);
        break;
      }
      return true;
    });
    if (!s) return s;
    for (auto& p : gone) {
      p.missing_since = now;
      batch_.update_photo(p);
      ++summary_.newly_missing;
      ++pending_;
      if (Status c = maybe_commit(false); !c) return c;
    }
    for (size_t r = 0; r < roots.size(); ++r) {
      if (!stored[r] || !vanished[r]) continue;
      const std::string kept = std::to_string(vanished[r]) + " of its " + std::to_string(stored[r]) +
                               " stored photos are kept with their faces and names, marked missing (facedex prune "
                               "removes them)";
      if (!path_exists(roots[r]))
        summary_.warnings.push_back(roots[r] + " is missing (unmounted?): " + kept);
      else if (found_per_root[r] == 0)
        summary_.warnings.push_back(roots[r] + " holds no photos now: " + kept);
      else if (2 * vanished[r] > stored[r])
        summary_.warnings.push_back("most photos under " + roots[r] + " are gone: " + kept);
    }
    return Status::ok();
  }

 private:
  void touched(Outcome& o) {
    storage::Photo p = *o.item.existing;
    p.size = o.item.size;
    p.mtime_ns = o.item.mtime_ns;
    if (p.missing_since) ++summary_.restored;
    p.missing_since = 0;
    batch_.update_photo(p);
    if (p.status == storage::PhotoStatus::kFailed) {
      count_failure(p.path, p.failure_kind, p.failure);
    } else {
      ++summary_.unchanged;
    }
  }

  void same_pixels(Outcome& o) {
    storage::Photo p = *o.item.existing;
    p.size = o.item.size;
    p.mtime_ns = o.item.mtime_ns;
    p.content_hash = o.hash;  // the tags are read again: they are what changed, perhaps
    p.taken_at = o.photo.taken_at;
    if (p.missing_since) ++summary_.restored;
    p.missing_since = 0;
    batch_.update_photo(p, &*o.item.existing);
    ++summary_.metadata_edited;
  }

  // The bytes of a stored photo, or its pixels under other metadata
  // (o.pixels_hash set: decoded).
  Status same_content(Outcome& o) {
    const bool decoded = !o.pixels_hash.empty();
    // A move: same content stored under a path that no longer exists, or
    // under a link to this very file (stored by a run that followed links
    // before their real paths were used).
    for (uint64_t id : o.same_content) {
      if (moved_.count(id)) continue;
      auto src = gallery_.store().photo(id);
      if (!src) return src.status();
      if (!*src || (path_exists((*src)->path) && !link_to_same_file((*src)->path, o.item.path))) continue;
      if (o.item.existing) remove_existing(*o.item.existing);
      storage::Photo p = **src;
      p.path = o.item.path;
      p.size = o.item.size;
      p.mtime_ns = o.item.mtime_ns;
      p.content_hash = o.hash;
      if (decoded) p.taken_at = o.photo.taken_at;
      if (p.missing_since) ++summary_.restored;
      p.missing_since = 0;
      batch_.update_photo(p, &**src);
      moved_.insert(id);
      ++summary_.moved;
      return Status::ok();
    }
    // A copy: reuse the descriptors (and any names) of the stored original.
    auto src = gallery_.store().photo(o.same_content.front());
    if (!src) return src.status();
    if (!*src)
      return Status::corruption("photo " + std::to_string(o.same_content.front()) + " vanished from the store");
    std::vector<storage::Face> faces;
    for (uint64_t fid : (*src)->face_ids) {
      auto f = gallery_.store().face(fid);
      if (!f) return f.status();
      if (!*f) continue;
      storage::Face copy = **f;
      copy.id = 0;
      faces.push_back(std::move(copy));
    }
    storage::Photo p = **src;
    take_place_of_existing(o.item, &p);
    p.content_hash = o.hash;
    if (decoded) p.taken_at = o.photo.taken_at;
    p.tags_read.clear();  // another file: its own tags
    batch_.add_photo(p, faces);
    ++summary_.copied;
    summary_.faces_added += faces.size();
    return Status::ok();
  }

  Status analysed(Outcome& o) {
    storage::Photo& p = o.photo;
    p.indexed_at =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (o.item.existing) {
      // Names given to faces survive a re-index when the face itself did not
      // change: a sixth of the model's same-person distance (0.1 for dlib's).
      const float same_face_distance = gallery_.store().same_person_distance() / 6;
      for (uint64_t fid : o.item.existing->face_ids) {
        auto old = gallery_.store().face(fid);
        if (!old) return old.status();
        if (!*old || storage::labels_of(**old) == storage::FaceLabels{}) continue;
        for (auto& f : o.faces)
          if (f.person_id == 0 && descriptor_distance(f.descriptor, (*old)->descriptor) < same_face_distance) {
            // The name with who gave it, and what the face is not.
            storage::set_labels(&f, storage::labels_of(**old));
            break;
          }
      }
    }
    take_place_of_existing(o.item, &p);
    batch_.add_photo(p, o.faces);
    ++summary_.indexed;
    if (!o.note.empty()) {
      problem_(o.item.path, o.note);
      if (summary_.notices.size() < 1000) summary_.notices.emplace_back(o.item.path, o.note);
    }
    summary_.faces_added += o.faces.size();
    return Status::ok();
  }

  // Another detector analysed this photo: every face it has is kept as it is
  // (id, descriptor, name, cluster); the faces this detector found that no
  // stored face overlaps are added.
  Status redetected(Outcome& o) {
    storage::Photo p = *o.item.existing;
    std::vector<storage::Box> old_boxes;
    for (uint64_t fid : p.face_ids) {
      auto f = gallery_.store().face(fid);
      if (!f) return f.status();
      if (*f) old_boxes.push_back((*f)->box);
    }
    std::vector<bool> old_taken(old_boxes.size(), false), found_again(o.faces.size(), false);
    // Best overlaps first, each stored face matched once.
    std::vector<std::tuple<double, size_t, size_t>> overlaps;
    for (size_t n = 0; n < o.faces.size(); ++n)
      for (size_t k = 0; k < old_boxes.size(); ++k)
        if (const double v = models::box_overlap(as_face_box(o.faces[n].box), as_face_box(old_boxes[k]));
            v >= kSameFaceIou)
          overlaps.emplace_back(v, n, k);
    std::sort(overlaps.begin(), overlaps.end(),
              [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
    for (const auto& [v, n, k] : overlaps)
      if (!found_again[n] && !old_taken[k]) found_again[n] = old_taken[k] = true;
    std::vector<storage::Face> added;
    for (size_t n = 0; n < o.faces.size(); ++n)
      if (!found_again[n]) added.push_back(std::move(o.faces[n]));
    p.size = o.item.size;
    p.mtime_ns = o.item.mtime_ns;
    if (p.missing_since) ++summary_.restored;
    p.missing_since = 0;
    p.detector = o.photo.detector;
    p.pixels_hash = o.pixels_hash;
    p.tags_read.clear();  // the faces it added may be under a photo's tags
    batch_.add_faces(p, added);
    ++summary_.redetected;
    summary_.faces_added += added.size();
    summary_.faces_found_again += o.faces.size() - added.size();
    summary_.faces_added_by_redetection += added.size();
    return Status::ok();
  }

  void failed(Outcome& o) {
    problem_(o.item.path, o.error.message());
    // A bug is not the photo's fault: nothing is stored for it, and the next run tries it again.
    if (o.error.code() == Status::Code::kInternal) {
      if (summary_.internal_errors.size() < 1000) summary_.internal_errors.emplace_back(o.item.path, o.error.message());
      return;
    }
    const std::string kind = failure_kind(o.error);
    count_failure(o.item.path, kind, o.error.message());
    // A file we could not read this time keeps what was indexed from it before.
    if (is_transient(kind) && o.item.existing) return;
    storage::Photo p;
    take_place_of_existing(o.item, &p);
    p.content_hash = o.hash;
    p.status = storage::PhotoStatus::kFailed;
    p.failure = o.error.message();
    p.failure_kind = kind;
    std::vector<storage::Face> none;
    batch_.add_photo(p, none);
  }

  // The new record for a file replaces the one stored for its path (same id,
  // old faces removed) and carries the file's current path, size and mtime.
  void take_place_of_existing(const WorkItem& item, storage::Photo* p) {
    p->id = 0;
    if (item.existing) {
      remove_existing(*item.existing);
      p->id = item.existing->id;
    }
    p->path = item.path;
    p->size = item.size;
    p->mtime_ns = item.mtime_ns;
  }

  void remove_existing(const storage::Photo& existing) {
    summary_.faces_removed += existing.face_ids.size();
    batch_.remove_photo(existing);
  }

  void count_failure(const std::string& path, const std::string& kind, const std::string& reason) {
    ++summary_.failed;
    ++summary_.failures_by_kind[kind];
    if (summary_.failures.size() < 1000) summary_.failures.emplace_back(path, reason);
  }

  storage::Gallery& gallery_;
  const IndexOptions& options_;
  IndexSummary& summary_;
  const ProblemFn& problem_;
  storage::GalleryBatch batch_;
  size_t pending_ = 0;
  Clock::time_point last_commit_, last_save_;
  std::set<uint64_t> moved_;
};

}  // namespace

std::string failure_kind(const Status& status) {
  switch (status.reason()) {
    case Status::Reason::kEmpty:
      return "empty file";
    case Status::Reason::kTruncated:
      return "truncated";
    case Status::Reason::kNotAnImage:
      return "not an image";
    case Status::Reason::kTooLarge:
      return "too large";
    case Status::Reason::kCorrupt:
      return "corrupt";
    case Status::Reason::kUnsupportedFormat:
      return "unsupported format";
    case Status::Reason::kNone:
      break;
  }
  switch (status.code()) {
    case Status::Code::kNotFound:
      return "vanished";
    case Status::Code::kIoError:
      return "unreadable";
    case Status::Code::kUnsupported:
      return "unsupported format";
    case Status::Code::kInvalidInput:
      return "corrupt";
    case Status::Code::kInternal:
      return "internal error";
    default:
      return "other";
  }
}

Expected<IndexSummary> run_index(storage::Gallery& gallery, std::shared_ptr<const models::FaceModels> face_models,
                                 const std::vector<std::string>& roots_arg, const IndexOptions& options,
                                 const ProgressFn& progress, const ProblemFn& problem) {
  const auto start = Clock::now();
  if (Status s = gallery.store().bind_model(face_models->model_set().fingerprint,
                                            face_models->model_set().same_person_distance,
                                            face_models->model_set().descriptor_dims);
      !s)
    return s;

  std::vector<std::string> roots;
  for (const auto& r : roots_arg) roots.push_back(absolute_path(r));
  const std::string detector = models::detector_record_name(face_models->detector_kind());
  const int jobs = options.jobs > 0 ? options.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  models::set_blas_threads(1);
  models::set_cnn_threads(1);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < jobs; ++i) workers.push_back(std::make_unique<Worker>(face_models, gallery.store(), options));

  IndexSummary summary;
  std::atomic<uint64_t> found{0}, done{0}, counted{0};
  std::atomic<bool> crawl_done{false}, count_done{false};
  BoundedQueue<WorkItem> work(size_t(2 * jobs));
  BoundedQueue<Outcome> outcomes(size_t(2 * jobs));
  Writer writer(gallery, options, summary, problem);
  Status writer_status;
  std::mutex summary_mu;  // the crawler counts unchanged photos while the writer counts the rest

  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back(
        [&, worker = w.get()] { worker->run(work, [&outcomes](Outcome o) { outcomes.push(std::move(o)); }); });

  auto last_progress = Clock::now() - std::chrono::seconds(1);
  auto report = [&](bool force) {
    const auto now = Clock::now();
    if (!progress || (!force && now - last_progress < std::chrono::milliseconds(200))) return;
    last_progress = now;
    std::lock_guard<std::mutex> lock(summary_mu);
    // The crawler waits on the workers, so its count lags: a separate walk that
    // only counts gives the total (and so an ETA) early.
    const bool total_known = crawl_done.load() || count_done.load();
    const uint64_t total = crawl_done.load() ? found.load() : std::max(found.load(), counted.load());
    progress(
        {total, done.load(), summary.faces_added, total_known, std::chrono::duration<double>(now - start).count()});
  };

  std::thread writer_thread([&] {
    while (auto o = outcomes.pop()) {
      if (writer_status) {
        std::lock_guard<std::mutex> lock(summary_mu);
        writer_status = writer.apply(*o);
      }
      ++done;
      report(false);
    }
    if (writer_status) {
      std::lock_guard<std::mutex> lock(summary_mu);
      writer_status = writer.maybe_commit(true);
    }
  });

  CrawlOptions crawl_options;
  crawl_options.follow_symlinks = options.follow_symlinks;
  crawl_options.excludes = options.excludes;
  crawl_options.skip_dirs = {gallery.store().dir()};
  std::thread counter;
  if (progress)
    counter = std::thread([&] {
      crawl(
          roots, crawl_options, [&](const std::string&, const struct stat&) { ++counted; },
          [](const std::string&, const std::string&) {});
      count_done = true;
    });
  Status crawl_status;
  std::vector<uint64_t> found_per_root(roots.size(), 0);
  const CrawlStats crawl_stats = crawl(
      roots, crawl_options,
      [&](const std::string& path, const struct stat& st) {
        ++found;
        WorkItem item{path, uint64_t(st.st_size), mtime_ns_of(st), std::nullopt};
        auto existing = gallery.store().photo_by_path(path);
        if (!existing) {
          crawl_status = existing.status();
          return;
        }
        item.existing = std::move(*existing);
        for (size_t r = 0; r < roots.size(); ++r)
          if (path_is_under(path, roots[r])) ++found_per_root[r];
        // A photo marked missing that is back goes to a worker, which finds the
        // same content and clears the mark.
        if (item.existing && item.existing->size == item.size && item.existing->mtime_ns == item.mtime_ns &&
            !item.existing->missing_since &&
            (item.existing->status == storage::PhotoStatus::kFailed || item.existing->detector == detector) &&
            !(item.existing->status == storage::PhotoStatus::kFailed && is_transient(item.existing->failure_kind))) {
          std::lock_guard<std::mutex> lock(summary_mu);
          if (item.existing->status == storage::PhotoStatus::kFailed) {
            ++summary.failed;
            ++summary.failures_by_kind[item.existing->failure_kind];
            if (summary.failures.size() < 1000) summary.failures.emplace_back(path, item.existing->failure);
          } else {
            ++summary.unchanged;
          }
          ++done;
          return;
        }
        work.push(std::move(item));
      },
      [&](const std::string& path, const std::string& reason) {
        problem(path, reason);
        std::lock_guard<std::mutex> lock(summary_mu);
        ++summary.failed;
        ++summary.failures_by_kind["unreadable"];
        if (summary.failures.size() < 1000) summary.failures.emplace_back(path, reason);
      });
  crawl_done = true;
  if (counter.joinable()) counter.join();
  work.close();
  for (auto& t : threads) t.join();
  outcomes.close();
  writer_thread.join();
  if (!crawl_status) return crawl_status;
  if (!writer_status) return writer_status;

  if (Status s = writer.mark_missing(roots, found_per_root); !s) return s;
  if (Status s = writer.maybe_commit(true); !s) return s;
  summary.seen = found.load();
  summary.skipped_symlinks = crawl_stats.skipped_symlinks;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report(true);
  return summary;
}

}  // namespace facedex::indexer
