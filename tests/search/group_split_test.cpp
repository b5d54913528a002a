// split_group on real descriptors: the largest face of two demo photos, each
// as it is, mirrored, at 80% and recompressed (four photos of one person).
#include "search/group_split.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "models/face_pipeline.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

constexpr float kSamePerson = 0.6f;  // dlib's model, as the report passes it

// Four descriptors of the largest face of demo photo `sample`.
std::vector<Descriptor> four_photos_of(models::FacePipeline& pipeline, int sample) {
  auto photo = models::load_photo(testing::demo_photo(sample), models::DecodeOptions{});
  EXPECT_TRUE(photo);
  if (!photo) return {};
  cv::Mat mirrored, small;
  cv::flip(photo->rgb, mirrored, 1);
  cv::resize(photo->rgb, small, cv::Size(), 0.8, 0.8, cv::INTER_AREA);
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", photo->rgb, jpeg, {cv::IMWRITE_JPEG_QUALITY, 50});
  const cv::Mat recompressed = cv::imdecode(jpeg, cv::IMREAD_COLOR);  // only round-tripped: channel order kept
  std::vector<Descriptor> out;
  for (const cv::Mat& img : {photo->rgb, mirrored, small, recompressed}) {
    const auto faces = pipeline.analyze(img, models::DetectOptions{}).value();
    EXPECT_FALSE(faces.empty());
    if (!faces.empty()) out.push_back(faces[0].descriptor);  // largest first
  }
  return out;
}

class GroupSplitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pipeline = testing::make_pipeline();
    ASSERT_TRUE(pipeline);
    a_ = new std::vector<Descriptor>(four_photos_of(*pipeline, 3));
    b_ = new std::vector<Descriptor>(four_photos_of(*pipeline, 5));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
  }
  static std::vector<uint64_t> photos(size_t n, uint64_t first = 1) {
    std::vector<uint64_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = first + i;
    return ids;
  }
  static std::vector<Descriptor>* a_;
  static std::vector<Descriptor>* b_;
};
std::vector<Descriptor>* GroupSplitTest::a_ = nullptr;
std::vector<Descriptor>* GroupSplitTest::b_ = nullptr;

TEST_F(GroupSplitTest, TwoPeopleUnderOneGroupSplitIntoOnePersonAPart) {
  ASSERT_TRUE(a_ && b_);
  ASSERT_EQ(a_->size(), 4u);
  ASSERT_EQ(b_->size(), 4u);
  std::vector<Descriptor> group = *a_;
  group.insert(group.end(), b_->begin(), b_->end());
  const auto split = search::split_group(group, photos(group.size()), search::ClusterParams{}, kSamePerson);
  ASSERT_TRUE(split);
  ASSERT_EQ(split->first.size(), 4u);
  ASSERT_EQ(split->second.size(), 4u);
  std::set<bool> first_from_a, second_from_a;
  for (size_t i : split->first) first_from_a.insert(i < 4);
  for (size_t i : split->second) second_from_a.insert(i < 4);
  EXPECT_EQ(first_from_a.size(), 1u);
  EXPECT_EQ(second_from_a.size(), 1u);
  EXPECT_NE(*first_from_a.begin(), *second_from_a.begin());
  EXPECT_GT(split->between, kSamePerson) << "two people are further apart than one";
  EXPECT_LT(split->within, split->between);
  EXPECT_EQ(split->pairs, 16u);
  EXPECT_EQ(split->close_pairs, 0u);
}

TEST_F(GroupSplitTest, OnePersonIsNotSplitButFacesOfOnePhotoNeverShareAPart) {
  ASSERT_TRUE(a_ && b_);
  ASSERT_EQ(a_->size(), 4u);
  EXPECT_FALSE(search::split_group(*a_, photos(4), search::ClusterParams{}, kSamePerson));
  // Three faces cannot hold two parts of two.
  std::vector<Descriptor> three = {(*a_)[0], (*a_)[1], (*b_)[0]};
  EXPECT_FALSE(search::split_group(three, photos(3), search::ClusterParams{}, kSamePerson));

  // One person's four faces, said to come from two photos two faces each: the
  // faces of a photo are two people, so the group falls into two parts.
  const auto split = search::split_group(*a_, {1, 1, 2, 2}, search::ClusterParams{}, kSamePerson);
  ASSERT_TRUE(split);
  for (const auto* part : {&split->first, &split->second}) {
    std::set<size_t> photos_of_part;
    for (size_t i : *part) photos_of_part.insert(i / 2);
    EXPECT_EQ(photos_of_part.size(), part->size()) << "two faces of one photo in one part";
  }
  EXPECT_LT(split->between, kSamePerson) << "one person: the parts are close";
}

}  // namespace
}  // namespace facedex
