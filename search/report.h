// `facedex report`: persons and clusters, and the duplicate-person findings,
// as browsable HTML (self-contained, paginated, thumbnails from the store so it
// works when the photos are gone), JSON and CSV carrying the same facts.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "storage/gallery.h"

namespace facedex::search {

struct ReportFace {
  uint64_t face_id = 0;
  std::string photo;
  storage::Box box;
  uint64_t person_id = 0;
  uint64_t cluster_id = 0;
  bool automatic = false;  // named automatically, not by a user
};

struct ReportGroup {
  std::string kind;           // "person", "cluster" or "unclustered"
  uint64_t id = 0;            // person id or cluster id (0 for unclustered)
  std::string name;           // person's name, "cluster N", or "unclustered"
  std::vector<size_t> faces;  // indexes into Report::faces
};

struct Finding {
  // "one_person_two_groups": two names or clusters whose faces are probably one person;
  // "two_people_one_group": a name or cluster whose faces split into two separate groups;
  // "matches_named_person": a face that matches a named person but sits elsewhere.
  std::string kind;
  std::string a, b;                            // the groups concerned (display names)
  float distance = 0;                          // mean distance between the two sides
  std::vector<uint64_t> example_a, example_b;  // face ids shown side by side (one_person_two_groups:
                                               // the closest pairs, example_a[i] with example_b[i])
  // one_person_two_groups only: the evidence and the command that accepts the finding.
  // Crowded distance: the mean over face pairs of distance / sqrt(crowding of both
  // faces), crowding being a face's distance to its 10th nearest face outside its
  // group; below 1, the two sides are closer than their neighbourhoods are.
  float crowded_distance = 0;
  // two_people_one_group only: the mean distance over face pairs inside either
  // side (`distance` is the mean across them); example_a / example_b are faces
  // of each side, the command splits the second side off, and the reject
  // command (`facedex same`) says they are one person.
  float within = 0;
  size_t close_pairs = 0;  // face pairs within the model's same-person distance
  size_t pairs = 0;        // face pairs compared
  std::string command;
  // The answer "no": "different people" (one_person_two_groups) or "one person"
  // (two_people_one_group); the report never lists the finding again.
  std::string reject_command;
};

struct Report {
  std::vector<ReportFace> faces;
  std::vector<ReportGroup> groups;  // persons and clusters by size, then "unclustered" last
  std::vector<Finding> findings;
};

struct ReportOptions {
  // (a): two groups are listed as one person when their crowded distance is at
  // most this (benchmarks/lfw_findings, benchmarks/RESULTS.md). A ratio of
  // distances: it does not scale with the model.
  float max_crowded_distance = 0.92f;
  // ...and their mean distance at most this: in a small gallery crowding is
  // measured far away and says little.
  float max_mean_distance = 0.50f;
  float close_distance = 0.60f;  // (a): a face pair this close counts as close
  // (b): a group's faces clustered on their own fall into two parts of two or
  // more faces whose mean distance across is over this (benchmarks/lfw_findings).
  float split_distance = 0.54f;
  float match_distance = 0.40f;  // (c): a face this close to a named person's face
  size_t groups_per_page = 100;
  size_t faces_per_page = 200;
};

// The distances above are for dlib's ResNet; another model's scale with its
// same-person distance (storage::GalleryStore::same_person_distance()).
ReportOptions report_options_for_model(float same_person_distance);

Expected<Report> build_report(const storage::Gallery& gallery, const ReportOptions& options);

// The faces of a group as the report names it: a person's name, else
// "cluster N". kNotFound when there is neither.
Expected<std::vector<uint64_t>> faces_of_group(const storage::GalleryStore& store, const std::string& group);

// Writes DIR/index.html (+ index-N.html pages), one page per group (paginated),
// duplicates.html and thumbs/FACE.jpg.
Status write_html_report(const storage::Gallery& gallery, const Report& report, const ReportOptions& options,
                         const std::string& dir);
// DIR/report.json
Status write_json_report(const Report& report, const std::string& dir);

// Writes a report into `dir` so that nothing of an earlier report stays: the
// writers run into a fresh private folder (0700) beside it, which then takes
// the place of `dir`. A `dir` that exists and is neither empty nor a facedex
// report is refused (kInvalidInput), never emptied.
Status replace_report_folder(const std::string& dir, const std::function<Status(const std::string& fresh)>& write);
// DIR/faces.csv and DIR/findings.csv
Status write_csv_report(const Report& report, const std::string& dir);

// Text made safe to place in HTML (& < > " ').
std::string html_escape(const std::string& s);

}  // namespace facedex::search
