// facedex_convert_faceapi MANIFEST BIN OUT.dat [--expect-sha256 HEX]
// Writes dlib's ResNet face model from face-api's tfjs copy of its weights.
#include <cstdio>
#include <cstring>
#include <string>

#include "models/embedder.h"
#include "util/sha256.h"

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
  auto digest = facedex::sha256_file_hex(out);
  if (!digest) {
    std::fprintf(stderr, "%s\n", digest.status().message().c_str());
    return 1;
  }
  std::printf("%s  %s\n", digest->c_str(), out.c_str());
  if (argc == 6 && *digest != argv[5]) {
    std::fprintf(stderr,
                 "%s: sha256 %s differs from the recorded %s: the conversion is not reproducible here "
                 "(different face-api package or converter). Not using it.\n",
                 out.c_str(), digest->c_str(), argv[5]);
    std::remove(out.c_str());
    return 1;
  }
  return 0;
}
