#include "search/photo_removal.h"

#include <sys/stat.h>

#include "indexer/crawler.h"
#include "search/naming_change.h"

namespace facedex::search {
namespace {

Status add_to_plan(const storage::GalleryStore& store, const storage::Photo& p, PhotoRemovalPlan* plan) {
  plan->photos.push_back(p);
  plan->faces += p.face_ids.size();
  for (uint64_t fid : p.face_ids) {
    auto f = store.face(fid);
    if (!f) return f.status();
    if (*f && (*f)->person_id) ++plan->named_faces;
  }
  return Status::ok();
}

}  // namespace

Expected<PhotoRemovalPlan> photos_under(const storage::GalleryStore& store, const std::string& path) {
  std::string root = path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  PhotoRemovalPlan plan;
  Status inner;
  Status s = store.for_each_photo([&](const storage::Photo& p) {
    if (indexer::path_is_under(p.path, root)) inner = add_to_plan(store, p, &plan);
    return bool(inner);
  });
  if (!s) return s;
  if (!inner) return inner;
  return plan;
}

Expected<PhotoRemovalPlan> missing_photos(const storage::GalleryStore& store, double min_days,
                                          const std::vector<std::string>& roots) {
  const int64_t before = unix_seconds_now() - int64_t(min_days * 86400);
  PhotoRemovalPlan plan;
  Status inner;
  Status s = store.for_each_photo([&](const storage::Photo& p) {
    if (!p.missing_since || p.missing_since > before) return true;
    if (!roots.empty()) {
      bool under = false;
      for (const auto& r : roots) under = under || indexer::path_is_under(p.path, r);
      if (!under) return true;
    }
    struct stat st {};
    if (::lstat(p.path.c_str(), &st) == 0) return true;  // back since the last index run
    inner = add_to_plan(store, p, &plan);
    return bool(inner);
  });
  if (!s) return s;
  if (!inner) return inner;
  return plan;
}

Status remove_photos(storage::Gallery& gallery, const PhotoRemovalPlan& plan, const std::string& why) {
  if (plan.photos.empty()) return Status::ok();
  auto& store = gallery.store();
  size_t pending = 0;
  storage::GalleryBatch batch = store.new_batch();
  // In the first batch: whatever commits, an interruption is finished later.
  batch.mark_purge_pending();
  for (const auto& p : plan.photos) {
    batch.remove_photo(p);
    if (++pending >= 256) {
      if (Status s = gallery.commit(batch); !s) return s;
      batch = store.new_batch();
      pending = 0;
    }
  }
  record_deletion(batch, why + ": " + std::to_string(plan.photos.size()) + " photos and " + std::to_string(plan.faces) +
                             " faces deleted");
  if (Status s = gallery.commit(batch, true); !s) return s;
  return gallery.purge_deleted();
}

}  // namespace facedex::search
