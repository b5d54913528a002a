// facedex models [--json]: which model files are in use, where they came from,
// their checksums and the fingerprint stored with every descriptor.
#include <cstdio>

#include "cli/cli_common.h"
#include "models/onnx_export.h"

namespace facedex::cli {
namespace {

// The backend --embedder resolves to, as the commands that embed will use it.
// An external model is named by its format ("onnx", "tf"), a bundled one by its name.
std::string embedder_name(const GlobalOptions& g) {
  if (auto ref = models::external_model_ref(g.embedder, ""))
    return models::bundled_external_model(g.embedder)     ? g.embedder
           : ref->format == models::ExternalFormat::kOnnx ? "onnx"
                                                          : "tf";
  auto backend = models::parse_embedder_backend(g.embedder);
  return backend ? models::embedder_backend_name(models::resolve_embedder_backend(*backend)) : g.embedder;
}

nlohmann::json file_json(const models::ModelFile& f) {
  return {{"path", f.path}, {"origin", f.origin}, {"sha256", f.sha256}};
}

// Writes the descriptor network in use as ONNX + spec (onnx_export.h).
int export_onnx(const models::ModelSet& set, const std::string& out_path, bool quiet) {
  Status s = models::write_resnet_onnx(set.descriptor.path, out_path);
  if (!s) {
    report_error(s.message());
    return kExitModels;
  }
  if (!quiet)
    std::printf("wrote %s and %s.json (use it with --embedder onnx:%s)\n", out_path.c_str(), out_path.c_str(),
                out_path.c_str());
  return kExitOk;
}

int run_models(const GlobalOptions& g, bool json, const std::string& export_path) {
  // --export-onnx writes the bundled network, whatever --embedder says.
  auto set = models::locate_models(g.models_dir, export_path.empty() ? g.embedder : "");
  if (!set) {
    report_error(set.status().message());
    return kExitModels;
  }
  if (!export_path.empty()) return export_onnx(*set, export_path, g.quiet);
  if (json) {
    nlohmann::json j{{"fingerprint", set->fingerprint},
                     {"descriptor", file_json(set->descriptor)},
                     {"landmarks", file_json(set->landmarks)},
                     {"landmark_points", set->landmark_points}};
    j["cnn_detector"] = set->cnn_detector ? file_json(*set->cnn_detector) : nlohmann::json();
    if (set->cnn_detector) j["cnn_detector"]["licence"] = models::kCnnDetectorLicence;
    j["detector"] = g.detector;
    j["embedder"] = embedder_name(g);
    j["same_person_distance"] = set->same_person_distance;
    j["cnn_backend"] = models::cnn_backend_in_use();
    j["detector_kernel"] = models::FaceDetector::default_kernel_name();
    j["detector_module"] = models::FaceDetector::avx2_module_path();
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  auto print = [](const char* role, const models::ModelFile& f) {
    std::printf("%-12s %s\n             %s\n             sha256 %s\n", role, f.path.c_str(), f.origin.c_str(),
                f.sha256.c_str());
  };
  print("descriptor", set->descriptor);
  print("landmarks", set->landmarks);
  if (set->cnn_detector)
    print("cnn detector", *set->cnn_detector);
  else
    std::printf("cnn detector missing: %s is not in %s (run scripts/setup.sh, or use --detector hog)\n",
                models::kCnnDetectorFile, models::bundled_models_dir().c_str());
  std::printf("fingerprint  %s (stored with every descriptor; galleries never mix fingerprints)\n",
              set->fingerprint.c_str());
  if (set->external)
    std::printf(
        "embedder     %s (external model, %s crop, %d values: own fingerprint; distance rules scaled to its "
        "same-person distance %.3f)\n",
        embedder_name(g).c_str(), models::chip_crop_name(set->external->crop), set->descriptor_dims,
        set->same_person_distance);
  else
    std::printf("embedder     %s (--embedder: onednn or dlib; they agree within 1e-4 and share the fingerprint)\n",
                embedder_name(g).c_str());
  if (g.detector == "cnn")
    std::printf(
        "detector     cnn: RetinaFace mnet.25 boxes (run by %s); dlib HOG (%s build) around each face seeds the 68 "
        "landmarks (--detector hog: HOG alone)\n",
        models::cnn_backend_in_use(), models::FaceDetector::default_kernel_name());
  else
    std::printf("detector     hog: dlib HOG, %s build (the AVX2 build is used when the CPU has it; same boxes)\n",
                models::FaceDetector::default_kernel_name());
  return kExitOk;
}

}  // namespace

void register_models_command(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto json = std::make_shared<bool>(false);
  auto export_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("models", "Show the model files in use, their origin and checksums");
  cmd->footer(
      "External models (--embedder onnx:PATH or tf:PATH) are fed as PATH.json says: input and output (tensor names; "
      "TensorFlow defaults input and embeddings), phase_train (a bool placeholder fed false), input_size, crop "
      "dlib|arcface|margin (margin: a fraction of the box), channel_order rgb|bgr, layout nchw|nhwc (ONNX), prewhiten "
      "true or mean and scale, output_dims 16..4096, normalise_output none|l2, same_person_distance, and optionally "
      "who_weights {bias, distance, margin, probe_crowding, reference_crowding} (who's score fitted for the model).");
  cmd->add_flag("--json", *json, "JSON output");
  cmd->add_option("--export-onnx", *export_path,
                  "Write the descriptor network as an ONNX model FILE plus FILE.json, the spec --embedder onnx:FILE "
                  "reads (input_size, channel_order rgb|bgr, layout nchw|nhwc, mean, scale, output_dims 16..4096, "
                  "normalise_output none|l2, same_person_distance)");
  on_run(
      cmd, [&g, json, export_path]() { return run_models(g, *json, *export_path); }, exit_code);
}

}  // namespace facedex::cli
