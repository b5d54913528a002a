// facedex stats | export | check: read what the gallery holds, and verify it.
#include <sys/stat.h>

#include <cstdio>
#include <map>

#include "cli/cli_common.h"
#include "search/face_tags.h"
#include "storage/gallery_check.h"
#include "util/csv.h"

namespace facedex::cli {
namespace {

int run_stats(const GlobalOptions& g, bool json) {
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadOnly, &exit_code);
  if (!gallery) return exit_code;
  const auto& store = gallery->store();
  uint64_t photos = 0, faces = 0, persons = 0, no_faces = 0;
  std::map<std::string, uint64_t> failures;
  Status s = store.for_each_photo([&](const storage::Photo& p) {
    ++photos;
    faces += p.face_ids.size();
    if (p.status == storage::PhotoStatus::kFailed)
      ++failures[p.failure_kind];
    else if (p.face_ids.empty())
      ++no_faces;
    return true;
  });
  if (s) s = store.for_each_person([&](const storage::Person&) { return ++persons, true; });
  if (!s) {
    report_error(s.message());
    return database_exit_code(s);
  }
  struct stat st {};
  const uint64_t vector_bytes = ::stat(gallery->vectors_path().c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
  const uint64_t total_bytes = store.disk_bytes();
  uint64_t failed = 0;
  for (const auto& [k, n] : failures) failed += n;
  const std::string embedder =
      store.model_fingerprint().empty() ? "" : bundled_embedder_of(g.models_dir, store.model_fingerprint());
  if (json) {
    nlohmann::json j{{"database", store.dir()},
                     {"photos", photos},
                     {"photos_without_faces", no_faces},
                     {"photos_failed", failed},
                     {"failures_by_reason", failures},
                     {"faces", faces},
                     {"persons", persons},
                     {"model", store.model_fingerprint()},
                     {"embedder", embedder.empty() ? nlohmann::json() : nlohmann::json(embedder)},
                     {"index_type", gallery->vectors().type()},
                     {"search", gallery->vectors().search_method()},
                     {"vectors", gallery->vectors().size()},
                     {"bytes_on_disk", total_bytes},
                     {"vector_index_bytes", vector_bytes}};
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("database     %s\n", store.dir().c_str());
  std::printf("photos       %llu (%llu without faces, %llu failed)\n", (unsigned long long)photos,
              (unsigned long long)no_faces, (unsigned long long)failed);
  for (const auto& [k, n] : failures) std::printf("  %-18s %llu\n", k.c_str(), (unsigned long long)n);
  std::printf("faces        %llu\n", (unsigned long long)faces);
  std::printf("persons      %llu\n", (unsigned long long)persons);
  std::printf("model        %s%s\n",
              store.model_fingerprint().empty() ? "(none yet)" : store.model_fingerprint().c_str(),
              embedder.empty() ? "" : (" (--embedder " + embedder + ")").c_str());
  std::printf("index        %s, %zu vectors\n", gallery->vectors().type().c_str(), gallery->vectors().size());
  std::printf("search       %s\n", gallery->vectors().search_method().c_str());
  std::printf("on disk      %.1f MiB (vector index %.1f MiB)\n", total_bytes / 1048576.0, vector_bytes / 1048576.0);
  return kExitOk;
}

int run_export(const GlobalOptions& g, const std::string& format) {
  auto store = storage::GalleryStore::open(database_dir(g), storage::OpenMode::kReadOnly);
  if (!store) {
    report_error(store.status().message());
    return database_exit_code(store.status());
  }
  std::map<uint64_t, std::string> person_names;
  Status s = (*store)->for_each_person([&](const storage::Person& p) {
    person_names[p.id] = p.name;
    return true;
  });
  const bool csv = format == "csv";
  if (csv) {
    std::printf("face_id,photo,left,top,right,bottom,score,person,name_source,cluster");
    for (int d = 0; d < (*store)->descriptor_dims(); ++d) std::printf(",e%d", d);
    std::printf("\n");
  }
  Status lookup;
  if (s)
    s = (*store)->for_each_photo([&](const storage::Photo& p) {
      for (uint64_t fid : p.face_ids) {
        auto face = (*store)->face(fid);
        if (!face) {
          lookup = face.status();
          return false;
        }
        if (!*face) continue;
        const storage::Face& f = **face;
        const auto person = person_names.find(f.person_id);
        // "user" or "automatic" (search/auto_naming.h); empty when unnamed.
        const std::string source = !f.person_id                                  ? ""
                                   : f.name_source == storage::NameSource::kAuto ? "automatic"
                                                                                 : "user";
        if (csv) {
          std::string line = std::to_string(f.id) + "," + csv_cell(p.path) + "," + std::to_string(f.box.left) + "," +
                             std::to_string(f.box.top) + "," + std::to_string(f.box.right) + "," +
                             std::to_string(f.box.bottom) + "," + std::to_string(f.score) + "," +
                             (person != person_names.end() ? csv_cell(person->second) : "") + "," + source + "," +
                             (f.cluster_id ? std::to_string(f.cluster_id) : "");
          char buf[32];
          for (float v : f.descriptor) {
            std::snprintf(buf, sizeof(buf), ",%.9g", v);
            line += buf;
          }
          std::printf("%s\n", line.c_str());
        } else {
          // A user's splits are data too: the persons this face was taken from, the faces it is never with.
          nlohmann::json not_persons = nlohmann::json::array();
          for (uint64_t id : f.rejected_person_ids)
            if (auto it = person_names.find(id); it != person_names.end()) not_persons.push_back(it->second);
          nlohmann::json j{{"face_id", f.id},
                           {"photo", path_json(p.path)},
                           {"box", {f.box.left, f.box.top, f.box.right, f.box.bottom}},
                           {"score", f.score},
                           {"embedding", f.descriptor},
                           {"person", person != person_names.end() ? nlohmann::json(person->second) : nlohmann::json()},
                           {"name_source", source},
                           {"missing", p.missing_since != 0},
                           {"cluster", f.cluster_id ? nlohmann::json(f.cluster_id) : nlohmann::json()},
                           {"not_persons", not_persons},
                           {"not_with_faces", f.not_with_face_ids}};
          std::printf("%s\n", j.dump().c_str());
        }
      }
      return true;
    });
  if (s && !lookup) s = lookup;
  if (!s) {
    report_error(s.message());
    return database_exit_code(s);
  }
  return kExitOk;
}

struct XmpExportFlags {
  bool xmp = false;
  search::TagExportOptions tags;
};

// export --xmp: the named faces as MWG face regions in sidecars (or the photos).
int run_xmp_export(const GlobalOptions& g, const search::TagExportOptions& options) {
  // In place, the records of the rewritten photos follow their files.
  int exit_code = kExitOk;
  auto gallery = options.in_place && !options.dry_run
                     ? open_existing_gallery_or_report(g, &exit_code)
                     : open_gallery_or_report(g, storage::OpenMode::kReadOnly, &exit_code);
  if (!gallery) return exit_code;
  auto r = search::export_face_tags(*gallery, options);
  if (!r) {
    report_error(r.status().message());
    return database_exit_code(r.status());
  }
  for (const auto& [path, what] : r->reports) {
    if (options.dry_run)
      std::printf("%s: %s\n", path.c_str(), what.c_str());
    else
      report_error(path + ": " + what);
  }
  if (!g.quiet)
    std::printf("xmp: %llu photos with %llu named faces: %llu files %s, %llu already up to date, %llu failed\n",
                (unsigned long long)r->photos, (unsigned long long)r->regions,
                (unsigned long long)(options.dry_run ? r->photos - r->failed : r->written),
                options.dry_run ? "would be written" : "written", (unsigned long long)r->unchanged,
                (unsigned long long)r->failed);
  return r->failed ? kExitSomeInputsFailed : kExitOk;
}

int run_check(const GlobalOptions& g, bool repair, bool accept_lost_writes, bool json) {
  int exit_code = kExitOk;
  if (accept_lost_writes && !repair) {
    report_error("--accept-lost-writes goes with --repair");
    return kExitUsage;
  }
  auto gallery = repair ? open_existing_gallery_or_report(g, &exit_code, accept_lost_writes)
                        : open_gallery_or_report(g, storage::OpenMode::kReadOnly, &exit_code);
  if (!gallery) return exit_code;
  auto report = storage::check_gallery(*gallery, repair);
  if (!report) {
    report_error(report.status().message());
    return database_exit_code(report.status());
  }
  // What a repair could not mend: the same check again.
  std::vector<std::string> left;
  if (repair && !report->ok()) {
    auto again = storage::check_gallery(*gallery, false);
    if (!again) {
      report_error(again.status().message());
      return database_exit_code(again.status());
    }
    left = again->problems;
  }
  if (json) {
    std::printf("%s\n", nlohmann::json{{"photos", report->photos},
                                       {"faces", report->faces},
                                       {"vectors", report->vectors},
                                       {"ok", report->ok()},
                                       {"problems", report->problems},
                                       {"repairs", report->repairs},
                                       {"not_repaired", left},
                                       {"notes", report->notes}}
                            .dump(2)
                            .c_str());
  } else {
    for (const auto& p : report->problems) std::printf("problem: %s\n", p.c_str());
    for (const auto& r : report->repairs) std::printf("repaired: %s\n", r.c_str());
    for (const auto& l : left) std::printf("not repaired: %s\n", l.c_str());
    for (const auto& n : report->notes) std::printf("note: %s\n", n.c_str());
    std::printf("%llu photos, %llu faces, %llu vectors: %s\n", (unsigned long long)report->photos,
                (unsigned long long)report->faces, (unsigned long long)report->vectors,
                report->ok()    ? "consistent"
                : !left.empty() ? "NOT REPAIRED (restore the folder from a backup)"
                : repair        ? "repaired"
                                : "INCONSISTENT (run facedex check --repair)");
  }
  return report->ok() || (repair && left.empty()) ? kExitOk : kExitDatabase;
}

}  // namespace

void register_gallery_commands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto stats_json = std::make_shared<bool>(false);
  CLI::App* stats = app.add_subcommand("stats", "Photos, faces, persons, failures, model, index and sizes");
  stats->add_flag("--json", *stats_json, "JSON output");
  on_run(
      stats, [&g, stats_json]() { return run_stats(g, *stats_json); }, exit_code);

  auto format = std::make_shared<std::string>("jsonl");
  CLI::App* exp = app.add_subcommand("export",
                                     "Every face, one per line: face_id, photo, box, score, embedding, person, cluster "
                                     "(jsonl: also the persons it was taken from and the faces it is never with)");
  exp->add_option("--format", *format, "jsonl or csv")->check(CLI::IsMember({"jsonl", "csv"}))->capture_default_str();
  auto xmp = std::make_shared<XmpExportFlags>();
  auto* xmp_flag = exp->add_flag("--xmp", xmp->xmp,
                                 "Instead: write the named faces as XMP face regions (MWG) into each photo's sidecar "
                                 "(photo.jpg.xmp, or an existing photo.xmp), keeping everything else in it");
  exp->add_flag("--in-place", xmp->tags.in_place, "With --xmp: write into the photos themselves (atomically)")
      ->needs(xmp_flag);
  exp->add_flag("--automatic", xmp->tags.automatic, "With --xmp: also faces named automatically")->needs(xmp_flag);
  exp->add_flag("--dry-run", xmp->tags.dry_run, "With --xmp: say which files would be written")->needs(xmp_flag);
  on_run(
      exp, [&g, format, xmp]() { return xmp->xmp ? run_xmp_export(g, xmp->tags) : run_export(g, *format); }, exit_code);

  auto repair = std::make_shared<bool>(false);
  auto check_json = std::make_shared<bool>(false);
  CLI::App* check = app.add_subcommand("check", "Verify that the store and the vector index agree");
  check->add_flag("--repair", *repair, "Fix what can be fixed");
  check->add_flag("--json", *check_json, "JSON output");
  auto accept = std::make_shared<bool>(false);
  check->add_flag("--accept-lost-writes", *accept,
                  "With --repair: go on with a database that lost committed writes (damaged write-ahead log), "
                  "keeping what is left");
  on_run(
      check, [&g, repair, accept, check_json]() { return run_check(g, *repair, *accept, *check_json); }, exit_code);
}

}  // namespace facedex::cli
