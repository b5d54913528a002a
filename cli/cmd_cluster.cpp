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
};

int run_cluster(const GlobalOptions& g, const ClusterCommandOptions& o) {
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadWrite, &exit_code);
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
  if (o.json) {
    nlohmann::json suggestions = nlohmann::json::array();
    for (const auto& s : summary->suggestions)
      suggestions.push_back({{"cluster", s.cluster_id}, {"person", s.person}, {"distance", s.distance}, {"faces", s.faces}});
    std::printf("%s\n", nlohmann::json{{"faces", summary->faces},
                                       {"clusters", summary->clusters},
                                       {"unclustered", summary->unclustered},
                                       {"kept_ids", summary->kept_ids},
                                       {"new_ids", summary->new_ids},
                                       {"faces_changed", summary->faces_changed},
                                       {"suggestions", suggestions},
                                       {"seconds", summary->seconds}}
                            .dump(2)
                            .c_str());
    return kExitOk;
  }
  std::printf("%zu faces: %zu clusters (%zu kept their id, %zu new), %zu faces unclustered; %zu faces changed cluster "
              "(%.1f s)\n",
              summary->faces, summary->clusters, summary->kept_ids, summary->new_ids, summary->unclustered,
              summary->faces_changed, summary->seconds);
  for (const auto& s : summary->suggestions)
    std::printf("suggestion: cluster %llu (%zu faces) looks like %s (median distance %.3f): facedex name --cluster "
                "%llu \"%s\"\n",
                (unsigned long long)s.cluster_id, s.faces, s.person.c_str(), s.distance,
                (unsigned long long)s.cluster_id, s.person.c_str());
  return kExitOk;
}

int run_split(const GlobalOptions& g, const std::vector<uint64_t>& faces, const std::string& name) {
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadWrite, &exit_code);
  if (!gallery) return exit_code;
  if (Status s = search::split_faces(*gallery, faces, name); !s) {
    report_error(s.message());
    return s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInvalidInput ? kExitUsage
                                                                                            : database_exit_code(s);
  }
  if (!g.quiet) std::printf("%zu face%s moved to %s\n", faces.size(), faces.size() == 1 ? "" : "s", name.c_str());
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
  for (const auto& format : formats) {
    const Status s = format == "html"   ? search::write_html_report(*gallery, *report, options, out)
                     : format == "json" ? search::write_json_report(*report, out)
                                        : search::write_csv_report(*report, out);
    if (!s) {
      report_error(s.message());
      return database_exit_code(s);
    }
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
      ->each([o](const std::string&) { o->threshold_given = true; });
  cmd->add_option("--k", o->cluster.params.k, "Neighbours per face in the graph")->capture_default_str();
  cmd->add_option("--min-size", o->cluster.min_size, "Smaller groups stay unclustered")->capture_default_str();
  cmd->add_flag("--json", o->json, "JSON summary");
  on_run(cmd, [&g, o]() { return run_cluster(g, *o); }, exit_code);

  auto faces = std::make_shared<std::vector<uint64_t>>();
  auto name = std::make_shared<std::string>();
  CLI::App* split = app.add_subcommand("split", "Take faces out of their person (and cluster) into another person");
  split->add_option("--face", *faces, "Face id (repeatable)")->required();
  split->add_option("--name", *name, "The person they belong to instead (new or existing)")->required();
  on_run(split, [&g, faces, name]() { return run_split(g, *faces, *name); }, exit_code);

  auto out = std::make_shared<std::string>();
  auto formats = std::make_shared<std::vector<std::string>>();
  CLI::App* report = app.add_subcommand("report", "Persons, clusters and duplicate persons as HTML, JSON and CSV");
  report->add_option("--out", *out, "Folder to write the report into")->required();
  report->add_option("--format", *formats, "html, json or csv (repeatable; default html)")
      ->check(CLI::IsMember({"html", "json", "csv"}));
  on_run(report, [&g, out, formats]() {
    if (formats->empty()) formats->push_back("html");
    return run_report(g, *out, *formats);
  }, exit_code);
}

}  // namespace facedex::cli
