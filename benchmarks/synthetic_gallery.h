// Galleries of 100,000 and 1,000,000 descriptors that look like real ones, for
// the at-scale benchmarks. The real faces of a gallery (e.g. LFW dev, 5,226
// faces) are identity centres; more centres are made by mixing two real faces
// (0.5/0.5, so they stay on the face manifold); each synthetic face is a centre
// plus Gaussian noise whose size matches the within-person spread measured on
// the gallery's people with several photos (photos in one folder = one person).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "util/descriptor.h"
#include "util/status.h"

namespace facedex::benchmarks {

struct SyntheticSource {
  std::vector<Descriptor> real;
  double within_rms = 0;  // RMS distance of a real face to its person's mean
  float sigma = 0;        // noise per dimension giving that spread
};

Expected<SyntheticSource> load_synthetic_source(const std::string& db_dir);

struct SyntheticGallery {
  std::vector<Descriptor> centres;  // one per identity
  std::vector<Descriptor> faces;
  std::vector<uint32_t> identity;   // centre of each face
};

// n faces over n / faces_per_identity identities (each face picks one at random).
SyntheticGallery make_synthetic_gallery(const SyntheticSource& source, size_t n, size_t faces_per_identity,
                                        std::mt19937& rng);

// A fresh noisy face of `centre`.
Descriptor noisy_face(const Descriptor& centre, float sigma, std::mt19937& rng);

}  // namespace facedex::benchmarks
