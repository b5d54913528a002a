// facedex faces PHOTO... [--json] [--save-chips DIR]
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/cli_common.h"
#include "models/photo_decoder.h"

namespace facedex::cli {
namespace {

struct FacesOptions {
  std::vector<std::string> photos;
  bool json = false;
  std::string save_chips_dir;
  models::DetectOptions detect;
};

void save_chip(const std::string& dir, const std::string& photo, size_t index, const models::FaceChip& chip) {
  const auto slash = photo.find_last_of('/');
  std::string stem = photo.substr(slash == std::string::npos ? 0 : slash + 1);
  if (const auto dot = stem.find_last_of('.'); dot != std::string::npos) stem.resize(dot);
  cv::Mat rgb(int(chip.nr()), int(chip.nc()), CV_8UC3, const_cast<dlib::rgb_pixel*>(&chip(0, 0)));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  // PPM: lossless and trivial to parse from the JavaScript fixture script.
  cv::imwrite(dir + "/" + stem + "_face" + std::to_string(index) + ".ppm", bgr);
}

int run_faces(const GlobalOptions& g, const FacesOptions& o) {
  auto models = load_models_or_report(g, g.embedder);
  if (!models) return kExitModels;
  auto pipeline = models::FacePipeline::create(models);
  if (!pipeline) {
    report_error(pipeline.status().message());
    return kExitModels;
  }
  models::set_blas_threads(1);

  int failed = 0;
  bool internal = false;  // a bug stopped a photo's analysis
  for (const std::string& path : o.photos) {
    auto photo = models::load_photo(path, models::DecodeOptions{});
    if (!photo) {
      ++failed;
      report_error(photo.status().message());
      if (o.json)
        std::printf("%s\n",
                    nlohmann::json{{"photo", path_json(path)}, {"error", photo.status().message()}}.dump().c_str());
      continue;
    }
    const auto analyzed = (*pipeline)->analyze(photo->rgb, o.detect);
    if (!analyzed) {
      internal = true;
      report_error(path + ": " + analyzed.status().message());
      continue;
    }
    const auto& faces = *analyzed;
    const int upsample = models::FaceDetector::effective_upsample(photo->rgb.cols, photo->rgb.rows, o.detect);
    if (!o.save_chips_dir.empty())
      for (size_t i = 0; i < faces.size(); ++i) save_chip(o.save_chips_dir, path, i, faces[i].face.chip);

    if (o.json) {
      nlohmann::json j{{"photo", path_json(path)},
                       {"width", photo->rgb.cols},
                       {"height", photo->rgb.rows},
                       {"orientation", photo->orientation},
                       {"detector", models::detector_kind_name((*pipeline)->detector().kind())},
                       {"upsample", upsample},
                       {"model", (*pipeline)->model_set().fingerprint},
                       {"faces", nlohmann::json::array()}};
      for (const auto& f : faces) {
        const auto& b = f.face.box;
        j["faces"].push_back(
            {{"box", {b.left, b.top, b.right, b.bottom}}, {"score", f.face.score}, {"descriptor", f.descriptor}});
      }
      std::printf("%s\n", j.dump().c_str());
      continue;
    }
    std::printf("%s: %zu face%s (%dx%d, orientation %d, upsample %d)\n", path.c_str(), faces.size(),
                faces.size() == 1 ? "" : "s", photo->rgb.cols, photo->rgb.rows, photo->orientation, upsample);
    for (size_t i = 0; i < faces.size(); ++i) {
      const auto& f = faces[i];
      double norm = 0;
      for (float v : f.descriptor) norm += double(v) * v;
      std::printf("  probe face %zu: box [%d, %d, %d, %d] score %.3f |descriptor| %.3f\n   ", i + 1, f.face.box.left,
                  f.face.box.top, f.face.box.right, f.face.box.bottom, f.face.score, std::sqrt(norm));
      for (size_t d = 0; d < f.descriptor.size(); ++d)
        std::printf("%s%.4f", d % 16 == 0 && d ? "\n    " : " ", f.descriptor[d]);
      std::printf("\n");
    }
  }
  if (failed && !o.json) std::fprintf(stderr, "facedex: %d of %zu photos could not be read\n", failed, o.photos.size());
  if (internal) return kExitInternal;
  return failed ? kExitSomeInputsFailed : kExitOk;
}

}  // namespace

void register_faces_command(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<FacesOptions>();
  CLI::App* cmd = app.add_subcommand("faces", "Find the faces in photos and print box, score and descriptor");
  cmd->add_option("photos", o->photos, "Photo files")->required();
  cmd->add_flag("--json", o->json, "One JSON object per photo");
  add_detect_flags(cmd, o->detect);
  cmd->add_option("--save-chips", o->save_chips_dir, "Write each aligned 150x150 chip as PPM into this directory")
      ->check(CLI::ExistingDirectory);
  on_run(
      cmd, [&g, o]() { return run_faces(g, *o); }, exit_code);
}

}  // namespace facedex::cli
