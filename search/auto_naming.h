// Names carry over: after an index run or a clustering, a face nobody named
// gets the name of the person the identity rule confidently gives it, or of
// the one person a user named in its cluster. Such names are "automatic"
// (storage::NameSource::kAuto): shown apart, overridden by any name a user
// gives, never a person the face was taken away from, never two faces of one
// photo under one person. References are user-named faces only, so an
// automatic name never begets another. Each pass is one undoable history entry.
#pragma once

#include <string>
#include <vector>

#include "search/identity_rule.h"
#include "storage/gallery.h"

namespace facedex::search {

struct AutoNameOptions {
  // Stricter than `who`'s rule: a name nobody asked for must be right nearly
  // always (benchmarks/auto_naming.sh, benchmarks/RESULTS.md).
  IdentityRule rule{10, 0.45f, 0.08f, false, std::nullopt};
  // Also name faces of a cluster whose user-named faces are all one person P,
  // when the face's nearest user-named person is P too, at most this far
  // (the cluster alone, at its merging threshold, names look-alikes). Off by
  // default: on LFW-dev it named few more faces, at a precision under 99%.
  bool by_cluster = false;
  float cluster_max_distance = 0.45f;
  bool dry_run = false;
  // Only faces with an id >= this are named (an index run: the faces it
  // added); 0 = every unnamed face (cluster).
  uint64_t first_face_id = 0;
};

// The options for a model whose same-person distance is `same_person_distance`.
AutoNameOptions auto_name_options_for_model(float same_person_distance, AutoNameOptions defaults = {});

struct AutoNameSummary {
  size_t considered = 0;    // unnamed faces looked at
  size_t by_rule = 0;       // named by the identity rule
  size_t by_cluster = 0;    // named by their cluster
  uint64_t history_id = 0;  // the pass's history entry (0: nothing named, or dry run)
  std::vector<std::string> changes;
};

Expected<AutoNameSummary> auto_name_faces(storage::Gallery& gallery, const AutoNameOptions& options);

}  // namespace facedex::search
