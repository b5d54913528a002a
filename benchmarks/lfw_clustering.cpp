// Clustering quality and time on LFW's development view, against the simple
// baseline of dlib's chinese_whispers over all pairs under 0.6 (dlib's
// dnn_face_clustering example), both run here on the same faces.
//
//   lfw_clustering --db DB [--distractors DB2]
//
// DB: a gallery made by `facedex index lfw-dev/images`. DB2: a gallery whose
// photos that are not LFW's (other people) join the clustering as distractors.
//
// Every face of the gallery is clustered, as `facedex cluster` does; scored
// are the images' main faces (box centre nearest the image centre) against
// the folder names. Faces left alone count as clusters of one.
#include <dlib/clustering.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "benchmarks/clustering_scores.h"
#include "search/face_clustering.h"
#include "storage/gallery.h"

using namespace facedex;
using benchmarks::ClusteringScores;
using benchmarks::score_clustering;

namespace {

// "DIR/Person/Person_0001.jpg" -> "Person"; "" for photos that are not LFW's.
std::string lfw_person(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "";
  const auto parent = path.find_last_of('/', slash - 1);
  const std::string person =
      path.substr(parent == std::string::npos ? 0 : parent + 1, slash - (parent == std::string::npos ? 0 : parent + 1));
  if (path.compare(slash + 1, person.size() + 1, person + "_") != 0) return "";
  return person;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, distractors_db;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--db") db = argv[i + 1];
    if (std::string(argv[i]) == "--distractors") distractors_db = argv[i + 1];
  }
  if (db.empty() || argc % 2 == 0) {
    std::fprintf(stderr, "usage: %s --db DB [--distractors DB2]\n", argv[0]);
    return 2;
  }
  auto gallery = storage::Gallery::open(db, storage::OpenMode::kReadOnly, nullptr);
  if (!gallery) {
    std::fprintf(stderr, "%s\n", gallery.status().message().c_str());
    return 1;
  }
  const auto& store = (*gallery)->store();
  search::ClusterInput input;
  std::vector<std::string> truth;  // "" for faces that are not an image's main face
  std::map<uint64_t, size_t> position;
  const Status walked77 = store.for_each_face([&](const storage::Face& f) {
    position[f.id] = input.descriptors.size();
    input.descriptors.push_back(f.descriptor);
    input.photo_ids.push_back(f.photo_id);
    input.person_ids.push_back(0);
    truth.push_back("");
    return true;
  });
  if (!walked77) return std::fprintf(stderr, "%s\n", walked77.message().c_str()), 1;
  std::map<std::string, int> photos_per_person;
  // Per face: the name-hash half of its LFW photo's person, or 2 for a distractor.
  auto half_of = [](const std::string& person) { return std::hash<std::string>()(person) % 2; };
  std::vector<size_t> face_group(input.descriptors.size(), 2);
  const Status walked86 = store.for_each_photo([&](const storage::Photo& p) {
    const std::string person = lfw_person(p.path);
    // Only LFW's "Person/Person_0001.jpg": other photos in the gallery are distractors, not scored.
    if (person.empty()) return true;
    for (uint64_t fid : p.face_ids) face_group[position[fid]] = half_of(person);
    double best = 1e18;
    uint64_t main_face = 0;
    for (uint64_t fid : p.face_ids) {
      auto f = store.face(fid);
      const double cx = ((*f)->box.left + (*f)->box.right - p.width) / 2.0;
      const double cy = ((*f)->box.top + (*f)->box.bottom - p.height) / 2.0;
      if (cx * cx + cy * cy < best) best = cx * cx + cy * cy, main_face = fid;
    }
    if (main_face) {
      truth[position[main_face]] = person;
      ++photos_per_person[person];
    }
    return true;
  });
  if (!walked86) return std::fprintf(stderr, "%s\n", walked86.message().c_str()), 1;
  if (!distractors_db.empty()) {
    auto other = storage::Gallery::open(distractors_db, storage::OpenMode::kReadOnly, nullptr);
    if (!other) return std::fprintf(stderr, "%s\n", other.status().message().c_str()), 1;
    const auto& other_store = (*other)->store();
    constexpr uint64_t kOtherPhotos = uint64_t(1) << 40;  // photo ids of the second gallery, kept apart
    const Status walked = other_store.for_each_photo([&](const storage::Photo& p) {
      if (!lfw_person(p.path).empty()) return true;
      for (uint64_t fid : p.face_ids) {
        auto f = other_store.face(fid);
        if (!f || !*f) continue;
        input.descriptors.push_back((*f)->descriptor);
        input.photo_ids.push_back(kOtherPhotos + p.id);
        input.person_ids.push_back(0);
        truth.push_back("");
        face_group.push_back(2);
      }
      return true;
    });
    if (!walked) return std::fprintf(stderr, "%s\n", walked.message().c_str()), 1;
  }
  const size_t n = input.descriptors.size();
  // People split in halves by a hash of the name (as lfw_identification does):
  // parameters are chosen on the calibration half's score, reported on the other.
  auto report = [&](const std::string& name, const std::vector<unsigned long>& labels, double seconds) {
    std::vector<std::pair<unsigned long, std::string>> all, multi, multi_half[2];
    for (size_t i = 0; i < n; ++i) {
      if (truth[i].empty()) continue;
      all.push_back({labels[i], truth[i]});
      if (photos_per_person[truth[i]] < 2) continue;
      multi.push_back({labels[i], truth[i]});
      multi_half[half_of(truth[i])].push_back({labels[i], truth[i]});
    }
    const ClusteringScores a = score_clustering(all), m = score_clustering(multi), c = score_clustering(multi_half[0]),
                           e = score_clustering(multi_half[1]);
    std::printf(
        "%-58s %5.2f s | all: P %.3f R %.3f F1 %.3f BCubed %.3f | >=2 photos: P %.3f R %.3f F1 %.3f BCubed %.3f"
        " | calibration half F1 %.3f BCubed %.3f | evaluation half F1 %.3f BCubed %.3f\n",
        name.c_str(), seconds, a.pair_precision, a.pair_recall, a.pair_f1, a.bcubed_f1, m.pair_precision, m.pair_recall,
        m.pair_f1, m.bcubed_f1, c.pair_f1, c.bcubed_f1, e.pair_f1, e.bcubed_f1);
  };
  // LFW_CLUSTERING_SWEEP=1: one compact line per parameter set: BCubed of all
  // main faces, F1 and BCubed of people with >= 2 photos, then per half F1 and BCubed of people with >= 2 photos and
  // BCubed of that half's main faces.
  if (const char* sweep = std::getenv("LFW_CLUSTERING_SWEEP"); sweep && *sweep) {
    for (float first : {0.43f, 0.45f, 0.47f})
      for (float crowd : {0.56f, 0.58f, 0.60f, 0.62f})
        for (float second : {0.53f, 0.54f, 0.55f, 0.56f, 0.57f, 0.58f})
          for (int neighbours : {5, 10, 20}) {
            search::ClusterParams p;
            p.threshold = second;
            p.first_pass_threshold = first;
            p.crowd_distance = crowd;
            p.crowd_neighbours = neighbours;
            const auto labels = search::cluster_faces(input, p);
            std::vector<std::pair<unsigned long, std::string>> everyone, several;
            for (size_t i = 0; i < n; ++i) {
              if (truth[i].empty()) continue;
              everyone.push_back({labels[i], truth[i]});
              if (photos_per_person[truth[i]] >= 2) several.push_back({labels[i], truth[i]});
            }
            // Per half, a merge of two people from different halves looks pure: the
            // whole gallery's score comes first.
            const ClusteringScores e = score_clustering(everyone), m2 = score_clustering(several);
            std::printf("%.2f %.2f %.2f %2d | all %.3f | >=2 %.3f %.3f", first, crowd, second, neighbours, e.bcubed_f1,
                        m2.pair_f1, m2.bcubed_f1);
            for (int h = 0; h < 2; ++h) {
              std::vector<std::pair<unsigned long, std::string>> all, multi;
              for (size_t i = 0; i < n; ++i) {
                if (truth[i].empty() || half_of(truth[i]) != size_t(h)) continue;
                all.push_back({labels[i], truth[i]});
                if (photos_per_person[truth[i]] >= 2) multi.push_back({labels[i], truth[i]});
              }
              const ClusteringScores a = score_clustering(all), m = score_clustering(multi);
              std::printf(" | %.3f %.3f %.3f", m.pair_f1, m.bcubed_f1, a.bcubed_f1);
            }
            std::printf("\n");
            std::fflush(stdout);
          }
    return 0;
  }
  std::printf("LFW dev view: %zu faces clustered, %zu main faces scored (%zu people)\n", n,
              photos_per_person.size()
                  ? size_t(std::count_if(truth.begin(), truth.end(), [](const std::string& t) { return !t.empty(); }))
                  : 0,
              photos_per_person.size());

  // Every distance below is dlib's, scaled to the gallery's model as `facedex cluster` scales its rules.
  const float scale = store.same_person_distance() / 0.6f;
  if (scale != 1.f) std::printf("distances scaled by %.3f to the gallery's model\n", scale);
  // Baseline: all pairs under the threshold, chinese whispers (dlib's example).
  for (float unscaled : {0.6f, 0.5f}) {
    const float threshold = unscaled * scale;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<dlib::sample_pair> edges;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i; j < n; ++j)
        if (descriptor_distance(input.descriptors[i], input.descriptors[j]) < threshold) edges.emplace_back(i, j);
    std::vector<unsigned long> labels;
    dlib::chinese_whispers(edges, labels);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char name[64];
    std::snprintf(name, sizeof(name), "baseline: all pairs < %.2f, chinese whispers", threshold);
    report(name, labels, s);
  }
  const search::ClusterParams defaults;
  struct Variant {
    float threshold, first_pass, crowd_distance;
  };
  const std::vector<Variant> variants = {
      {0.50f, 0, 0},  // one plain pass (no crowd stretching)
      {defaults.threshold, defaults.first_pass_threshold, defaults.crowd_distance},
      {0.55f, 0.45f, 0.58f},  // best for people with >= 2 photos, but merges single-photo people
      {0.54f, 0.45f, 0.58f},
      {0.56f, 0.45f, 0.58f},
      {0.55f, 0.45f, 0.56f},
      {0.55f, 0.45f, 0.60f},
      {0.52f, 0.45f, 0.60f},
      {0.56f, 0.45f, 0.60f},
  };
  for (const Variant& v : variants) {
    search::ClusterParams p = search::cluster_params_for_model(store.same_person_distance(), defaults);
    p.threshold = v.threshold * scale;
    p.first_pass_threshold = v.first_pass * scale;
    p.crowd_distance = v.crowd_distance * scale;
    const auto t0 = std::chrono::steady_clock::now();
    const auto labels = search::cluster_faces(input, p);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char name[128];
    if (v.crowd_distance > 0)
      std::snprintf(name, sizeof(name), "facedex: kNN(%d), pass 1 < %.2f, crowd %.2f, pass 2 < %.2f%s", p.k,
                    p.first_pass_threshold, p.crowd_distance, p.threshold,
                    v.threshold == defaults.threshold && v.first_pass == defaults.first_pass_threshold &&
                            v.crowd_distance == defaults.crowd_distance
                        ? " (default)"
                        : "");
    else
      std::snprintf(name, sizeof(name), "facedex: kNN(%d), one plain pass < %.2f", p.k, p.threshold);
    report(name, labels, s);
  }

  // As the gallery grows, with the default parameters: one half's photos alone,
  // both halves, then the distractors added. Scored over every LFW main face
  // in the clustering (never per half of a larger one: a merge across halves
  // would look pure).
  std::printf(
      "\n| faces clustered | faces | people with >= 2 photos: pairwise F1, BCubed F1 | all main faces: BCubed F1 "
      "|\n|---|---|---|---|\n");
  const search::ClusterParams shipped = search::cluster_params_for_model(store.same_person_distance());
  const size_t distractors = size_t(std::count(face_group.begin(), face_group.end(), size_t(2)));
  const std::pair<const char*, std::vector<size_t>> growth[] = {{"half 0's photos", {0}},
                                                                {"half 1's photos", {1}},
                                                                {"both halves", {0, 1}},
                                                                {"both halves and distractors", {0, 1, 2}}};
  for (const auto& [name, groups] : growth) {
    if (groups.size() == 3 && distractors == 0) continue;
    search::ClusterInput sub;
    std::vector<size_t> kept;
    for (size_t i = 0; i < n; ++i) {
      if (std::find(groups.begin(), groups.end(), face_group[i]) == groups.end()) continue;
      kept.push_back(i);
      sub.descriptors.push_back(input.descriptors[i]);
      sub.photo_ids.push_back(input.photo_ids[i]);
      sub.person_ids.push_back(0);
    }
    const auto labels = search::cluster_faces(sub, shipped);
    std::vector<std::pair<unsigned long, std::string>> all, multi;
    for (size_t k = 0; k < kept.size(); ++k) {
      const std::string& t = truth[kept[k]];
      if (t.empty()) continue;
      all.push_back({labels[k], t});
      if (photos_per_person[t] >= 2) multi.push_back({labels[k], t});
    }
    const ClusteringScores a = score_clustering(all), m = score_clustering(multi);
    std::printf("| %s | %zu | %.3f, %.3f | %.3f |\n", name, kept.size(), m.pair_f1, m.bcubed_f1, a.bcubed_f1);
  }
  return 0;
}
