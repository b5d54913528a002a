#include "search/people.h"

#include <algorithm>
#include <map>
#include <set>

#include "search/naming_change.h"
#include "search/person_names.h"

namespace facedex::search {
namespace {

// Faces a split face is kept apart from: at most this many of its old cluster.
constexpr size_t kMaxNotWith = 256;

Expected<std::vector<uint64_t>> faces_of(const storage::GalleryStore& store, uint64_t person_id) {
  std::vector<uint64_t> ids;
  Status s = store.for_each_face_of_person(person_id, [&](uint64_t id) {
    ids.push_back(id);
    return true;
  });
  if (!s) return s;
  return ids;
}

void add_unique(std::vector<uint64_t>& v, uint64_t id) {
  if (id && std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
}

// The person `name` (trimmed) names: stored exactly, a case variant (refused
// unless adopted or new_person), or one to create.
struct ResolvedName {
  std::string name;
  std::optional<storage::Person> stored;
  std::string note;
};

Expected<ResolvedName> resolve_name(const storage::GalleryStore& store, const std::string& typed,
                                    const NamingOptions& options) {
  auto cleaned = clean_person_name(typed);
  if (!cleaned) return cleaned.status();
  ResolvedName r{*cleaned, std::nullopt, ""};
  auto exact = store.person_by_name(r.name);
  if (!exact) return exact.status();
  if (*exact) {
    r.stored = **exact;
    return r;
  }
  if (options.new_person) return r;
  auto variant = person_differing_in_case(store, r.name);
  if (!variant) return variant.status();
  if (!*variant) return r;
  if (options.adopt_case_variant) {
    r.note = "using the existing person \"" + (*variant)->name + "\" for \"" + r.name + "\"";
    r.name = (*variant)->name;
    r.stored = **variant;
    return r;
  }
  return Status::invalid_input("no person named \"" + r.name + "\"; did you mean \"" + (*variant)->name +
                               "\"? (add --new to create \"" + r.name + "\" as another person)");
}

Expected<NamingResult> finish(NamingChange& change, const NamingOptions& options, const std::string& summary,
                              NamingResult result, uint64_t undoes = 0) {
  if (options.dry_run) result.changes = change.describe_faces();  // a photo lookup per face: only when shown
  result.faces_changed = change.changed_faces();
  if (options.dry_run) return result;
  auto entry = change.commit(summary, undoes);
  if (!entry) return entry.status();
  result.history_id = entry->id;
  return result;
}

}  // namespace

Expected<storage::Person> find_person(const storage::GalleryStore& store, const std::string& typed) {
  auto cleaned = clean_person_name(typed);
  if (!cleaned) return cleaned.status();
  auto p = store.person_by_name(*cleaned);
  if (!p) return p.status();
  if (*p) return **p;
  auto variant = person_differing_in_case(store, *cleaned);
  if (!variant) return variant.status();
  if (*variant) return **variant;
  return Status::not_found("no person named \"" + *cleaned + "\" (see facedex persons)");
}

Expected<NamingResult> name_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids,
                                  const std::string& typed, const NamingOptions& options, const std::string& action) {
  auto& store = gallery.store();
  auto resolved = resolve_name(store, typed, options);
  if (!resolved) return resolved.status();
  NamingChange change(gallery, action);
  // Check every face first: a refused change must not create the person.
  std::vector<std::string> taken;
  for (uint64_t fid : face_ids) {
    auto f = change.face(fid);
    if (!f) return f.status();
    const storage::Face& face = **f;
    if (face.person_id && face.name_source == storage::NameSource::kUser &&
        (!resolved->stored || face.person_id != resolved->stored->id))
      taken.push_back("face " + std::to_string(fid) + " is named " + change.name_of(face.person_id));
  }
  if (!taken.empty() && !options.force && !options.dry_run) {
    std::string msg = taken.front();
    if (taken.size() > 1) msg += " (and " + std::to_string(taken.size() - 1) + " more faces named otherwise)";
    return Status::invalid_input(msg + ": add --force to rename them to \"" + resolved->name +
                                 "\", or --dry-run to see every change");
  }
  const uint64_t person = change.person_named(resolved->name, resolved->stored);
  for (uint64_t fid : face_ids) {
    storage::Face* face = *change.face(fid);
    face->person_id = person;
    face->name_source = storage::NameSource::kUser;
    auto& rejected = face->rejected_person_ids;
    rejected.erase(std::remove(rejected.begin(), rejected.end(), person), rejected.end());
  }
  NamingResult result;
  result.note = resolved->note;
  result.person = resolved->name;
  if (!taken.empty() && options.dry_run && !options.force)
    result.note += (result.note.empty() ? "" : "; ") + std::to_string(taken.size()) +
                   " of these faces are named otherwise: without --force nothing would change";
  const std::string summary = action + " " + std::to_string(face_ids.size()) + " face" +
                              (face_ids.size() == 1 ? "" : "s") + " as \"" + resolved->name + "\"";
  return finish(change, options, summary, result);
}

Expected<NamingResult> unname_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids,
                                    const NamingOptions& options) {
  NamingChange change(gallery, "unname");
  for (uint64_t fid : face_ids) {
    auto f = change.face(fid);
    if (!f) return f.status();
    storage::Face* face = *f;
    add_unique(face->rejected_person_ids, face->person_id);
    face->person_id = 0;
    face->name_source = storage::NameSource::kNone;
  }
  return finish(change, options, "unname " + std::to_string(face_ids.size()) + " faces", {});
}

Expected<NamingResult> split_faces(storage::Gallery& gallery, const std::vector<uint64_t>& face_ids,
                                   const std::string& typed, const NamingOptions& options) {
  auto& store = gallery.store();
  auto resolved = resolve_name(store, typed, options);
  if (!resolved) return resolved.status();
  NamingChange change(gallery, "split");
  std::set<uint64_t> moving(face_ids.begin(), face_ids.end());
  std::map<uint64_t, std::vector<uint64_t>> left_behind;  // old cluster -> faces that stay in it
  for (uint64_t fid : face_ids) {
    auto f = change.face(fid);
    if (!f) return f.status();
    left_behind[(*f)->cluster_id];
  }
  for (auto& [cluster, faces] : left_behind) {
    if (!cluster) continue;
    Status s = store.for_each_face([&, c = cluster](const storage::Face& f) {
      if (f.cluster_id == c && !moving.count(f.id) && faces.size() < kMaxNotWith) faces.push_back(f.id);
      return true;
    });
    if (!s) return s;
  }
  const uint64_t person = change.person_named(resolved->name, resolved->stored);
  const uint64_t cluster = change.new_cluster_id();
  for (uint64_t fid : face_ids) {
    storage::Face* face = *change.face(fid);
    if (face->person_id != person) add_unique(face->rejected_person_ids, face->person_id);
    for (uint64_t other : left_behind[face->cluster_id]) add_unique(face->not_with_face_ids, other);
    if (face->not_with_face_ids.size() > kMaxNotWith) face->not_with_face_ids.resize(kMaxNotWith);
    face->person_id = person;
    face->name_source = storage::NameSource::kUser;
    face->cluster_id = cluster;
  }
  NamingResult result;
  result.note = resolved->note;
  result.person = resolved->name;
  return finish(change, options, "split " + std::to_string(face_ids.size()) + " faces into \"" + resolved->name + "\"",
                result);
}

Expected<NamingResult> rename_person(storage::Gallery& gallery, const std::string& from, const std::string& to_typed,
                                     const NamingOptions& options) {
  auto& store = gallery.store();
  auto person = find_person(store, from);
  if (!person) return person.status();
  auto to = clean_person_name(to_typed);
  if (!to) return to.status();
  auto clash = store.person_by_name(*to);
  if (!clash) return clash.status();
  if (*clash) return Status::invalid_input("a person named \"" + *to + "\" exists already: use facedex merge");
  if (!options.new_person && fold_case(*to) != fold_case(person->name)) {
    auto variant = person_differing_in_case(store, *to);
    if (!variant) return variant.status();
    if (*variant)
      return Status::invalid_input("\"" + (*variant)->name + "\" exists already: use facedex merge, or add --new");
  }
  NamingChange change(gallery, "rename");
  change.rename_person(*person, *to);
  NamingResult result;
  result.person = *to;
  return finish(change, options, "rename \"" + person->name + "\" to \"" + *to + "\"", result);
}

Expected<NamingResult> merge_persons(storage::Gallery& gallery, const std::string& into, const std::string& from,
                                     const NamingOptions& options) {
  auto& store = gallery.store();
  auto a = find_person(store, into);
  if (!a) return a.status();
  auto b = find_person(store, from);
  if (!b) return b.status();
  if (a->id == b->id) return Status::invalid_input("cannot merge a person into themselves");
  auto faces = faces_of(store, b->id);
  if (!faces) return faces.status();
  NamingChange change(gallery, "merge");
  for (uint64_t fid : *faces) {
    auto f = change.face(fid);
    if (!f) return f.status();
    (*f)->person_id = a->id;
    auto& rejected = (*f)->rejected_person_ids;
    rejected.erase(std::remove(rejected.begin(), rejected.end(), a->id), rejected.end());
  }
  change.remove_person(*b);
  NamingResult result;
  result.person = a->name;
  return finish(change, options, "merge \"" + b->name + "\" into \"" + a->name + "\"", result);
}

Expected<NamingResult> forget_person(storage::Gallery& gallery, const std::string& name, const NamingOptions& options) {
  auto& store = gallery.store();
  auto person = find_person(store, name);
  if (!person) return person.status();
  auto faces = faces_of(store, person->id);
  if (!faces) return faces.status();
  NamingChange change(gallery, "forget");
  for (uint64_t fid : *faces) {
    auto f = change.face(fid);
    if (!f) return f.status();
    (*f)->person_id = 0;
    (*f)->name_source = storage::NameSource::kNone;
  }
  change.remove_person(*person);
  NamingResult result;
  result.person = person->name;
  return finish(change, options, "forget \"" + person->name + "\" (faces kept)", result);
}

Expected<DeleteResult> delete_person_faces(storage::Gallery& gallery, const std::string& name) {
  auto& store = gallery.store();
  auto person = find_person(store, name);
  if (!person) return person.status();
  auto faces = faces_of(store, person->id);
  if (!faces) return faces.status();
  DeleteResult result;
  storage::GalleryBatch batch = store.new_batch();
  std::map<uint64_t, storage::Photo> photos;  // photos losing faces
  for (uint64_t fid : *faces) {
    auto f = store.face(fid);
    if (!f) return f.status();
    if (!*f) continue;
    auto it = photos.find((*f)->photo_id);
    if (it == photos.end()) {
      auto p = store.photo((*f)->photo_id);
      if (!p) return p.status();
      if (*p) it = photos.emplace((*f)->photo_id, **p).first;
    }
    if (it != photos.end()) {
      auto& ids = it->second.face_ids;
      ids.erase(std::remove(ids.begin(), ids.end(), fid), ids.end());
    }
    batch.remove_face(fid);
    ++result.faces_deleted;
  }
  for (const auto& [id, p] : photos) batch.update_photo(p);
  batch.remove_person(*person);
  record_deletion(batch, "forget --faces: a person and " + std::to_string(result.faces_deleted) + " faces deleted");
  batch.mark_purge_pending();
  if (Status s = gallery.commit(batch, true); !s) return s;
  // The index file on disk still holds the descriptors until it is rewritten,
  // and RocksDB keeps deleted values in its files until they are compacted.
  if (Status s = gallery.purge_deleted(); !s) return s;
  return result;
}

Expected<NamingResult> keep_apart(storage::Gallery& gallery, const std::vector<uint64_t>& a,
                                  const std::vector<uint64_t>& b, const std::string& summary,
                                  const NamingOptions& options) {
  if (a.empty() || b.empty()) return Status::invalid_input("different: both sides need faces");
  NamingChange change(gallery, "different");
  change.keep_apart(a, b);
  return finish(change, options, summary, NamingResult{});
}

Expected<NamingResult> keep_together(storage::Gallery& gallery, const std::vector<uint64_t>& faces,
                                     const std::string& summary, const NamingOptions& options) {
  if (faces.size() < 2) return Status::invalid_input("same: a person or cluster of two or more faces is needed");
  NamingChange change(gallery, "same");
  change.keep_apart(faces, {});  // one side: the faces kept together
  return finish(change, options, summary, NamingResult{});
}

Expected<NamingResult> undo(storage::Gallery& gallery, uint64_t id, const NamingOptions& options) {
  auto& store = gallery.store();
  std::optional<storage::HistoryEntry> target;
  if (id) {
    auto h = store.history(id);
    if (!h) return h.status();
    if (!*h) return Status::not_found("no history entry " + std::to_string(id) + " (see facedex history)");
    target = **h;
  } else {
    Status s = store.for_each_history_newest_first([&](const storage::HistoryEntry& h) {
      if (h.undone_by || h.undoes || h.action == "delete") return true;
      target = h;
      return false;
    });
    if (!s) return s;
    if (!target) return Status::not_found("nothing to undo (see facedex history)");
  }
  if (target->undone_by)
    return Status::invalid_input("entry " + std::to_string(target->id) + " was undone already by entry " +
                                 std::to_string(target->undone_by) + " (undo that one to redo it)");
  if (target->action == "delete")
    return Status::invalid_input("entry " + std::to_string(target->id) +
                                 " deleted faces for real: a deletion cannot be undone");

  NamingChange change(gallery, "undo");
  if (target->action == "different" || target->action == "same") change.record_even_if_empty();  // it changed no label
  NamingResult result;
  size_t conflicts = 0;
  // Persons first, so faces can point at a restored person.
  for (const auto& pc : target->persons) {
    auto now = store.person(pc.person_id);
    if (!now) return now.status();
    if (pc.existed_before && !pc.exists_after) {
      if (*now) continue;
      auto clash = store.person_by_name(pc.name_before);
      if (!clash) return clash.status();
      if (*clash) {
        ++conflicts;
        continue;
      }
      change.restore_person(pc.person_id, pc.name_before, pc.created_at);
    } else if (pc.existed_before && pc.exists_after && pc.name_before != pc.name_after) {
      if (!*now || (*now)->name != pc.name_after) {
        ++conflicts;
        continue;
      }
      change.rename_person(**now, pc.name_before);
    }
  }
  std::set<uint64_t> reverted_from;  // persons that faces leave
  for (const auto& fc : target->faces) {
    auto f = change.face(fc.face_id);
    if (!f) {
      ++conflicts;  // deleted since
      continue;
    }
    if (storage::labels_of(**f) != fc.after) {
      ++conflicts;
      continue;
    }
    storage::set_labels(*f, fc.before);
  }
  // Persons the entry created go again when no face is left with them.
  for (const auto& pc : target->persons) {
    if (pc.existed_before || !pc.exists_after) continue;
    auto now = store.person(pc.person_id);
    if (!now) return now.status();
    if (!*now) continue;
    bool still_named = false;
    Status s = store.for_each_face_of_person(pc.person_id, [&](uint64_t fid) {
      auto f = change.face(fid);
      if (f && (*f)->person_id == pc.person_id) still_named = true;
      return !still_named;
    });
    if (!s) return s;
    if (still_named)
      ++conflicts;
    else
      change.remove_person(**now);
  }
  if (conflicts)
    result.note = std::to_string(conflicts) + " change" + (conflicts == 1 ? " was" : "s were") +
                  " left as they are: changed or deleted since";
  return finish(change, options, "undo " + std::to_string(target->id) + ": " + target->summary, result, target->id);
}

Expected<std::vector<PersonSummary>> list_persons(const storage::GalleryStore& store, bool all) {
  std::vector<PersonSummary> out;
  Status s = store.for_each_person([&](const storage::Person& p) {
    out.push_back({p, 0, 0});
    return true;
  });
  if (!s) return s;
  for (auto& ps : out) {
    Status lookup;
    s = store.for_each_face_of_person(ps.person.id, [&](uint64_t fid) {
      ++ps.faces;
      auto f = store.face(fid);
      if (!f) {
        lookup = f.status();
        return false;
      }
      if (*f && (*f)->name_source == storage::NameSource::kAuto) ++ps.automatic;
      return true;
    });
    if (!s) return s;
    if (!lookup) return lookup;
  }
  if (!all)
    out.erase(std::remove_if(out.begin(), out.end(), [](const PersonSummary& p) { return p.faces == 0; }), out.end());
  std::sort(out.begin(), out.end(), [](const PersonSummary& a, const PersonSummary& b) {
    return a.faces != b.faces ? a.faces > b.faces : a.person.name < b.person.name;
  });
  return out;
}

}  // namespace facedex::search
