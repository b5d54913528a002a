#include <gtest/gtest.h>
#include <unistd.h>

#include "storage/gallery.h"
#include "tests/support/temp_files.h"

namespace facedex::storage {
namespace {

Face face_with(float v, int dims = kDescriptorDims) {
  Face f;
  f.descriptor.assign(size_t(dims), v);
  f.model = "m";
  return f;
}

void add_photo(Gallery& g, const std::string& path, std::vector<float> values, int dims = kDescriptorDims) {
  Photo p;
  p.path = path;
  p.content_hash = std::string(64, char('a' + values.size()));
  std::vector<Face> faces;
  for (float v : values) faces.push_back(face_with(v, dims));
  GalleryBatch b = g.store().new_batch();
  b.add_photo(p, faces);
  ASSERT_TRUE(g.commit(b));
}

TEST(GalleryStoreTest, ReopenAfterCommitWithoutSavingTheIndexKeepsEveryCommittedFace) {
  testing::TempDir dir;
  {
    auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, nullptr);
    ASSERT_TRUE(g) << g.status().message();
    add_photo(**g, "/a.jpg", {0.1f, 0.2f});
    ASSERT_TRUE((*g)->save_vectors());
    add_photo(**g, "/b.jpg", {0.3f});  // committed, not in the saved index file
  }
  auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, nullptr);
  ASSERT_TRUE(g) << g.status().message();
  EXPECT_EQ((*g)->vectors().size(), 3u);
  Descriptor q(kDescriptorDims, 0.3f);
  const auto nn = (*g)->vectors().search(q, 1);
  auto photo = (*g)->store().photo_by_path("/b.jpg");
  ASSERT_TRUE(photo && *photo);
  EXPECT_EQ(nn.at(0).id, (*photo)->face_ids.at(0));
}

// A model of another descriptor length (MobileFaceNet's 192) binds its
// length with its fingerprint: the index follows it across reopening, and a
// descriptor of another length is refused before anything is written.
TEST(GalleryStoreTest, AGalleryTakesItsModelsDescriptorLength) {
  testing::TempDir dir;
  {
    auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, nullptr);
    ASSERT_TRUE(g) << g.status().message();
    ASSERT_TRUE((*g)->store().bind_model("mobile", 1.0f, 192));
    add_photo(**g, "/a.jpg", {0.1f, 0.2f}, 192);
    EXPECT_EQ((*g)->vectors().dims(), 192);
    ASSERT_TRUE((*g)->save_vectors());
    add_photo(**g, "/b.jpg", {0.3f}, 192);

    Photo p;
    p.path = "/c.jpg";
    p.content_hash = std::string(64, 'z');
    GalleryBatch b = (*g)->store().new_batch();
    std::vector<Face> faces = {face_with(0.4f, 128)};
    b.add_photo(p, faces);
    const Status refused = (*g)->commit(b);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.message().find("128-d descriptor"), std::string::npos) << refused.message();
    EXPECT_NE(refused.message().find("192-d"), std::string::npos) << refused.message();
  }
  auto g = Gallery::open(dir.file("db"), OpenMode::kReadOnly, nullptr);
  ASSERT_TRUE(g) << g.status().message();
  EXPECT_EQ((*g)->store().descriptor_dims(), 192);
  EXPECT_EQ((*g)->store().same_person_distance(), 1.0f);
  EXPECT_EQ((*g)->vectors().size(), 3u);
  EXPECT_EQ((*g)->vectors().dims(), 192);
  auto c = (*g)->store().photo_by_path("/c.jpg");
  ASSERT_TRUE(c);
  EXPECT_FALSE(*c) << "the refused photo was written";
  const auto nn = (*g)->vectors().search(Descriptor(192, 0.3f), 1);
  auto photo = (*g)->store().photo_by_path("/b.jpg");
  ASSERT_TRUE(photo && *photo);
  EXPECT_EQ(nn.at(0).id, (*photo)->face_ids.at(0));
}

TEST(GalleryStoreTest, RemovalsReplayedFromTheLogLeaveTheIndex) {
  testing::TempDir dir;
  {
    auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, nullptr);
    ASSERT_TRUE(g);
    add_photo(**g, "/a.jpg", {0.1f, 0.2f});
    ASSERT_TRUE((*g)->save_vectors());
    auto photo = (*g)->store().photo_by_path("/a.jpg");
    GalleryBatch b = (*g)->store().new_batch();
    b.remove_photo(**photo);
    ASSERT_TRUE((*g)->commit(b));
  }
  auto g = Gallery::open(dir.file("db"), OpenMode::kReadOnly, nullptr);
  ASSERT_TRUE(g) << g.status().message();
  EXPECT_EQ((*g)->vectors().size(), 0u);
}

TEST(GalleryStoreTest, SecondWriterIsToldWhichProcessHoldsTheDatabase) {
  testing::TempDir dir;
  auto first = GalleryStore::open(dir.file("db"), OpenMode::kReadWrite);
  ASSERT_TRUE(first);
  auto second = GalleryStore::open(dir.file("db"), OpenMode::kReadWrite);
  ASSERT_FALSE(second);
  EXPECT_EQ(int(second.status().code()), int(Status::Code::kBusy));
  EXPECT_NE(second.status().message().find("in use by PID " + std::to_string(getpid())), std::string::npos)
      << second.status().message();
  // Readers are welcome meanwhile.
  auto reader = GalleryStore::open(dir.file("db"), OpenMode::kReadOnly);
  EXPECT_TRUE(reader) << reader.status().message();
}

TEST(GalleryStoreTest, ReadOnlyOpenOfAMissingDatabaseSaysSo) {
  testing::TempDir dir;
  auto g = GalleryStore::open(dir.file("nothing-here"), OpenMode::kReadOnly);
  ASSERT_FALSE(g);
  EXPECT_NE(g.status().message().find("no facedex database"), std::string::npos);
}

TEST(GalleryStoreTest, IdsAreNeverReusedAfterDeletion) {
  testing::TempDir dir;
  uint64_t first_face = 0;
  {
    auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, nullptr);
    add_photo(**g, "/a.jpg", {0.1f});
    auto p = (*g)->store().photo_by_path("/a.jpg");
    first_face = (*p)->face_ids.at(0);
    GalleryBatch b = (*g)->store().new_batch();
    b.remove_photo(**p);
    ASSERT_TRUE((*g)->commit(b));
  }
  auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, nullptr);
  add_photo(**g, "/b.jpg", {0.1f});
  auto p = (*g)->store().photo_by_path("/b.jpg");
  EXPECT_GT((*p)->face_ids.at(0), first_face);
}

}  // namespace
}  // namespace facedex::storage
