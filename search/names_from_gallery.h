// A user's naming carried from another gallery of the same photos, one made
// with another model or detector: a gallery holds one model's descriptors, so
// switching model is a new gallery, and it must not lose a name or a split.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "search/face_tags.h"
#include "storage/gallery.h"

namespace facedex::search {

struct NamesFromResult {
  TagImportResult names;              // the names a user gave, matched and counted as face tags are
  uint64_t faces_matched = 0;         // faces here with a face there (same photo, same box)
  uint64_t faces_marked = 0;          // faces that took "not this person" / "not with that face" marks
  uint64_t answers = 0;               // "different" / "same" answers to the report carried
  uint64_t answers_lost = 0;          // answers whose faces are not here (not enough of them)
  std::vector<uint64_t> history_ids;  // the entries of the marks and answers
};

// For the photos here for which `in_scope(path)` holds, found there by path,
// else by content (moved since): their faces are paired by box as face tags
// are (models::match_face_tags), then
//   - each face a user named there names its face here, by the face tags'
//     rules (never over a name given here);
//   - "not this person" marks (unname, split) and "never with that face" marks
//     follow, for persons and faces that are here;
//   - "different" and "same" answers to the report's findings are recorded
//     again over the faces here.
// Everything is undoable history; running it again adds nothing twice.
// `from` is only read.
Expected<NamesFromResult> import_names_from_gallery(storage::Gallery& gallery, const storage::GalleryStore& from,
                                                    const std::function<bool(const std::string& path)>& in_scope);

}  // namespace facedex::search
