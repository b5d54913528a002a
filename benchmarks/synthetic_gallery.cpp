#include "benchmarks/synthetic_gallery.h"

#include <cmath>
#include <map>

#include "storage/gallery.h"

namespace facedex::benchmarks {

Expected<SyntheticSource> load_synthetic_source(const std::string& db_dir) {
  auto gallery = storage::Gallery::open(db_dir, storage::OpenMode::kReadOnly, nullptr);
  if (!gallery) return gallery.status();
  SyntheticSource out;
  std::map<std::string, std::vector<size_t>> by_folder;
  std::map<uint64_t, std::string> folder_of_photo;
  (*gallery)->store().for_each_photo([&](const storage::Photo& p) {
    folder_of_photo[p.id] = p.path.substr(0, p.path.find_last_of('/'));
    return true;
  });
  (*gallery)->store().for_each_face([&](const storage::Face& f) {
    by_folder[folder_of_photo[f.photo_id]].push_back(out.real.size());
    out.real.push_back(f.descriptor);
    return true;
  });
  if (out.real.empty()) return Status::invalid_input(db_dir + ": no faces");
  double spread2 = 0;
  size_t spread_n = 0;
  for (const auto& [folder, members] : by_folder) {
    if (members.size() < 2) continue;
    Descriptor mean{};
    for (size_t i : members)
      for (int d = 0; d < kDescriptorDims; ++d) mean[size_t(d)] += out.real[i][size_t(d)] / float(members.size());
    for (size_t i : members) {
      double s = 0;
      for (int d = 0; d < kDescriptorDims; ++d) s += std::pow(out.real[i][size_t(d)] - mean[size_t(d)], 2);
      spread2 += s;
      ++spread_n;
    }
  }
  out.within_rms = spread_n ? std::sqrt(spread2 / double(spread_n)) : 0.3;
  out.sigma = float(out.within_rms / std::sqrt(double(kDescriptorDims)));
  return out;
}

Descriptor noisy_face(const Descriptor& centre, float sigma, std::mt19937& rng) {
  std::normal_distribution<float> noise(0.f, sigma);
  Descriptor f;
  for (int d = 0; d < kDescriptorDims; ++d) f[size_t(d)] = centre[size_t(d)] + noise(rng);
  return f;
}

SyntheticGallery make_synthetic_gallery(const SyntheticSource& source, size_t n, size_t faces_per_identity,
                                        std::mt19937& rng) {
  SyntheticGallery g;
  const size_t identities = std::max<size_t>(1, n / faces_per_identity);
  std::uniform_int_distribution<size_t> pick(0, source.real.size() - 1);
  g.centres.resize(identities);
  for (size_t i = 0; i < identities; ++i) {
    if (i < source.real.size()) {
      g.centres[i] = source.real[i];
      continue;
    }
    const Descriptor& a = source.real[pick(rng)];
    const Descriptor& b = source.real[pick(rng)];
    for (int d = 0; d < kDescriptorDims; ++d) g.centres[i][size_t(d)] = 0.5f * (a[size_t(d)] + b[size_t(d)]);
  }
  std::uniform_int_distribution<uint32_t> who(0, uint32_t(identities - 1));
  g.faces.reserve(n);
  g.identity.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t c = who(rng);
    g.identity.push_back(c);
    g.faces.push_back(noisy_face(g.centres[c], source.sigma, rng));
  }
  return g;
}

}  // namespace facedex::benchmarks
