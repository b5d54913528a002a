// Where descriptors stop being useful: LFW verification (pairsDevTest, dlib's
// 0.6) with every photo shrunk so that its face is about N px wide, through
// the whole pipeline (CNN detector with --min-face 8, landmarks, chip,
// descriptor). lfw-dev's deep-funneled faces are about 110 px wide in their
// 250 px photos. A pair whose face is not found counts as wrong.
//
//   face_size_verification [--lfw DIR] [--sizes 16,20,24,32,48,110]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "models/face_pipeline.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"

namespace {

constexpr double kLfwFaceWidth = 110;  // px, in lfw-dev's 250 px photos

struct Pair {
  std::string a, b;
  bool same;
};

std::string image_path(const std::string& dir, const std::string& name, int n) {
  char file[256];
  std::snprintf(file, sizeof file, "%s_%04d.jpg", name.c_str(), n);
  return dir + "/images/" + name + "/" + file;
}

std::vector<Pair> read_pairs(const std::string& dir) {
  std::ifstream in(dir + "/pairsDevTest.txt");
  std::vector<Pair> pairs;
  std::string line;
  std::getline(in, line);  // count
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<std::string> f;
    for (std::string w; ss >> w;) f.push_back(w);
    if (f.size() == 3)
      pairs.push_back({image_path(dir, f[0], std::stoi(f[1])), image_path(dir, f[0], std::stoi(f[2])), true});
    if (f.size() == 4)
      pairs.push_back({image_path(dir, f[0], std::stoi(f[1])), image_path(dir, f[2], std::stoi(f[3])), false});
  }
  return pairs;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace facedex;
  std::string lfw = "../shared/data/lfw-dev";
  std::vector<int> sizes = {16, 20, 24, 32, 48, 110};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--lfw") == 0 && i + 1 < argc) {
      lfw = argv[++i];
    } else if (std::strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
      sizes.clear();
      std::istringstream ss(argv[++i]);
      for (std::string v; std::getline(ss, v, ',');) sizes.push_back(std::stoi(v));
    } else {
      return std::fprintf(stderr, "usage: %s [--lfw DIR] [--sizes 16,20,...]\n", argv[0]), 2;
    }
  }
  auto set = models::locate_models("");
  if (!set) return std::fprintf(stderr, "%s\n", set.status().message().c_str()), 1;
  auto loaded = models::FaceModels::load(*set);
  if (!loaded) return std::fprintf(stderr, "%s\n", loaded.status().message().c_str()), 1;
  auto pipeline = models::FacePipeline::create(*loaded);
  if (!pipeline) return std::fprintf(stderr, "%s\n", pipeline.status().message().c_str()), 1;
  const auto pairs = read_pairs(lfw);
  std::map<std::string, cv::Mat> photos;
  for (const auto& p : pairs)
    for (const auto* path : {&p.a, &p.b})
      if (!photos.count(*path)) {
        auto photo = models::load_photo(*path, {});
        if (photo) photos[*path] = photo->rgb;
      }
  std::printf("pairsDevTest: %zu pairs, %zu photos; faces shrunk to about N px wide\n", pairs.size(), photos.size());
  models::DetectOptions options;
  options.min_face = 8;
  for (int size : sizes) {
    const double scale = std::min(1.0, size / kLfwFaceWidth);
    std::map<std::string, std::optional<Descriptor>> described;
    for (const auto& [path, rgb] : photos) {
      cv::Mat small = rgb;
      if (scale < 1) cv::resize(rgb, small, cv::Size(), scale, scale, cv::INTER_AREA);
      // The face nearest the photo's centre (LFW protocol).
      const auto faces = (*pipeline)->analyze(small, options).value();
      double best = 1e30;
      std::optional<Descriptor> d;
      for (const auto& f : faces) {
        const double dx = (f.face.box.left + f.face.box.right) / 2.0 - small.cols / 2.0;
        const double dy = (f.face.box.top + f.face.box.bottom) / 2.0 - small.rows / 2.0;
        if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, d = f.descriptor;
      }
      described[path] = d;
    }
    int right = 0, missed = 0, same_right = 0, diff_right = 0;
    for (const auto& p : pairs) {
      const auto &a = described[p.a], &b = described[p.b];
      if (!a || !b) {
        ++missed;
        continue;
      }
      const bool said_same = descriptor_distance(*a, *b) < 0.6f;
      if (said_same == p.same) {
        ++right;
        (p.same ? same_right : diff_right)++;
      }
    }
    std::printf(
        "faces ~%3d px (photos at %.2fx): accuracy at 0.6 %.2f%% (same pairs right %d, different %d, %d pairs "
        "with a face not found)\n",
        size, scale, 100.0 * right / double(pairs.size()), same_right, diff_right, missed);
    std::fflush(stdout);
  }
  return 0;
}
