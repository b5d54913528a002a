// Descriptor-like vectors for index and graph tests: five per "person", close
// together (spread as measured on lfw-dev), people far apart. The clumping is
// what makes approximate indexes miss neighbours, so tests of them use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/descriptor.h"

namespace facedex::testing {

// Faces i and j are the same person when i / 5 == j / 5.
std::vector<Descriptor> clumped_descriptors(size_t n, uint32_t seed);

}  // namespace facedex::testing
