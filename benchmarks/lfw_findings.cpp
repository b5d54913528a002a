// The report's duplicate-person findings on an LFW-dev gallery clustered as
// `facedex cluster` does (nothing named): "probably one person under two names
// or clusters", and "probably two people under one name or cluster" on the
// clusters as they are and on pairs of clusters merged on purpose.
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

#include "benchmarks/clustering_scores.h"
#include "search/face_clustering.h"
#include "search/group_split.h"
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

struct Split {
  float between = 0, within = 0;
  bool flagged_right = false;  // split into parts that are the two people
  bool two_people = false;     // the group truly holds two people
  int half = 0;
};

int half_of(const std::string& person) { return int(std::hash<std::string>()(person) % 2); }

// The gallery's own clustering (bar 3 of the findings' trade-off: a stricter
// clustering leaves more, and plainer, split people to find), scored on the
// main faces; an unclustered face is a cluster of one.
void print_clustering_scores(const search::Report& report, const std::set<uint64_t>& main_faces) {
  std::vector<std::pair<unsigned long, std::string>> all;
  unsigned long label = 0;
  for (const auto& g : report.groups) {
    ++label;
    for (size_t i : g.faces) {
      if (!main_faces.count(report.faces[i].face_id)) continue;
      all.push_back({g.kind == "unclustered" ? 1000000000ul + i : label, folder_person(report.faces[i].photo)});
    }
  }
  std::map<std::string, size_t> photos;
  for (const auto& item : all) ++photos[item.second];
  std::vector<std::pair<unsigned long, std::string>> several;
  for (const auto& item : all)
    if (photos[item.second] >= 2) several.push_back(item);
  const benchmarks::ClusteringScores m = benchmarks::score_clustering(several), a = benchmarks::score_clustering(all);
  std::printf(
      "as clustered: people with >= 2 photos: pairwise F1 %.3f (P %.3f, R %.3f), BCubed F1 %.3f; all main faces: "
      "BCubed F1 %.3f\n",
      m.pair_f1, m.pair_precision, m.pair_recall, m.bcubed_f1, a.bcubed_f1);
}

// "Two people under one group": every cluster of four or more faces as it is
// (two people when its main faces hold two or more of a second person), then
// pairs of clean clusters merged on purpose (each with its nearest clean
// cluster of another person by centroid, then with a random one). A merged
// group is found when its two largest parts each come mostly from one of the
// clusters, not the same one.
void two_people_findings(const storage::GalleryStore& store, const search::Report& report,
                         const std::set<uint64_t>& main_faces, float shipped_bar) {
  std::map<uint64_t, std::pair<Descriptor, uint64_t>> face;  // id -> descriptor, photo
  const Status walked = store.for_each_face([&](const storage::Face& f) {
    face[f.id] = {f.descriptor, f.photo_id};
    return true;
  });
  if (!walked) return (void)std::fprintf(stderr, "%s\n", walked.message().c_str());
  const search::ClusterParams params = search::cluster_params_for_model(store.same_person_distance());
  const float close = search::report_options_for_model(store.same_person_distance()).close_distance;

  struct Cluster {
    std::vector<uint64_t> ids;
    std::string person;  // of its main faces when they all agree (clean), else ""
    std::string second;  // a second person with two or more main faces
    Descriptor centroid;
  };
  std::vector<Cluster> clusters;
  for (const auto& g : report.groups) {
    if (g.kind == "unclustered") continue;
    Cluster c;
    std::map<std::string, int> votes;
    for (size_t i : g.faces) {
      c.ids.push_back(report.faces[i].face_id);
      if (main_faces.count(report.faces[i].face_id)) ++votes[folder_person(report.faces[i].photo)];
    }
    if (votes.empty()) continue;
    if (votes.size() == 1) c.person = votes.begin()->first;
    std::vector<std::pair<int, std::string>> ranked;
    for (const auto& [p, n] : votes) ranked.push_back({n, p});
    std::sort(ranked.rbegin(), ranked.rend());
    if (ranked.size() >= 2 && ranked[1].first >= 2) c.second = ranked[1].second;
    if (c.person.empty()) c.person = "~" + ranked[0].second;  // impure: kept for the "as it is" rows only
    c.centroid.assign(face[c.ids[0]].first.size(), 0.f);
    for (uint64_t id : c.ids)
      for (size_t d = 0; d < c.centroid.size(); ++d) c.centroid[d] += face[id].first[d] / float(c.ids.size());
    clusters.push_back(std::move(c));
  }
  auto run = [&](const std::vector<uint64_t>& ids, size_t from_first, Split& out) {
    std::vector<Descriptor> d;
    std::vector<uint64_t> photos;
    for (uint64_t id : ids) d.push_back(face[id].first), photos.push_back(face[id].second);
    const auto split = search::split_group(d, photos, params, close);
    if (!split) return false;
    out.between = split->between, out.within = split->within;
    if (from_first) {  // merged: positions below from_first came from the first cluster
      auto share = [&](const std::vector<size_t>& part) {
        size_t first = 0;
        for (size_t k : part) first += k < from_first;
        return double(first) / double(part.size());
      };
      const double a = share(split->first), b = share(split->second);
      out.flagged_right = (a >= 0.8 && b <= 0.2) || (a <= 0.2 && b >= 0.8);
    }
    return true;
  };

  // A group that is not split into two parts is never listed: between stays below every bar.
  std::vector<Split> as_is, named_whole, nearest, random_pair;
  for (const auto& c : clusters) {
    if (c.ids.size() < 4) continue;
    Split s;
    s.two_people = !c.second.empty();
    s.half = half_of(c.person[0] == '~' ? c.person.substr(1) : c.person);
    s.between = -1;
    run(c.ids, 0, s);
    s.flagged_right = s.two_people;
    as_is.push_back(s);
  }
  // Every main face of a person, as a user who named them all would have them.
  std::map<std::string, std::vector<uint64_t>> person_faces;
  for (const auto& f : report.faces)
    if (main_faces.count(f.face_id)) person_faces[folder_person(f.photo)].push_back(f.face_id);
  for (const auto& [person, ids] : person_faces) {
    if (ids.size() < 4) continue;
    Split s;
    s.half = half_of(person);
    s.between = -1;
    run(ids, 0, s);
    named_whole.push_back(s);
  }
  std::vector<size_t> clean_ix;
  for (size_t i = 0; i < clusters.size(); ++i)
    if (clusters[i].person[0] != '~' && clusters[i].ids.size() >= 2) clean_ix.push_back(i);
  const size_t clean = clean_ix.size();
  uint64_t lcg = 12345;
  for (size_t i : clean_ix) {
    size_t best = i;
    float best_d = 1e9f;
    for (size_t j : clean_ix) {
      if (clusters[j].person == clusters[i].person) continue;
      const float dist = descriptor_distance(clusters[i].centroid, clusters[j].centroid);
      if (dist < best_d) best_d = dist, best = j;
    }
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    size_t other = clean_ix[(lcg >> 33) % clean_ix.size()];
    if (clusters[other].person == clusters[i].person) other = best;
    for (auto [partner, rows] : {std::pair{best, &nearest}, std::pair{other, &random_pair}}) {
      if (partner == i) continue;
      std::vector<uint64_t> ids = clusters[i].ids;
      ids.insert(ids.end(), clusters[partner].ids.begin(), clusters[partner].ids.end());
      Split s;
      s.two_people = true;
      s.half = half_of(clusters[i].person);
      if (!run(ids, clusters[i].ids.size(), s)) s.between = -1;  // not split: never flagged
      rows->push_back(s);
    }
  }
  std::printf(
      "\n\"Two people under one group\": %zu clusters of >= 4 faces (%zu hold two people); %zu people "
      "with >= 4 photos named whole; %zu clean clusters of >= 2 faces, each merged with its nearest and with "
      "a random other person's\n",
      as_is.size(), size_t(std::count_if(as_is.begin(), as_is.end(), [](const Split& s) { return s.two_people; })),
      named_whole.size(), clean);
  std::printf(
      "\n| split when the mean distance across the parts is over | half 0: clusters as they are: listed, right "
      "| people named whole: listed (wrong) | merged with the nearest: found of | with a random one: found of | "
      "precision over all listed | half 1: same |\n|---|---|---|---|---|---|---|\n");
  auto row = [&](float bar) {
    std::printf("| %.2f%s |", bar, std::fabs(bar - shipped_bar) < 1e-4f ? " (default)" : "");
    for (int h = 0; h < 2; ++h) {
      size_t listed = 0, right = 0, merged_listed[2] = {0, 0}, found[2] = {0, 0}, total[2] = {0, 0};
      for (const auto& s : as_is)
        if (s.half == h && s.between > bar) ++listed, right += s.two_people;
      int k = 0;
      for (const auto* rows : {&nearest, &random_pair}) {
        for (const auto& s : *rows) {
          if (s.half != h) continue;
          ++total[k];
          if (s.between > bar) ++merged_listed[k], found[k] += s.flagged_right;
        }
        ++k;
      }
      size_t whole_listed = 0;
      for (const auto& s : named_whole) whole_listed += s.half == h && s.between > bar;
      const size_t all_listed = listed + whole_listed + merged_listed[0] + merged_listed[1];
      const size_t all_right = right + found[0] + found[1];
      std::printf(" %zu, %zu | %zu | %zu of %zu | %zu of %zu | %.1f%% (%zu of %zu) |", listed, right, whole_listed,
                  found[0], total[0], found[1], total[1], all_listed ? 100.0 * all_right / all_listed : 0.0, all_right,
                  all_listed);
    }
    std::printf("\n");
  };
  for (float bar = 0.50f; bar <= 0.7001f; bar += 0.02f) row(bar);
  if (std::fmod(shipped_bar - 0.50f + 1e-4f, 0.02f) > 2e-4f) row(shipped_bar);
}

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
  const float shipped_split = options.split_distance;
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
    if (n >= 2) ++split[half_of(p)];

  std::vector<Row> rows;
  for (const auto& f : report->findings) {
    if (f.kind != "one_person_two_groups") continue;
    auto a = person_of_group.find(f.a), b = person_of_group.find(f.b);
    if (a == person_of_group.end() || b == person_of_group.end()) continue;
    rows.push_back({f.crowded_distance, f.distance, a->second == b->second, half_of(a->second), a->second});
  }
  std::printf("LFW-dev clustered: %zu clusters with a main face; split people: %zu / %zu (halves 0 / 1)\n",
              person_of_group.size(), split[0], split[1]);
  print_clustering_scores(*report, main_faces);
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
  const std::string mean_note = " and mean distance <= " + std::to_string(shipped_mean).substr(0, 4);
  line(shipped_bar, shipped_mean, (mean_note + " (default)").c_str());
  line(shipped_bar + 0.02f, shipped_mean, mean_note.c_str());
  // The rule the report used before: mean plain distance under 0.45.
  size_t listed = 0, right = 0;
  for (const auto& r : rows)
    if (r.distance < 0.45f) ++listed, right += r.right;
  std::printf("\nbefore (mean distance < 0.45, both halves): %zu listed, %zu right\n", listed, right);
  two_people_findings(store, *report, main_faces, shipped_split);
  return 0;
}
