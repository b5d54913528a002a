// Naming people: enroll, name, persons, rename, merge, different, forget.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "cli/cli_common.h"
#include "indexer/crawler.h"
#include "search/auto_naming.h"
#include "search/enrollment.h"
#include "search/gallery_clusters.h"
#include "search/people.h"
#include "search/photo_removal.h"
#include "search/report.h"

namespace facedex::cli {
namespace {

struct EnrollOptions {
  std::vector<std::string> args;  // NAME PHOTO...
  std::string dir;                // --dir: one subfolder per person
  search::NamingOptions naming;
};

int report_status(const Status& s) {
  if (s) return kExitOk;
  report_error(s.message());
  return naming_exit_code(s);
}

int run_enroll(const GlobalOptions& g, const EnrollOptions& o) {
  auto plan = search::plan_enrollment(o.args, o.dir, [](const std::string& what) { report_error(what); });
  if (!plan) return report_status(plan.status());
  auto models = load_models_or_report(g, embedder_for_database(g));
  if (!models) return kExitModels;
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadWrite, &exit_code);
  if (!gallery) return exit_code;
  search::EnrollmentReport report;
  report.problem = [](const std::string& what) { report_error(what); };
  report.note = [&g](const std::string& what) {
    if (!g.quiet) std::printf("%s\n", what.c_str());
  };
  auto failed = search::enroll(*gallery, models, *plan, o.naming, report);
  if (!failed) return report_status(failed.status());
  return *failed ? kExitSomeInputsFailed : kExitOk;
}

template <typename Body>
int with_existing_gallery(const GlobalOptions& g, Body body) {
  int exit_code = kExitOk;
  auto gallery = open_existing_gallery_or_report(g, &exit_code);
  if (!gallery) return exit_code;
  return body(*gallery);
}

// Prints what a naming command did (or, in a dry run, would do).
int print_result(const GlobalOptions& g, const Expected<search::NamingResult>& r, const search::NamingOptions& o,
                 const std::string& done) {
  if (!r) return report_status(r.status());
  if (g.quiet) return kExitOk;
  if (!r->note.empty()) std::printf("note: %s\n", r->note.c_str());
  if (o.dry_run) {
    std::printf("dry run: %s would change %zu face%s; nothing was changed\n", done.c_str(), r->faces_changed,
                r->faces_changed == 1 ? "" : "s");
    for (size_t i = 0; i < r->changes.size() && i < 200; ++i) std::printf("  %s\n", r->changes[i].c_str());
    if (r->changes.size() > 200) std::printf("  ... and %zu more\n", r->changes.size() - 200);
    return kExitOk;
  }
  std::printf("%s (%zu face%s changed", done.c_str(), r->faces_changed, r->faces_changed == 1 ? "" : "s");
  if (r->history_id) std::printf("; facedex undo %llu reverts it", (unsigned long long)r->history_id);
  std::printf(")\n");
  return kExitOk;
}

void add_naming_flags(CLI::App* cmd, search::NamingOptions& o, bool force, bool new_person) {
  cmd->add_flag("--dry-run", o.dry_run, "Show what would change; change nothing");
  if (force) cmd->add_flag("--force", o.force, "Also take faces a user named as somebody else");
  if (new_person)
    cmd->add_flag("--new", o.new_person, "Create the person even if a name differing only by case exists");
}

const char* kFaceIdHelp = "Face id (gallery-wide, as shown by who, photos, clusters and export; repeatable)";

}  // namespace

void register_people_commands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto enroll = std::make_shared<EnrollOptions>();
  CLI::App* cmd = app.add_subcommand("enroll", "Add reference photos for a person: enroll NAME PHOTO..., or --dir DIR");
  cmd->add_option("args", enroll->args, "NAME then PHOTO...");
  cmd->add_option("--dir", enroll->dir, "One subfolder per person; the folder name is the name");
  cmd->add_flag("--dry-run", enroll->naming.dry_run, "Index the photos but name nothing; show what would be named");
  cmd->add_flag("--new", enroll->naming.new_person,
                "Create a new person even when one exists whose name differs only by case");
  on_run(
      cmd, [&g, enroll]() { return run_enroll(g, *enroll); }, exit_code);

  auto face_ids = std::make_shared<std::vector<uint64_t>>();
  auto cluster_id = std::make_shared<uint64_t>(0);
  auto name = std::make_shared<std::string>();
  auto name_opts = std::make_shared<search::NamingOptions>();
  CLI::App* name_cmd =
      app.add_subcommand("name", "Name gallery faces or a whole cluster: name --face ID... NAME | --cluster ID NAME");
  auto* face_opt =
      name_cmd->add_option("--face", *face_ids, kFaceIdHelp)->allow_extra_args(false)->check(positive_id());
  auto* cluster_opt = name_cmd->add_option("--cluster", *cluster_id, "Cluster id (from clusters, cluster or report)")
                          ->check(positive_id());
  face_opt->excludes(cluster_opt);
  name_cmd->add_option("name", *name, "Name")->required();
  add_naming_flags(name_cmd, *name_opts, true, true);
  on_run(
      name_cmd,
      [&g, face_ids, cluster_id, name, name_opts]() {
        return with_existing_gallery(g, [&](storage::Gallery& gallery) {
          std::vector<uint64_t> faces;
          if (*cluster_id) {
            auto in_cluster = search::faces_in_cluster(gallery.store(), *cluster_id);
            if (!in_cluster) return report_status(in_cluster.status());
            if (in_cluster->empty())
              return report_status(
                  Status::not_found("no cluster " + std::to_string(*cluster_id) + " (see facedex clusters)"));
            faces = *in_cluster;
          } else if (!face_ids->empty()) {
            faces = *face_ids;
          } else {
            return report_status(Status::invalid_input("give --face ID or --cluster ID"));
          }
          auto r = search::name_faces(gallery, faces, *name, *name_opts);
          return print_result(g, r, *name_opts, r ? "named as \"" + r->person + "\"" : "");
        });
      },
      exit_code);

  auto unname_ids = std::make_shared<std::vector<uint64_t>>();
  auto unname_opts = std::make_shared<search::NamingOptions>();
  CLI::App* unname = app.add_subcommand("unname", "Take the name off faces; they are remembered as not that person");
  unname->add_option("--face", *unname_ids, kFaceIdHelp)->allow_extra_args(false)->required()->check(positive_id());
  add_naming_flags(unname, *unname_opts, false, false);
  on_run(
      unname,
      [&g, unname_ids, unname_opts]() {
        return with_existing_gallery(g, [&](storage::Gallery& gallery) {
          return print_result(g, search::unname_faces(gallery, *unname_ids, *unname_opts), *unname_opts, "unnamed");
        });
      },
      exit_code);

  auto persons_json = std::make_shared<bool>(false);
  auto persons_all = std::make_shared<bool>(false);
  CLI::App* persons = app.add_subcommand("persons", "List named persons with their face counts");
  persons->add_flag("--json", *persons_json, "JSON output");
  persons->add_flag("--all", *persons_all, "Also persons left with no faces");
  on_run(
      persons,
      [&g, persons_json, persons_all]() {
        auto store = storage::GalleryStore::open(database_dir(g), storage::OpenMode::kReadOnly);
        if (!store) {
          report_error(store.status().message());
          return database_exit_code(store.status());
        }
        auto list = search::list_persons(**store, *persons_all);
        if (!list) return report_status(list.status());
        if (*persons_json) {
          nlohmann::json j = nlohmann::json::array();
          for (const auto& p : *list)
            j.push_back({{"name", p.person.name},
                         {"faces", p.faces},
                         {"confirmed", p.faces - p.automatic},
                         {"automatic", p.automatic},
                         {"id", p.person.id}});
          std::printf("%s\n", j.dump(2).c_str());
        } else {
          for (const auto& p : *list) {
            std::printf("%6llu  %s", (unsigned long long)p.faces, p.person.name.c_str());
            if (p.automatic) std::printf("  (%llu named automatically)", (unsigned long long)p.automatic);
            std::printf("\n");
          }
          if (list->empty())
            std::printf("no persons yet: facedex enroll NAME PHOTO... or facedex name --face ID NAME\n");
        }
        return int(kExitOk);
      },
      exit_code);

  auto from = std::make_shared<std::string>(), to = std::make_shared<std::string>();
  auto rename_opts = std::make_shared<search::NamingOptions>();
  CLI::App* rename = app.add_subcommand("rename", "Rename a person: rename OLD NEW");
  rename->add_option("old", *from, "Current name")->required();
  rename->add_option("new", *to, "New name")->required();
  add_naming_flags(rename, *rename_opts, false, true);
  on_run(
      rename,
      [&g, from, to, rename_opts]() {
        return with_existing_gallery(g, [&](storage::Gallery& gallery) {
          auto r = search::rename_person(gallery, *from, *to, *rename_opts);
          return print_result(g, r, *rename_opts, r ? "renamed to \"" + r->person + "\"" : "");
        });
      },
      exit_code);

  auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
  auto merge_opts = std::make_shared<search::NamingOptions>();
  CLI::App* merge = app.add_subcommand("merge", "Merge person B into A: merge A B (B's faces become A's)");
  merge->add_option("a", *a, "Person who stays")->required();
  merge->add_option("b", *b, "Person whose faces move to A")->required();
  add_naming_flags(merge, *merge_opts, false, false);
  on_run(
      merge,
      [&g, a, b, merge_opts]() {
        return with_existing_gallery(g, [&](storage::Gallery& gallery) {
          auto r = search::merge_persons(gallery, *a, *b, *merge_opts);
          return print_result(g, r, *merge_opts, r ? "merged into \"" + r->person + "\"" : "");
        });
      },
      exit_code);

  auto first = std::make_shared<std::string>(), second = std::make_shared<std::string>();
  auto different_opts = std::make_shared<search::NamingOptions>();
  CLI::App* different = app.add_subcommand(
      "different", "Two names or clusters are different people: the report stops listing them (undoable)");
  different->add_option("a", *first, "A person's name or \"cluster N\", as the report shows it")->required();
  different->add_option("b", *second, "The other")->required();
  add_naming_flags(different, *different_opts, false, false);
  on_run(
      different,
      [&g, first, second, different_opts]() {
        return with_existing_gallery(g, [&](storage::Gallery& gallery) -> int {
          auto a = search::faces_of_group(gallery.store(), *first);
          auto b = a ? search::faces_of_group(gallery.store(), *second) : a;
          if (!a || !b) {
            const Status& s = !a ? a.status() : b.status();
            report_error(s.message());
            return naming_exit_code(s);  // an unknown name: a usage error
          }
          auto r =
              search::keep_apart(gallery, *a, *b, "different people: " + *first + " / " + *second, *different_opts);
          return print_result(g, r, *different_opts, "kept apart");
        });
      },
      exit_code);

  auto together = std::make_shared<std::string>();
  auto same_opts = std::make_shared<search::NamingOptions>();
  CLI::App* same = app.add_subcommand(
      "same", "A name's or cluster's faces are one person: the report stops listing them as two (undoable)");
  same->add_option("group", *together, "A person's name or \"cluster N\", as the report shows it")->required();
  add_naming_flags(same, *same_opts, false, false);
  on_run(
      same,
      [&g, together, same_opts]() {
        return with_existing_gallery(g, [&](storage::Gallery& gallery) -> int {
          auto faces = search::faces_of_group(gallery.store(), *together);
          if (!faces) {
            report_error(faces.status().message());
            return naming_exit_code(faces.status());
          }
          auto r = search::keep_together(gallery, *faces, "one person: " + *together, *same_opts);
          return print_result(g, r, *same_opts, "kept together");
        });
      },
      exit_code);

  struct ForgetOptions {
    std::string person, path;
    bool delete_faces = false, yes = false;
    search::NamingOptions naming;
  };
  auto fo = std::make_shared<ForgetOptions>();
  CLI::App* forget = app.add_subcommand(
      "forget",
      "Remove a person (faces kept, undoable); --faces deletes their faces; --path deletes photos under a path");
  auto* person_opt = forget->add_option("--person", fo->person, "Name");
  auto* path_opt = forget->add_option("--path", fo->path, "Delete the photos at or under this path, with their faces");
  person_opt->excludes(path_opt);
  forget->add_flag("--faces", fo->delete_faces, "Also delete the faces named as this person, for real");
  forget->add_flag("-y,--yes", fo->yes, "Delete without asking");
  forget->add_flag("--dry-run", fo->naming.dry_run, "Show what would be removed; remove nothing");
  on_run(
      forget,
      [&g, fo]() {
        if (fo->person.empty() == fo->path.empty())
          return report_status(Status::invalid_input("give --person NAME or --path PATH"));
        return with_existing_gallery(g, [&](storage::Gallery& gallery) {
          if (!fo->path.empty()) {
            auto plan = search::photos_under(gallery.store(), indexer::absolute_path(fo->path));
            if (!plan) return report_status(plan.status());
            if (plan->photos.empty())
              return report_status(Status::not_found("no stored photos at or under " + fo->path));
            const std::string what = std::to_string(plan->photos.size()) + " photos with " +
                                     std::to_string(plan->faces) + " faces (" + std::to_string(plan->named_faces) +
                                     " named) under " + fo->path;
            if (fo->naming.dry_run) {
              if (!g.quiet) std::printf("dry run: would delete %s\n", what.c_str());
              return int(kExitOk);
            }
            if (!confirm("delete " + what + " from the gallery?", fo->yes)) return int(kExitUsage);
            if (Status s = search::remove_photos(gallery, *plan, "forget --path"); !s) return report_status(s);
            if (!g.quiet) std::printf("deleted %s (the files themselves are untouched)\n", what.c_str());
            return int(kExitOk);
          }
          if (!fo->delete_faces) {
            auto r = search::forget_person(gallery, fo->person, fo->naming);
            return print_result(g, r, fo->naming, r ? "forgot \"" + r->person + "\", faces kept" : "");
          }
          auto person = search::find_person(gallery.store(), fo->person);
          if (!person) return report_status(person.status());
          uint64_t n = 0;
          if (Status s = gallery.store().for_each_face_of_person(person->id, [&](uint64_t) { return ++n, true; }); !s)
            return report_status(s);
          const std::string what = "\"" + person->name + "\" and the " + std::to_string(n) + " faces named as them";
          if (fo->naming.dry_run) {
            if (!g.quiet) std::printf("dry run: would delete %s\n", what.c_str());
            return int(kExitOk);
          }
          if (!confirm("delete " + what + " for good (this cannot be undone)?", fo->yes)) return int(kExitUsage);
          auto result = search::delete_person_faces(gallery, person->name);
          if (!result) return report_status(result.status());
          if (!g.quiet)
            std::printf("forgot %s: %llu faces deleted\n", person->name.c_str(),
                        (unsigned long long)result->faces_deleted);
          return int(kExitOk);
        });
      },
      exit_code);

  auto history_json = std::make_shared<bool>(false);
  auto history_limit = std::make_shared<int>(50);
  CLI::App* history = app.add_subcommand("history", "Naming actions, newest first (facedex undo N reverts one)");
  history->add_flag("--json", *history_json, "JSON output");
  history->add_option("--limit", *history_limit, "Show at most this many (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  on_run(
      history,
      [&g, history_json, history_limit]() {
        auto store = storage::GalleryStore::open(database_dir(g), storage::OpenMode::kReadOnly);
        if (!store) {
          report_error(store.status().message());
          return database_exit_code(store.status());
        }
        nlohmann::json j = nlohmann::json::array();
        int shown = 0;
        Status s = (*store)->for_each_history_newest_first([&](const storage::HistoryEntry& h) {
          if (*history_limit && shown >= *history_limit) return false;
          ++shown;
          char when[32] = "";
          const time_t t = time_t(h.at);
          std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
          if (*history_json) {
            j.push_back({{"id", h.id},
                         {"at", h.at},
                         {"action", h.action},
                         {"summary", h.summary},
                         {"faces", h.faces.size()},
                         {"undoes", h.undoes ? nlohmann::json(h.undoes) : nlohmann::json()},
                         {"undone_by", h.undone_by ? nlohmann::json(h.undone_by) : nlohmann::json()}});
          } else {
            std::printf("%5llu  %s  %s", (unsigned long long)h.id, when, h.summary.c_str());
            if (h.undone_by) std::printf("  [undone by %llu]", (unsigned long long)h.undone_by);
            std::printf("\n");
          }
          return true;
        });
        if (!s) return report_status(s);
        if (*history_json)
          std::printf("%s\n", j.dump(2).c_str());
        else if (shown == 0)
          std::printf("no naming history yet\n");
        return int(kExitOk);
      },
      exit_code);

  auto undo_id = std::make_shared<uint64_t>(0);
  auto undo_opts = std::make_shared<search::NamingOptions>();
  CLI::App* undo = app.add_subcommand("undo", "Revert a naming action: undo [N] (default: the newest still in effect)");
  undo->add_option("id", *undo_id, "History entry (facedex history)")->check(positive_id());
  add_naming_flags(undo, *undo_opts, false, false);
  on_run(
      undo,
      [&g, undo_id, undo_opts]() {
        return with_existing_gallery(g, [&](storage::Gallery& gallery) {
          auto r = search::undo(gallery, *undo_id, *undo_opts);
          return print_result(g, r, *undo_opts, "undone");
        });
      },
      exit_code);
}

}  // namespace facedex::cli
