#include "tests/support/demo_chips.h"

#include <dlib/image_transforms.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex::testing {

Expected<models::ResNetWeights> bundled_resnet_weights() {
  auto set = models::locate_models("");
  if (!set) return set.status();
  return models::read_resnet_weights(set->descriptor.path);
}

// Every face HOG finds in the six demo photos, and each one mirrored.
std::vector<models::FaceChip> demo_chips() {
  auto pipeline = make_pipeline();
  std::vector<models::FaceChip> chips;
  if (!pipeline) return chips;
  for (int n = 1; n <= 6; ++n) {
    auto photo = models::load_photo(demo_photo(n), models::DecodeOptions{});
    EXPECT_TRUE(photo) << photo.status().message();
    if (!photo) continue;
    for (const auto& face : pipeline->detector().detect(photo->rgb, models::DetectOptions{})) {
      chips.push_back(face.chip);
      models::FaceChip mirrored;
      dlib::flip_image_left_right(face.chip, mirrored);
      chips.push_back(std::move(mirrored));
    }
  }
  return chips;
}

double worst_difference(const std::vector<Descriptor>& a, const std::vector<Descriptor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    for (size_t d = 0; d < std::min(a[i].size(), b[i].size()); ++d)
      worst = std::max(worst, std::abs(double(a[i][d]) - double(b[i][d])));
  return worst;
}

}  // namespace facedex::testing
