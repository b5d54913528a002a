// The baseline for indexing throughput: what a user writes from dlib's
// documentation and face_recognition's defaults. For each photo, in one
// thread: load it with dlib, HOG at full resolution after one pyramid_up,
// 68-point landmarks, one descriptor call per face.
//
//   naive_pipeline LIST_FILE BOXES_OUT.tsv
// LIST_FILE holds one photo path per line. Prints photos/s, faces/s, faces found.
#include <dlib/image_io.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "models/embedder.h"
#include "models/model_files.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s LIST_FILE BOXES_OUT.tsv\n", argv[0]);
    return 2;
  }
  auto models = facedex::models::locate_models("");
  if (!models) {
    std::fprintf(stderr, "%s\n", models.status().message().c_str());
    return 1;
  }
  dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
  dlib::shape_predictor sp;
  dlib::deserialize(models->landmarks.path) >> sp;
  auto net = facedex::models::load_dlib_embedder(models->descriptor.path);
  if (!net) return 1;

  std::ifstream list(argv[1]);
  std::ofstream boxes(argv[2]);
  std::vector<std::string> paths;
  for (std::string line; std::getline(list, line);)
    if (!line.empty()) paths.push_back(line);

  const auto start = std::chrono::steady_clock::now();
  size_t faces = 0, failed = 0;
  for (const auto& path : paths) {
    dlib::matrix<dlib::rgb_pixel> img;
    try {
      dlib::load_image(img, path);
    } catch (const std::exception& e) {
      ++failed;
      continue;
    }
    dlib::pyramid_up(img);  // face_recognition's default: number_of_times_to_upsample=1
    for (const auto& det : detector(img)) {
      const auto shape = sp(img, det);
      dlib::matrix<dlib::rgb_pixel> chip;
      dlib::extract_image_chip(img, dlib::get_face_chip_details(shape, 150, 0.25), chip);
      (*net)->embed({chip}).value();  // one call per face
      ++faces;
      // Back to the photo's own pixels (pyramid_up doubled them).
      boxes << path << '\t' << det.left() / 2 << '\t' << det.top() / 2 << '\t' << (det.right() + 1) / 2 << '\t'
            << (det.bottom() + 1) / 2 << '\n';
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("naive: %zu photos, %zu faces in %.1f s: %.2f photos/s, %.2f faces/s (%zu unreadable)\n", paths.size(),
              faces, s, paths.size() / s, faces / s, failed);
  return 0;
}
