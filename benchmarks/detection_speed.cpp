// Face detection alone (boxes, landmarks, chips; no descriptors), on the same
// decoded photos in one process:
//  1. both detectors (cnn, and hog with the fastest kernel) on every photo
//     rescaled to a long side of 250 px, 1920 px and 4000 px: ms per photo
//     and faces found;
//  2. the CNN's network alone, run by each backend (OpenCV's DNN module, the
//     library oneDNN replaced, and oneDNN) on the same input blobs of three
//     sizes: ms per run and the ratio;
//  3. each build of HOG's detection kernel in turn: generic (Debian's SSE2
//     baseline), avx2-dlib-scan (dlib's HOG scanner at AVX2) and avx2 (window
//     scores by models/hog_scan_avx2), with ratios against the generic build and
//     whether every kernel found the same boxes as the generic build.
// Times are the best of the rounds, one thread.
//
//   detection_speed [--rounds N] [--kernel NAME] PHOTO_OR_LIST...
// --kernel runs only that build in part 2 (for a profile of it).
// A path ending in .txt is a list of photo paths, one per line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "models/face_pipeline.h"
#include "models/kernels/face_detection_kernel.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "models/retinaface_network.h"

namespace {

std::vector<std::string> expand(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (const auto& a : args) {
    if (a.size() > 4 && a.compare(a.size() - 4, 4, ".txt") == 0) {
      std::ifstream list(a);
      for (std::string line; std::getline(list, line);)
        if (!line.empty()) paths.push_back(line);
    } else {
      paths.push_back(a);
    }
  }
  return paths;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace facedex;
  int rounds = 3;
  std::string only;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--kernel") == 0 && i + 1 < argc)
      only = argv[++i];
    else
      args.push_back(argv[i]);
  }
  const auto paths = expand(args);
  if (paths.empty()) {
    std::fprintf(stderr, "usage: %s [--rounds N] [--kernel NAME] PHOTO_OR_LIST...\n", argv[0]);
    return 2;
  }
  auto set = models::locate_models("");
  if (!set) return std::fprintf(stderr, "%s\n", set.status().message().c_str()), 1;
  auto loaded = models::FaceModels::load(*set);
  if (!loaded) return std::fprintf(stderr, "%s\n", loaded.status().message().c_str()), 1;

  std::vector<cv::Mat> photos;
  for (const auto& p : paths) {
    auto photo = models::load_photo(p, {});
    if (photo)
      photos.push_back(photo->rgb);
    else
      std::fprintf(stderr, "skipped %s: %s\n", p.c_str(), photo.status().message().c_str());
  }
  std::printf("photos: %zu, rounds: %d, one thread\n", photos.size(), rounds);

  // 1. Both detectors at three photo sizes.
  std::vector<std::unique_ptr<models::FacePipeline>> pipelines;
  for (auto kind : {models::DetectorKind::kCnn, models::DetectorKind::kHog}) {
    auto m = models::FaceModels::load(*set, models::EmbedderBackend::kAuto, kind);
    if (!m) return std::fprintf(stderr, "%s\n", m.status().message().c_str()), 1;
    auto p = models::FacePipeline::create(*m);
    if (!p) return std::fprintf(stderr, "%s\n", p.status().message().c_str()), 1;
    pipelines.push_back(std::move(*p));
  }
  for (const int side : {250, 1920, 4000}) {
    std::vector<cv::Mat> sized;
    for (const auto& rgb : photos) {
      cv::Mat out;
      const double s = double(side) / std::max(rgb.cols, rgb.rows);
      cv::resize(rgb, out, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
      sized.push_back(out);
    }
    double ms[2] = {1e30, 1e30};
    size_t faces[2] = {0, 0};
    for (int r = 0; r < rounds; ++r)
      for (size_t d = 0; d < pipelines.size(); ++d) {
        faces[d] = 0;
        const auto start = std::chrono::steady_clock::now();
        for (const auto& rgb : sized) faces[d] += pipelines[d]->detector().detect(rgb, {}).size();
        ms[d] = std::min(ms[d], 1000 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                                    double(sized.size()));
      }
    std::printf("long side %4d px: cnn %8.1f ms/photo (%zu faces)   hog %8.1f ms/photo (%zu faces)   cnn/hog %.2fx\n",
                side, ms[0], faces[0], ms[1], faces[1], ms[0] / ms[1]);
  }

  // 2. The CNN's network by backend.
  if (set->cnn_detector) {
    models::set_cnn_threads(1);
    std::vector<std::unique_ptr<models::RetinaFaceNetwork>> nets;
    for (auto backend : {models::CnnBackend::kOpencv, models::CnnBackend::kOnednn}) {
      auto net = models::RetinaFaceNetwork::load(set->cnn_detector->path, backend);
      if (!net) return std::fprintf(stderr, "%s\n", net.status().message().c_str()), 1;
      nets.push_back(std::move(*net));
    }
    for (const cv::Size size : {cv::Size(256, 256), cv::Size(640, 480), cv::Size(2048, 1536)}) {
      std::vector<cv::Mat> blobs;
      for (const auto& rgb : photos) blobs.push_back(models::RetinaFaceNetwork::input_blob(rgb, size));
      double ms[2] = {1e30, 1e30};
      for (size_t b = 0; b < nets.size(); ++b) {
        models::RetinaFaceNetwork::RawOutputs raw;
        nets[b]->run(blobs[0], &raw);  // the first run at a shape sets it up
        for (int r = 0; r < rounds; ++r) {
          const auto start = std::chrono::steady_clock::now();
          for (const auto& blob : blobs) nets[b]->run(blob, &raw);
          ms[b] =
              std::min(ms[b], 1000 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                                  double(blobs.size()));
        }
      }
      std::printf("network %4dx%-4d: opencv %7.1f ms   onednn %7.1f ms   %.2fx\n", size.width, size.height, ms[0],
                  ms[1], ms[0] / ms[1]);
    }
  }

  // 3. HOG's kernel builds.
  std::vector<const models::DetectionKernelOps*> kernels{&models::generic_detection_kernel()};
  if (models::avx2_dlib_scan_detection_kernel()) kernels.push_back(models::avx2_dlib_scan_detection_kernel());
  if (models::avx2_detection_kernel()) kernels.push_back(models::avx2_detection_kernel());
  if (!only.empty()) {
    kernels.erase(std::remove_if(kernels.begin(), kernels.end(),
                                 [&](const models::DetectionKernelOps* k) { return only != k->name; }),
                  kernels.end());
    if (kernels.empty()) return std::fprintf(stderr, "no kernel named %s here\n", only.c_str()), 2;
  }

  std::vector<std::unique_ptr<models::FaceDetector>> detectors;
  for (const auto* k : kernels) detectors.push_back(std::make_unique<models::FaceDetector>((*loaded)->landmarks(), k));
  std::vector<double> best(kernels.size(), 1e30);
  std::vector<std::vector<std::vector<models::FaceBox>>> boxes(kernels.size());
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < kernels.size(); ++k) {
      std::vector<std::vector<models::FaceBox>> found;
      const auto start = std::chrono::steady_clock::now();
      for (const auto& rgb : photos) {
        std::vector<models::FaceBox> b;
        for (const auto& f : detectors[k]->detect(rgb, {})) b.push_back(f.box);
        found.push_back(std::move(b));
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      best[k] = std::min(best[k], s);
      boxes[k] = std::move(found);
    }
  }
  for (size_t k = 0; k < kernels.size(); ++k) {
    size_t faces = 0, differing = 0;
    for (size_t i = 0; i < photos.size(); ++i) {
      faces += boxes[k][i].size();
      bool same = boxes[k][i].size() == boxes[0][i].size();
      for (size_t j = 0; same && j < boxes[k][i].size(); ++j) {
        const auto &a = boxes[k][i][j], &b = boxes[0][i][j];
        same = a.left == b.left && a.top == b.top && a.right == b.right && a.bottom == b.bottom;
      }
      differing += !same;
    }
    std::printf("%-16s %8.2f ms/photo  %.2fx %s  %zu faces  photos with boxes unlike %s: %zu\n", kernels[k]->name,
                1000 * best[k] / photos.size(), best[0] / best[k], kernels[0]->name, faces, kernels[0]->name,
                differing);
  }
  return 0;
}
