// `who` on a gallery that knows more than the names: LFW-dev people enrolled
// with one named photo each into a library of unnamed photos, asked about
// photos the library does not hold, at three gallery sizes.
//
//   lfw_who --library DB --probes DB [--embedder NAME] [--unknown SHARE] [--dump FILE]
//
// --library: a gallery indexed from, for each LFW-dev person with two or more
// photos, the first photo (enrolled) and every second photo after the second
// (unnamed), plus distractor photos of other people (wider-dev, groups,
// people); nothing named, not clustered. --probes: a gallery of all LFW-dev
// photos, which gives the probes' descriptors (main face: box centre nearest
// the photo's centre). Probes: photos 2, 4, ... of enrolled people (never in
// the library) and the photos of single-photo people (strangers: the answer
// must be "unknown").
//
// Each scenario copies the library, names the enrolled faces as a user would,
// clusters it and names automatically as `facedex cluster` does, then asks
// search::Identifier. Scenarios: one half's people named, both halves' named,
// both halves' and every distractor face named as a person of its own; each
// probed with one half's probes. Halves are split by a hash of the name. The
// crowding rule's weights are fitted (logistic regression) on the calibration
// half's scenarios, with the threshold that leaves 97% of their strangers
// unknown (--unknown: another share), and reported on the other half. The
// "shipped" rule is dlib's weights, or with --embedder the weights that
// model's spec gives (who_weights), as `facedex who` uses them.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/model_files.h"
#include "search/auto_naming.h"
#include "search/gallery_clusters.h"
#include "search/identity_rule.h"
#include "search/people.h"
#include "search/who.h"
#include "storage/gallery.h"

using namespace facedex;
namespace fs = std::filesystem;

namespace {

struct Key {
  std::string person;
  int number = 0;
  bool operator<(const Key& o) const { return person != o.person ? person < o.person : number < o.number; }
};

// ".../Aaron_Peirsol/Aaron_Peirsol_0002.jpg" -> ("Aaron_Peirsol", 2); false for other photos.
bool parse_lfw_path(const std::string& path, Key* key) {
  const auto slash = path.find_last_of('/');
  const auto us = path.find_last_of('_');
  const auto dot = path.find_last_of('.');
  if (slash == std::string::npos || us == std::string::npos || dot == std::string::npos || us < slash) return false;
  const std::string folder = path.substr(0, slash);
  key->person = path.substr(slash + 1, us - slash - 1);
  if (folder.size() < key->person.size() || folder.substr(folder.size() - key->person.size()) != key->person)
    return false;
  key->number = std::atoi(path.substr(us + 1, dot - us - 1).c_str());
  return true;
}

// Main face (box centre nearest the photo's centre) of every LFW photo; other faces' ids in `others`.
std::map<Key, storage::Face> main_faces(const storage::GalleryStore& store, std::vector<uint64_t>* others) {
  std::map<Key, storage::Face> out;
  const Status s = store.for_each_photo([&](const storage::Photo& p) {
    Key key;
    const bool lfw = parse_lfw_path(p.path, &key);
    double best = 1e18;
    for (uint64_t fid : p.face_ids) {
      auto f = store.face(fid);
      if (!f || !*f) continue;
      if (!lfw) {
        if (others) others->push_back(fid);
        continue;
      }
      const double cx = ((*f)->box.left + (*f)->box.right) / 2.0 - p.width / 2.0;
      const double cy = ((*f)->box.top + (*f)->box.bottom) / 2.0 - p.height / 2.0;
      if (cx * cx + cy * cy < best) {
        best = cx * cx + cy * cy;
        out[key] = **f;
      }
    }
    return true;
  });
  if (!s) std::fprintf(stderr, "%s\n", s.message().c_str()), std::exit(1);
  return out;
}

int half_of(const std::string& person) { return int(std::hash<std::string>()(person) % 2); }

struct Sample {
  bool stranger = false;
  bool right = false;  // the nearest person is the probe's own
  search::IdentityEvidence evidence;
  bool old_rule = false;  // accepted by the distance-and-margin rule on named faces
  bool rank1 = false;
  bool beyond_cap = false;  // further than the crowding rule ever names (IdentityRule::crowding_max_distance)
  // The probe face's quality: detector score, log of the box width, and how far
  // the nose sits from the eyes' midpoint in eye distances (turned heads).
  std::array<double, 3> quality{};
};

std::array<double, 3> face_quality(const storage::Face& f) {
  double yaw = 0;
  if (f.landmarks.size() == 68) {
    double lx = 0, rx = 0, ly = 0, ry = 0;
    for (int i = 36; i < 42; ++i) lx += f.landmarks[size_t(i)][0] / 6, ly += f.landmarks[size_t(i)][1] / 6;
    for (int i = 42; i < 48; ++i) rx += f.landmarks[size_t(i)][0] / 6, ry += f.landmarks[size_t(i)][1] / 6;
    const double eyes = std::hypot(rx - lx, ry - ly);
    yaw = eyes > 0 ? std::fabs(f.landmarks[30][0] - (lx + rx) / 2) / eyes : 0;
  }
  return {f.score, std::log(std::max(1, f.box.right - f.box.left)), yaw};
}

struct Scenario {
  std::string name;
  std::vector<int> named_halves;
  int probe_half = 0;
  bool name_distractors = false;
  size_t named_people = 0;
  std::vector<Sample> samples;
};

void run_scenario(Scenario& sc, const std::string& library, const std::map<Key, storage::Face>& probes_main,
                  const std::string& work) {
  const std::string db = work + "/" + std::to_string(std::hash<std::string>()(sc.name));
  fs::remove_all(db);
  fs::copy(library, db, fs::copy_options::recursive);
  auto opened = storage::Gallery::open(db, storage::OpenMode::kReadWrite, nullptr);
  if (!opened) std::fprintf(stderr, "%s\n", opened.status().message().c_str()), std::exit(1);
  storage::Gallery& gallery = **opened;
  std::vector<uint64_t> distractors;
  const auto library_main = main_faces(gallery.store(), &distractors);
  std::map<std::string, std::vector<int>> library_numbers;
  for (const auto& [key, face] : library_main) library_numbers[key.person].push_back(key.number);
  for (const auto& [person, numbers] : library_numbers) {
    if (std::find(sc.named_halves.begin(), sc.named_halves.end(), half_of(person)) == sc.named_halves.end()) continue;
    const uint64_t face = library_main.at({person, numbers.front()}).id;
    auto named = search::name_faces(gallery, {face}, person, {});
    if (!named) std::fprintf(stderr, "%s\n", named.status().message().c_str()), std::exit(1);
    ++sc.named_people;
  }
  if (sc.name_distractors)
    for (uint64_t fid : distractors) {
      if (!search::name_faces(gallery, {fid}, "distractor " + std::to_string(fid), {})) std::exit(1);
      ++sc.named_people;
    }
  // The rules as the commands use them: scaled to the gallery's model.
  const float same_person = gallery.store().same_person_distance();
  search::ClusterOptions cluster;
  cluster.params = search::cluster_params_for_model(same_person, cluster.params);
  if (!search::cluster_gallery(gallery, cluster)) std::exit(1);
  if (!search::auto_name_faces(gallery, search::auto_name_options_for_model(same_person))) std::exit(1);

  auto identifier = search::Identifier::create(gallery);
  if (!identifier) std::fprintf(stderr, "%s\n", identifier.status().message().c_str()), std::exit(1);
  const search::IdentityRule crowding = search::identity_rule_for_model(same_person);
  search::IdentityRule old_rule = crowding;
  old_rule.crowding.reset();
  std::map<std::string, std::vector<int>> probe_numbers;
  for (const auto& [key, face] : probes_main) probe_numbers[key.person].push_back(key.number);
  for (const auto& [person, numbers] : probe_numbers) {
    if (half_of(person) != sc.probe_half) continue;
    for (size_t i = 0; i < numbers.size(); ++i) {
      const bool stranger = numbers.size() == 1;
      if (!stranger && i % 2 == 0) continue;  // enrolled or in the library
      const storage::Face& probe = probes_main.at({person, numbers[i]});
      const Descriptor& d = probe.descriptor;
      const auto a = (*identifier)->identify({d}, crowding, 0)[0];
      const auto b = (*identifier)->identify({d}, old_rule, 0)[0];
      Sample s;
      s.stranger = stranger;
      s.quality = face_quality(probe);
      s.rank1 = !a.candidates.empty() && a.candidates[0].name == person;
      s.beyond_cap = a.candidates.empty() || a.candidates[0].distance > crowding.crowding_max_distance;
      s.right = s.rank1;
      if (a.evidence) s.evidence = *a.evidence;
      s.old_rule = stranger ? bool(b.identity) : b.identity == person;
      if (a.candidates.empty()) s.evidence = {search::kNoRunnerUpDistance, 0, 0, 0};
      sc.samples.push_back(s);
    }
  }
  fs::remove_all(db);
}

constexpr int kFeatures = 4;
std::vector<double> features(const Sample& s, bool with_quality) {
  const auto& e = s.evidence;
  std::vector<double> f = {e.distance, e.margin, e.probe_crowding, e.reference_crowding};
  if (with_quality) f.insert(f.end(), s.quality.begin(), s.quality.end());
  return f;
}

// Logistic regression by Newton's method on standardised features; returns
// raw weights (bias last) of the linear score.
std::vector<double> fit(const std::vector<const Sample*>& samples, bool with_quality) {
  const size_t n = samples.size(), nf = features(*samples[0], with_quality).size(), m = nf + 1;
  std::vector<std::vector<double>> x(n);
  std::vector<double> mean(nf, 0.0), sd(nf, 0.0);
  for (size_t i = 0; i < n; ++i) {
    x[i] = features(*samples[i], with_quality);
    for (size_t j = 0; j < nf; ++j) mean[j] += x[i][j] / double(n);
    x[i].push_back(1);
  }
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < nf; ++j) sd[j] += (x[i][j] - mean[j]) * (x[i][j] - mean[j]) / double(n);
  for (size_t j = 0; j < nf; ++j) sd[j] = std::sqrt(sd[j]) + 1e-9;
  for (auto& r : x)
    for (size_t j = 0; j < nf; ++j) r[j] = (r[j] - mean[j]) / sd[j];
  std::vector<double> w(m, 0.0);
  for (int iter = 0; iter < 50; ++iter) {
    std::vector<double> g(m, 0.0), h(m * m, 0.0);
    for (size_t i = 0; i < n; ++i) {
      double z = 0;
      for (size_t j = 0; j < m; ++j) z += w[j] * x[i][j];
      const double p = 1 / (1 + std::exp(-z)), y = !samples[i]->stranger && samples[i]->right;
      for (size_t j = 0; j < m; ++j) {
        g[j] += (p - y) * x[i][j];
        for (size_t k = 0; k < m; ++k) h[j * m + k] += p * (1 - p) * x[i][j] * x[i][k];
      }
    }
    for (size_t j = 0; j < m; ++j) h[j * m + j] += 1e-6 * double(n);
    // Solve h * step = g (Gauss-Jordan; m is small).
    std::vector<double> a = h, b = g;
    for (size_t c = 0; c < m; ++c) {
      size_t piv = c;
      for (size_t r = c + 1; r < m; ++r)
        if (std::fabs(a[r * m + c]) > std::fabs(a[piv * m + c])) piv = r;
      for (size_t k = 0; k < m; ++k) std::swap(a[c * m + k], a[piv * m + k]);
      std::swap(b[c], b[piv]);
      for (size_t r = 0; r < m; ++r) {
        if (r == c) continue;
        const double f = a[r * m + c] / a[c * m + c];
        for (size_t k = 0; k < m; ++k) a[r * m + k] -= f * a[c * m + k];
        b[r] -= f * b[c];
      }
    }
    for (size_t j = 0; j < m; ++j) w[j] -= b[j] / a[j * m + j];
  }
  std::vector<double> raw(m, 0.0);
  raw[nf] = w[nf];
  for (size_t j = 0; j < nf; ++j) {
    raw[j] = w[j] / sd[j];
    raw[nf] -= w[j] * mean[j] / sd[j];
  }
  return raw;
}

double linear_score(const Sample& s, const std::vector<double>& w) {
  const auto f = features(s, w.size() > kFeatures + 1);
  double z = w.back();
  for (size_t j = 0; j < f.size(); ++j) z += w[j] * f[j];
  return z;
}

// The share of the calibration strangers the fitted rule leaves unknown (--unknown).
double g_unknown_share = 0.97;

// Fits on `train` (by default the calibration half (0) at its smallest and largest gallery: scenarios 0 and 2),
// then moves the bias so that 97% of each one's strangers score below 0.
std::vector<double> fit_rule(const std::vector<Scenario>& scenarios, bool with_quality,
                             const std::vector<size_t>& train_scenarios = {0, 2}) {
  std::vector<const Sample*> train;
  for (size_t i : train_scenarios)
    for (const auto& s : scenarios[i].samples) train.push_back(&s);
  auto raw = fit(train, with_quality);
  double shift = -1e9;
  for (size_t i : train_scenarios) {
    std::vector<double> scores;
    for (const auto& s : scenarios[i].samples)
      if (s.stranger) scores.push_back(linear_score(s, raw));
    std::sort(scores.begin(), scores.end());
    shift = std::max(shift, scores[size_t(std::ceil(g_unknown_share * double(scores.size()))) - 1]);
  }
  raw.back() -= shift + 1e-4;
  return raw;
}

search::CrowdingWeights to_weights(const std::vector<double>& w) {
  return {float(w[4]), float(w[0]), float(w[1]), float(w[2]), float(w[3])};
}

struct Figures {
  double named_right = 0, strangers_unknown = 0, rank1 = 0;
};

Figures figures(const std::vector<Sample>& samples, const std::function<bool(const Sample&)>& accepted) {
  size_t enrolled = 0, strangers = 0, right = 0, unknown = 0, rank1 = 0;
  for (const auto& s : samples) {
    if (s.stranger) {
      ++strangers;
      unknown += !accepted(s);
    } else {
      ++enrolled;
      right += accepted(s) && s.right;
      rank1 += s.rank1;
    }
  }
  return {enrolled ? double(right) / enrolled : 0, strangers ? double(unknown) / strangers : 0,
          enrolled ? double(rank1) / enrolled : 0};
}

}  // namespace

int main(int argc, char** argv) {
  std::string library, probes, dump, embedder;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--library") library = argv[i + 1];
    if (std::string(argv[i]) == "--probes") probes = argv[i + 1];
    if (std::string(argv[i]) == "--embedder") embedder = argv[i + 1];
    if (std::string(argv[i]) == "--unknown") g_unknown_share = std::atof(argv[i + 1]);
    if (std::string(argv[i]) == "--dump") dump = argv[i + 1];
  }
  if (library.empty() || probes.empty()) {
    std::fprintf(stderr, "usage: %s --library DB --probes DB [--embedder NAME] [--unknown SHARE] [--dump FILE]\n",
                 argv[0]);
    return 2;
  }
  std::map<Key, storage::Face> probes_main;
  {
    auto g = storage::Gallery::open(probes, storage::OpenMode::kReadOnly, nullptr);
    if (!g) return std::fprintf(stderr, "%s\n", g.status().message().c_str()), 1;
    probes_main = main_faces((*g)->store(), nullptr);
  }
  const std::string work = (fs::temp_directory_path() / ("facedex-lfw-who-" + std::to_string(::getpid()))).string();
  fs::create_directories(work);
  std::vector<Scenario> scenarios;
  for (int h = 0; h < 2; ++h) {
    scenarios.push_back({"half " + std::to_string(h) + ": its own people named", {h}, h, false, 0, {}});
    scenarios.push_back({"half " + std::to_string(h) + ": both halves named", {0, 1}, h, false, 0, {}});
    scenarios.push_back({"half " + std::to_string(h) + ": both halves and distractors named", {0, 1}, h, true, 0, {}});
  }
  for (auto& sc : scenarios) {
    run_scenario(sc, library, probes_main, work);
    std::fprintf(stderr, "%s: %zu named, %zu probes\n", sc.name.c_str(), sc.named_people, sc.samples.size());
  }
  fs::remove_all(work);

  const std::vector<double> raw = fit_rule(scenarios, false), with_quality = fit_rule(scenarios, true);
  search::CrowdingWeights shipped = search::default_crowding_weights();
  if (!embedder.empty()) {
    auto set = models::locate_models("", embedder);
    if (!set) return std::fprintf(stderr, "%s\n", set.status().message().c_str()), 1;
    // As `facedex who` takes them.
    shipped = *search::identity_rule_for_model(set->same_person_distance,
                                               set->external ? set->external->who_weights : std::nullopt)
                   .crowding;
  }
  const search::CrowdingWeights fitted = to_weights(raw);
  std::printf(
      "fitted on half 0 (its own people, and both halves and distractors named; %.1f%% of strangers unknown):\n",
      100 * g_unknown_share);
  std::printf("  {bias %.4f, distance %.4f, margin %.4f, probe_crowding %.4f, reference_crowding %.4f}\n", fitted.bias,
              fitted.distance, fitted.margin, fitted.probe_crowding, fitted.reference_crowding);
  std::printf("  with the probe's quality: detector score %.4f, log box width %.4f, turned head %.4f\n",
              with_quality[4], with_quality[5], with_quality[6]);

  std::printf(
      "\n| scenario | named people | enrolled probes / strangers | rank-1 | distance + margin rule | "
      "crowding rule (shipped) | crowding rule (fitted now) | fitted with the probe's quality | "
      "ceiling: fitted on this scenario itself |\n"
      "|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& sc : scenarios) {
    size_t strangers = 0;
    for (const auto& s : sc.samples) strangers += s.stranger;
    const Figures old = figures(sc.samples, [](const Sample& s) { return s.old_rule; });
    const Figures ship = figures(
        sc.samples, [&](const Sample& s) { return !s.beyond_cap && search::crowding_score(s.evidence, shipped) >= 0; });
    const Figures now = figures(
        sc.samples, [&](const Sample& s) { return !s.beyond_cap && search::crowding_score(s.evidence, fitted) >= 0; });
    const Figures quality = figures(sc.samples, [&](const Sample& s) { return linear_score(s, with_quality) >= 0; });
    // The best this form of rule could do here: fitted and thresholded on the very probes it is scored on.
    const std::vector<double> own = fit_rule(scenarios, false, {size_t(&sc - scenarios.data())});
    const Figures ceiling = figures(sc.samples, [&](const Sample& s) { return linear_score(s, own) >= 0; });
    std::printf(
        "| %s | %zu | %zu / %zu | %.1f%% | %.1f%% / %.1f%% | %.1f%% / %.1f%% | %.1f%% / %.1f%% | %.1f%% / %.1f%% | "
        "%.1f%% / %.1f%% |\n",
        sc.name.c_str(), sc.named_people, sc.samples.size() - strangers, strangers, 100 * old.rank1,
        100 * old.named_right, 100 * old.strangers_unknown, 100 * ship.named_right, 100 * ship.strangers_unknown,
        100 * now.named_right, 100 * now.strangers_unknown, 100 * quality.named_right, 100 * quality.strangers_unknown,
        100 * ceiling.named_right, 100 * ceiling.strangers_unknown);
  }
  std::printf("(each rule cell: enrolled people named right / strangers answered unknown)\n");
  if (!dump.empty()) {
    FILE* f = std::fopen(dump.c_str(), "w");
    for (size_t i = 0; i < scenarios.size(); ++i)
      for (const auto& s : scenarios[i].samples)
        std::fprintf(f, "%zu\t%d\t%d\t%.5f\t%.5f\t%.5f\t%.5f\n", i, s.stranger, s.right, s.evidence.distance,
                     s.evidence.margin, s.evidence.probe_crowding, s.evidence.reference_crowding);
    std::fclose(f);
  }
  return 0;
}
