// "Probably two people under one name or cluster": a group's faces clustered on
// their own, as the gallery is, and the two largest parts compared. The bar a
// split must clear is in ReportOptions (search/report.h); its precision on
// LFW-dev clusters merged on purpose is measured by benchmarks/lfw_findings.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "search/face_clustering.h"
#include "util/descriptor.h"

namespace facedex::search {

struct GroupSplit {
  std::vector<size_t> first, second;  // positions in the group: its two largest parts, largest first
  float between = 0;                  // mean distance over face pairs across the parts
  float within = 0;                   // mean distance over face pairs inside either part
  size_t close_pairs = 0;             // pairs across the parts within the model's same-person distance
  size_t pairs = 0;                   // pairs across the parts compared
};

// std::nullopt when the faces do not fall into two parts of at least two faces
// each. `photo_ids`: faces of one photo never share a part.
std::optional<GroupSplit> split_group(const std::vector<Descriptor>& descriptors,
                                      const std::vector<uint64_t>& photo_ids, const ClusterParams& params,
                                      float same_person_distance);

}  // namespace facedex::search
