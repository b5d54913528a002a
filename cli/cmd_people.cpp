// Naming people: enroll, name, persons, rename, merge, forget.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "cli/cli_common.h"
#include "indexer/crawler.h"
#include "indexer/index_run.h"
#include "search/gallery_clusters.h"
#include "search/people.h"

namespace facedex::cli {
namespace {

struct EnrollOptions {
  std::vector<std::string> args;  // NAME PHOTO...
  std::string dir;                // --dir: one subfolder per person
};

int report_status(const Status& s) {
  if (s) return kExitOk;
  report_error(s.message());
  return s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInvalidInput ? kExitUsage
                                                                                          : database_exit_code(s);
}

// name -> photos
Expected<std::vector<std::pair<std::string, std::vector<std::string>>>> enrollment_plan(const EnrollOptions& o) {
  std::vector<std::pair<std::string, std::vector<std::string>>> plan;
  if (o.dir.empty()) {
    if (o.args.size() < 2) return Status::invalid_input("usage: facedex enroll NAME PHOTO... (or --dir DIR)");
    plan.push_back({o.args[0], {o.args.begin() + 1, o.args.end()}});
    return plan;
  }
  if (!o.args.empty()) return Status::invalid_input("give either NAME PHOTO... or --dir DIR, not both");
  DIR* d = ::opendir(o.dir.c_str());
  if (!d) return Status::not_found(o.dir + ": cannot open folder");
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    struct stat st {};
    if (n[0] != '.' && ::stat((o.dir + "/" + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::vector<std::string> photos;
    indexer::crawl({o.dir + "/" + n}, {}, [&](const std::string& p, const struct stat&) { photos.push_back(p); },
                   [](const std::string& p, const std::string& r) { report_error(p + ": " + r); });
    if (!photos.empty()) plan.push_back({n, photos});
  }
  if (plan.empty()) return Status::not_found(o.dir + ": no subfolders with photos (expected DIR/NAME/photo.jpg)");
  return plan;
}

int run_enroll(const GlobalOptions& g, const EnrollOptions& o) {
  auto plan = enrollment_plan(o);
  if (!plan) return report_status(plan.status());
  auto models = load_models_or_report(g);
  if (!models) return kExitModels;
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadWrite, &exit_code);
  if (!gallery) return exit_code;

  int failed = 0;
  for (const auto& [name, photos] : *plan) {
    // Reference photos become gallery photos like any other (incremental: an
    // already indexed photo costs nothing); then their largest face is named.
    auto summary = indexer::run_index(*gallery, models, photos, {}, nullptr,
                                      [](const std::string&, const std::string&) {});
    if (!summary) {
      report_error(summary.status().message());
      return database_exit_code(summary.status());
    }
    std::vector<uint64_t> faces;
    for (const auto& path : photos) {
      auto photo = gallery->store().photo_by_path(indexer::absolute_path(path));
      if (!photo) return report_status(photo.status());
      if (!*photo) {
        ++failed;
        report_error(path + ": could not be read");
        continue;
      }
      if ((*photo)->status == storage::PhotoStatus::kFailed) {
        ++failed;
        report_error((*photo)->failure);
        continue;
      }
      if ((*photo)->face_ids.empty()) {
        ++failed;
        report_error(path + ": no face found, not enrolled");
        continue;
      }
      if ((*photo)->face_ids.size() > 1 && !g.quiet) {
        auto f = gallery->store().face((*photo)->face_ids[0]);
        if (f && *f)
          std::printf("%s: %zu faces, enrolling the largest [%d, %d, %d, %d]\n", path.c_str(), (*photo)->face_ids.size(),
                      (*f)->box.left, (*f)->box.top, (*f)->box.right, (*f)->box.bottom);
      }
      faces.push_back((*photo)->face_ids[0]);
    }
    if (faces.empty()) continue;
    if (Status s = search::name_faces(*gallery, faces, name); !s) return report_status(s);
    if (!g.quiet) std::printf("%s: %zu photo%s enrolled\n", name.c_str(), faces.size(), faces.size() == 1 ? "" : "s");
  }
  if (Status s = gallery->save_vectors(); !s) return report_status(s);
  return failed ? kExitSomeInputsFailed : kExitOk;
}

template <typename Body>
int with_writable_gallery(const GlobalOptions& g, Body body) {
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadWrite, &exit_code);
  if (!gallery) return exit_code;
  return body(*gallery);
}

}  // namespace

void register_people_commands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto enroll = std::make_shared<EnrollOptions>();
  CLI::App* cmd = app.add_subcommand("enroll", "Add reference photos for a person: enroll NAME PHOTO..., or --dir DIR");
  cmd->add_option("args", enroll->args, "NAME then PHOTO...");
  cmd->add_option("--dir", enroll->dir, "One subfolder per person; the folder name is the name");
  on_run(cmd, [&g, enroll]() { return run_enroll(g, *enroll); }, exit_code);

  auto face_id = std::make_shared<uint64_t>(0);
  auto cluster_id = std::make_shared<uint64_t>(0);
  auto name = std::make_shared<std::string>();
  CLI::App* name_cmd = app.add_subcommand("name", "Name a gallery face or a whole cluster: name --face ID NAME | --cluster ID NAME");
  auto* face_opt = name_cmd->add_option("--face", *face_id, "Face id (from export, search or who)");
  auto* cluster_opt = name_cmd->add_option("--cluster", *cluster_id, "Cluster id (from cluster or report)");
  face_opt->excludes(cluster_opt);
  name_cmd->add_option("name", *name, "Name")->required();
  on_run(name_cmd, [&g, face_id, cluster_id, name]() {
    return with_writable_gallery(g, [&](storage::Gallery& gallery) {
      std::vector<uint64_t> faces;
      if (*cluster_id) {
        auto in_cluster = search::faces_in_cluster(gallery.store(), *cluster_id);
        if (!in_cluster) return report_status(in_cluster.status());
        if (in_cluster->empty()) return report_status(Status::not_found("no cluster " + std::to_string(*cluster_id) + " (run facedex cluster)"));
        faces = *in_cluster;
      } else if (*face_id) {
        faces = {*face_id};
      } else {
        return report_status(Status::invalid_input("give --face ID or --cluster ID"));
      }
      int code = report_status(search::name_faces(gallery, faces, *name));
      if (code == kExitOk && !g.quiet) std::printf("%zu face%s named %s\n", faces.size(), faces.size() == 1 ? "" : "s", name->c_str());
      return code;
    });
  }, exit_code);

  auto persons_json = std::make_shared<bool>(false);
  CLI::App* persons = app.add_subcommand("persons", "List named persons with their face counts");
  persons->add_flag("--json", *persons_json, "JSON output");
  on_run(persons, [&g, persons_json]() {
    auto store = storage::GalleryStore::open(database_dir(g), storage::OpenMode::kReadOnly);
    if (!store) return report_status(store.status());
    auto list = search::list_persons(**store);
    if (!list) return report_status(list.status());
    if (*persons_json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& p : *list) j.push_back({{"name", p.person.name}, {"faces", p.faces}, {"id", p.person.id}});
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      for (const auto& p : *list) std::printf("%6llu  %s\n", (unsigned long long)p.faces, p.person.name.c_str());
      if (list->empty()) std::printf("no persons yet: facedex enroll NAME PHOTO... or facedex name --face ID NAME\n");
    }
    return int(kExitOk);
  }, exit_code);

  auto from = std::make_shared<std::string>(), to = std::make_shared<std::string>();
  CLI::App* rename = app.add_subcommand("rename", "Rename a person: rename OLD NEW");
  rename->add_option("old", *from, "Current name")->required();
  rename->add_option("new", *to, "New name")->required();
  on_run(rename, [&g, from, to]() {
    return with_writable_gallery(g, [&](storage::Gallery& gallery) {
      return report_status(search::rename_person(gallery, *from, *to));
    });
  }, exit_code);

  auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
  CLI::App* merge = app.add_subcommand("merge", "Merge person B into A: merge A B (B's faces become A's)");
  merge->add_option("a", *a, "Person who stays")->required();
  merge->add_option("b", *b, "Person whose faces move to A")->required();
  on_run(merge, [&g, a, b]() {
    return with_writable_gallery(g, [&](storage::Gallery& gallery) {
      auto moved = search::merge_persons(gallery, *a, *b);
      if (!moved) return report_status(moved.status());
      if (!g.quiet) std::printf("%llu faces of %s are now %s\n", (unsigned long long)*moved, b->c_str(), a->c_str());
      return int(kExitOk);
    });
  }, exit_code);

  auto who = std::make_shared<std::string>();
  auto delete_faces = std::make_shared<bool>(false);
  CLI::App* forget = app.add_subcommand("forget", "Remove a person; with --faces delete their faces and descriptors");
  forget->add_option("--person", *who, "Name")->required();
  forget->add_flag("--faces", *delete_faces, "Also delete the faces named as this person, for real");
  on_run(forget, [&g, who, delete_faces]() {
    return with_writable_gallery(g, [&](storage::Gallery& gallery) {
      auto result = search::forget_person(gallery, *who, *delete_faces);
      if (!result) return report_status(result.status());
      if (!g.quiet)
        std::printf("forgot %s: %llu faces unnamed, %llu faces deleted\n", who->c_str(),
                    (unsigned long long)result->faces_unnamed, (unsigned long long)result->faces_deleted);
      return int(kExitOk);
    });
  }, exit_code);
}

}  // namespace facedex::cli
