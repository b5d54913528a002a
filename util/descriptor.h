// The descriptor type shared by models/ (which makes them) and storage/ (which
// keeps them), so that neither module depends on the other.
#pragma once

#include <array>

namespace facedex {

// Descriptor length of dlib's metric network.
inline constexpr int kDescriptorDims = 128;
using Descriptor = std::array<float, kDescriptorDims>;

}  // namespace facedex
