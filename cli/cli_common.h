// What every facedex subcommand shares: global options, exit codes, model
// loading, and the JSON helpers for printing. No logic a test would need lives
// in cli/: it parses, calls a library, prints.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "models/face_pipeline.h"
#include "search/auto_naming.h"
#include "storage/gallery.h"

namespace facedex::cli {

// Documented in README.md ("Exit codes").
enum ExitCode : int {
  kExitOk = 0,                // done; for index, bad files were reported but the run completed
  kExitSomeInputsFailed = 1,  // finished, but at least one input (photo, probe) could not be used
  kExitUsage = 2,             // bad command line
  kExitModels = 3,            // model files missing or unreadable
  kExitDatabase = 4,          // database missing, in use by another process, corrupt, or disk full
  kExitInternal = 5,          // a bug: please report it
};

struct GlobalOptions {
  std::string db_dir;             // --db or FACEDEX_DB
  std::string models_dir;         // --models or FACEDEX_MODELS
  std::string embedder = "auto";  // --embedder or FACEDEX_EMBEDDER
  bool embedder_given = false;    // either was set: commands never override it
  std::string detector = "cnn";   // --detector or FACEDEX_DETECTOR
  bool quiet = false;             // --quiet: errors only
};

// A subcommand's body, run after parsing; returns the exit code.
using CommandBody = std::function<int()>;

// Registers one subcommand; its body runs when it was chosen.
void on_run(CLI::App* command, CommandBody body, int* exit_code);

// --min-face and --min-score (the CNN detector), --upsample and --max-detect-side (HOG).
void add_detect_flags(CLI::App* cmd, models::DetectOptions& detect);

// Locates and loads the models of `embedder` (g.embedder, or
// embedder_for_database(g) for a command on the database), printing a message
// and returning nullptr on failure.
std::shared_ptr<const models::FaceModels> load_models_or_report(const GlobalOptions& g, const std::string& embedder);

// --db, else FACEDEX_DB (CLI11 fills both into db_dir), else
// $XDG_DATA_HOME/facedex or ~/.local/share/facedex.
std::string database_dir(const GlobalOptions& g);

// Opens the gallery, printing notices (index rebuilt...) to stderr unless quiet.
// On failure prints the reason and sets *exit_code.
std::unique_ptr<storage::Gallery> open_gallery_or_report(const GlobalOptions& g, storage::OpenMode mode, int* exit_code,
                                                         const std::string& index_type = "",
                                                         bool accept_lost_writes = false);

// For commands that change an existing gallery (naming, cluster, prune): a
// mistyped --db must not create an empty database.
std::unique_ptr<storage::Gallery> open_existing_gallery_or_report(const GlobalOptions& g, int* exit_code,
                                                                  bool accept_lost_writes = false);

// Asks "question [y/N]" on a terminal; true at once with `yes`. Without a
// terminal and without --yes it refuses, saying so.
bool confirm(const std::string& question, bool yes);

// A gallery id (face, cluster, history entry): 1, 2, ...
CLI::Validator positive_id();

// A finite distance in [lo, hi]: CLI::Range lets nan through.
CLI::Validator distance_in(double lo, double hi);

// --no-auto-name and the automatic-naming rule's flags, shared by index and cluster.
struct AutoNameFlags {
  bool off = false;
  bool by_cluster = false;
  float distance = -1, margin = -1;  // < 0: the calibrated defaults
};
void add_auto_name_flags(CLI::App* cmd, AutoNameFlags& flags, bool with_by_cluster);
// Names faces with ids >= first_face_id (0: all) automatically unless the
// flags turn it off. On failure prints the reason and sets *exit_code.
std::optional<search::AutoNameSummary> auto_name_or_report(storage::Gallery& gallery, const AutoNameFlags& flags,
                                                           uint64_t first_face_id, int* exit_code);

// Exit code for a failed naming command: 2 for a wrong name or id, else the database's.
int naming_exit_code(const Status& s);

// Exit code for a failed database operation.
int database_exit_code(const Status& s);

// The bundled embedder ("auto" for dlib's ResNet) that, with --models
// models_dir, gives `fingerprint`; "" for none.
std::string bundled_embedder_of(const std::string& models_dir, const std::string& fingerprint);

// For a database of another model's descriptors: " It was made with --embedder
// NAME." when one of the bundled embedders (with g's --models) has its
// fingerprint, else "".
std::string embedder_hint(const GlobalOptions& g, const std::string& database_fingerprint);

// The embedder a command on the database uses: the one given, else the bundled
// embedder (with g's --models) whose fingerprint the database holds, so a
// gallery made with --embedder faceplugin answers without it; else g's.
// embedder_for_database reads the fingerprint, for commands that load the
// models before they open the database.
std::string embedder_for_fingerprint(const GlobalOptions& g, const std::string& database_fingerprint);
std::string embedder_for_database(const GlobalOptions& g);

// Prints "facedex: <message>" to stderr.
void report_error(const std::string& message);

// JSON value for a file name that may not be valid UTF-8.
nlohmann::json path_json(const std::string& path);

void register_faces_command(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_models_command(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_index_command(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_gallery_commands(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_people_commands(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_query_commands(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_cluster_commands(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_library_commands(CLI::App& app, GlobalOptions& g, int* exit_code);

}  // namespace facedex::cli
