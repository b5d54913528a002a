#include "search/enrollment.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "indexer/crawler.h"
#include "indexer/index_run.h"

namespace facedex::search {

Expected<EnrollmentPlan> plan_enrollment(const std::vector<std::string>& args, const std::string& dir,
                                         const std::function<void(const std::string&)>& problem) {
  EnrollmentPlan plan;
  if (dir.empty()) {
    if (args.size() < 2) return Status::invalid_input("usage: facedex enroll NAME PHOTO... (or --dir DIR)");
    plan.push_back({args[0], {args.begin() + 1, args.end()}});
    return plan;
  }
  if (!args.empty()) return Status::invalid_input("give either NAME PHOTO... or --dir DIR, not both");
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::not_found(dir + ": cannot open folder");
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    struct stat st {};
    if (n[0] != '.' && ::stat((dir + "/" + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::vector<std::string> photos;
    indexer::crawl(
        {dir + "/" + n}, {}, [&](const std::string& p, const struct stat&) { photos.push_back(p); },
        [&](const std::string& p, const std::string& r) { problem(p + ": " + r); });
    if (!photos.empty()) plan.push_back({n, photos});
  }
  if (plan.empty()) return Status::not_found(dir + ": no subfolders with photos (expected DIR/NAME/photo.jpg)");
  return plan;
}

Expected<size_t> enroll(storage::Gallery& gallery, std::shared_ptr<const models::FaceModels> models,
                        const EnrollmentPlan& plan, NamingOptions naming, const EnrollmentReport& report) {
  size_t failed = 0;
  naming.adopt_case_variant = !naming.new_person;
  for (const auto& [name, photos] : plan) {
    // Incremental: an already indexed photo costs nothing.
    auto summary =
        indexer::run_index(gallery, models, photos, {}, nullptr, [](const std::string&, const std::string&) {});
    if (!summary) return summary.status();
    std::vector<uint64_t> faces;
    for (const auto& path : photos) {
      auto photo = gallery.store().photo_by_path(indexer::absolute_path(path));
      if (!photo) return photo.status();
      if (!*photo) {
        ++failed;
        report.problem(path + ": could not be read");
        continue;
      }
      if ((*photo)->status == storage::PhotoStatus::kFailed) {
        ++failed;
        report.problem((*photo)->failure);
        continue;
      }
      if ((*photo)->face_ids.empty()) {
        ++failed;
        report.problem(path + ": no face found, not enrolled");
        continue;
      }
      if ((*photo)->face_ids.size() > 1) {
        auto f = gallery.store().face((*photo)->face_ids[0]);
        if (f && *f)
          report.note(path + ": " + std::to_string((*photo)->face_ids.size()) + " faces, enrolling the largest (face " +
                      std::to_string((*f)->id) + ") [" + std::to_string((*f)->box.left) + ", " +
                      std::to_string((*f)->box.top) + ", " + std::to_string((*f)->box.right) + ", " +
                      std::to_string((*f)->box.bottom) + "]");
      }
      faces.push_back((*photo)->face_ids[0]);
    }
    if (faces.empty()) continue;
    auto result = name_faces(gallery, faces, name, naming, "enroll");
    if (!result) {
      ++failed;
      report.problem(name + ": " + result.status().message());
      if (result.status().code() != Status::Code::kInvalidInput) return result.status();
      continue;
    }
    if (!result->note.empty()) report.note(name + ": " + result->note);
    report.note(std::string(naming.dry_run ? "dry run: " : "") + result->person + ": " + std::to_string(faces.size()) +
                " photo" + (faces.size() == 1 ? "" : "s") + " enrolled");
  }
  if (Status s = gallery.save_vectors(); !s) return s;
  return failed;
}

}  // namespace facedex::search
