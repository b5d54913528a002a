#include "models/onnx_model_spec.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace facedex::models {
namespace {

// A number or three numbers (one per channel, R G B).
bool read_per_channel(const nlohmann::json& v, std::array<float, 3>* out) {
  if (v.is_number()) {
    out->fill(v.get<float>());
    return true;
  }
  if (v.is_array() && v.size() == 3 && v[0].is_number() && v[1].is_number() && v[2].is_number()) {
    for (size_t i = 0; i < 3; ++i) (*out)[i] = v[i].get<float>();
    return true;
  }
  return false;
}

}  // namespace

std::string onnx_model_path(const std::string& embedder) {
  const std::string prefix = "onnx:";
  return embedder.compare(0, prefix.size(), prefix) == 0 ? embedder.substr(prefix.size()) : std::string();
}

Expected<OnnxModelSpec> load_onnx_model_spec(const std::string& model_path) {
  const std::string spec_path = model_path + ".json";
  OnnxModelSpec spec;
  std::error_code ec;
  spec.model_path = std::filesystem::absolute(model_path, ec).string();
  if (!std::filesystem::is_regular_file(model_path, ec))
    return Status::not_found(model_path + ": no such ONNX model file");
  std::ifstream in(spec_path);
  if (!in)
    return Status::not_found(spec_path +
                             ": missing; an ONNX embedder needs a spec beside it (input_size, "
                             "channel_order, layout, mean, scale, output_dims, normalise_output, "
                             "same_person_distance; see facedex models --help)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    return Status::invalid_input(spec_path + ": not JSON (" + e.what() + ")");
  }
  auto bad = [&](const std::string& key, const std::string& why) {
    return Status::invalid_input(spec_path + ": \"" + key + "\" " + why);
  };
  if (!j.is_object()) return Status::invalid_input(spec_path + ": expected a JSON object");
  try {
    spec.input_size = j.value("input_size", kChipSize);
    if (spec.input_size < 16 || spec.input_size > 1024) return bad("input_size", "must be 16..1024");
    const std::string order = j.value("channel_order", "rgb");
    if (order != "rgb" && order != "bgr") return bad("channel_order", "must be \"rgb\" or \"bgr\"");
    spec.bgr = order == "bgr";
    const std::string layout = j.value("layout", "nchw");
    if (layout != "nchw" && layout != "nhwc") return bad("layout", "must be \"nchw\" or \"nhwc\"");
    spec.nhwc = layout == "nhwc";
    if (j.contains("mean") && !read_per_channel(j["mean"], &spec.mean))
      return bad("mean", "must be a number or [r, g, b]");
    if (j.contains("scale") && !read_per_channel(j["scale"], &spec.scale))
      return bad("scale", "must be a number or [r, g, b]");
    spec.output_dims = j.value("output_dims", kDescriptorDims);
    if (spec.output_dims < kMinDescriptorDims || spec.output_dims > kMaxDescriptorDims)
      return bad("output_dims", "is " + std::to_string(spec.output_dims) + "; facedex stores descriptors of " +
                                    std::to_string(kMinDescriptorDims) + " to " + std::to_string(kMaxDescriptorDims) +
                                    " values");
    const std::string norm = j.value("normalise_output", "none");
    if (norm != "none" && norm != "l2") return bad("normalise_output", "must be \"none\" or \"l2\"");
    spec.l2_normalise = norm == "l2";
    spec.same_person_distance = j.value("same_person_distance", kSamePersonDistance);
    if (!(spec.same_person_distance > 0 && spec.same_person_distance < 10))
      return bad("same_person_distance", "must be a positive distance");
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_input(spec_path + ": " + e.what());
  }
  spec.canonical = nlohmann::json{{"input_size", spec.input_size},
                                  {"bgr", spec.bgr},
                                  {"nhwc", spec.nhwc},
                                  {"mean", spec.mean},
                                  {"scale", spec.scale},
                                  {"output_dims", spec.output_dims},
                                  {"l2", spec.l2_normalise},
                                  {"same_person_distance", spec.same_person_distance}}
                       .dump();
  return spec;
}

}  // namespace facedex::models
