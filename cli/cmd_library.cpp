// Browsing and tidying the gallery from a terminal: clusters, photos, prune.
// Face ids here are the gallery's (one numbering for every command:
// name --face, split --face, who's matches, export).
#include <cstdio>
#include <map>
#include <set>

#include "cli/cli_common.h"
#include "indexer/crawler.h"
#include "search/gallery_clusters.h"
#include "search/people.h"
#include "search/photo_removal.h"

namespace facedex::cli {
namespace {

std::unique_ptr<storage::GalleryStore> open_reader(const GlobalOptions& g, int* exit_code) {
  auto store = storage::GalleryStore::open(database_dir(g), storage::OpenMode::kReadOnly);
  if (!store) {
    report_error(store.status().message());
    *exit_code = database_exit_code(store.status());
    return nullptr;
  }
  return std::move(*store);
}

int fail(const Status& s) {
  report_error(s.message());
  return naming_exit_code(s);
}

struct ClusterRow {
  uint64_t id = 0;
  size_t faces = 0;
  std::map<uint64_t, size_t> persons;  // person -> faces named so
  std::vector<uint64_t> photo_ids;     // a few, in store order
};

int run_clusters(const GlobalOptions& g, bool json, size_t limit) {
  int exit_code = kExitOk;
  auto store = open_reader(g, &exit_code);
  if (!store) return exit_code;
  std::map<uint64_t, ClusterRow> rows;
  Status s = store->for_each_face([&](const storage::Face& f) {
    if (!f.cluster_id) return true;
    ClusterRow& r = rows[f.cluster_id];
    r.id = f.cluster_id;
    ++r.faces;
    if (f.person_id) ++r.persons[f.person_id];
    if (r.photo_ids.size() < 3) r.photo_ids.push_back(f.photo_id);
    return true;
  });
  if (!s) return fail(s);
  std::vector<ClusterRow> sorted;
  for (auto& [id, r] : rows) sorted.push_back(std::move(r));
  std::sort(sorted.begin(), sorted.end(), [](const ClusterRow& a, const ClusterRow& b) {
    return a.faces != b.faces ? a.faces > b.faces : a.id < b.id;
  });
  nlohmann::json j = nlohmann::json::array();
  size_t shown = 0;
  for (const auto& r : sorted) {
    if (limit && shown++ >= limit) break;
    std::vector<std::string> names;
    for (const auto& [pid, n] : r.persons)
      if (auto p = store->person(pid); p && *p) names.push_back((*p)->name);
    std::vector<std::string> photos;
    for (uint64_t pid : r.photo_ids)
      if (auto p = store->photo(pid); p && *p) photos.push_back((*p)->path);
    if (json) {
      nlohmann::json jp = nlohmann::json::array();
      for (const auto& p : photos) jp.push_back(path_json(p));
      j.push_back({{"cluster", r.id}, {"faces", r.faces}, {"names", names}, {"photos", jp}});
      continue;
    }
    std::string label = names.empty() ? "(unnamed)" : names[0];
    for (size_t i = 1; i < names.size(); ++i) label += ", " + names[i];
    std::printf("cluster %-6llu %5zu faces  %s\n", (unsigned long long)r.id, r.faces, label.c_str());
    for (const auto& p : photos) std::printf("    %s\n", p.c_str());
  }
  if (json)
    std::printf("%s\n", j.dump(2).c_str());
  else if (sorted.empty())
    std::printf("no clusters yet: run facedex cluster\n");
  else if (limit && sorted.size() > limit)
    std::printf("... %zu more clusters (--limit 0 lists all)\n", sorted.size() - limit);
  return kExitOk;
}

int run_photos(const GlobalOptions& g, const std::string& person, uint64_t cluster, bool json) {
  int exit_code = kExitOk;
  auto store = open_reader(g, &exit_code);
  if (!store) return exit_code;
  std::vector<uint64_t> face_ids;
  if (!person.empty()) {
    auto p = search::find_person(*store, person);
    if (!p) return fail(p.status());
    Status s = store->for_each_face_of_person(p->id, [&](uint64_t id) {
      face_ids.push_back(id);
      return true;
    });
    if (!s) return fail(s);
  } else {
    auto ids = search::faces_in_cluster(*store, cluster);
    if (!ids) return fail(ids.status());
    if (ids->empty())
      return fail(Status::not_found("no cluster " + std::to_string(cluster) + " (see facedex clusters)"));
    face_ids = *ids;
  }
  std::map<uint64_t, std::vector<storage::Face>> by_photo;
  for (uint64_t id : face_ids) {
    auto f = store->face(id);
    if (!f) return fail(f.status());
    if (*f) by_photo[(*f)->photo_id].push_back(**f);
  }
  std::map<uint64_t, std::string> names;
  for (const auto& [pid, faces] : by_photo) {
    auto photo = store->photo(pid);
    if (!photo) return fail(photo.status());
    if (!*photo) continue;
    nlohmann::json jf = nlohmann::json::array();
    if (!json) std::printf("%s%s\n", (*photo)->path.c_str(), (*photo)->missing_since ? "  (file missing)" : "");
    for (const auto& f : faces) {
      std::string name;
      if (f.person_id) {
        if (!names.count(f.person_id))
          if (auto p = store->person(f.person_id); p && *p) names[f.person_id] = (*p)->name;
        name = names[f.person_id];
      }
      const bool automatic = f.name_source == storage::NameSource::kAuto;
      if (json) {
        jf.push_back({{"face_id", f.id},
                      {"box", {f.box.left, f.box.top, f.box.right, f.box.bottom}},
                      {"person", name.empty() ? nlohmann::json() : nlohmann::json(name)},
                      {"automatic", automatic},
                      {"cluster", f.cluster_id ? nlohmann::json(f.cluster_id) : nlohmann::json()}});
      } else {
        std::printf("    face %-8llu [%d, %d, %d, %d]  %s%s  cluster %s\n", (unsigned long long)f.id, f.box.left,
                    f.box.top, f.box.right, f.box.bottom, name.empty() ? "(unnamed)" : name.c_str(),
                    automatic ? " (automatic)" : "", f.cluster_id ? std::to_string(f.cluster_id).c_str() : "-");
      }
    }
    if (json)
      std::printf(
          "%s\n",
          nlohmann::json{{"photo", path_json((*photo)->path)}, {"missing", (*photo)->missing_since != 0}, {"faces", jf}}
              .dump()
              .c_str());
  }
  return kExitOk;
}

int run_prune(const GlobalOptions& g, const std::vector<std::string>& paths, double days, bool dry_run, bool yes) {
  int exit_code = kExitOk;
  auto gallery = open_existing_gallery_or_report(g, &exit_code);
  if (!gallery) return exit_code;
  std::vector<std::string> roots;
  for (const auto& p : paths) roots.push_back(indexer::absolute_path(p));
  auto plan = search::missing_photos(gallery->store(), days, roots);
  if (!plan) return fail(plan.status());
  if (plan->photos.empty()) {
    if (!g.quiet) std::printf("no missing photos to prune\n");
    return kExitOk;
  }
  const std::string what = std::to_string(plan->photos.size()) + " missing photos with " + std::to_string(plan->faces) +
                           " faces (" + std::to_string(plan->named_faces) + " named)";
  if (dry_run) {
    if (!g.quiet) {
      std::printf("dry run: would delete %s:\n", what.c_str());
      for (const auto& p : plan->photos) std::printf("  %s\n", p.path.c_str());
    }
    return kExitOk;
  }
  if (!confirm("delete " + what + " from the gallery for good?", yes)) return kExitUsage;
  if (Status s = search::remove_photos(*gallery, *plan, "prune"); !s) return fail(s);
  if (!g.quiet) std::printf("pruned %s\n", what.c_str());
  return kExitOk;
}

}  // namespace

void register_library_commands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto clusters_json = std::make_shared<bool>(false);
  auto clusters_limit = std::make_shared<size_t>(50);
  CLI::App* clusters = app.add_subcommand("clusters", "Clusters, largest first: id, size, names and a few photos");
  clusters->add_flag("--json", *clusters_json, "JSON output");
  clusters->add_option("--limit", *clusters_limit, "Show at most this many (0 = all)")->capture_default_str();
  on_run(
      clusters, [&g, clusters_json, clusters_limit]() { return run_clusters(g, *clusters_json, *clusters_limit); },
      exit_code);

  auto person = std::make_shared<std::string>();
  auto cluster = std::make_shared<uint64_t>(0);
  auto photos_json = std::make_shared<bool>(false);
  CLI::App* photos = app.add_subcommand("photos", "Photos of a person or a cluster, with face ids and boxes");
  auto* person_opt = photos->add_option("--person", *person, "Name");
  auto* cluster_opt = photos->add_option("--cluster", *cluster, "Cluster id")->check(positive_id());
  person_opt->excludes(cluster_opt);
  photos->add_flag("--json", *photos_json, "One JSON line per photo");
  on_run(
      photos,
      [&g, person, cluster, photos_json]() {
        if (person->empty() && !*cluster) return fail(Status::invalid_input("give --person NAME or --cluster ID"));
        return run_photos(g, *person, *cluster, *photos_json);
      },
      exit_code);

  auto prune_paths = std::make_shared<std::vector<std::string>>();
  auto days = std::make_shared<double>(0);
  auto dry_run = std::make_shared<bool>(false);
  auto yes = std::make_shared<bool>(false);
  CLI::App* prune = app.add_subcommand(
      "prune", "Delete photos whose files are missing (kept by index with their faces and names until now)");
  prune->add_option("paths", *prune_paths, "Only under these paths");
  prune->add_option("--older-than", *days, "Only photos missing for at least this many days")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  prune->add_flag("--dry-run", *dry_run, "List what would be deleted; delete nothing");
  prune->add_flag("-y,--yes", *yes, "Delete without asking");
  on_run(
      prune, [&g, prune_paths, days, dry_run, yes]() { return run_prune(g, *prune_paths, *days, *dry_run, *yes); },
      exit_code);
}

}  // namespace facedex::cli
