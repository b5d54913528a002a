#include "search/names_from_gallery.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "search/naming_change.h"
#include "search/people.h"
#include "search/person_names.h"

namespace facedex::search {
namespace {

// Photos per history entry, as face tags commit them.
constexpr size_t kPhotosPerEntry = 2000;

// What a face there says beyond its name.
struct Marks {
  std::vector<std::string> not_persons;  // names it was taken away from
  std::vector<uint64_t> not_with;        // faces there it must never be clustered with
};

class GalleryNames {
 public:
  GalleryNames(storage::Gallery& gallery, const storage::GalleryStore& from, NamesFromResult* result)
      : gallery_(gallery), from_(from), r_(*result) {}

  // Pairs the faces of `p` with those of its photo there; queues its named
  // faces as tags and its marks.
  Status photo(const storage::Photo& p) {
    auto there = photo_there(p);
    if (!there) return there.status();
    if (!*there || (*there)->width <= 0 || (*there)->height <= 0) return Status::ok();
    std::vector<models::FaceTag> theirs, ours;
    std::vector<storage::Face> their_faces;
    for (uint64_t id : (*there)->face_ids) {
      auto face = from_.face(id);
      if (!face) return face.status();
      if (!*face) continue;
      theirs.push_back(face_area((*face)->box, **there));
      their_faces.push_back(std::move(**face));
    }
    std::vector<uint64_t> our_ids;
    for (uint64_t id : p.face_ids) {
      auto face = gallery_.store().face(id);
      if (!face) return face.status();
      if (!*face) continue;
      ours.push_back(face_area((*face)->box, p));
      our_ids.push_back(id);
    }
    const std::vector<int> ours_of = models::match_face_tags(theirs, ours);
    models::FaceTagsRead read;
    read.from = from_.dir();
    for (size_t k = 0; k < their_faces.size(); ++k) {
      if (ours_of[k] < 0) continue;
      const storage::Face& f = their_faces[k];
      const uint64_t here = our_ids[size_t(ours_of[k])];
      ++r_.faces_matched;
      here_of_[f.id] = here;
      if (f.person_id && f.name_source == storage::NameSource::kUser) {
        auto name = name_there(f.person_id);
        if (!name) return name.status();
        if (!name->empty()) {
          models::FaceTag tag = theirs[k];
          tag.name = *name;
          read.tags.push_back(tag);
        }
      }
      Marks m;
      for (uint64_t person : f.rejected_person_ids) {
        auto name = name_there(person);
        if (!name) return name.status();
        if (!name->empty()) m.not_persons.push_back(*name);
      }
      m.not_with = f.not_with_face_ids;
      if (!m.not_persons.empty() || !m.not_with.empty()) marks_[here] = std::move(m);
    }
    tagged_.emplace_back(p, std::move(read));
    if (tagged_.size() == kPhotosPerEntry) return name_tagged();
    return Status::ok();
  }

  // Names the queued photos' faces (one history entry).
  Status name_tagged() {
    if (tagged_.empty()) return Status::ok();
    auto named = name_faces_by_tags(gallery_, tagged_, "names-from", "names from the gallery " + from_.dir());
    tagged_.clear();
    if (!named) return named.status();
    TagImportResult& n = r_.names;
    n.photos_read += named->photos_read, n.photos_with_tags += named->photos_with_tags, n.tags += named->tags;
    n.faces_named += named->faces_named, n.already_named += named->already_named;
    n.conflicts += named->conflicts, n.unmatched += named->unmatched;
    n.history_ids.insert(n.history_ids.end(), named->history_ids.begin(), named->history_ids.end());
    for (auto& report : named->reports)
      if (n.reports.size() < 1000) n.reports.push_back(std::move(report));
    return Status::ok();
  }

  // The marks, once every name is here: a mark may name a person whose named
  // faces are in a later photo. Faces and persons that are not here are left out.
  Status mark() {
    std::unique_ptr<NamingChange> change;
    size_t faces = 0;
    auto commit = [&]() -> Status {
      if (!change) return Status::ok();
      auto entry = change->commit("\"not this person\" marks from the gallery " + from_.dir() + ": " +
                                  std::to_string(change->changed_faces()) + " faces");
      if (!entry) return entry.status();
      if (entry->id) r_.history_ids.push_back(entry->id);
      change.reset();
      faces = 0;
      return Status::ok();
    };
    for (const auto& [here, m] : marks_) {
      if (!change) change = std::make_unique<NamingChange>(gallery_, "names-from");
      auto face = change->face(here);
      if (!face) return face.status();
      storage::Face& f = **face;
      bool changed = false;
      for (const std::string& name : m.not_persons) {
        auto person = person_here(name);
        if (!person) return person.status();
        if (!*person || *person == f.person_id ||
            std::count(f.rejected_person_ids.begin(), f.rejected_person_ids.end(), *person))
          continue;
        f.rejected_person_ids.push_back(*person);
        changed = true;
      }
      for (uint64_t there : m.not_with) {
        auto it = here_of_.find(there);
        if (it == here_of_.end() || std::count(f.not_with_face_ids.begin(), f.not_with_face_ids.end(), it->second))
          continue;
        f.not_with_face_ids.push_back(it->second);
        changed = true;
      }
      r_.faces_marked += changed;
      if (++faces == kPhotosPerEntry)
        if (Status s = commit(); !s) return s;
    }
    return commit();
  }

  // The report's "different" and "same" answers, oldest first, over the faces
  // here; one already recorded here is not recorded again.
  Status answers() {
    std::set<std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> here_already;
    Status s = gallery_.store().for_each_history_newest_first([&](const storage::HistoryEntry& h) {
      if ((h.action == "different" || h.action == "same") && !h.undone_by)
        here_already.insert({sorted(h.apart_a), sorted(h.apart_b)});
      return true;
    });
    std::vector<storage::HistoryEntry> theirs;
    if (s)
      s = from_.for_each_history_newest_first([&](const storage::HistoryEntry& h) {
        if ((h.action == "different" || h.action == "same") && !h.undone_by) theirs.push_back(h);
        return true;
      });
    if (!s) return s;
    std::reverse(theirs.begin(), theirs.end());
    for (const auto& h : theirs) {
      const std::vector<uint64_t> a = here(h.apart_a), b = here(h.apart_b);
      const bool same = h.action == "same";
      if (same ? a.size() < 2 : a.empty() || b.empty()) {
        ++r_.answers_lost;
        continue;
      }
      if (here_already.count({a, b})) continue;
      const std::string summary = "from the gallery " + from_.dir() + ": " + h.summary;
      auto done = same ? keep_together(gallery_, a, summary, {}) : keep_apart(gallery_, a, b, summary, {});
      if (!done) return done.status();
      ++r_.answers;
      if (done->history_id) r_.history_ids.push_back(done->history_id);
      here_already.insert({a, b});
    }
    return Status::ok();
  }

 private:
  // The same file there: by path, else by content.
  Expected<std::optional<storage::Photo>> photo_there(const storage::Photo& p) const {
    auto there = from_.photo_by_path(p.path);
    if (!there || *there || p.content_hash.empty()) return there;
    auto ids = from_.photo_ids_by_hash(p.content_hash);
    if (!ids) return ids.status();
    for (uint64_t id : *ids) {
      auto found = from_.photo(id);
      if (!found || *found) return found;
    }
    return std::optional<storage::Photo>();
  }

  // A person's name there ("" when the person is gone).
  Expected<std::string> name_there(uint64_t person_id) {
    auto it = names_there_.find(person_id);
    if (it != names_there_.end()) return it->second;
    auto person = from_.person(person_id);
    if (!person) return person.status();
    return names_there_[person_id] = *person ? (*person)->name : std::string();
  }

  // The person of that name here, or of that name but for case; 0: nobody.
  Expected<uint64_t> person_here(const std::string& name) const {
    auto stored = gallery_.store().person_by_name(name);
    if (!stored) return stored.status();
    if (!*stored) {
      auto variant = person_differing_in_case(gallery_.store(), name);
      if (!variant) return variant.status();
      stored = *variant;
    }
    return *stored ? (*stored)->id : 0;
  }

  // Faces there as the faces here they were paired with, sorted; unpaired ones left out.
  std::vector<uint64_t> here(const std::vector<uint64_t>& there) const {
    std::vector<uint64_t> out;
    for (uint64_t id : there)
      if (auto it = here_of_.find(id); it != here_of_.end()) out.push_back(it->second);
    return sorted(out);
  }

  static std::vector<uint64_t> sorted(std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }

  storage::Gallery& gallery_;
  const storage::GalleryStore& from_;
  NamesFromResult& r_;
  std::vector<TaggedPhoto> tagged_;
  std::map<uint64_t, uint64_t> here_of_;  // face there -> face here
  std::map<uint64_t, Marks> marks_;       // by face here
  std::map<uint64_t, std::string> names_there_;
};

}  // namespace

Expected<NamesFromResult> import_names_from_gallery(storage::Gallery& gallery, const storage::GalleryStore& from,
                                                    const std::function<bool(const std::string& path)>& in_scope) {
  std::vector<storage::Photo> photos;
  Status s = gallery.store().for_each_photo([&](const storage::Photo& p) {
    if (p.status == storage::PhotoStatus::kIndexed && !p.missing_since && !p.face_ids.empty() && in_scope(p.path))
      photos.push_back(p);
    return true;
  });
  if (!s) return s;
  // In path order, so that of two spellings of a new name the first photo's wins, as with face tags.
  std::sort(photos.begin(), photos.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  NamesFromResult result;
  GalleryNames names(gallery, from, &result);
  for (const auto& p : photos)
    if (Status st = names.photo(p); !st) return st;
  if (Status st = names.name_tagged(); !st) return st;
  if (Status st = names.mark(); !st) return st;
  if (Status st = names.answers(); !st) return st;
  return result;
}

}  // namespace facedex::search
