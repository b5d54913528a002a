// The fast copy of the landmark model must place exactly the landmarks dlib's
// own file places, and a damaged copy must be refused and made again.
#include "models/shape_predictor_cache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "models/face_detector.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

// Landmarks of every face of two demo photos with `model`.
std::vector<std::array<float, 2>> landmarks_with(const std::shared_ptr<const models::LandmarkModel>& model) {
  models::FaceDetector detector(model);
  std::vector<std::array<float, 2>> out;
  for (int n : {1, 4}) {
    auto photo = models::load_photo(testing::demo_photo(n), {});
    EXPECT_TRUE(photo) << photo.status().message();
    if (!photo) continue;
    for (const auto& face : detector.detect(photo->rgb, {}))
      out.insert(out.end(), face.landmarks.begin(), face.landmarks.end());
  }
  return out;
}

TEST(ShapePredictorCacheTest, CopyPlacesTheSameLandmarksAndDamagedCopiesAreRemade) {
  auto set = models::locate_models("");
  ASSERT_TRUE(set) << set.status().message();
  testing::TempDir dir;
  const char* before = std::getenv("XDG_CACHE_HOME");
  const std::string saved = before ? before : "";
  ASSERT_EQ(::setenv("XDG_CACHE_HOME", dir.path().c_str(), 1), 0);
  const std::string copy = models::shape_predictor_cache_path(set->landmarks.sha256);
  EXPECT_EQ(copy.rfind(dir.path(), 0), 0u) << copy;

  // dlib's file only (no digest: no copy read or written).
  auto from_dlib = models::LandmarkModel::load(set->landmarks.path);
  ASSERT_TRUE(from_dlib) << from_dlib.status().message();
  EXPECT_FALSE(std::ifstream(copy).good());
  const auto expected = landmarks_with(*from_dlib);
  ASSERT_GE(expected.size(), 68u * 5);  // 7 faces in these two photos

  // First load with the digest writes the copy; the second reads it.
  ASSERT_TRUE(models::LandmarkModel::load(set->landmarks.path, set->landmarks.sha256));
  ASSERT_TRUE(std::ifstream(copy).good());
  dlib::shape_predictor read_back;
  ASSERT_TRUE(models::read_shape_predictor_cache(copy, &read_back));
  EXPECT_EQ(read_back.num_parts(), 68u);
  auto from_copy = models::LandmarkModel::load(set->landmarks.path, set->landmarks.sha256);
  ASSERT_TRUE(from_copy);
  const auto got = landmarks_with(*from_copy);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i][0], expected[i][0]) << "point " << i;
    EXPECT_EQ(got[i][1], expected[i][1]) << "point " << i;
  }

  // Damaged copies are refused: cut short, a feature index out of range, a
  // foreign header, one changed float among the leaves (it would move every
  // landmark under the same fingerprint). Loading then reads dlib's file and
  // writes a good copy (one refusal path for all: asked once, after the last,
  // as each of dlib's reads takes seconds).
  const std::string good = testing::read_file(copy);
  const size_t magic = std::string("facedex shape predictor copy 2\n").size();
  const size_t first_split = magic + 8 + 136 * sizeof(float) + 8 + 8 + 8;  // shape, forests, trees, splits counts
  std::string out_of_range = good;
  out_of_range[first_split + 5] = char(0x7f);  // idx1 of the first split: ~2^47
  std::string foreign = good;
  foreign[0] = 'X';
  std::string changed_leaf = good;
  changed_leaf[good.size() / 2] ^= 0x01;
  for (const std::string& damaged : {good.substr(0, good.size() - 3), out_of_range, foreign, changed_leaf}) {
    std::ofstream(copy, std::ios::binary | std::ios::trunc) << damaged;
    EXPECT_FALSE(models::read_shape_predictor_cache(copy, &read_back));
  }
  auto reloaded = models::LandmarkModel::load(set->landmarks.path, set->landmarks.sha256);
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(testing::read_file(copy), good) << "the copy was not made again";
  if (saved.empty())
    ::unsetenv("XDG_CACHE_HOME");
  else
    ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace facedex
