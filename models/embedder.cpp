#include "models/embedder.h"

#include "models/external_model_spec.h"

namespace facedex::models {

Expected<std::vector<Descriptor>> Embedder::embed(const std::vector<FaceChip>& chips) {
  try {
    return run(chips);
  } catch (const std::exception& e) {
    return Status::internal("the " + backend_name() + " descriptor network failed on " + std::to_string(chips.size()) +
                            " faces (" + e.what() + ")");
  }
}

Expected<EmbedderBackend> parse_embedder_backend(const std::string& name) {
  if (name == "auto" || name.empty()) return EmbedderBackend::kAuto;
  if (name == "dlib") return EmbedderBackend::kDlib;
  if (name == "onednn") return EmbedderBackend::kOneDnn;
  if (external_model_ref(name, "")) return EmbedderBackend::kExternal;
  return Status::invalid_input("unknown embedder '" + name +
                               "' (expected auto, dlib, onednn, faceplugin, mobilefacenet, onnx:PATH or tf:PATH)");
}

const char* embedder_backend_name(EmbedderBackend backend) {
  switch (backend) {
    case EmbedderBackend::kAuto:
      return "auto";
    case EmbedderBackend::kDlib:
      return "dlib";
    case EmbedderBackend::kOneDnn:
      return "onednn";
    case EmbedderBackend::kExternal:
      return "external";
  }
  return "?";
}

EmbedderBackend resolve_embedder_backend(EmbedderBackend backend) {
  // oneDNN is 4-6x faster than dlib's layers (benchmarks/RESULTS.md) and equal
  // to them within 1e-4 (tests/models/onednn_embedder_test.cpp).
  return backend == EmbedderBackend::kAuto ? EmbedderBackend::kOneDnn : backend;
}

}  // namespace facedex::models
