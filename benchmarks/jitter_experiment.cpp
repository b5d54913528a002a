// Experiment: do dlib's jittered descriptors (the mean over randomly shifted,
// scaled, rotated and mirrored copies of the chip, as dlib's
// compute_face_descriptor(num_jitters) makes them) make one enrolment photo a
// better reference? Rewrites, in a COPY of an lfw_who library, the descriptors
// of the faces of each LFW folder's first photo (the one lfw_who names) as the mean of
// the chip, its mirror and N jittered copies. Then run lfw_who on the copy and
// compare with the library as indexed.
//
//   jitter_experiment --db COPY_OF_LIBRARY --jitter N
#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv/cv_image.h>
#include <dlib/rand.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "benchmarks/stored_face_chip.h"
#include "models/embedder.h"
#include "models/face_pipeline.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "storage/gallery.h"

using namespace facedex;

int main(int argc, char** argv) {
  if (argc != 5 || std::string(argv[1]) != "--db" || std::string(argv[3]) != "--jitter") {
    std::fprintf(stderr, "usage: %s --db COPY_OF_LIBRARY --jitter N\n", argv[0]);
    return 2;
  }
  const int jitters = std::atoi(argv[4]);
  auto gallery = storage::Gallery::open(argv[2], storage::OpenMode::kReadWrite, nullptr);
  auto set = models::locate_models("");
  if (!gallery || !set) return 1;
  auto embedder = models::load_dlib_embedder(set->descriptor.path);
  if (!embedder) return 1;
  models::set_blas_threads(2);
  auto& store = (*gallery)->store();
  // The first photo (by name) of each LFW folder: the one lfw_who names.
  std::map<std::string, storage::Photo> first_of_folder;
  const Status walked = store.for_each_photo([&](const storage::Photo& p) {
    const std::string folder = p.path.substr(0, p.path.find_last_of('/'));
    if (p.face_ids.empty() || p.path.find("/lfw/") == std::string::npos) return true;
    auto it = first_of_folder.find(folder);
    if (it == first_of_folder.end() || p.path < it->second.path) first_of_folder[folder] = p;
    return true;
  });
  if (!walked) return std::fprintf(stderr, "%s\n", walked.message().c_str()), 1;
  std::vector<storage::Photo> photos;
  for (const auto& [folder, p] : first_of_folder) photos.push_back(p);
  dlib::rand rnd(12345);
  size_t done = 0;
  storage::GalleryBatch batch = store.new_batch();
  for (const auto& p : photos) {
    auto photo = models::load_photo(p.path, {});
    if (!photo) continue;
    const dlib::cv_image<dlib::rgb_pixel> img(photo->rgb);
    for (uint64_t fid : p.face_ids) {
      storage::Face f = **store.face(fid);
      const models::FaceChip chip = benchmarks::stored_face_chip(img, f);
      models::FaceChip mirrored;
      dlib::flip_image_left_right(chip, mirrored);
      std::vector<models::FaceChip> chips = {chip, mirrored};
      for (int j = 0; j < jitters; ++j) chips.push_back(dlib::jitter_image(chip, rnd));
      const auto d = (*embedder)->embed(chips).value();
      for (int k = 0; k < kDescriptorDims; ++k) {
        float sum = 0;
        for (const auto& v : d) sum += v[size_t(k)];
        f.descriptor[size_t(k)] = sum / float(d.size());
      }
      batch.update_face(f, f.person_id);
    }
    if (++done % 100 == 0) {
      if (Status s = (*gallery)->commit(batch); !s) return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
      batch = store.new_batch();
      std::fprintf(stderr, "%zu/%zu photos\n", done, photos.size());
    }
  }
  if (Status s = (*gallery)->commit(batch, true); !s) return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
  std::printf("rewrote the descriptors of %zu enrolment photos as the mean of %d copies\n", done, jitters + 2);
  return 0;
}
