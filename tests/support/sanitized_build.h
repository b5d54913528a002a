// Sanitized builds (scripts/test_sanitizers.sh) run several times slower than
// Release. The longest photo-walking tests then walk fewer demo photos, through
// the same code paths: the sanitizers look for memory and threading errors,
// which one photo shows as well as six.
#pragma once

#include <cstddef>
#include <vector>

namespace facedex::testing {

#ifdef FACEDEX_SANITIZED
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif

// `photos`, or its first `keep` in a sanitized build.
inline std::vector<int> fewer_when_sanitized(std::vector<int> photos, size_t keep) {
  if (kSanitizedBuild && photos.size() > keep) photos.resize(keep);
  return photos;
}

}  // namespace facedex::testing
