// facedex_export_tfjs_graph MODEL.json OUT.pb [--expect-sha256 HEX]
// Writes a TensorFlow.js graph model as a frozen TensorFlow GraphDef.
#include <cstdio>
#include <cstring>
#include <string>

#include "models/tfjs_graph_export.h"
#include "models/tools/checked_output.h"

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
  return facedex::tools::check_written(out, argc == 5 ? argv[4] : nullptr, "export");
}
