// facedex_export_tfjs_graph MODEL.json OUT.pb [--expect-sha256 HEX]
// Writes a TensorFlow.js graph model as a frozen TensorFlow GraphDef.
#include <cstdio>
#include <cstring>
#include <string>

#include "models/tfjs_graph_export.h"
#include "util/sha256.h"

int main(int argc, char** argv) {
  if (argc != 3 && !(argc == 5 && std::strcmp(argv[3], "--expect-sha256") == 0)) {
    std::fprintf(stderr, "usage: %s MODEL.json OUT.pb [--expect-sha256 HEX]\n", argv[0]);
    return 2;
  }
  const std::string out = argv[2];
  if (auto s = facedex::models::write_tfjs_graph_as_graphdef(argv[1], out); !s) {
    std::fprintf(stderr, "export failed: %s\n", s.message().c_str());
    return 1;
  }
  auto digest = facedex::sha256_file_hex(out);
  if (!digest) {
    std::fprintf(stderr, "%s\n", digest.status().message().c_str());
    return 1;
  }
  std::printf("%s  %s\n", digest->c_str(), out.c_str());
  if (argc == 5 && *digest != argv[4]) {
    std::fprintf(stderr,
                 "%s: sha256 %s differs from the recorded %s: the export is not reproducible here "
                 "(different package or exporter). Not using it.\n",
                 out.c_str(), digest->c_str(), argv[4]);
    std::remove(out.c_str());
    return 1;
  }
  return 0;
}
