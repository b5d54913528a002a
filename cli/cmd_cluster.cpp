// facedex cluster, and splitting faces out of a person.
#include <algorithm>
#include <cstdio>

#include "cli/cli_common.h"
#include "search/gallery_clusters.h"
#include "search/people.h"
#include "search/report.h"

namespace facedex::cli {
namespace {

struct ClusterCommandOptions {
  search::ClusterOptions cluster;
  bool threshold_given = false;  // else the default, scaled to the gallery's model
  bool json = false;
  AutoNameFlags auto_name;
};

int run_cluster(const GlobalOptions& g, const ClusterCommandOptions& o) {
  int exit_code = kExitOk;
  auto gallery = open_existing_gallery_or_report(g, &exit_code);
  if (!gallery) return exit_code;
  search::ClusterOptions options = o.cluster;
  const float user_threshold = options.params.threshold;
  options.params = search::cluster_params_for_model((*gallery).store().same_person_distance(), options.params);
  if (o.threshold_given) options.params.threshold = user_threshold;
  auto summary = search::cluster_gallery(*gallery, options);
  if (!summary) {
    report_error(summary.status().message());
    return database_exit_code(summary.status());
  }
  auto named_or = auto_name_or_report(*gallery, o.auto_name, 0, &exit_code);
  if (!named_or) return exit_code;
  const search::AutoNameSummary& named = *named_or;
  if (o.json) {
    nlohmann::json suggestions = nlohmann::json::array();
    for (const auto& s : summary->suggestions)
      suggestions.push_back(
          {{"cluster", s.cluster_id}, {"person", s.person}, {"distance", s.distance}, {"faces", s.faces}});
    std::printf("%s\n", nlohmann::json{{"faces", summary->faces},
                                       {"clusters", summary->clusters},
                                       {"unclustered", summary->unclustered},
                                       {"kept_ids", summary->kept_ids},
                                       {"new_ids", summary->new_ids},
                                       {"faces_changed", summary->faces_changed},
                                       {"suggestions", suggestions},
                                       {"named_automatically", named.by_rule + named.by_cluster},
                                       {"named_by_cluster", named.by_cluster},
                                       {"seconds", summary->seconds}}
                            .dump(2)
                            .c_str());
    return kExitOk;
  }
  if (g.quiet) return kExitOk;
  std::printf(
      "%zu faces: %zu clusters (%zu kept their id, %zu new), %zu faces unclustered; %zu faces changed cluster "
      "(%.1f s)\n",
      summary->faces, summary->clusters, summary->kept_ids, summary->new_ids, summary->unclustered,
      summary->faces_changed, summary->seconds);
  if (named.by_rule + named.by_cluster)
    std::printf("named automatically: %zu faces (%zu by likeness, %zu by cluster; facedex undo %llu reverts it)\n",
                named.by_rule + named.by_cluster, named.by_rule, named.by_cluster,
                (unsigned long long)named.history_id);
  std::printf("facedex clusters lists them; facedex photos --cluster ID shows one\n");
  for (const auto& s : summary->suggestions)
    std::printf(
        "suggestion: cluster %llu (%zu faces) looks like %s (median distance %.3f): facedex name --cluster "
        "%llu \"%s\"\n",
        (unsigned long long)s.cluster_id, s.faces, s.person.c_str(), s.distance, (unsigned long long)s.cluster_id,
        s.person.c_str());
  return kExitOk;
}

int run_split(const GlobalOptions& g, const std::vector<uint64_t>& faces, const std::string& name,
              const search::NamingOptions& options) {
  int exit_code = kExitOk;
  auto gallery = open_existing_gallery_or_report(g, &exit_code);
  if (!gallery) return exit_code;
  auto r = search::split_faces(*gallery, faces, name, options);
  if (!r) {
    report_error(r.status().message());
    return naming_exit_code(r.status());
  }
  if (g.quiet) return kExitOk;
  if (!r->note.empty()) std::printf("note: %s\n", r->note.c_str());
  if (options.dry_run) {
    std::printf("dry run: would move %zu face%s to %s; nothing was changed\n", r->faces_changed,
                r->faces_changed == 1 ? "" : "s", r->person.c_str());
    for (const auto& line : r->changes) std::printf("  %s\n", line.c_str());
    return kExitOk;
  }
  std::printf("%zu face%s moved to %s (facedex undo %llu reverts it)\n", faces.size(), faces.size() == 1 ? "" : "s",
              r->person.c_str(), (unsigned long long)r->history_id);
  return kExitOk;
}

int run_report(const GlobalOptions& g, const std::string& out, const std::vector<std::string>& formats) {
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadOnly, &exit_code);
  if (!gallery) return exit_code;
  const search::ReportOptions options = search::report_options_for_model((*gallery).store().same_person_distance());
  auto report = search::build_report(*gallery, options);
  if (!report) {
    report_error(report.status().message());
    return database_exit_code(report.status());
  }
  const Status written = search::replace_report_folder(out, [&](const std::string& fresh) {
    for (const auto& format : formats) {
      const Status s = format == "html"   ? search::write_html_report(*gallery, *report, options, fresh)
                       : format == "json" ? search::write_json_report(*report, fresh)
                                          : search::write_csv_report(*report, fresh);
      if (!s) return s;
    }
    return Status::ok();
  });
  if (!written) {
    report_error(written.message());
    return written.code() == Status::Code::kInvalidInput ? kExitUsage : database_exit_code(written);
  }
  if (!g.quiet)
    std::printf("report in %s: %zu groups, %zu faces, %zu findings%s\n", out.c_str(), report->groups.size(),
                report->faces.size(), report->findings.size(),
                std::find(formats.begin(), formats.end(), "html") != formats.end() ? " (open index.html)" : "");
  return kExitOk;
}

}  // namespace

void register_cluster_commands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<ClusterCommandOptions>();
  CLI::App* cmd = app.add_subcommand("cluster", "Group every face of the gallery into clusters of one person each");
  cmd->add_option("--threshold", o->cluster.params.threshold,
                  "Groups merge while their faces' mean distance (stretched where faces are crowded) is below this "
                  "(default for dlib's ResNet; an external model's scales with its same-person distance)")
      ->capture_default_str()
      ->check(distance_in(0.01, 4))
      ->each([o](const std::string&) { o->threshold_given = true; });
  cmd->add_option("--k", o->cluster.params.k, "Neighbours per face in the graph")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--min-size", o->cluster.min_size, "Smaller groups stay unclustered")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000000));
  cmd->add_flag("--json", o->json, "JSON summary");
  add_auto_name_flags(cmd, o->auto_name, true);
  on_run(
      cmd, [&g, o]() { return run_cluster(g, *o); }, exit_code);

  auto faces = std::make_shared<std::vector<uint64_t>>();
  auto name = std::make_shared<std::string>();
  auto split_opts = std::make_shared<search::NamingOptions>();
  CLI::App* split = app.add_subcommand("split", "Take faces out of their person (and cluster) into another person");
  split->add_option("--face", *faces, "Face id (repeatable)")
      ->allow_extra_args(false)
      ->required()
      ->check(positive_id());
  split->add_option("--name", *name, "The person they belong to instead (new or existing)")->required();
  split->add_flag("--dry-run", split_opts->dry_run, "Show what would change; change nothing");
  split->add_flag("--new", split_opts->new_person, "Create the person even if a name differing only by case exists");
  on_run(
      split, [&g, faces, name, split_opts]() { return run_split(g, *faces, *name, *split_opts); }, exit_code);

  auto out = std::make_shared<std::string>();
  auto formats = std::make_shared<std::vector<std::string>>();
  CLI::App* report = app.add_subcommand("report", "Persons, clusters and duplicate persons as HTML, JSON and CSV");
  report->add_option("--out", *out, "Folder to write the report into")->required();
  report->add_option("--format", *formats, "html, json or csv (repeatable; default html)")
      ->check(CLI::IsMember({"html", "json", "csv"}));
  on_run(
      report,
      [&g, out, formats]() {
        if (formats->empty()) formats->push_back("html");
        return run_report(g, *out, *formats);
      },
      exit_code);
}

}  // namespace facedex::cli
