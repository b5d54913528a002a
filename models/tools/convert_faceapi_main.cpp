// facedex_convert_faceapi MANIFEST BIN OUT.dat [--expect-sha256 HEX]
// Writes dlib's ResNet face model from face-api's tfjs copy of its weights.
#include <cstdio>
#include <cstring>
#include <string>

#include "models/embedder.h"
#include "models/tools/checked_output.h"

int main(int argc, char** argv) {
  if (argc != 4 && !(argc == 6 && std::strcmp(argv[4], "--expect-sha256") == 0)) {
    std::fprintf(stderr, "usage: %s MANIFEST.json WEIGHTS.bin OUT.dat [--expect-sha256 HEX]\n", argv[0]);
    return 2;
  }
  const std::string out = argv[3];
  if (auto s = facedex::models::convert_faceapi_weights(argv[1], argv[2], out); !s) {
    std::fprintf(stderr, "conversion failed: %s\n", s.message().c_str());
    return 1;
  }
  return facedex::tools::check_written(out, argc == 6 ? argv[5] : nullptr, "conversion");
}
