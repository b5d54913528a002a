// The indexer on real photos into a real RocksDB + FAISS gallery: incremental
// runs, moves, deletions, modifications, EXIF orientation.
#include "indexer/index_run.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "models/face_detector.h"
#include "models/photo_decoder.h"
#include "search/photo_removal.h"
#include "storage/gallery_check.h"
#include "tests/support/test_photos.h"
#include "util/sha256.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;

class IndexRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto set = models::locate_models("");
    ASSERT_TRUE(set) << set.status().message();
    auto loaded = models::FaceModels::load(*set);
    ASSERT_TRUE(loaded) << loaded.status().message();
    models_ = *loaded;
  }
  static void TearDownTestSuite() { models_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(models_);
    photos_ = tmp_.file("photos");
    db_ = tmp_.file("db");
    fs::create_directories(photos_);
    for (int i = 1; i <= 6; ++i)
      fs::copy_file(testing::demo_photo(i), photos_ + "/sample" + std::to_string(i) + ".jpg");
  }

  std::unique_ptr<storage::Gallery> open() {
    auto g = storage::Gallery::open(db_, storage::OpenMode::kReadWrite, nullptr);
    EXPECT_TRUE(g) << g.status().message();
    return g ? std::move(*g) : nullptr;
  }

  indexer::IndexSummary index(std::vector<std::string> roots = {}) {
    auto gallery = open();
    if (!gallery) return {};
    if (roots.empty()) roots = {photos_};
    auto summary = indexer::run_index(
        *gallery, models_, roots, indexer::IndexOptions{}, nullptr,
        [](const std::string& p, const std::string& r) { std::printf("problem: %s: %s\n", p.c_str(), r.c_str()); });
    EXPECT_TRUE(summary) << summary.status().message();
    auto check = storage::check_gallery(*gallery, false);
    EXPECT_TRUE(check && check->ok()) << (check && !check->problems.empty() ? check->problems[0] : "");
    return summary ? *summary : indexer::IndexSummary{};
  }

  // path -> faces (descriptors) as stored
  std::map<std::string, std::vector<storage::Face>> faces_by_path() {
    std::map<std::string, std::vector<storage::Face>> out;
    auto gallery = open();
    const Status walked64 = gallery->store().for_each_photo([&](const storage::Photo& p) {
      auto& v = out[p.path];
      for (uint64_t fid : p.face_ids) v.push_back(**gallery->store().face(fid));
      return true;
    });
    EXPECT_TRUE(walked64) << walked64.message();
    return out;
  }

  static std::shared_ptr<const models::FaceModels> models_;
  testing::TempDir tmp_;
  std::string photos_, db_;
};
std::shared_ptr<const models::FaceModels> IndexRunTest::models_;

TEST_F(IndexRunTest, IndexesEveryFaceOfTheDemoPhotosAndStoreAgreesWithFaiss) {
  // Faces per photo from the pipeline itself, photo by photo.
  auto pipeline = models::FacePipeline::create(models_);
  ASSERT_TRUE(pipeline);
  size_t expected_faces = 0;
  std::map<std::string, size_t> expected;
  for (int i = 1; i <= 6; ++i) {
    auto photo = models::load_photo(testing::demo_photo(i), {});
    expected["sample" + std::to_string(i) + ".jpg"] = (*pipeline)->analyze(photo->rgb, {}).value().size();
    expected_faces += expected["sample" + std::to_string(i) + ".jpg"];
  }
  const auto s = index();
  EXPECT_EQ(s.seen, 6u);
  EXPECT_EQ(s.indexed, 6u);
  EXPECT_EQ(s.faces_added, expected_faces);
  EXPECT_EQ(s.failed, 0u);

  auto gallery = open();
  EXPECT_EQ(gallery->vectors().size(), expected_faces);
  size_t stored = 0;
  const Status walked98 = gallery->store().for_each_face([&](const storage::Face& f) {
    ++stored;
    EXPECT_EQ(f.model, models_->model_set().fingerprint);
    EXPECT_FALSE(f.thumbnail_jpeg.empty());
    EXPECT_EQ(f.landmarks.size(), 68u);
    // Its own descriptor finds it in FAISS.
    const auto nn = gallery->vectors().search(f.descriptor, 1);
    EXPECT_EQ(nn.at(0).id, f.id);
    EXPECT_LT(nn.at(0).distance, 1e-3);
    return true;
  });
  EXPECT_TRUE(walked98) << walked98.message();
  EXPECT_EQ(stored, expected_faces);
  const Status walked110 = gallery->store().for_each_photo([&](const storage::Photo& p) {
    EXPECT_EQ(p.face_ids.size(), expected[fs::path(p.path).filename().string()]) << p.path;
    EXPECT_EQ(p.width, 1920);
    EXPECT_EQ(p.content_hash.size(), 64u);
    return true;
  });
  EXPECT_TRUE(walked110) << walked110.message();
}

TEST_F(IndexRunTest, SecondRunReadsNothingAndSaysAllUnchanged) {
  index();
  const auto s = index();
  EXPECT_EQ(s.seen, 6u);
  EXPECT_EQ(s.unchanged, 6u);
  EXPECT_EQ(s.indexed, 0u);
  EXPECT_EQ(s.faces_added, 0u);
}

TEST_F(IndexRunTest, RenamedAndMovedFilesKeepTheirFacesWithoutRecomputing) {
  index();
  const auto before = faces_by_path();
  fs::create_directories(photos_ + "/sub");
  fs::rename(photos_ + "/sample3.jpg", photos_ + "/sub/renamed three.jpg");
  const auto s = index();
  EXPECT_EQ(s.moved, 1u);
  EXPECT_EQ(s.indexed, 0u);
  EXPECT_EQ(s.faces_added, 0u);
  EXPECT_EQ(s.removed, 0u);
  const auto after = faces_by_path();
  ASSERT_EQ(after.count(photos_ + "/sub/renamed three.jpg"), 1u);
  EXPECT_EQ(after.count(photos_ + "/sample3.jpg"), 0u);
  const auto& a = before.at(photos_ + "/sample3.jpg");
  const auto& b = after.at(photos_ + "/sub/renamed three.jpg");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id, b[i].id);  // same faces, same ids
}

TEST_F(IndexRunTest, CopiedFileReusesTheDescriptors) {
  index();
  fs::copy_file(photos_ + "/sample5.jpg", photos_ + "/copy of 5.jpg");
  const auto s = index();
  EXPECT_EQ(s.copied, 1u);
  EXPECT_EQ(s.indexed, 0u);
  const auto faces = faces_by_path();
  const auto& a = faces.at(photos_ + "/sample5.jpg");
  const auto& b = faces.at(photos_ + "/copy of 5.jpg");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NE(a[i].id, b[i].id);
    EXPECT_EQ(a[i].descriptor, b[i].descriptor);
  }
}

TEST_F(IndexRunTest, DeletedFileIsKeptMarkedMissingUntilPrunedThenLeavesRocksdbAndFaiss) {
  index();
  const auto before = faces_by_path();
  const auto gone = before.at(photos_ + "/sample6.jpg");
  ASSERT_FALSE(gone.empty());
  fs::remove(photos_ + "/sample6.jpg");
  auto s = index();
  EXPECT_EQ(s.removed, 0u) << "a vanished file is not a deletion";
  EXPECT_EQ(s.missing, 1u);
  EXPECT_EQ(s.newly_missing, 1u);
  {
    auto gallery = open();
    auto kept = gallery->store().photo_by_path(photos_ + "/sample6.jpg");
    ASSERT_TRUE(kept && *kept);
    EXPECT_NE((*kept)->missing_since, 0);
    for (const auto& f : gone) EXPECT_TRUE(*gallery->store().face(f.id)) << "face " << f.id << " lost";
  }
  s = index();
  EXPECT_EQ(s.newly_missing, 0u) << "marked once";

  // Pruning is the explicit step that deletes.
  auto gallery = open();
  auto plan = search::missing_photos(gallery->store(), 0, {});
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->photos.size(), 1u);
  EXPECT_EQ(plan->faces, gone.size());
  ASSERT_TRUE(search::remove_photos(*gallery, *plan, "prune"));
  for (const auto& f : gone) {
    EXPECT_FALSE(*gallery->store().face(f.id));
    const auto nn = gallery->vectors().search(f.descriptor, 3);
    for (const auto& n : nn) EXPECT_NE(n.id, f.id);
  }
  EXPECT_FALSE(*gallery->store().photo_by_path(photos_ + "/sample6.jpg"));
  auto check = storage::check_gallery(*gallery, false);
  EXPECT_TRUE(check && check->ok());
}

TEST_F(IndexRunTest, MissingPhotoComesBackAtAnotherPathWithItsFacesAndNames) {
  index();
  const auto before = faces_by_path().at(photos_ + "/sample2.jpg");
  ASSERT_FALSE(before.empty());
  {
    auto gallery = open();
    auto batch = gallery->store().new_batch();
    storage::Person p;
    p.name = "Someone";
    batch.put_person(p);
    storage::Face f = before[0];
    f.person_id = p.id;
    f.name_source = storage::NameSource::kUser;
    batch.update_face(f, 0);
    ASSERT_TRUE(gallery->commit(batch));
  }
  // Gone for one run (an unplugged drive), then back in another folder.
  const std::string away = tmp_.file("away.jpg");
  fs::rename(photos_ + "/sample2.jpg", away);
  auto s = index();
  EXPECT_EQ(s.missing, 1u);
  fs::create_directories(photos_ + "/restored");
  fs::rename(away, photos_ + "/restored/sample2.jpg");
  s = index();
  EXPECT_EQ(s.moved, 1u);
  EXPECT_EQ(s.restored, 1u);
  EXPECT_EQ(s.indexed, 0u) << "nothing recomputed";
  const auto after = faces_by_path().at(photos_ + "/restored/sample2.jpg");
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after[0].id, before[0].id);
  EXPECT_NE(after[0].person_id, 0u) << "the name came back";
  EXPECT_EQ(faces_by_path().count(photos_ + "/sample2.jpg"), 0u);
}

TEST_F(IndexRunTest, ModifiedFileIsReindexed) {
  index();
  const auto before = faces_by_path().at(photos_ + "/sample4.jpg");
  // Same path, new content: sample4's pixels flipped.
  auto photo = models::load_photo(photos_ + "/sample4.jpg", {});
  cv::Mat flipped;
  cv::flip(photo->rgb, flipped, 1);
  testing::write_file(photos_ + "/sample4.jpg", testing::encode_jpeg(flipped));
  const auto s = index();
  EXPECT_EQ(s.indexed, 1u);
  EXPECT_EQ(s.unchanged, 5u);
  const auto faces = faces_by_path().at(photos_ + "/sample4.jpg");
  ASSERT_EQ(faces.size(), before.size());
  ASSERT_EQ(faces.size(), 4u);
  // The boxes are now the mirror images of the old ones (the detectors' grids
  // make a mirrored box land a little off the exact mirror).
  for (const auto& f : faces) {
    const int mirrored = 1920 - (f.box.left + f.box.right) / 2;
    bool matched = false;
    for (const auto& b : before)
      matched |= std::abs((b.box.left + b.box.right) / 2 - mirrored) < (b.box.right - b.box.left) / 4;
    EXPECT_TRUE(matched) << "face at x " << (f.box.left + f.box.right) / 2;
  }
}

TEST_F(IndexRunTest, FileEditedInItsMetadataOnlyKeepsItsFacesMovedOrCopiedTooButNotWhenTurned) {
  for (const char* name : {"sample2.jpg", "sample3.jpg", "sample5.jpg", "sample6.jpg"})
    fs::remove(photos_ + "/" + name);
  const std::string path = photos_ + "/sample4.jpg";
  const std::string plain = testing::encode_jpeg(models::load_photo(path, {})->rgb);
  testing::write_file(path, plain);
  index();
  const auto before = faces_by_path().at(path);
  ASSERT_EQ(before.size(), 4u);
  const storage::Photo stored = **open()->store().photo_by_path(path);
  std::vector<uint64_t> before_ids;
  for (const auto& f : before) before_ids.push_back(f.id);
  auto ids_of = [](const std::vector<storage::Face>& faces) {
    std::vector<uint64_t> ids;
    for (const auto& f : faces) ids.push_back(f.id);
    return ids;
  };

  // New bytes (an EXIF block saying "upright"), the same upright pixels.
  const std::string tagged = testing::with_exif_orientation(plain, 1);
  testing::write_file(path, tagged);
  auto s = index();
  EXPECT_EQ(s.metadata_edited, 1u);
  EXPECT_EQ(s.indexed, 0u);
  EXPECT_EQ(s.unchanged, 1u);
  EXPECT_EQ(ids_of(faces_by_path().at(path)), before_ids);
  {
    auto gallery = open();
    const auto photo = *gallery->store().photo_by_path(path);
    EXPECT_EQ(photo->content_hash, sha256_hex(tagged));
    EXPECT_TRUE(gallery->store().photo_ids_by_hash(stored.content_hash)->empty()) << "the old bytes are not this photo";
    EXPECT_EQ(*gallery->store().photo_ids_by_hash(photo->content_hash), std::vector<uint64_t>{photo->id});
  }
  EXPECT_EQ(index().unchanged, 2u);

  // Moved into another folder and edited on the way (the tag taken out again): the same photo.
  const std::string moved = photos_ + "/album/moved.jpg";
  fs::create_directories(photos_ + "/album");
  testing::write_file(moved, plain);
  fs::remove(path);
  s = index();
  EXPECT_EQ(s.moved, 1u);
  EXPECT_EQ(s.indexed, 0u) << "nothing recomputed";
  EXPECT_EQ(ids_of(faces_by_path().at(moved)), before_ids);
  EXPECT_EQ(faces_by_path().count(path), 0u);
  {
    auto gallery = open();
    EXPECT_TRUE(gallery->store().photo_ids_by_hash(sha256_hex(tagged))->empty());
    EXPECT_EQ(*gallery->store().photo_ids_by_hash(sha256_hex(plain)), std::vector<uint64_t>{stored.id});
    EXPECT_EQ(*gallery->store().photo_ids_by_pixels(stored.pixels_hash), std::vector<uint64_t>{stored.id});
  }

  // A copy with other metadata reuses the descriptors.
  const std::string copy = photos_ + "/copy.jpg";
  testing::write_file(copy, tagged);
  s = index();
  EXPECT_EQ(s.copied, 1u);
  EXPECT_EQ(s.indexed, 0u);
  const auto copied = faces_by_path().at(copy);
  ASSERT_EQ(copied.size(), before.size());
  for (size_t i = 0; i < copied.size(); ++i) {
    EXPECT_NE(copied[i].id, before[i].id);
    EXPECT_EQ(copied[i].descriptor, before[i].descriptor);
  }

  // A tag that turns the photo: what the detector sees changed, so it is analysed again.
  testing::write_file(moved, testing::with_exif_orientation(plain, 6));
  s = index();
  EXPECT_EQ(s.indexed, 1u);
  EXPECT_EQ(s.metadata_edited, 0u);
  EXPECT_EQ(s.moved + s.copied, 0u);
  const auto turned_faces = faces_by_path().at(moved);  // lying on their side now: fewer are found
  ASSERT_FALSE(turned_faces.empty());
  const uint64_t newest_before = *std::max_element(before_ids.begin(), before_ids.end());
  for (const auto& f : turned_faces) EXPECT_GT(f.id, newest_before) << "new faces";
  const auto turned = *open()->store().photo_by_path(moved);
  EXPECT_EQ(turned->orientation, 6);
  EXPECT_EQ(turned->width, stored.height) << "upright: turned a quarter";
  EXPECT_EQ(turned->height, stored.width);
}

TEST_F(IndexRunTest, RotatedCopiesWithExifTagGiveTheSameFacesAsTheOriginal) {
  for (const char* name : {"sample1.jpg", "sample2.jpg", "sample4.jpg", "sample5.jpg", "sample6.jpg"})
    fs::remove(photos_ + "/" + name);
  auto upright = models::load_photo(photos_ + "/sample3.jpg", {});
  for (int degrees : {90, 180, 270})
    testing::write_file(photos_ + "/rotated" + std::to_string(degrees) + ".jpg",
                        testing::rotated_jpeg_with_exif(upright->rgb, degrees));
  index();
  const auto faces = faces_by_path();
  const auto& original = faces.at(photos_ + "/sample3.jpg");
  ASSERT_EQ(original.size(), 3u);
  for (int degrees : {90, 180, 270}) {
    const auto& rotated = faces.at(photos_ + "/rotated" + std::to_string(degrees) + ".jpg");
    ASSERT_EQ(rotated.size(), original.size()) << degrees;
    for (size_t i = 0; i < original.size(); ++i) {
      // Boxes are in the upright frame a person sees...
      EXPECT_NEAR(rotated[i].box.left, original[i].box.left, 12) << degrees;
      EXPECT_NEAR(rotated[i].box.top, original[i].box.top, 12) << degrees;
      // ...and the faces are the same.
      EXPECT_LT(descriptor_distance(rotated[i].descriptor, original[i].descriptor), 0.1f) << degrees;
    }
  }
}

TEST_F(IndexRunTest, MissingVectorIndexFileIsRebuiltFromTheStore) {
  index();
  fs::remove(db_ + "/vectors.faiss");
  std::vector<std::string> notices;
  auto g =
      storage::Gallery::open(db_, storage::OpenMode::kReadOnly, [&](const std::string& n) { notices.push_back(n); });
  ASSERT_TRUE(g) << g.status().message();
  EXPECT_EQ((*g)->vectors().size(), 22u);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("missing"), std::string::npos) << notices[0];
}

TEST_F(IndexRunTest, GarbageVectorIndexFileIsRebuilt) {
  index();
  testing::write_file(db_ + "/vectors.faiss", "facedex-vectors 1 999 Flat x 5\nnot faiss at all");
  auto g = storage::Gallery::open(db_, storage::OpenMode::kReadOnly, nullptr);
  ASSERT_TRUE(g) << g.status().message();
  EXPECT_EQ((*g)->vectors().size(), 22u);
}

TEST_F(IndexRunTest, DatabaseIsPrivateToItsOwner) {
  index();
  const auto perms = fs::status(db_).permissions();
  EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
}

TEST_F(IndexRunTest, DescriptorsOfAnotherModelAreRefusedWithAReindexHint) {
  index();
  auto gallery = open();
  const Status s = gallery->store().bind_model("0000000000000000");
  EXPECT_EQ(int(s.code()), int(Status::Code::kModelMismatch));
  EXPECT_NE(s.message().find("new database"), std::string::npos) << s.message();
}

TEST_F(IndexRunTest, PhotosAnalysedByTheEarlierCnnAreAnalysedAgainOnceKeepingTheirFaces) {
  const auto first = index();
  ASSERT_EQ(first.faces_added, 22u);
  const auto before = faces_by_path();
  {
    // What a gallery made by the earlier CNN (ULFD) holds: "cnn".
    auto gallery = open();
    ASSERT_TRUE(gallery);
    std::vector<storage::Photo> photos;
    ASSERT_TRUE(gallery->store().for_each_photo([&](const storage::Photo& p) {
      photos.push_back(p);
      return true;
    }));
    auto batch = gallery->store().new_batch();
    for (auto& p : photos) {
      EXPECT_EQ(p.detector, models::detector_record_name(models::DetectorKind::kCnn));
      p.detector = "cnn";
      batch.update_photo(p);
    }
    ASSERT_TRUE(gallery->store().commit(batch));
  }
  const auto again = index();
  EXPECT_EQ(again.redetected, 6u);
  EXPECT_EQ(again.faces_found_again, 22u);  // the same detector finds the same faces
  EXPECT_EQ(again.faces_added_by_redetection, 0u);
  EXPECT_EQ(again.faces_removed, 0u);
  const auto after = faces_by_path();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [path, faces] : before) {
    ASSERT_EQ(after.at(path).size(), faces.size()) << path;
    for (size_t i = 0; i < faces.size(); ++i) EXPECT_EQ(after.at(path)[i].id, faces[i].id) << path;
  }
  EXPECT_EQ(index().redetected, 0u);
}

}  // namespace
}  // namespace facedex
