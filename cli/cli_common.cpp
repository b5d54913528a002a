#include "cli/cli_common.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "util/utf8.h"

namespace facedex::cli {

void on_run(CLI::App* command, CommandBody body, int* exit_code) {
  command->callback([body = std::move(body), exit_code]() { *exit_code = body(); });
}

std::string database_dir(const GlobalOptions& g) {
  if (!g.db_dir.empty()) return g.db_dir;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::string(xdg) + "/facedex";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/share/facedex";
  return "facedex-db";
}

int database_exit_code(const Status& s) {
  if (s.code() == Status::Code::kInvalidInput) return kExitUsage;  // an argument the store refused
  return s.code() == Status::Code::kModelMismatch || s.code() == Status::Code::kBusy ||
                 s.code() == Status::Code::kCorruption || s.code() == Status::Code::kIoError ||
                 s.code() == Status::Code::kNotFound || s.code() == Status::Code::kUnsupported
             ? kExitDatabase
             : kExitInternal;
}

std::string bundled_embedder_of(const std::string& models_dir, const std::string& fingerprint) {
  std::vector<std::string> embedders = {"auto"};
  for (const auto& bundled : models::bundled_external_models()) embedders.push_back(bundled.embedder);
  for (const std::string& embedder : embedders) {
    auto set = models::locate_models(models_dir, embedder);
    if (set && set->fingerprint == fingerprint) return embedder;
  }
  return "";
}

std::string embedder_hint(const GlobalOptions& g, const std::string& database_fingerprint) {
  const std::string embedder = bundled_embedder_of(g.models_dir, database_fingerprint);
  return embedder.empty() || embedder == g.embedder ? "" : " It was made with --embedder " + embedder + ".";
}

std::string embedder_for_fingerprint(const GlobalOptions& g, const std::string& database_fingerprint) {
  if (g.embedder_given || database_fingerprint.empty()) return g.embedder;
  const std::string embedder = bundled_embedder_of(g.models_dir, database_fingerprint);
  return embedder.empty() ? g.embedder : embedder;
}

std::string embedder_for_database(const GlobalOptions& g) {
  if (g.embedder_given) return g.embedder;
  const std::string dir = database_dir(g);
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/CURRENT", ec)) return g.embedder;
  // A database that does not open is the command's own open to report.
  auto store = storage::GalleryStore::open(dir, storage::OpenMode::kReadOnly);
  return store ? embedder_for_fingerprint(g, (*store)->model_fingerprint()) : g.embedder;
}

std::unique_ptr<storage::Gallery> open_gallery_or_report(const GlobalOptions& g, storage::OpenMode mode, int* exit_code,
                                                         const std::string& index_type, bool accept_lost_writes) {
  const bool quiet = g.quiet;
  auto gallery = storage::Gallery::open(
      database_dir(g), mode,
      [quiet](const std::string& notice) {
        if (!quiet) std::fprintf(stderr, "facedex: %s\n", notice.c_str());
      },
      index_type, storage::kApproximateIndexFaces, accept_lost_writes);
  if (!gallery) {
    report_error(gallery.status().message());
    *exit_code = database_exit_code(gallery.status());
    return nullptr;
  }
  return std::move(*gallery);
}

std::unique_ptr<storage::Gallery> open_existing_gallery_or_report(const GlobalOptions& g, int* exit_code,
                                                                  bool accept_lost_writes) {
  const std::string dir = database_dir(g);
  std::error_code ec;
  // A folder with something in it goes to the store, which says what is wrong with it.
  if (!std::filesystem::exists(dir + "/CURRENT", ec) &&
      (!std::filesystem::is_directory(dir, ec) || std::filesystem::is_empty(dir, ec))) {
    report_error("no facedex database at " + dir + " (check --db, or run facedex index first)");
    *exit_code = kExitDatabase;
    return nullptr;
  }
  return open_gallery_or_report(g, storage::OpenMode::kReadWrite, exit_code, "", accept_lost_writes);
}

bool confirm(const std::string& question, bool yes) {
  if (yes) return true;
  if (!isatty(STDIN_FILENO)) {
    report_error(question + ": refused (no terminal to ask; add --yes to go ahead)");
    return false;
  }
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  char answer[16] = {0};
  if (!std::fgets(answer, sizeof(answer), stdin)) return false;
  return answer[0] == 'y' || answer[0] == 'Y';
}

CLI::Validator positive_id() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos ||
            std::stoull(value) == 0)
          return "must be an id (1, 2, ...), not " + value;
        return "";
      },
      "ID");
}

CLI::Validator distance_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& value) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
          return "must be a number from " + CLI::detail::to_string(lo) + " to " + CLI::detail::to_string(hi) +
                 ", not " + value;
        return "";
      },
      "DISTANCE in [" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]");
}

void add_auto_name_flags(CLI::App* cmd, AutoNameFlags& flags, bool with_by_cluster) {
  cmd->add_flag("--no-auto-name", flags.off, "Do not name faces after the persons they confidently look like");
  if (with_by_cluster)
    cmd->add_flag("--auto-name-by-cluster", flags.by_cluster,
                  "Also name a face after the one user-named person of its cluster when that person is its nearest "
                  "(less precise: benchmarks/RESULTS.md)");
  cmd->add_option("--auto-name-distance", flags.distance,
                  "Automatic names: the person's nearest user-named face within this distance (default 0.45 for "
                  "dlib's ResNet)")
      ->check(distance_in(0, 4));
  cmd->add_option("--auto-name-margin", flags.margin,
                  "Automatic names: the runner-up person at least this much further (default 0.08)")
      ->check(distance_in(0, 4));
}

std::optional<search::AutoNameSummary> auto_name_or_report(storage::Gallery& gallery, const AutoNameFlags& flags,
                                                           uint64_t first_face_id, int* exit_code) {
  if (flags.off) return search::AutoNameSummary{};
  search::AutoNameOptions options = search::auto_name_options_for_model(gallery.store().same_person_distance());
  if (flags.distance >= 0) options.rule.max_distance = flags.distance;
  if (flags.margin >= 0) options.rule.min_margin = flags.margin;
  options.by_cluster = flags.by_cluster;
  options.first_face_id = first_face_id;
  auto named = search::auto_name_faces(gallery, options);
  if (!named) {
    report_error(named.status().message());
    *exit_code = database_exit_code(named.status());
    return std::nullopt;
  }
  return *named;
}

int naming_exit_code(const Status& s) {
  return s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInvalidInput ? kExitUsage
                                                                                        : database_exit_code(s);
}

void add_detect_flags(CLI::App* cmd, models::DetectOptions& detect) {
  cmd->add_option("--min-face", detect.min_face,
                  "CNN detector: leave out faces smaller than this many pixels (short side of the box); smaller "
                  "values find smaller faces and cost more time")
      ->capture_default_str()
      ->check(CLI::Range(8, 1 << 16));
  cmd->add_option("--min-score", detect.min_score,
                  "CNN detector: the least face probability kept (0..1; faces HOG also finds are kept from 0.1, faces "
                  "cut by the photo's edge from 0.5)")
      ->capture_default_str()
      ->check(distance_in(0, 1));
  cmd->add_option("--upsample", detect.upsample,
                  "HOG detector: times to double the detection image (-1 = auto: once when its long side is at most "
                  "1024 px)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 3));
  cmd->add_option("--max-detect-side", detect.max_detect_side,
                  "HOG detector: detect on a copy downscaled to this long side, but to no less than 60% of the photo "
                  "(0 = full size)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 16));
}

void report_error(const std::string& message) { std::fprintf(stderr, "facedex: %s\n", message.c_str()); }

std::shared_ptr<const models::FaceModels> load_models_or_report(const GlobalOptions& g, const std::string& embedder) {
  auto set = models::locate_models(g.models_dir, embedder);
  if (!set) {
    report_error(set.status().message());
    return nullptr;
  }
  auto backend = models::parse_embedder_backend(embedder);
  if (!backend) {
    report_error(backend.status().message());
    return nullptr;
  }
  auto detector = models::parse_detector_kind(g.detector);
  if (!detector) {
    report_error(detector.status().message());
    return nullptr;
  }
  auto loaded = models::FaceModels::load(*set, *backend, *detector);
  if (!loaded) {
    report_error(loaded.status().message());
    return nullptr;
  }
  return *loaded;
}

nlohmann::json path_json(const std::string& path) {
  // nlohmann::json throws on invalid UTF-8 when dumping: bad bytes become
  // U+FFFD so a photo with a Latin-1 name still appears (the store keeps the exact bytes).
  return utf8_safe(path);
}

}  // namespace facedex::cli
