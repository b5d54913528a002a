// cluster_faces on real descriptors: faces of the demo photos, and many
// photos of one of them made by transforming its photo (crop, scale, mirror,
// JPEG quality). The crowd stretching must not split a person with many
// photos: their faces are each other's nearest neighbours, which is why
// crowding is measured outside the first-pass group.
#include "search/face_clustering.h"

#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "models/face_pipeline.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

struct Faces {
  search::ClusterInput input;
  std::vector<int> truth;  // the demo face each face is a copy of
};

// Every face of demo photos 3 and 5 once, and `copies` photos of the largest
// face of photo 3, each a different crop/scale/mirror/quality of it.
Faces demo_faces(int copies) {
  Faces out;
  auto pipeline = testing::make_pipeline();
  if (!pipeline) return out;
  uint64_t photo_id = 0;
  int person = 0;
  for (int n : {3, 5}) {
    auto photo = models::load_photo(testing::demo_photo(n), models::DecodeOptions{});
    EXPECT_TRUE(photo);
    ++photo_id;
    for (const auto& f : pipeline->analyze(photo->rgb, models::DetectOptions{}).value()) {
      out.input.descriptors.push_back(f.descriptor);
      out.input.photo_ids.push_back(photo_id);
      out.input.person_ids.push_back(0);
      out.truth.push_back(person++);
    }
  }
  auto photo = models::load_photo(testing::demo_photo(3), models::DecodeOptions{});
  const auto faces = pipeline->detector().detect(photo->rgb, models::DetectOptions{});
  EXPECT_FALSE(faces.empty());
  if (faces.empty()) return out;
  const auto& box = faces[0].box;
  const int size = box.right - box.left;
  for (int c = 0; c < copies; ++c) {
    const double margin = 0.6 + 0.05 * (c % 8), scale = 0.7 + 0.1 * (c % 7);
    const int cx = (box.left + box.right) / 2 + (c % 5 - 2) * size / 20, cy = (box.top + box.bottom) / 2;
    cv::Rect crop(cx - int(size * (0.5 + margin)), cy - int(size * (0.5 + margin)), int(size * (1 + 2 * margin)),
                  int(size * (1 + 2 * margin)));
    crop &= cv::Rect(0, 0, photo->rgb.cols, photo->rgb.rows);
    cv::Mat img;
    cv::resize(photo->rgb(crop), img, cv::Size(), scale, scale, cv::INTER_AREA);
    if (c % 2) cv::flip(img, img, 1);
    std::vector<uchar> jpeg;
    cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 40 + 7 * (c % 9)});
    const cv::Mat decoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);  // channel order is irrelevant: only round-tripped
    const auto found = pipeline->analyze(decoded, models::DetectOptions{}).value();
    EXPECT_EQ(found.size(), 1u) << "copy " << c;
    if (found.empty()) continue;
    out.input.descriptors.push_back(found[0].descriptor);
    out.input.photo_ids.push_back(++photo_id);
    out.input.person_ids.push_back(0);
    out.truth.push_back(0);
  }
  return out;
}

TEST(FaceClusteringTest, APersonWithManyPhotosStaysOneClusterAndOthersStayApart) {
  const Faces faces = demo_faces(40);
  ASSERT_GE(faces.input.descriptors.size(), 45u);
  for (const search::ClusterParams& params : {search::ClusterParams{}, [] {
                                                search::ClusterParams plain;
                                                plain.crowd_distance = 0;
                                                plain.threshold = 0.5f;
                                                return plain;
                                              }()}) {
    const auto labels = search::cluster_faces(faces.input, params);
    // The 41 faces of demo face 0 are one cluster...
    std::set<unsigned long> of_face0;
    for (size_t i = 0; i < labels.size(); ++i)
      if (faces.truth[i] == 0) of_face0.insert(labels[i]);
    EXPECT_EQ(of_face0.size(), 1u) << "crowd_distance " << params.crowd_distance;
    // ...and no cluster holds two different demo faces (they are different people).
    std::map<unsigned long, std::set<int>> people_of;
    for (size_t i = 0; i < labels.size(); ++i) people_of[labels[i]].insert(faces.truth[i]);
    for (const auto& [label, people] : people_of)
      EXPECT_EQ(people.size(), 1u) << "cluster " << label << " mixes demo faces, crowd_distance "
                                   << params.crowd_distance;
  }
}

TEST(FaceClusteringTest, FacesOfOnePhotoNeverShareACluster) {
  Faces faces = demo_faces(0);
  ASSERT_GE(faces.input.descriptors.size(), 6u);
  // Pretend every face came from one photo: then no two may be grouped,
  // however close; a threshold this loose would otherwise merge them.
  for (auto& p : faces.input.photo_ids) p = 1;
  search::ClusterParams loose;
  loose.threshold = 5.0f;
  const auto labels = search::cluster_faces(faces.input, loose);
  EXPECT_EQ(std::set<unsigned long>(labels.begin(), labels.end()).size(), labels.size());
}

}  // namespace
}  // namespace facedex
