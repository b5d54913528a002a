#include "search/face_tags.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "models/xmp_face_tags.h"
#include "search/naming_change.h"
#include "search/person_names.h"
#include "util/sha256.h"

namespace facedex::search {
namespace {

// Photos per history entry: a change holds its faces in memory until it commits.
constexpr size_t kPhotosPerEntry = 2000;
constexpr size_t kMaxReports = 1000;

void report(std::vector<std::pair<std::string, std::string>>& reports, const std::string& path, std::string what) {
  if (reports.size() < kMaxReports) reports.emplace_back(path, std::move(what));
}

int64_t mtime_ns_of(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec; }

// What the tags of a photo are read from: its bytes and its sidecar, if any.
std::string tags_source(const storage::Photo& p) {
  std::string s = p.content_hash;
  const std::string sidecar = models::find_sidecar(p.path);
  struct stat st;
  if (!sidecar.empty() && ::stat(sidecar.c_str(), &st) == 0)
    s += "|" + sidecar + "|" + std::to_string(st.st_size) + "|" + std::to_string(mtime_ns_of(st));
  return s;
}

// The record of a photo whose file export rewrote in place (only its XMP:
// the pixels' hash stays), its face tags read as before.
// A file that cannot be read now is left to the next index.
void follow_rewritten_file(const storage::Photo& photo, storage::GalleryBatch& batch) {
  struct stat st;
  if (::stat(photo.path.c_str(), &st) != 0) return;
  auto hash = sha256_file_hex(photo.path);
  if (!hash) return;
  storage::Photo p = photo;
  p.size = uint64_t(st.st_size);
  p.mtime_ns = mtime_ns_of(st);
  p.content_hash = *hash;
  if (photo.tags_read == tags_source(photo)) p.tags_read = tags_source(p);
  batch.update_photo(p, &photo);
}

std::string where(const models::FaceTag& t) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "at x %.3f y %.3f (w %.3f h %.3f)", t.x, t.y, t.w, t.h);
  return buf;
}

class TagImport {
 public:
  // `action` names the history entries, `what` their descriptions.
  TagImport(storage::Gallery& gallery, TagImportResult* result, std::string action = "tags",
            std::string what = "names from photos' face tags")
      : gallery_(gallery), r_(*result), action_(std::move(action)), what_(std::move(what)) {}

  // A photo named by tags that come from elsewhere (another gallery's names).
  Status photo_named_by(const storage::Photo& p, const models::FaceTagsRead& read) {
    ++r_.photos_read;
    if (read.tags.empty()) return Status::ok();
    ++r_.photos_with_tags;
    r_.tags += read.tags.size();
    if (Status s = name_faces(p, read); !s) return s;
    if (++photos_in_change_ == kPhotosPerEntry) return commit();
    return Status::ok();
  }

  Status photo(storage::Photo p) {
    const std::string source = tags_source(p);
    if (source == p.tags_read) return Status::ok();
    ++r_.photos_read;
    auto read = models::read_face_tags(p.path, p.orientation);
    if (!read) {
      ++r_.unreadable;
      report(r_.reports, p.path, read.status().message());
      return Status::ok();  // read again next run
    }
    for (const auto& why : read->skipped) report(r_.reports, p.path, read->from + ": " + why);
    if (!read->tags.empty()) {
      ++r_.photos_with_tags;
      r_.tags += read->tags.size();
      if (Status s = name_faces(p, *read); !s) return s;
    }
    p.tags_read = source;
    change().batch().update_photo(p);
    if (++photos_in_change_ == kPhotosPerEntry) return commit();
    return Status::ok();
  }

  Status commit() {
    if (!change_) return Status::ok();
    const size_t named = change_->changed_faces();
    auto entry = change_->commit(what_ + ": " + std::to_string(named) + " faces");
    if (!entry) return entry.status();
    if (entry->id) r_.history_ids.push_back(entry->id);
    change_.reset();
    photos_in_change_ = 0;
    return Status::ok();
  }

 private:
  NamingChange& change() {
    if (!change_) change_ = std::make_unique<NamingChange>(gallery_, action_);
    return *change_;
  }

  Status name_faces(const storage::Photo& p, const models::FaceTagsRead& read) {
    std::vector<models::FaceTag> areas;
    std::vector<storage::Face*> faces;
    for (uint64_t id : p.face_ids) {
      auto f = change().face(id);
      if (!f) return f.status();
      areas.push_back(face_area((*f)->box, p));
      faces.push_back(*f);
    }
    const std::vector<int> face_of = models::match_face_tags(read.tags, areas);
    for (size_t t = 0; t < read.tags.size(); ++t) {
      const models::FaceTag& tag = read.tags[t];
      const std::string said = read.from + ": tag \"" + tag.name + "\" " + where(tag);
      if (face_of[t] < 0) {
        ++r_.unmatched;
        report(r_.reports, p.path, said + " is over no face facedex found");
        continue;
      }
      storage::Face& face = *faces[size_t(face_of[t])];
      auto person = person_for(tag.name);
      if (!person) {
        report(r_.reports, p.path, said + ": " + person.status().message());
        continue;
      }
      const uint64_t person_id = (*person)->id;
      if (person_id && face.person_id == person_id) {
        ++r_.already_named;
        face.name_source = storage::NameSource::kUser;  // the tag confirms an automatic name
      } else if (face.person_id && face.name_source == storage::NameSource::kUser) {
        ++r_.conflicts;
        report(r_.reports, p.path,
               said + ": face " + std::to_string(face.id) + " is \"" + change().name_of(face.person_id) +
                   "\" in facedex, kept");
      } else if (person_id && std::count(face.rejected_person_ids.begin(), face.rejected_person_ids.end(), person_id)) {
        ++r_.conflicts;
        report(
            r_.reports, p.path,
            said + ": face " + std::to_string(face.id) + " was taken away from \"" + tag.name + "\" in facedex, kept");
      } else {
        ++r_.faces_named;
        if (!person_id) (*person)->id = change().person_named((*person)->name, std::nullopt);
        face.person_id = (*person)->id;
        face.name_source = storage::NameSource::kUser;
      }
    }
    return Status::ok();
  }

  // The person a tag's name stands for: the stored one, or one differing only
  // by case (tools and people type names differently). Id 0: nobody yet.
  struct TagPerson {
    std::string name;
    uint64_t id = 0;
  };
  Expected<TagPerson*> person_for(const std::string& typed) {
    auto name = clean_person_name(typed);
    if (!name) return name.status();
    auto it = persons_.find(*name);
    if (it != persons_.end()) return &it->second;
    auto stored = gallery_.store().person_by_name(*name);
    if (!stored) return stored.status();
    if (!*stored) {
      auto folded = folded_.find(fold_case(*name));  // a spelling met earlier in this run
      if (folded != folded_.end()) return folded->second;
      auto variant = person_differing_in_case(gallery_.store(), *name);
      if (!variant) return variant.status();
      stored = *variant;
    }
    TagPerson person{*stored ? (*stored)->name : *name, *stored ? (*stored)->id : 0};
    TagPerson* p = &persons_.emplace(*name, person).first->second;
    folded_.emplace(fold_case(*name), p);
    return p;
  }

  storage::Gallery& gallery_;
  TagImportResult& r_;
  const std::string action_, what_;
  std::unique_ptr<NamingChange> change_;
  size_t photos_in_change_ = 0;
  std::map<std::string, TagPerson> persons_;  // by the tags' names, cleaned
  std::map<std::string, TagPerson*> folded_;  // the same, by name without case
};

}  // namespace

Expected<TagImportResult> import_face_tags(storage::Gallery& gallery,
                                           const std::function<bool(const std::string& path)>& in_scope) {
  std::vector<storage::Photo> photos;
  Status s = gallery.store().for_each_photo([&](const storage::Photo& p) {
    if (p.status == storage::PhotoStatus::kIndexed && !p.missing_since && p.width > 0 && p.height > 0 &&
        in_scope(p.path))
      photos.push_back(p);
    return true;
  });
  if (!s) return s;
  // In path order, so that of two spellings of a new name the first photo's wins whatever the ids.
  std::sort(photos.begin(), photos.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  TagImportResult result;
  TagImport import(gallery, &result);
  for (auto& p : photos)
    if (Status st = import.photo(std::move(p)); !st) return st;
  if (Status st = import.commit(); !st) return st;
  return result;
}

models::FaceTag face_area(const storage::Box& b, const storage::Photo& p) {
  models::FaceTag t;
  t.x = (b.left + b.right) / 2.0 / p.width;
  t.y = (b.top + b.bottom) / 2.0 / p.height;
  t.w = double(b.right - b.left) / p.width;
  t.h = double(b.bottom - b.top) / p.height;
  return t;
}

Expected<TagImportResult> name_faces_by_tags(storage::Gallery& gallery, const std::vector<TaggedPhoto>& tagged,
                                             const std::string& action, const std::string& what) {
  TagImportResult result;
  TagImport import(gallery, &result, action, what);
  for (const auto& [photo, read] : tagged)
    if (Status st = import.photo_named_by(photo, read); !st) return st;
  if (Status st = import.commit(); !st) return st;
  return result;
}

Expected<TagExportResult> export_face_tags(storage::Gallery& gallery, const TagExportOptions& options) {
  const storage::GalleryStore& store = gallery.store();
  std::map<uint64_t, std::string> names;
  Status s = store.for_each_person([&](const storage::Person& p) {
    names[p.id] = p.name;
    return true;
  });
  // The named faces of each photo: (person, box).
  std::map<uint64_t, std::vector<std::pair<uint64_t, storage::Box>>> by_photo;
  if (s)
    s = store.for_each_face([&](const storage::Face& f) {
      if (f.person_id && (f.name_source == storage::NameSource::kUser || options.automatic))
        by_photo[f.photo_id].emplace_back(f.person_id, f.box);
      return true;
    });
  if (!s) return s;
  TagExportResult r;
  storage::GalleryBatch batch = gallery.store().new_batch();
  size_t in_batch = 0;
  for (const auto& [photo_id, faces] : by_photo) {
    auto p = store.photo(photo_id);
    if (!p) return p.status();
    if (!*p) continue;
    const storage::Photo& photo = **p;
    ++r.photos;
    r.regions += faces.size();
    if (photo.missing_since || photo.width <= 0 || photo.height <= 0) {
      ++r.failed;
      report(r.reports, photo.path, "the photo is missing: its faces were not written");
      continue;
    }
    std::vector<models::FaceTag> tags;
    for (const auto& [person_id, box] : faces) {
      tags.push_back(face_area(box, photo));
      tags.back().name = names[person_id];
    }
    if (options.dry_run) {
      report(r.reports, photo.path,
             std::to_string(tags.size()) + " named faces -> " +
                 (options.in_place ? photo.path : models::sidecar_for_writing(photo.path)));
      continue;
    }
    struct stat st;
    const bool as_stored = options.in_place && ::stat(photo.path.c_str(), &st) == 0 &&
                           uint64_t(st.st_size) == photo.size && mtime_ns_of(st) == photo.mtime_ns;
    auto written =
        models::write_face_tags(photo.path, tags, photo.width, photo.height, photo.orientation, options.in_place);
    if (!written) {
      ++r.failed;
      report(r.reports, photo.path, written.status().message());
      continue;
    }
    ++(written->changed ? r.written : r.unchanged);
    if (written->changed && as_stored) {
      follow_rewritten_file(photo, batch);
      if (++in_batch == kPhotosPerEntry) {
        if (Status c = gallery.commit(batch, true); !c) return c;
        batch = gallery.store().new_batch();
        in_batch = 0;
      }
    }
  }
  if (!batch.empty())
    if (Status c = gallery.commit(batch, true); !c) return c;
  return r;
}

}  // namespace facedex::search
