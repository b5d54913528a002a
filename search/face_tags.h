// Face tags shared with other photo tools (models/xmp_face_tags.h). Import:
// the named face regions of a photo name the faces facedex found under them,
// so a library tagged in digiKam, Lightroom, Picasa or Apple Photos arrives
// named. Export: the names given in facedex go back into XMP sidecars.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "models/xmp_face_tags.h"
#include "storage/gallery.h"

namespace facedex::search {

struct TagImportResult {
  uint64_t photos_read = 0;           // photos whose tags were read (new, changed, or sidecar changed)
  uint64_t photos_with_tags = 0;      // ... that had named face regions
  uint64_t tags = 0;                  // named face regions in them
  uint64_t faces_named = 0;           // faces that took a tag's name
  uint64_t already_named = 0;         // faces that had the tag's name already
  uint64_t conflicts = 0;             // tags over a face a user named otherwise (or took from that person): not applied
  uint64_t unmatched = 0;             // tags over no face facedex found
  uint64_t unreadable = 0;            // photos or sidecars exiv2 could not read (read again next run)
  std::vector<uint64_t> history_ids;  // the undoable entries (several for a large library)
  // (path, what): every conflict, unmatched tag and unreadable file; the first 1000.
  std::vector<std::pair<std::string, std::string>> reports;
};

// Reads the tags of the indexed photos for which `in_scope(path)` holds, when
// the photo or its sidecar changed since they were last read, and names the
// faces they overlap (models::same_face). A tag names unnamed faces and faces
// named automatically, and confirms a face of the same name. A face a user
// named otherwise, or took away from that person, keeps its name and the tag
// is reported. Names count as given by a user; each batch of photos is one
// history entry (action "tags"), which `facedex undo` reverts.
Expected<TagImportResult> import_face_tags(storage::Gallery& gallery,
                                           const std::function<bool(const std::string& path)>& in_scope);

// A face box as a tag's area: centre and size in fractions of the upright photo.
models::FaceTag face_area(const storage::Box& box, const storage::Photo& photo);

// Names the faces of each photo by tags read elsewhere (another gallery's
// names: search/names_from_gallery.h), by the rules and counts above; the
// history entries get `action` and the description `what`.
using TaggedPhoto = std::pair<storage::Photo, models::FaceTagsRead>;
Expected<TagImportResult> name_faces_by_tags(storage::Gallery& gallery, const std::vector<TaggedPhoto>& tagged,
                                             const std::string& action, const std::string& what);

struct TagExportOptions {
  bool in_place = false;   // write into the photos themselves, not sidecars
  bool automatic = false;  // also faces named automatically (only user-given names otherwise)
  bool dry_run = false;    // say what would be written, write nothing
};

struct TagExportResult {
  uint64_t photos = 0;                                       // photos with named faces
  uint64_t regions = 0;                                      // named faces among them
  uint64_t written = 0;                                      // files written
  uint64_t unchanged = 0;                                    // files that held these regions already
  uint64_t failed = 0;                                       // photos missing, or files that could not be written
  std::vector<std::pair<std::string, std::string>> reports;  // (path, what), the first 1000
};

// Writes the named faces of every present photo as MWG face regions
// (models::write_face_tags). A photo that fails is reported and the export goes on.
// In place, a photo whose file is as the gallery last saw it (size and mtime)
// has its record follow the rewritten file, so that the next `index` does not
// read it again: `gallery` must be writable then.
Expected<TagExportResult> export_face_tags(storage::Gallery& gallery, const TagExportOptions& options);

}  // namespace facedex::search
