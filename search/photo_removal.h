// Removing photos on purpose: `facedex prune` (photos whose files have been
// missing for a while) and `facedex forget --path` (photos under a path). A
// file that merely vanished is never removed by `index` (its names would go
// with it); these are the explicit, confirmed ways.
#pragma once

#include <string>
#include <vector>

#include "storage/gallery.h"

namespace facedex::search {

struct PhotoRemovalPlan {
  std::vector<storage::Photo> photos;
  uint64_t faces = 0;        // faces of those photos
  uint64_t named_faces = 0;  // ... of which named (user or automatic)
};

// Stored photos at `path` or under it (an absolute path).
Expected<PhotoRemovalPlan> photos_under(const storage::GalleryStore& store, const std::string& path);

// Photos marked missing whose files are still gone, missing for at least
// `min_days`; only under `roots` when any are given.
Expected<PhotoRemovalPlan> missing_photos(const storage::GalleryStore& store, double min_days,
                                          const std::vector<std::string>& roots);

// Deletes the photos with their faces, descriptors and thumbnails; rewrites
// the vector index file and compacts RocksDB so the bytes leave the disk.
Status remove_photos(storage::Gallery& gallery, const PhotoRemovalPlan& plan, const std::string& why);

}  // namespace facedex::search
