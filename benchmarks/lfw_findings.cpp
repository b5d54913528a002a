// The report's "probably one person under two names or clusters" findings on
// an LFW-dev gallery clustered as `facedex cluster` does (nothing named).
//
//   lfw_findings --db DB
//
// A cluster's person is the folder of most of its main faces (box centre
// nearest the photo's centre; other faces' truth is unknown); clusters with no
// main face are left out. A split person has main-face majorities in two or
// more clusters. A finding is right when both clusters are one person. Printed
// per half (name hash of the first cluster's person) for a sweep of the bar on
// the crowded distance, and the default's figures.
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "search/report.h"
#include "storage/gallery.h"

using namespace facedex;

namespace {

std::string folder_person(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto us = path.find_last_of('_');
  if (slash == std::string::npos || us == std::string::npos || us < slash) return "";
  return path.substr(slash + 1, us - slash - 1);
}

struct Row {
  float crowded = 0, distance = 0;
  bool right = false;
  int half = 0;
  std::string person;
};

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--db") db = argv[i + 1];
  if (db.empty()) return std::fprintf(stderr, "usage: %s --db DB\n", argv[0]), 2;
  auto gallery = storage::Gallery::open(db, storage::OpenMode::kReadOnly, nullptr);
  if (!gallery) return std::fprintf(stderr, "%s\n", gallery.status().message().c_str()), 1;
  const auto& store = (*gallery)->store();

  // Main face of every photo.
  std::set<uint64_t> main_faces;
  const Status walked = store.for_each_photo([&](const storage::Photo& p) {
    double best = 1e18;
    uint64_t main = 0;
    for (uint64_t fid : p.face_ids) {
      auto f = store.face(fid);
      if (!f || !*f) continue;
      const double cx = ((*f)->box.left + (*f)->box.right) / 2.0 - p.width / 2.0;
      const double cy = ((*f)->box.top + (*f)->box.bottom) / 2.0 - p.height / 2.0;
      if (cx * cx + cy * cy < best) best = cx * cx + cy * cy, main = fid;
    }
    if (main) main_faces.insert(main);
    return true;
  });
  if (!walked) return std::fprintf(stderr, "%s\n", walked.message().c_str()), 1;

  search::ReportOptions options = search::report_options_for_model(store.same_person_distance());
  const float shipped_bar = options.max_crowded_distance, shipped_mean = options.max_mean_distance;
  options.max_crowded_distance = 1.2f;  // every candidate: the bars are swept below
  options.max_mean_distance = 2.f;
  auto report = search::build_report(**gallery, options);
  if (!report) return std::fprintf(stderr, "%s\n", report.status().message().c_str()), 1;

  std::map<std::string, std::string> person_of_group;  // group name -> majority person of its main faces
  std::map<std::string, int> clusters_of_person;
  for (const auto& g : report->groups) {
    if (g.kind == "unclustered") continue;
    std::map<std::string, int> votes;
    for (size_t i : g.faces)
      if (main_faces.count(report->faces[i].face_id)) ++votes[folder_person(report->faces[i].photo)];
    if (votes.empty()) continue;
    auto best = votes.begin();
    for (auto it = votes.begin(); it != votes.end(); ++it)
      if (it->second > best->second) best = it;
    person_of_group[g.name] = best->first;
    ++clusters_of_person[best->first];
  }
  size_t split[2] = {0, 0};
  for (const auto& [p, n] : clusters_of_person)
    if (n >= 2) ++split[std::hash<std::string>()(p) % 2];

  std::vector<Row> rows;
  for (const auto& f : report->findings) {
    if (f.kind != "one_person_two_groups") continue;
    auto a = person_of_group.find(f.a), b = person_of_group.find(f.b);
    if (a == person_of_group.end() || b == person_of_group.end()) continue;
    rows.push_back({f.crowded_distance, f.distance, a->second == b->second,
                    int(std::hash<std::string>()(a->second) % 2), a->second});
  }
  std::printf("LFW-dev clustered: %zu clusters with a main face; split people: %zu / %zu (halves 0 / 1)\n",
              person_of_group.size(), split[0], split[1]);
  std::printf(
      "\n| bar (crowded distance) | half 0: listed, right, split people found | half 1: same |\n|---|---|---|\n");
  auto line = [&](float bar, float mean_bar, const char* note) {
    std::printf("| %.2f%s |", bar, note);
    for (int h = 0; h < 2; ++h) {
      size_t listed = 0, right = 0;
      std::set<std::string> found;
      for (const auto& r : rows) {
        if (r.half != h || r.crowded > bar || r.distance > mean_bar) continue;
        ++listed;
        if (r.right) ++right, found.insert(r.person);
      }
      std::printf(" %zu, %zu (%.0f%%), %zu of %zu |", listed, right, listed ? 100.0 * right / listed : 0.0,
                  found.size(), split[h]);
    }
    std::printf("\n");
  };
  for (float bar = 0.86f; bar <= 1.0001f; bar += 0.02f) line(bar, 2.f, "");
  line(shipped_bar, shipped_mean, " and mean distance <= 0.50 (default)");
  line(shipped_bar + 0.02f, shipped_mean, " and mean distance <= 0.50");
  // The rule the report used before: mean plain distance under 0.45.
  size_t listed = 0, right = 0;
  for (const auto& r : rows)
    if (r.distance < 0.45f) ++listed, right += r.right;
  std::printf("\nbefore (mean distance < 0.45, both halves): %zu listed, %zu right\n", listed, right);
  return 0;
}
