// facedex index PATH... : progress while it runs, a summary at the end.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "cli/cli_common.h"
#include "indexer/crawler.h"
#include "indexer/index_run.h"
#include "models/decode_budget.h"
#include "search/face_tags.h"
#include "search/names_from_gallery.h"

namespace facedex::cli {
namespace {

struct IndexCommandOptions {
  std::vector<std::string> paths;
  indexer::IndexOptions index;
  std::string index_type;
  bool json = false;
  AutoNameFlags auto_name;
  int64_t memory_budget_mb = 0;  // 0: half the machine's memory
  bool no_tags = false;          // do not read the photos' XMP face tags
  std::string names_from;        // another database of these photos whose user-given names carry over
};

std::string format_duration(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof(buf), "%.0fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof(buf), "%dm%02ds", int(s) / 60, int(s) % 60);
  else
    std::snprintf(buf, sizeof(buf), "%dh%02dm", int(s) / 3600, (int(s) / 60) % 60);
  return buf;
}

// A bar on a terminal, a plain line every 10 s elsewhere (logs, CI).
class ProgressPrinter {
 public:
  ProgressPrinter(FILE* out, bool quiet) : out_(out), quiet_(quiet), tty_(isatty(fileno(out))) {}

  void update(const indexer::IndexProgress& p) {
    if (quiet_) return;
    const double rate = p.seconds > 0 ? p.done / p.seconds : 0;
    std::string eta = "?";
    if (p.crawl_done && rate > 0) eta = format_duration(double(p.found - p.done) / rate);
    if (tty_) {
      const int width = 30;
      const int filled = p.found ? int(width * double(p.done) / double(p.found)) : 0;
      std::fprintf(out_, "\r[%s%s] %llu/%llu%s photos, %llu faces, %.1f photos/s, ETA %s   ",
                   std::string(size_t(filled), '#').c_str(), std::string(size_t(width - filled), '.').c_str(),
                   (unsigned long long)p.done, (unsigned long long)p.found, p.crawl_done ? "" : "+",
                   (unsigned long long)p.faces, rate, eta.c_str());
      std::fflush(out_);
      drawn_ = true;
    } else if (p.seconds - last_line_ >= 10) {
      last_line_ = p.seconds;
      std::fprintf(out_, "progress: %llu/%llu%s photos, %llu faces, %.1f photos/s, ETA %s\n",
                   (unsigned long long)p.done, (unsigned long long)p.found, p.crawl_done ? "" : "+",
                   (unsigned long long)p.faces, rate, eta.c_str());
      std::fflush(out_);
    }
  }

  // Ends the bar's line before anything else is printed.
  void break_line() {
    if (drawn_) std::fprintf(out_, "\n");
    drawn_ = false;
  }

 private:
  FILE* out_;
  bool quiet_, tty_;
  bool drawn_ = false;
  double last_line_ = 0;
};

nlohmann::json tags_json(const search::TagImportResult& t) {
  nlohmann::json reports = nlohmann::json::array();
  for (const auto& [path, what] : t.reports)
    reports.push_back({{"photo", path_json(path)}, {"report", path_json(what)}});
  return {{"photos_read", t.photos_read},
          {"photos_with_tags", t.photos_with_tags},
          {"tags", t.tags},
          {"faces_named", t.faces_named},
          {"already_named", t.already_named},
          {"conflicts", t.conflicts},
          {"unmatched", t.unmatched},
          {"unreadable", t.unreadable},
          {"history_ids", t.history_ids},
          {"reports", reports}};
}

nlohmann::json names_from_json(const search::NamesFromResult& r) {
  nlohmann::json j = tags_json(r.names);
  j["faces_matched"] = r.faces_matched;
  j["faces_marked"] = r.faces_marked;
  j["answers"] = r.answers;
  j["answers_lost"] = r.answers_lost;
  j["mark_history_ids"] = r.history_ids;
  return j;
}

nlohmann::json summary_json(const indexer::IndexSummary& s, const storage::Gallery& g,
                            const search::AutoNameSummary& named, const search::TagImportResult& tags,
                            const std::optional<search::NamesFromResult>& names_from) {
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& [path, reason] : s.failures)
    failures.push_back({{"photo", path_json(path)}, {"reason", path_json(reason)}});
  return {{"database", g.store().dir()},
          {"photos_seen", s.seen},
          {"indexed", s.indexed},
          {"unchanged", s.unchanged},
          {"moved", s.moved},
          {"copied", s.copied},
          {"metadata_edited", s.metadata_edited},
          {"removed", s.removed},
          {"missing", s.missing},
          {"newly_missing", s.newly_missing},
          {"restored", s.restored},
          {"redetected", s.redetected},
          {"redetected_faces_found_again", s.faces_found_again},
          {"redetected_faces_added", s.faces_added_by_redetection},
          {"skipped_symlinks", s.skipped_symlinks},
          {"notices",
           [&] {
             nlohmann::json n = nlohmann::json::array();
             for (const auto& [path, note] : s.notices) n.push_back({{"photo", path_json(path)}, {"note", note}});
             return n;
           }()},
          {"warnings", s.warnings},
          {"face_tags", tags_json(tags)},
          {"names_from", names_from ? names_from_json(*names_from) : nlohmann::json()},
          {"named_automatically", named.by_rule + named.by_cluster},
          {"failed", s.failed},
          {"internal_errors",
           [&] {
             nlohmann::json n = nlohmann::json::array();
             for (const auto& [path, what] : s.internal_errors)
               n.push_back({{"photo", path_json(path)}, {"error", path_json(what)}});
             return n;
           }()},
          {"failures_by_reason", s.failures_by_kind},
          {"failures", failures},
          {"faces_added", s.faces_added},
          {"faces_removed", s.faces_removed},
          {"faces_in_index", g.vectors().size()},
          {"seconds", s.seconds},
          {"photos_per_second", s.seconds > 0 ? double(s.seen) / s.seconds : 0.0}};
}

void print_tags(const search::TagImportResult& t) {
  if (!t.tags && !t.unreadable) return;
  std::string undo;
  for (uint64_t id : t.history_ids) undo += (undo.empty() ? "facedex undo " : ", ") + std::to_string(id);
  std::printf(
      "  face tags  %6llu   in %llu photos' XMP: %llu faces named%s, %llu had that name, %llu conflicts "
      "(kept facedex's), %llu over no face found, %llu files unreadable\n",
      (unsigned long long)t.tags, (unsigned long long)t.photos_with_tags, (unsigned long long)t.faces_named,
      undo.empty() ? "" : (" (" + undo + " reverts)").c_str(), (unsigned long long)t.already_named,
      (unsigned long long)t.conflicts, (unsigned long long)t.unmatched, (unsigned long long)t.unreadable);
}

void print_names_from(const std::string& dir, const search::NamesFromResult& r) {
  const search::TagImportResult& t = r.names;
  std::string undo;
  for (uint64_t id : t.history_ids) undo += (undo.empty() ? "facedex undo " : ", ") + std::to_string(id);
  for (uint64_t id : r.history_ids) undo += (undo.empty() ? "facedex undo " : ", ") + std::to_string(id);
  std::printf(
      "  names from %s: %llu faces paired with faces there; %llu named there: %llu named here, %llu had that "
      "name, %llu conflicts (kept this gallery's), %llu over no face found here; %llu faces took \"not this "
      "person\" marks, %llu answers to the report carried (%llu whose faces are not here)%s\n",
      dir.c_str(), (unsigned long long)r.faces_matched, (unsigned long long)t.tags, (unsigned long long)t.faces_named,
      (unsigned long long)t.already_named, (unsigned long long)t.conflicts, (unsigned long long)t.unmatched,
      (unsigned long long)r.faces_marked, (unsigned long long)r.answers, (unsigned long long)r.answers_lost,
      undo.empty() ? "" : ("; " + undo + " reverts them").c_str());
}

void print_summary(const indexer::IndexSummary& s, const storage::Gallery& g, const search::AutoNameSummary& named,
                   const search::TagImportResult& tags, const std::optional<search::NamesFromResult>& carried,
                   const std::string& names_from) {
  std::printf("%llu photos seen in %.1f s (%.2f photos/s)\n", (unsigned long long)s.seen, s.seconds,
              s.seconds > 0 ? double(s.seen) / s.seconds : 0.0);
  std::printf("  indexed    %6llu   (%llu faces added)\n", (unsigned long long)s.indexed,
              (unsigned long long)s.faces_added);
  std::printf("  unchanged  %6llu\n", (unsigned long long)s.unchanged);
  std::printf("  moved      %6llu   (faces kept)\n", (unsigned long long)s.moved);
  std::printf("  copied     %6llu   (faces reused)\n", (unsigned long long)s.copied);
  if (s.metadata_edited)
    std::printf("  edited     %6llu   (metadata only, same pixels: faces kept)\n",
                (unsigned long long)s.metadata_edited);
  if (s.missing)
    std::printf("  missing    %6llu   (%llu new; faces and names kept: facedex prune removes them)\n",
                (unsigned long long)s.missing, (unsigned long long)s.newly_missing);
  if (s.restored)
    std::printf("  restored   %6llu   (missing photos back, with their faces and names)\n",
                (unsigned long long)s.restored);
  if (s.redetected)
    std::printf(
        "  redetected %6llu   (analysed before by another detector: %llu faces found again and kept as "
        "they were, %llu new faces added)\n",
        (unsigned long long)s.redetected, (unsigned long long)s.faces_found_again,
        (unsigned long long)s.faces_added_by_redetection);
  std::printf("  failed     %6llu\n", (unsigned long long)s.failed);
  if (s.skipped_symlinks)
    std::printf("  skipped    %6llu   symbolic links (--follow-symlinks follows them)\n",
                (unsigned long long)s.skipped_symlinks);
  for (const auto& [kind, n] : s.failures_by_kind) std::printf("    %-18s %llu\n", kind.c_str(), (unsigned long long)n);
  print_tags(tags);
  if (carried) print_names_from(names_from, *carried);
  if (named.by_rule + named.by_cluster)
    std::printf("  named automatically %llu faces (facedex undo %llu reverts it)\n",
                (unsigned long long)(named.by_rule + named.by_cluster), (unsigned long long)named.history_id);
  std::printf("database %s: %zu faces in the index\n", g.store().dir().c_str(), g.vectors().size());
}

// A database inside a folder being indexed, with no hidden folder between
// them, would put RocksDB's files among the user's photos.
std::string database_among_photos(const std::string& db_dir, const std::vector<std::string>& paths) {
  const std::string db = indexer::absolute_path(db_dir);
  for (const auto& p : paths) {
    const std::string root = indexer::absolute_path(p);
    if (!indexer::path_is_under(db, root) || db == root) continue;
    const std::string rest = db.substr(root == "/" ? 1 : root.size() + 1);
    if (rest[0] != '.' && rest.find("/.") == std::string::npos) return root;
  }
  return "";
}

int run_index_command(const GlobalOptions& g, IndexCommandOptions& o) {
  if (const std::string root = database_among_photos(database_dir(g), o.paths); !root.empty()) {
    report_error("the database " + indexer::absolute_path(database_dir(g)) + " would sit among the photos of " + root +
                 ": give --db a folder outside it (or a hidden one, such as " + root + "/.facedex)");
    return kExitUsage;
  }
  if (o.memory_budget_mb > 0) models::DecodeBudget::process().set_bytes(o.memory_budget_mb << 20);
  std::unique_ptr<storage::GalleryStore> names_from;
  if (!o.names_from.empty()) {
    if (indexer::absolute_path(o.names_from) == indexer::absolute_path(database_dir(g))) {
      report_error("--names-from " + o.names_from + " is the database being indexed: give the other one");
      return kExitUsage;
    }
    auto from = storage::GalleryStore::open(o.names_from, storage::OpenMode::kReadOnly);
    if (!from) {
      report_error("--names-from " + o.names_from + ": " + from.status().message());
      return database_exit_code(from.status());
    }
    names_from = std::move(*from);
  }
  auto models = load_models_or_report(g, embedder_for_database(g));
  if (!models) return kExitModels;
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadWrite, &exit_code, o.index_type);
  if (!gallery) return exit_code;

  const uint64_t first_new_face = gallery->store().next_face_id();
  FILE* progress_out = o.json ? stderr : stdout;
  ProgressPrinter printer(progress_out, g.quiet);
  auto summary = indexer::run_index(
      *gallery, models, o.paths, o.index, [&](const indexer::IndexProgress& p) { printer.update(p); },
      [&](const std::string& path, const std::string& reason) {
        printer.break_line();
        // Reasons from the decoder already start with the path.
        if (reason.compare(0, path.size(), path) == 0)
          report_error(reason);
        else
          report_error(path + ": " + reason);
      });
  printer.break_line();
  if (!summary) {
    const bool mismatch = summary.status().code() == Status::Code::kModelMismatch;
    report_error(summary.status().message() +
                 (mismatch ? embedder_hint(g, gallery->store().model_fingerprint()) : std::string()));
    return database_exit_code(summary.status());
  }
  // Tags from other tools name faces before the automatic naming, which then
  // takes them as references.
  search::TagImportResult tags;
  if (!o.no_tags) {
    std::vector<std::string> roots;
    for (const auto& p : o.paths) roots.push_back(indexer::absolute_path(p));
    auto imported = search::import_face_tags(*gallery, [&](const std::string& path) {
      for (const auto& root : roots)
        if (indexer::path_is_under(path, root)) return true;
      return false;
    });
    if (!imported) {
      report_error(imported.status().message());
      return database_exit_code(imported.status());
    }
    tags = std::move(*imported);
    for (const auto& [path, what] : tags.reports) report_error(path + ": " + what);
  }
  std::optional<search::NamesFromResult> carried;
  if (names_from) {
    std::vector<std::string> roots;
    for (const auto& p : o.paths) roots.push_back(indexer::absolute_path(p));
    auto imported = search::import_names_from_gallery(*gallery, *names_from, [&](const std::string& path) {
      for (const auto& root : roots)
        if (indexer::path_is_under(path, root)) return true;
      return false;
    });
    if (!imported) {
      report_error("--names-from " + o.names_from + ": " + imported.status().message());
      return database_exit_code(imported.status());
    }
    carried = std::move(*imported);
    for (const auto& [path, what] : carried->names.reports) report_error(path + ": " + what);
  }
  // New faces only: a re-run of an unchanged collection costs nothing here
  // (`cluster` looks at every unnamed face).
  auto named = auto_name_or_report(*gallery, o.auto_name, first_new_face, &exit_code);
  if (!named) return exit_code;
  for (const auto& w : summary->warnings) report_error("warning: " + w);
  if (summary->seen == 0 && summary->skipped_symlinks > 0)
    report_error("note: no photos found, but " + std::to_string(summary->skipped_symlinks) +
                 " symbolic links were skipped: add --follow-symlinks to index what they point to");
  if (o.json) {
    std::printf("%s\n", summary_json(*summary, *gallery, *named, tags, carried).dump(2).c_str());
  } else if (!g.quiet) {
    print_summary(*summary, *gallery, *named, tags, carried, o.names_from);
  }
  // A bug stopped some photos: they were not stored, the rest of the run was.
  if (!summary->internal_errors.empty()) {
    report_error(std::to_string(summary->internal_errors.size()) +
                 " photos hit an internal error (a bug in facedex: please report it with the messages above); "
                 "nothing was stored for them and the next index run tries them again");
    return kExitInternal;
  }
  // A folder or photo the user named that is not there is a request that
  // failed (a mistyped path, an unmounted drive): the run still completed.
  for (const auto& path : o.paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return kExitSomeInputsFailed;
  }
  return kExitOk;
}

}  // namespace

void register_index_command(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<IndexCommandOptions>();
  CLI::App* cmd = app.add_subcommand("index", "Find, describe and store every face in photo folders (incremental)");
  cmd->add_option("paths", o->paths, "Folders (crawled recursively) or photo files")->required();
  cmd->add_option("-j,--jobs", o->index.jobs, "Worker threads (0 = one per core; at most 256)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  add_detect_flags(cmd, o->index.detect);
  cmd->add_option("--max-pixels", o->index.decode.max_pixels, "Refuse photos larger than this many pixels")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--memory-budget", o->memory_budget_mb,
                  "MiB that decoded photos may take at once (workers wait for each other; a photo that needs more "
                  "is refused). Default: half the machine's memory")
      ->check(CLI::Range(int64_t(64), int64_t(1) << 24));
  cmd->add_option("--exclude", o->index.excludes, "Skip paths or names matching this glob (repeatable)");
  cmd->add_flag("--follow-symlinks", o->index.follow_symlinks, "Follow symbolic links (loops are detected)");
  cmd->add_flag("--keep-missing", o->index.keep_missing,
                "Do not even mark photos whose files are gone as missing (they are never removed by index; see prune)");
  add_auto_name_flags(cmd, o->auto_name, false);
  cmd->add_flag("--no-tags", o->no_tags,
                "Do not read the face tags (XMP regions) that other photo tools left in the photos and sidecars");
  cmd->add_option("--names-from", o->names_from,
                  "Another facedex database of these photos (made with another --embedder or --detector): the names, "
                  "\"not this person\" marks and report answers a user gave there carry over, faces paired by photo "
                  "and box as face tags are (undoable)");
  cmd->add_option("--index-type", o->index_type,
                  "Vector index: auto (default: exact Flat search below 200,000 faces, IVF beyond) or a FAISS factory "
                  "string such as Flat, IVF4096,Flat or HNSW32 (HNSW cannot forget faces)");
  cmd->add_flag("--json", o->json, "Print the summary as JSON");
  on_run(
      cmd, [&g, o]() { return run_index_command(g, *o); }, exit_code);
}

}  // namespace facedex::cli
