// Queries with probe photos: who, search, compare.
#include <cmath>
#include <cstdio>
#include <thread>

#include "cli/cli_common.h"
#include "search/probe.h"
#include "search/who.h"

namespace facedex::cli {
namespace {

struct QueryOptions {
  std::vector<std::string> probes;
  int k = 10;
  int matches = 5;
  double threshold = -1;  // < 0: the calibrated rule
  bool json = false;
  models::DetectOptions detect;
};

nlohmann::json box_json(const models::FaceBox& b) { return {b.left, b.top, b.right, b.bottom}; }

nlohmann::json matches_json(const std::vector<search::GalleryMatch>& matches) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : matches) {
    nlohmann::json copies = nlohmann::json::array();
    for (const auto& c : m.copies) copies.push_back(path_json(c));
    out.push_back({{"face_id", m.face_id},
                   {"photo", path_json(m.photo)},
                   {"distance", m.distance},
                   {"person", m.person.empty() ? nlohmann::json() : nlohmann::json(m.person)},
                   {"automatic", m.automatic},
                   {"cluster", m.cluster_id ? nlohmann::json(m.cluster_id) : nlohmann::json()},
                   {"missing", m.missing},
                   {"copies", copies}});
  }
  return out;
}

// "face 12  cluster 3  Barack Obama (automatic)  +2 copies" for a terminal.
// Why the nearest person was or was not accepted: null under --threshold.
nlohmann::json evidence_json(const search::FaceAnswer& a) {
  if (!a.evidence) return nullptr;
  return {{"score", a.score},
          {"margin", a.evidence->margin},
          {"probe_crowding", a.evidence->probe_crowding},
          {"reference_crowding", a.evidence->reference_crowding}};
}

std::string match_line(const search::GalleryMatch& m) {
  std::string s = "face " + std::to_string(m.face_id);
  if (!m.person.empty())
    s += "  " + m.person + (m.automatic ? " (automatic)" : "");
  else if (m.cluster_id)
    s += "  cluster " + std::to_string(m.cluster_id);
  if (!m.copies.empty()) s += "  +" + std::to_string(m.copies.size()) + (m.copies.size() == 1 ? " copy" : " copies");
  if (m.missing) s += "  (file missing)";
  return s;
}

// Loads `embedder`'s models and analyses the probes; sets *exit_code on
// failure. `model` (optional) receives the model set the probes were described with.
std::vector<search::ProbePhoto> probe_faces(const GlobalOptions& g, const std::string& embedder, const QueryOptions& o,
                                            int* exit_code, models::ModelSet* model = nullptr) {
  auto models = load_models_or_report(g, embedder);
  if (!models) {
    *exit_code = kExitModels;
    return {};
  }
  if (model) *model = models->model_set();
  // A query is one process with a few probes: give its one network every core.
  auto pipeline = models::FacePipeline::create(models, int(std::max(1u, std::thread::hardware_concurrency())));
  if (!pipeline) {
    report_error(pipeline.status().message());
    *exit_code = kExitModels;
    return {};
  }
  return search::analyze_probes(search::expand_probe_paths(o.probes), **pipeline, o.detect);
}

int run_who(const GlobalOptions& g, const QueryOptions& o, bool raw_search) {
  int exit_code = kExitOk;
  auto gallery = open_gallery_or_report(g, storage::OpenMode::kReadOnly, &exit_code);
  if (!gallery) return exit_code;
  auto identifier = search::Identifier::create(*gallery);
  if (!identifier) {
    report_error(identifier.status().message());
    return database_exit_code(identifier.status());
  }
  models::ModelSet model;
  const auto probes =
      probe_faces(g, embedder_for_fingerprint(g, gallery->store().model_fingerprint()), o, &exit_code, &model);
  if (exit_code != kExitOk) return exit_code;
  // Descriptors of two models are not comparable: refuse rather than answer nonsense.
  if (Status s = gallery->store().bind_model(model.fingerprint, model.same_person_distance, model.descriptor_dims);
      !s) {
    report_error(s.message() + embedder_hint(g, gallery->store().model_fingerprint()));
    return database_exit_code(s);
  }

  search::IdentityRule rule = search::identity_rule_for_model(
      model.same_person_distance, model.external ? model.external->who_weights : std::nullopt);
  rule.k = o.k;
  if (o.threshold >= 0) {
    rule.plain_threshold = true;
    rule.max_distance = float(o.threshold);
  }
  int failed = 0;
  bool internal = false;  // a bug, not the probe's fault
  for (const auto& probe : probes) {
    if (!probe.error) {
      ++failed;
      internal |= probe.error.code() == Status::Code::kInternal;
      report_error(probe.error.message());
      if (o.json)
        std::printf("%s\n",
                    nlohmann::json{{"photo", path_json(probe.path)}, {"error", probe.error.message()}}.dump().c_str());
      continue;
    }
    std::vector<Descriptor> descriptors;
    for (const auto& f : probe.faces) descriptors.push_back(f.descriptor);
    nlohmann::json j{{"photo", path_json(probe.path)}, {"faces", nlohmann::json::array()}};
    if (!o.json)
      std::printf("%s: %zu face%s\n", probe.path.c_str(), probe.faces.size(), probe.faces.size() == 1 ? "" : "s");

    if (raw_search) {
      for (size_t i = 0; i < probe.faces.size(); ++i) {
        const auto matches = (*identifier)->nearest(descriptors[i], o.k);
        j["faces"].push_back({{"box", box_json(probe.faces[i].box)}, {"matches", matches_json(matches)}});
        if (o.json) continue;
        const auto& b = probe.faces[i].box;
        std::printf("  probe face %zu [%d, %d, %d, %d]\n", i + 1, b.left, b.top, b.right, b.bottom);
        for (const auto& m : matches)
          std::printf("    %.3f  %s  %s\n", m.distance, m.photo.c_str(), match_line(m).c_str());
      }
    } else {
      const auto answers = (*identifier)->identify(descriptors, rule, o.matches);
      for (size_t i = 0; i < answers.size(); ++i) {
        const auto& a = answers[i];
        nlohmann::json candidates = nlohmann::json::array();
        for (const auto& c : a.candidates)
          candidates.push_back({{"name", c.name}, {"distance", c.distance}, {"votes", c.votes}});
        j["faces"].push_back({{"box", box_json(probe.faces[i].box)},
                              {"identity", a.identity ? nlohmann::json(*a.identity) : nlohmann::json()},
                              {"distance", a.distance ? nlohmann::json(*a.distance) : nlohmann::json()},
                              {"evidence", evidence_json(a)},
                              {"candidates", candidates},
                              {"matches", matches_json(a.matches)}});
        if (o.json) continue;
        const auto& b = probe.faces[i].box;
        std::printf("  probe face %zu [%d, %d, %d, %d]: %s", i + 1, b.left, b.top, b.right, b.bottom,
                    a.identity ? a.identity->c_str() : "unknown");
        if (a.distance) std::printf(" (nearest named face %.3f)", *a.distance);
        std::printf("\n");
        for (size_t c = 0; c < a.candidates.size() && c < 3; ++c)
          std::printf("      candidate %-24s %.3f  %d vote%s\n", a.candidates[c].name.c_str(), a.candidates[c].distance,
                      a.candidates[c].votes, a.candidates[c].votes == 1 ? "" : "s");
        for (const auto& m : a.matches)
          std::printf("      seen in %s  %.3f  %s\n", m.photo.c_str(), m.distance, match_line(m).c_str());
      }
    }
    if (o.json) std::printf("%s\n", j.dump().c_str());
  }
  if (internal) return kExitInternal;
  return failed ? kExitSomeInputsFailed : kExitOk;
}

int run_compare(const GlobalOptions& g, const std::string& a, const std::string& b, double threshold, bool json) {
  int exit_code = kExitOk;
  QueryOptions o;
  o.probes = {a, b};
  models::ModelSet model;
  const auto probes = probe_faces(g, g.embedder, o, &exit_code, &model);
  if (exit_code != kExitOk) return exit_code;
  if (threshold < 0) threshold = model.same_person_distance;
  for (const auto& p : probes) {
    if (!p.error) {
      report_error(p.error.message());
      return p.error.code() == Status::Code::kInternal ? kExitInternal : kExitSomeInputsFailed;
    }
    if (p.faces.empty()) {
      report_error(p.path + ": no face found");
      return kExitSomeInputsFailed;
    }
  }
  // The main face of each photo: the largest.
  const auto& fa = probes[0].faces[0];
  const auto& fb = probes[1].faces[0];
  const double d = descriptor_distance(fa.descriptor, fb.descriptor);
  const bool same = d < threshold;
  if (json) {
    std::printf(
        "%s\n",
        nlohmann::json{{"a", {{"photo", path_json(a)}, {"box", box_json(fa.box)}, {"faces", probes[0].faces.size()}}},
                       {"b", {{"photo", path_json(b)}, {"box", box_json(fb.box)}, {"faces", probes[1].faces.size()}}},
                       {"distance", d},
                       {"threshold", threshold},
                       {"same", same}}
            .dump(2)
            .c_str());
    return kExitOk;
  }
  auto describe = [](const search::ProbePhoto& p) {
    const auto& bx = p.faces[0].box;
    char buf[160];
    std::snprintf(buf, sizeof(buf), "[%d, %d, %d, %d]%s", bx.left, bx.top, bx.right, bx.bottom,
                  p.faces.size() > 1 ? (" (largest of " + std::to_string(p.faces.size()) + " faces)").c_str() : "");
    return std::string(buf);
  };
  std::printf("%s %s\n%s %s\ndistance %.3f: %s (threshold %.2f)\n", a.c_str(), describe(probes[0]).c_str(), b.c_str(),
              describe(probes[1]).c_str(), d, same ? "same person" : "different people", threshold);
  return kExitOk;
}

}  // namespace

void register_query_commands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto who = std::make_shared<QueryOptions>();
  CLI::App* cmd = app.add_subcommand("who", "Who is in these photos? Identity per face, and where else it appears");
  cmd->add_option("probes", who->probes, "Photos or folders")->required();
  cmd->add_option("--k", who->k, "Named faces consulted per face")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--matches", who->matches, "Nearest gallery faces shown per face")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--threshold", who->threshold,
                  "Plain distance threshold instead of the calibrated rule (names more strangers)")
      ->check(distance_in(0, 4));
  cmd->add_flag("--json", who->json, "One JSON object per probe photo");
  add_detect_flags(cmd, who->detect);
  on_run(
      cmd, [&g, who]() { return run_who(g, *who, false); }, exit_code);

  auto search_opts = std::make_shared<QueryOptions>();
  CLI::App* s = app.add_subcommand("search", "The nearest gallery faces of each face in the probe photos");
  s->add_option("probes", search_opts->probes, "Photos or folders")->required();
  s->add_option("--k", search_opts->k, "Faces per probe face")->capture_default_str()->check(CLI::Range(1, 1000));
  s->add_flag("--json", search_opts->json, "One JSON object per probe photo");
  on_run(
      s, [&g, search_opts]() { return run_who(g, *search_opts, true); }, exit_code);

  auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
  auto threshold = std::make_shared<double>(-1);
  auto json = std::make_shared<bool>(false);
  CLI::App* c = app.add_subcommand("compare", "Same person? Distance between the main faces of two photos");
  c->add_option("a", *a, "Photo")->required();
  c->add_option("b", *b, "Photo")->required();
  c->add_option("--threshold", *threshold,
                "Same person below this distance (default: the model's 1:1 threshold, 0.6 for dlib's ResNet)")
      ->check(distance_in(0, 4));
  c->add_flag("--json", *json, "JSON output");
  on_run(
      c, [&g, a, b, threshold, json]() { return run_compare(g, *a, *b, *threshold, *json); }, exit_code);
}

}  // namespace facedex::cli
