// Experiment: does averaging the descriptors of a face and of its mirror image
// (test-time augmentation) separate people better? Rewrites, in a COPY of a
// gallery, every face's descriptor as the mean of the chip's and the mirrored
// chip's descriptors (chips re-cut from the stored landmarks, no detection).
// Then run lfw_identification / lfw_clustering on the copy and compare.
//
//   flip_average_experiment --db COPY_OF_DB
#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv/cv_image.h>

#include <cstdio>
#include <string>

#include "benchmarks/stored_face_chip.h"
#include "models/embedder.h"
#include "models/face_pipeline.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "storage/gallery.h"

using namespace facedex;

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "--db") {
    std::fprintf(stderr, "usage: %s --db COPY_OF_DB\n", argv[0]);
    return 2;
  }
  auto gallery = storage::Gallery::open(argv[2], storage::OpenMode::kReadWrite, nullptr);
  auto set = models::locate_models("");
  if (!gallery || !set) return 1;
  auto embedder = models::load_dlib_embedder(set->descriptor.path);
  if (!embedder) return 1;
  models::set_blas_threads(2);
  auto& store = (*gallery)->store();
  std::vector<storage::Photo> photos;
  const Status walked36 = store.for_each_photo([&](const storage::Photo& p) {
    if (!p.face_ids.empty()) photos.push_back(p);
    return true;
  });
  if (!walked36) return std::fprintf(stderr, "%s\n", walked36.message().c_str()), 1;
  size_t done = 0;
  storage::GalleryBatch batch = store.new_batch();
  for (const auto& p : photos) {
    auto photo = models::load_photo(p.path, {});
    if (!photo) continue;
    const dlib::cv_image<dlib::rgb_pixel> img(photo->rgb);
    std::vector<models::FaceChip> chips;
    std::vector<storage::Face> faces;
    for (uint64_t fid : p.face_ids) {
      storage::Face f = **store.face(fid);
      const models::FaceChip chip = benchmarks::stored_face_chip(img, f);
      models::FaceChip mirrored;
      dlib::flip_image_left_right(chip, mirrored);
      chips.push_back(chip);
      chips.push_back(mirrored);
      faces.push_back(f);
    }
    const auto d = (*embedder)->embed(chips).value();
    for (size_t i = 0; i < faces.size(); ++i) {
      for (int k = 0; k < kDescriptorDims; ++k)
        faces[i].descriptor[size_t(k)] = 0.5f * (d[2 * i][size_t(k)] + d[2 * i + 1][size_t(k)]);
      batch.update_face(faces[i], faces[i].person_id);
    }
    if (++done % 200 == 0) {
      if (Status s = (*gallery)->commit(batch); !s) return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
      batch = store.new_batch();
      std::fprintf(stderr, "%zu/%zu photos\n", done, photos.size());
    }
  }
  if (Status s = (*gallery)->commit(batch, true); !s) return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
  std::printf("rewrote the descriptors of %zu photos as flip averages\n", done);
  return 0;
}
