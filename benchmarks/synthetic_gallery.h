// Galleries of 100,000 and 1,000,000 descriptors that look like real ones, for
// the at-scale benchmarks, made from the real faces of a gallery (e.g. LFW dev,
// 5,226 faces; photos in one folder = one person). Two ways:
//
//  - kMixedCentres (sessions 2-3): the real faces are identity centres; more
//    centres are made by mixing two real faces 0.5/0.5; each face is a centre
//    plus isotropic Gaussian noise whose size matches the measured
//    within-person spread. A mixed centre lies about half a between-person
//    distance from each parent, inside the model's same-person threshold, so
//    such a gallery is far more crowded than a real one (compare_shapes says
//    how much).
//  - kTwoCovariance: the two-covariance (PLDA-style) model of face
//    embeddings: centre ~ N(mean, between-person covariance), face = centre +
//    N(0, within-person covariance), both covariances measured on the real
//    gallery's people. The within-person spread keeps its real shape (a few
//    directions, pose and light, dominate) instead of being isotropic.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "util/descriptor.h"
#include "util/status.h"

namespace facedex::benchmarks {

enum class SyntheticModel { kMixedCentres, kTwoCovariance };
const char* synthetic_model_name(SyntheticModel m);

// A 128x128 matrix A with A z ~ N(0, covariance) for z ~ N(0, I), row-major.
using CovarianceFactor = std::vector<float>;

struct SyntheticSource {
  std::vector<Descriptor> real;
  std::vector<uint32_t> real_person;              // folder of each real face
  double within_rms = 0;                          // RMS distance of a real face to its person's mean
  float sigma = 0;                                // isotropic noise per dimension giving that spread
  Descriptor mean = Descriptor(kDescriptorDims);  // mean of the real faces (a dlib gallery's)
  CovarianceFactor within;                        // within-person covariance (unbiased per person)
  CovarianceFactor between;                       // covariance of the person centres
};

Expected<SyntheticSource> load_synthetic_source(const std::string& db_dir);

struct SyntheticGallery {
  std::vector<Descriptor> centres;  // one per identity
  std::vector<Descriptor> faces;
  std::vector<uint32_t> identity;  // centre of each face
};

// n faces over n / faces_per_identity identities (each face picks one at random).
SyntheticGallery make_synthetic_gallery(const SyntheticSource& source, SyntheticModel model, size_t n,
                                        size_t faces_per_identity, std::mt19937& rng);

// As many identities as the real gallery has people, each with as many faces.
SyntheticGallery make_gallery_like_real(const SyntheticSource& source, SyntheticModel model, std::mt19937& rng);

// A fresh face of `centre` under `model`.
Descriptor synthetic_face(const SyntheticSource& source, SyntheticModel model, const Descriptor& centre,
                          std::mt19937& rng);

// What a gallery looks like to a face search: distances between faces of one
// identity and of two, and how close the nearest stranger of a face is.
struct GalleryShape {
  double same_p50 = 0, same_p90 = 0;
  double same_within_06 = 0;       // same-person pairs closer than 0.6
  double different_within_06 = 0;  // different-person pairs closer than 0.6
  double nearest_stranger_p10 = 0, nearest_stranger_p50 = 0;
};
GalleryShape measure_shape(const std::vector<Descriptor>& faces, const std::vector<uint32_t>& identity,
                           std::mt19937& rng);

}  // namespace facedex::benchmarks
