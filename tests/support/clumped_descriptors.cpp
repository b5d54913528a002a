#include "tests/support/clumped_descriptors.h"

#include <random>

namespace facedex::testing {

std::vector<Descriptor> clumped_descriptors(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> centre(0.f, 0.09f), noise(0.f, 0.024f);
  std::vector<Descriptor> out;
  Descriptor c(static_cast<size_t>(kDescriptorDims));
  for (size_t i = 0; i < n; ++i) {
    if (i % 5 == 0)
      for (auto& v : c) v = centre(rng);
    Descriptor d(c.size());
    for (size_t k = 0; k < d.size(); ++k) d[k] = c[k] + noise(rng);
    out.push_back(d);
  }
  return out;
}

}  // namespace facedex::testing
