// The tail both build-time model writers share: print the written file's
// sha256 and, when one is recorded, refuse (delete) a file that differs.
#pragma once

#include <cstdio>
#include <string>

#include "util/sha256.h"

namespace facedex::tools {

// 0, or 1 after saying why; `what` names the step ("conversion", "export").
inline int check_written(const std::string& out, const char* expected_sha256, const char* what) {
  auto digest = sha256_file_hex(out);
  if (!digest) {
    std::fprintf(stderr, "%s\n", digest.status().message().c_str());
    return 1;
  }
  std::printf("%s  %s\n", digest->c_str(), out.c_str());
  if (expected_sha256 && *digest != expected_sha256) {
    std::fprintf(stderr,
                 "%s: sha256 %s differs from the recorded %s: the %s is not reproducible here "
                 "(different package or tool). Not using it.\n",
                 out.c_str(), digest->c_str(), expected_sha256, what);
    std::remove(out.c_str());
    return 1;
  }
  return 0;
}

}  // namespace facedex::tools
