// Probe photos: the faces of photos a user asks about. Models are loaded once;
// faces from all probes are embedded together in batches.
#pragma once

#include <string>
#include <vector>

#include "models/face_pipeline.h"
#include "models/photo_decoder.h"

namespace facedex::search {

struct ProbeFace {
  models::FaceBox box;
  float score = 0;
  Descriptor descriptor{};
};

struct ProbePhoto {
  std::string path;
  Status error;                  // not ok: the photo could not be used (faces empty)
  std::vector<ProbeFace> faces;  // largest first
};

// Expands folders (recursively, photo extensions only) and keeps files as given.
std::vector<std::string> expand_probe_paths(const std::vector<std::string>& paths);

// Detects every face of every probe, then embeds them in batches of up to 256.
std::vector<ProbePhoto> analyze_probes(const std::vector<std::string>& paths, models::FacePipeline& pipeline,
                                       const models::DetectOptions& detect);

}  // namespace facedex::search
