#include "benchmarks/synthetic_gallery.h"

#include <dlib/matrix.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "storage/gallery.h"

namespace facedex::benchmarks {
namespace {

constexpr size_t kDims = size_t(kDescriptorDims);
using Covariance = dlib::matrix<double, kDescriptorDims, kDescriptorDims>;

// A with A A^T = c: eigenvectors scaled by the root of their (clipped) eigenvalues.
CovarianceFactor factor_of(const Covariance& c) {
  dlib::eigenvalue_decomposition<Covariance> eig(dlib::make_symmetric(c));
  const auto values = eig.get_real_eigenvalues();
  const auto vectors = eig.get_pseudo_v();
  CovarianceFactor a(kDims * kDims);
  for (long r = 0; r < kDescriptorDims; ++r)
    for (long k = 0; k < kDescriptorDims; ++k)
      a[size_t(r) * kDims + size_t(k)] = float(vectors(r, k) * std::sqrt(std::max(0.0, values(k))));
  return a;
}

Descriptor draw(const Descriptor& centre, const CovarianceFactor& a, std::mt19937& rng) {
  std::normal_distribution<float> unit(0.f, 1.f);
  float z[kDescriptorDims];
  for (float& v : z) v = unit(rng);
  Descriptor f = centre;
  for (size_t r = 0; r < kDims; ++r) {
    float s = 0;
    for (size_t k = 0; k < kDims; ++k) s += a[r * kDims + k] * z[k];
    f[r] += s;
  }
  return f;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, size_t(q * double(v.size())));
  std::nth_element(v.begin(), v.begin() + long(i), v.end());
  return v[i];
}

}  // namespace

const char* synthetic_model_name(SyntheticModel m) {
  return m == SyntheticModel::kMixedCentres ? "mixed centres + isotropic noise" : "two-covariance (PLDA-style)";
}

Expected<SyntheticSource> load_synthetic_source(const std::string& db_dir) {
  auto gallery = storage::Gallery::open(db_dir, storage::OpenMode::kReadOnly, nullptr);
  if (!gallery) return gallery.status();
  SyntheticSource out;
  std::map<std::string, uint32_t> person_of_folder;
  std::map<uint64_t, uint32_t> person_of_photo;
  Status walked = (*gallery)->store().for_each_photo([&](const storage::Photo& p) {
    const std::string folder = p.path.substr(0, p.path.find_last_of('/'));
    person_of_photo[p.id] = person_of_folder.emplace(folder, uint32_t(person_of_folder.size())).first->second;
    return true;
  });
  if (!walked) return walked;
  walked = (*gallery)->store().for_each_face([&](const storage::Face& f) {
    out.real_person.push_back(person_of_photo[f.photo_id]);
    out.real.push_back(f.descriptor);
    return true;
  });
  if (!walked) return walked;
  if (out.real.empty()) return Status::invalid_input(db_dir + ": no faces");

  std::vector<std::vector<size_t>> members(person_of_folder.size());
  for (size_t i = 0; i < out.real.size(); ++i) members[out.real_person[i]].push_back(i);
  for (const Descriptor& f : out.real)
    for (size_t d = 0; d < kDims; ++d) out.mean[d] += f[d] / float(out.real.size());

  // Within: deviations from the person's mean, scaled by sqrt(n/(n-1)) so that
  // small groups do not understate the spread. Between: covariance of the
  // person means, less the within part a mean of n faces still carries.
  Covariance within = dlib::zeros_matrix<double>(kDescriptorDims, kDescriptorDims);
  Covariance means = within;
  double spread2 = 0, inverse_sizes = 0;
  size_t deviations = 0, people = 0;
  dlib::matrix<double, kDescriptorDims, 1> v, mean_of_means = dlib::zeros_matrix<double>(kDescriptorDims, 1);
  std::vector<dlib::matrix<double, kDescriptorDims, 1>> person_means;
  for (const auto& m : members) {
    if (m.size() < 2) continue;
    dlib::matrix<double, kDescriptorDims, 1> mean = dlib::zeros_matrix<double>(kDescriptorDims, 1);
    for (size_t i : m)
      for (size_t d = 0; d < kDims; ++d) mean(long(d)) += out.real[i][d] / double(m.size());
    const double unbias = std::sqrt(double(m.size()) / double(m.size() - 1));
    for (size_t i : m) {
      for (size_t d = 0; d < kDims; ++d) v(long(d)) = out.real[i][d] - mean(long(d));
      spread2 += dlib::length_squared(v);
      v *= unbias;
      within += v * dlib::trans(v);
      ++deviations;
    }
    person_means.push_back(mean);
    mean_of_means += mean;
    inverse_sizes += 1.0 / double(m.size());
    ++people;
  }
  if (people < 2) return Status::invalid_input(db_dir + ": fewer than two people with several photos");
  within /= double(deviations);
  mean_of_means /= double(people);
  for (const auto& m : person_means) means += (m - mean_of_means) * dlib::trans(m - mean_of_means);
  means /= double(people - 1);
  out.within = factor_of(within);
  out.between = factor_of(means - within * (inverse_sizes / double(people)));
  out.within_rms = std::sqrt(spread2 / double(deviations));
  out.sigma = float(out.within_rms / std::sqrt(double(kDescriptorDims)));
  return out;
}

Descriptor synthetic_face(const SyntheticSource& source, SyntheticModel model, const Descriptor& centre,
                          std::mt19937& rng) {
  if (model == SyntheticModel::kTwoCovariance) return draw(centre, source.within, rng);
  std::normal_distribution<float> noise(0.f, source.sigma);
  Descriptor f(kDims);
  for (size_t d = 0; d < kDims; ++d) f[d] = centre[d] + noise(rng);
  return f;
}

namespace {

Descriptor synthetic_centre(const SyntheticSource& source, SyntheticModel model, size_t i, std::mt19937& rng) {
  if (model == SyntheticModel::kTwoCovariance) return draw(source.mean, source.between, rng);
  if (i < source.real.size()) return source.real[i];
  std::uniform_int_distribution<size_t> pick(0, source.real.size() - 1);
  const Descriptor& a = source.real[pick(rng)];
  const Descriptor& b = source.real[pick(rng)];
  Descriptor c(kDims);
  for (size_t d = 0; d < kDims; ++d) c[d] = 0.5f * (a[d] + b[d]);
  return c;
}

}  // namespace

SyntheticGallery make_synthetic_gallery(const SyntheticSource& source, SyntheticModel model, size_t n,
                                        size_t faces_per_identity, std::mt19937& rng) {
  SyntheticGallery g;
  const size_t identities = std::max<size_t>(1, n / faces_per_identity);
  g.centres.reserve(identities);
  for (size_t i = 0; i < identities; ++i) g.centres.push_back(synthetic_centre(source, model, i, rng));
  std::uniform_int_distribution<uint32_t> who(0, uint32_t(identities - 1));
  g.faces.reserve(n);
  g.identity.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t c = who(rng);
    g.identity.push_back(c);
    g.faces.push_back(synthetic_face(source, model, g.centres[c], rng));
  }
  return g;
}

SyntheticGallery make_gallery_like_real(const SyntheticSource& source, SyntheticModel model, std::mt19937& rng) {
  SyntheticGallery g;
  // Mixed centres start with the real faces themselves; take each person's
  // first face as its centre so that both models get one centre per person.
  std::map<uint32_t, uint32_t> identity_of_person;
  for (size_t i = 0; i < source.real.size(); ++i) {
    const auto [it, fresh] = identity_of_person.emplace(source.real_person[i], uint32_t(g.centres.size()));
    if (fresh)
      g.centres.push_back(model == SyntheticModel::kTwoCovariance ? synthetic_centre(source, model, 0, rng)
                                                                  : source.real[i]);
    g.identity.push_back(it->second);
    g.faces.push_back(synthetic_face(source, model, g.centres[it->second], rng));
  }
  return g;
}

GalleryShape measure_shape(const std::vector<Descriptor>& faces, const std::vector<uint32_t>& identity,
                           std::mt19937& rng) {
  GalleryShape s;
  std::map<uint32_t, std::vector<size_t>> members;
  for (size_t i = 0; i < faces.size(); ++i) members[identity[i]].push_back(i);
  std::vector<double> same;
  for (const auto& [id, m] : members)
    for (size_t a = 0; a < m.size() && same.size() < 200000; ++a)
      for (size_t b = a + 1; b < m.size(); ++b) same.push_back(descriptor_distance(faces[m[a]], faces[m[b]]));
  s.same_p50 = quantile(same, 0.5);
  s.same_p90 = quantile(same, 0.9);
  s.same_within_06 = same.empty() ? 0
                                  : double(std::count_if(same.begin(), same.end(), [](double d) { return d < 0.6; })) /
                                        double(same.size());
  std::uniform_int_distribution<size_t> pick(0, faces.size() - 1);
  size_t different = 0, close = 0;
  while (different < 200000) {
    const size_t a = pick(rng), b = pick(rng);
    if (identity[a] == identity[b]) continue;
    ++different;
    close += descriptor_distance(faces[a], faces[b]) < 0.6;
  }
  s.different_within_06 = double(close) / double(different);
  std::vector<double> stranger;
  for (size_t q = 0; q < 500; ++q) {
    const size_t a = pick(rng);
    double best = 1e9;
    for (size_t b = 0; b < faces.size(); ++b)
      if (identity[b] != identity[a]) best = std::min<double>(best, descriptor_distance(faces[a], faces[b]));
    stranger.push_back(best);
  }
  s.nearest_stranger_p10 = quantile(stranger, 0.1);
  s.nearest_stranger_p50 = quantile(stranger, 0.5);
  return s;
}

}  // namespace facedex::benchmarks
