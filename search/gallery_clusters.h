// `facedex cluster`: clusters every face of the gallery and stores the result
// as each face's cluster id, keeping ids stable across runs.
#pragma once

#include <string>
#include <vector>

#include "search/face_clustering.h"
#include "storage/gallery.h"

namespace facedex::search {

struct ClusterOptions {
  ClusterParams params;
  // Smaller groups stay "unclustered" (cluster id 0) rather than forced into a person.
  int min_size = 2;
  // An unnamed cluster whose faces lie this close (median) to a named person's
  // faces is reported as probably that person; it is never merged silently.
  float suggest_distance = 0.45f;
};

struct ClusterSuggestion {
  uint64_t cluster_id = 0;
  std::string person;
  float distance = 0;  // median over the cluster's faces of the distance to the person's nearest face
  size_t faces = 0;
};

struct ClusterSummary {
  size_t faces = 0;
  size_t clusters = 0;     // with at least min_size faces
  size_t unclustered = 0;  // faces left in no cluster
  size_t kept_ids = 0;     // clusters that kept the id they had before
  size_t new_ids = 0;
  size_t faces_changed = 0;  // faces whose cluster id changed
  std::vector<ClusterSuggestion> suggestions;
  double seconds = 0;
};

Expected<ClusterSummary> cluster_gallery(storage::Gallery& gallery, const ClusterOptions& options);

// Faces whose cluster id is `cluster_id`.
Expected<std::vector<uint64_t>> faces_in_cluster(const storage::GalleryStore& store, uint64_t cluster_id);

}  // namespace facedex::search
