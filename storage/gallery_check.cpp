#include "storage/gallery_check.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace facedex::storage {

Expected<CheckReport> check_gallery(Gallery& gallery, bool repair) {
  CheckReport report;
  GalleryStore& store = gallery.store();
  if (Status v = store.verify_every_record(&report.problems); !v) return v;
  if (store.lost_writes())
    report.repairs.push_back("accepted that the database lost committed writes: it goes on with what is left");
  if (!gallery.rebuilt_because().empty())
    report.problems.push_back("the vector index file was " + gallery.rebuilt_because() +
                              " (rebuilt in memory; --repair saves it)");
  std::unordered_map<uint64_t, uint64_t> face_photo;  // face id -> photo id it claims
  Status s = store.for_each_face([&](const Face& f) {
    face_photo[f.id] = f.photo_id;
    return true;
  });
  // Damaged records stop the cross-checks: --repair cannot mend them.
  if (!s) {
    report.problems.push_back(s.message());
    return report;
  }
  report.faces = face_photo.size();

  GalleryBatch batch = store.new_batch();
  std::unordered_set<uint64_t> listed;
  s = store.for_each_photo([&](const Photo& p) {
    ++report.photos;
    Photo fixed = p;
    fixed.face_ids.clear();
    for (uint64_t fid : p.face_ids) {
      auto it = face_photo.find(fid);
      if (it == face_photo.end()) {
        report.problems.push_back("photo " + p.path + " lists face " + std::to_string(fid) + ", which does not exist");
      } else if (it->second != p.id) {
        report.problems.push_back("face " + std::to_string(fid) + " is listed by photo " + p.path +
                                  " but points to photo " + std::to_string(it->second));
      } else {
        fixed.face_ids.push_back(fid);
        listed.insert(fid);
      }
    }
    auto by_path = store.photo_by_path(p.path);
    const bool path_ok = by_path && *by_path && (*by_path)->id == p.id;
    if (!path_ok) report.problems.push_back("photo " + p.path + " is not found under its path");
    if (repair && (fixed.face_ids.size() != p.face_ids.size() || !path_ok)) batch.update_photo(fixed);
    return true;
  });
  if (!s) {
    report.problems.push_back(s.message());
    return report;
  }

  for (const auto& [fid, pid] : face_photo) {
    if (listed.count(fid)) continue;
    report.problems.push_back("face " + std::to_string(fid) + " belongs to no photo (photo " + std::to_string(pid) +
                              " does not list it)");
    if (repair) batch.remove_face(fid);
  }

  std::vector<uint64_t> vector_ids = gallery.vectors().ids();
  report.vectors = vector_ids.size();
  std::sort(vector_ids.begin(), vector_ids.end());
  bool vectors_ok = std::adjacent_find(vector_ids.begin(), vector_ids.end()) == vector_ids.end();
  if (!vectors_ok) report.problems.push_back("the vector index holds duplicate face ids");
  size_t missing = 0, extra = 0;
  for (uint64_t id : vector_ids) extra += face_photo.count(id) == 0;
  for (const auto& [fid, pid] : face_photo) missing += !std::binary_search(vector_ids.begin(), vector_ids.end(), fid);
  if (missing || extra) {
    vectors_ok = false;
    report.problems.push_back("the vector index lacks " + std::to_string(missing) + " stored faces and holds " +
                              std::to_string(extra) + " faces that are not stored");
  }

  // Each stored vector against its face record: a swapped or damaged vector
  // answers searches with the wrong person.
  size_t differ = 0;
  Status lookup;
  const bool comparable = gallery.vectors().for_each_vector([&](uint64_t id, const float* v) {
    if (!lookup) return;
    auto f = store.face(id);
    if (!f)
      lookup = f.status();
    else if (*f && !std::equal((*f)->descriptor.begin(), (*f)->descriptor.end(), v))
      ++differ;
  });
  if (!lookup) return lookup;
  if (differ) {
    vectors_ok = false;
    report.problems.push_back(std::to_string(differ) + " vectors in the vector index differ from their face records");
  }
  if (!comparable) report.notes.push_back("a " + gallery.vectors().type() + " index keeps no exact vectors to compare");

  if (repair && !report.problems.empty()) {
    if (!batch.empty()) {
      if (Status c = gallery.commit(batch, true); !c) return c;
      report.repairs.push_back("fixed face lists and path entries, removed orphan faces");
    }
    if (Status r = gallery.rebuild_vectors(); !r) return r;
    if (Status w = gallery.save_vectors(); !w) return w;
    report.repairs.push_back("rebuilt the vector index from " + std::to_string(gallery.vectors().size()) + " faces");
  }
  return report;
}

}  // namespace facedex::storage
