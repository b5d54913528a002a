// Identification and verification on LFW's development view, with the gallery
// that `facedex index` made of ../shared/data/lfw-dev/images.
//
//   lfw_identification --db DB --lfw DIR
//
// Identification: one photo enrolled per person with two or more photos; their
// other photos are probes that should get their name, and every photo of a
// person with a single photo is a probe from someone never enrolled, who should
// be "unknown". People are split in two halves by a hash of the name: rule
// parameters are chosen on the calibration half and reported on the other.
// Verification: LFW's protocol on pairsDevTest.txt at the model's same-person
// distance (dlib's 0.6) and at the threshold that is best on pairsDevTrain.txt;
// and the true-accept rate at a false-accept rate of 1e-3 over every pair of
// the images' main faces. Distances are dlib's, scaled to the gallery's model.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "search/identity_rule.h"
#include "storage/gallery.h"
#include "storage/vector_index.h"

using namespace facedex;

namespace {

struct Image {
  std::string person;
  int number = 0;
  bool has_face = false;
  Descriptor descriptor{};
};

// ".../images/Aaron_Peirsol/Aaron_Peirsol_0002.jpg" -> ("Aaron_Peirsol", 2)
bool parse_lfw_path(const std::string& path, std::string* person, int* number) {
  const auto slash = path.find_last_of('/');
  const auto us = path.find_last_of('_');
  const auto dot = path.find_last_of('.');
  if (slash == std::string::npos || us == std::string::npos || dot == std::string::npos || us < slash) return false;
  *person = path.substr(slash + 1, us - slash - 1);
  *number = std::atoi(path.substr(us + 1, dot - us - 1).c_str());
  return true;
}

struct Probe {
  std::string truth;  // empty: never enrolled
  Descriptor descriptor;
  std::vector<search::NamedNeighbor> neighbors;  // the k nearest enrolled faces, computed once
};

struct Outcome {
  double accept = 0, reject = 0, rank1 = 0;
  size_t enrolled_probes = 0, stranger_probes = 0;
};

// person_of: enrolled face id -> person id (empty: face id == person id).
Outcome evaluate(const std::vector<Probe>& probes, const storage::VectorIndex& gallery,
                 const std::map<uint64_t, std::string>& names, const search::IdentityRule& rule,
                 const std::map<uint64_t, uint64_t>& person_of = {}) {
  Outcome o;
  size_t accepted = 0, rejected = 0, rank1 = 0;
  std::map<std::string, uint64_t> ids;
  for (const auto& [id, n] : names) ids[n] = id;
  for (const auto& p : probes) {
    std::vector<search::NamedNeighbor> nn(p.neighbors.begin(),
                                          p.neighbors.begin() + std::min<long>(rule.k, long(p.neighbors.size())));
    if (!person_of.empty())
      for (auto& n : nn) n.person_id = person_of.at(n.face_id);
    const auto candidates = search::rank_candidates(nn);
    const bool ok = search::accepts(candidates, rule);
    if (p.truth.empty()) {
      ++o.stranger_probes;
      rejected += !ok;
    } else {
      ++o.enrolled_probes;
      const bool right = !candidates.empty() && names.at(candidates[0].person_id) == p.truth;
      rank1 += right;
      accepted += ok && right;
    }
  }
  o.accept = o.enrolled_probes ? double(accepted) / o.enrolled_probes : 0;
  o.reject = o.stranger_probes ? double(rejected) / o.stranger_probes : 0;
  o.rank1 = o.enrolled_probes ? double(rank1) / o.enrolled_probes : 0;
  return o;
}

struct Pair {
  std::string a, b;
  int na, nb;
  bool same;
};

std::vector<Pair> read_pairs(const std::string& file) {
  std::vector<Pair> pairs;
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);  // count
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::vector<std::string> f;
    std::string w;
    while (s >> w) f.push_back(w);
    if (f.size() == 3) pairs.push_back({f[0], f[0], std::stoi(f[1]), std::stoi(f[2]), true});
    if (f.size() == 4) pairs.push_back({f[0], f[2], std::stoi(f[1]), std::stoi(f[3]), false});
  }
  return pairs;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, lfw;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--db") db = argv[i + 1];
    if (std::string(argv[i]) == "--lfw") lfw = argv[i + 1];
  }
  if (db.empty() || lfw.empty()) {
    std::fprintf(stderr, "usage: %s --db DB --lfw LFW_DEV_DIR\n", argv[0]);
    return 2;
  }
  auto gallery = storage::Gallery::open(db, storage::OpenMode::kReadOnly, nullptr);
  if (!gallery) {
    std::fprintf(stderr, "%s\n", gallery.status().message().c_str());
    return 1;
  }
  const auto& store = (*gallery)->store();
  const float same_person = store.same_person_distance(), scale = same_person / 0.6f;
  const int dims = store.descriptor_dims();
  std::printf("model %s: %d values, same-person distance %.3f\n", store.model_fingerprint().c_str(), dims, same_person);
  // Each image: the face whose box centre is nearest the image centre (LFW protocol).
  std::map<std::pair<std::string, int>, Image> images;
  size_t no_face = 0;
  const Status walked137 = store.for_each_photo([&](const storage::Photo& p) {
    Image img;
    if (!parse_lfw_path(p.path, &img.person, &img.number)) return true;
    double best = 1e18;
    for (uint64_t fid : p.face_ids) {
      auto f = store.face(fid);
      if (!f || !*f) continue;
      const double cx = ((*f)->box.left + (*f)->box.right) / 2.0 - p.width / 2.0;
      const double cy = ((*f)->box.top + (*f)->box.bottom) / 2.0 - p.height / 2.0;
      if (cx * cx + cy * cy < best) {
        best = cx * cx + cy * cy;
        img.descriptor = (*f)->descriptor;
        img.has_face = true;
      }
    }
    no_face += !img.has_face;
    images[{img.person, img.number}] = img;
    return true;
  });
  if (!walked137) return std::fprintf(stderr, "%s\n", walked137.message().c_str()), 1;
  std::printf("LFW dev view: %zu images, %zu without a detected face (HOG misses)\n", images.size(), no_face);

  // ---- identification ----
  std::map<std::string, std::vector<const Image*>> by_person;
  for (const auto& [key, img] : images)
    if (img.has_face) by_person[img.person].push_back(&img);
  struct Split {
    const char* name;
    std::unique_ptr<storage::VectorIndex> gallery;
    std::map<uint64_t, std::string> names;
    std::vector<Probe> probes;
  };
  Split halves[2] = {{"calibration half", storage::make_brute_force_index(), {}, {}},
                     {"evaluation half", storage::make_brute_force_index(), {}, {}}};
  uint64_t next_id = 1;
  for (const auto& [person, imgs] : by_person) {
    Split& h = halves[std::hash<std::string>()(person) % 2];
    if (imgs.size() >= 2) {
      h.gallery->add({next_id}, {imgs[0]->descriptor});
      h.names[next_id++] = person;
      for (size_t i = 1; i < imgs.size(); ++i) h.probes.push_back({person, imgs[i]->descriptor, {}});
    } else {
      h.probes.push_back({"", imgs[0]->descriptor, {}});
    }
  }

  for (auto& h : halves)
    for (auto& p : h.probes)
      for (const auto& n : h.gallery->search(p.descriptor, 20)) p.neighbors.push_back({n.id, n.id, n.distance});

  const search::IdentityRule defaults = search::identity_rule_for_model(same_person);
  for (const auto& h : halves) {
    const Outcome nn06 = evaluate(h.probes, *h.gallery, h.names, {1, same_person, 0.f, true, std::nullopt});
    const Outcome def = evaluate(h.probes, *h.gallery, h.names, defaults);
    std::printf("\n%s: %zu people enrolled (one photo each), %zu probes of enrolled people, %zu of strangers\n", h.name,
                h.gallery->size(), def.enrolled_probes, def.stranger_probes);
    std::printf("  rank-1 accuracy                         %.1f%%\n", 100 * def.rank1);
    std::printf("  nearest neighbour at %.3f (1:1 rule):  enrolled named right %.1f%%, strangers rejected %.1f%%\n",
                same_person, 100 * nn06.accept, 100 * nn06.reject);
    std::printf(
        "  default rule (max %.2f, margin %.2f, k %d): enrolled named right %.1f%%, strangers rejected %.1f%%\n",
        defaults.max_distance, defaults.min_margin, defaults.k, 100 * def.accept, 100 * def.reject);
  }
  // Best plain threshold and best rule with >= 95% rejection, on the calibration half.
  struct Best {
    float t = 0, m = 0;
    Outcome o;
  } plain, margin;
  for (float t = 0.30f; t <= 0.60f; t += 0.01f) {
    for (float m = 0.f; m <= 0.20f; m += 0.005f) {
      const search::IdentityRule r{defaults.k, t * scale, m * scale, false, std::nullopt};
      const Outcome o = evaluate(halves[0].probes, *halves[0].gallery, halves[0].names, r);
      if (o.reject >= 0.95 && o.accept > margin.o.accept) margin = {t * scale, m * scale, o};
      if (m == 0.f && o.reject >= 0.95 && o.accept > plain.o.accept) plain = {t * scale, 0, o};
    }
  }
  const Outcome plain_eval =
      evaluate(halves[1].probes, *halves[1].gallery, halves[1].names, {defaults.k, plain.t, 0, true, std::nullopt});
  const Outcome margin_eval = evaluate(halves[1].probes, *halves[1].gallery, halves[1].names,
                                       {defaults.k, margin.t, margin.m, false, std::nullopt});
  std::printf("\nchosen on the calibration half for >= 95%% strangers rejected, reported on the evaluation half:\n");
  std::printf("  plain threshold %.2f:             enrolled named right %.1f%%, strangers rejected %.1f%%\n", plain.t,
              100 * plain_eval.accept, 100 * plain_eval.reject);
  std::printf("  threshold %.2f + margin %.2f:      enrolled named right %.1f%%, strangers rejected %.1f%%\n", margin.t,
              margin.m, 100 * margin_eval.accept, 100 * margin_eval.reject);

  if (const char* dump = std::getenv("LFW_DUMP")) {
    FILE* f = std::fopen(dump, "w");
    for (int hi = 0; hi < 2; ++hi)
      for (const auto& p : halves[hi].probes) {
        std::fprintf(f, "%d\t%s", hi, p.truth.empty() ? "-" : p.truth.c_str());
        for (const auto& n : p.neighbors)
          std::fprintf(f, "\t%s:%.4f", halves[hi].names.at(n.person_id).c_str(), n.distance);
        std::fprintf(f, "\n");
      }
    std::fclose(f);
  }

  // Several enrolment photos: two for people with three or more photos (one
  // for people with two), same people and strangers as the evaluation half.
  {
    auto gallery2 = storage::make_brute_force_index();
    std::map<uint64_t, std::string> names2;
    std::map<uint64_t, uint64_t> person_of;
    std::vector<Probe> probes2;
    uint64_t face_id = 1, person_id = 1;
    for (const auto& [person, imgs] : by_person) {
      if (std::hash<std::string>()(person) % 2 != 1) continue;
      if (imgs.size() == 1) {
        probes2.push_back({"", imgs[0]->descriptor, {}});
        continue;
      }
      const size_t enrol = imgs.size() >= 3 ? 2 : 1;
      names2[person_id] = person;
      for (size_t i = 0; i < enrol; ++i) {
        gallery2->add({face_id}, {imgs[i]->descriptor});
        person_of[face_id++] = person_id;
      }
      for (size_t i = enrol; i < imgs.size(); ++i) probes2.push_back({person, imgs[i]->descriptor, {}});
      ++person_id;
    }
    for (auto& p : probes2)
      for (const auto& n : gallery2->search(p.descriptor, 20)) p.neighbors.push_back({n.id, 0, n.distance});
    const Outcome two = evaluate(probes2, *gallery2, names2, defaults, person_of);
    std::printf(
        "\nevaluation half with two enrolment photos for people with 3+ photos (%zu enrolled faces, %zu probes of "
        "enrolled people, %zu strangers):\n  default rule: enrolled named right %.1f%%, strangers rejected "
        "%.1f%%, rank-1 %.1f%%\n",
        gallery2->size(), two.enrolled_probes, two.stranger_probes, 100 * two.accept, 100 * two.reject,
        100 * two.rank1);
  }

  // ---- verification ----
  auto pair_distances = [&](const std::vector<Pair>& pairs, size_t* missing) {
    std::vector<std::pair<float, bool>> out;
    for (const auto& p : pairs) {
      auto a = images.find({p.a, p.na}), b = images.find({p.b, p.nb});
      if (a == images.end() || b == images.end() || !a->second.has_face || !b->second.has_face) {
        ++*missing;
        out.push_back({p.same ? 99.f : 0.f, p.same});  // a miss counts as a wrong answer
        continue;
      }
      out.push_back({descriptor_distance(a->second.descriptor, b->second.descriptor), p.same});
    }
    return out;
  };
  auto accuracy = [](const std::vector<std::pair<float, bool>>& d, float t) {
    size_t right = 0;
    for (const auto& [dist, same] : d) right += (dist < t) == same;
    return d.empty() ? 0.0 : double(right) / d.size();
  };
  size_t miss_train = 0, miss_test = 0;
  const auto train = pair_distances(read_pairs(lfw + "/pairsDevTrain.txt"), &miss_train);
  const auto test = pair_distances(read_pairs(lfw + "/pairsDevTest.txt"), &miss_test);
  float best_t = same_person;
  double best_acc = 0;
  // Every train distance is a candidate threshold: a model's scale need not be dlib's.
  for (const auto& [d, same] : train)
    if (d < 90.f && accuracy(train, d + 1e-6f) > best_acc) best_acc = accuracy(train, d + 1e-6f), best_t = d + 1e-6f;
  std::printf("\nverification (LFW pairs, %zu train / %zu test pairs; %zu / %zu with a missed face counted wrong)\n",
              train.size(), test.size(), miss_train, miss_test);
  std::printf("  pairsDevTest accuracy at %.3f (the model's):     %.2f%%\n", same_person,
              100 * accuracy(test, same_person));
  std::printf("  pairsDevTest accuracy at %.4f (best on train): %.2f%%  (train %.2f%%)\n", best_t,
              100 * accuracy(test, best_t), 100 * best_acc);
  std::printf("  dlib's published figure: 99.38%% on LFW View 2 (99.13%% without jitter)\n");

  // Every pair of main faces: genuine (same folder) and impostor distances.
  std::vector<const Image*> all;
  for (const auto& [key, img] : images)
    if (img.has_face) all.push_back(&img);
  std::vector<float> genuine, impostor;
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t j = i + 1; j < all.size(); ++j)
      (all[i]->person == all[j]->person ? genuine : impostor)
          .push_back(descriptor_distance(all[i]->descriptor, all[j]->descriptor));
  std::sort(impostor.begin(), impostor.end());
  for (double far : {1e-3, 1e-4}) {
    const float t = impostor.empty() ? 0.f : impostor[size_t(far * double(impostor.size()))];
    const double tar = genuine.empty()
                           ? 0.0
                           : double(std::count_if(genuine.begin(), genuine.end(), [&](float d) { return d < t; })) /
                                 double(genuine.size());
    std::printf("  TAR at FAR %.0e over all pairs (%zu genuine, %zu impostor): %.2f%% (threshold %.4f)\n", far,
                genuine.size(), impostor.size(), 100 * tar, t);
  }
  return 0;
}
