// The gallery's vector index under "auto" (exact below a size, IVF above) and
// with a forced HNSW index, which cannot remove vectors: whatever the type,
// a face that was removed is never answered again, and the saved file agrees.
#include "storage/index_choice.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "storage/ann/pq_fast_scan.h"
#include "storage/gallery.h"
#include "tests/support/clumped_descriptors.h"
#include "tests/support/temp_files.h"

namespace facedex::storage {
namespace {

// One photo per 10 faces; returns the photos' paths.
std::vector<std::string> add_faces(Gallery& g, const std::vector<Descriptor>& faces) {
  std::vector<std::string> paths;
  for (size_t start = 0; start < faces.size(); start += 10) {
    Photo p;
    p.path = "/photos/" + std::to_string(start) + ".jpg";
    p.content_hash = std::string(56, 'h') + std::to_string(10000000 + start);
    std::vector<Face> batch_faces;
    for (size_t i = start; i < std::min(faces.size(), start + 10); ++i) {
      Face f;
      f.descriptor = faces[i];
      f.model = "m";
      batch_faces.push_back(f);
    }
    GalleryBatch b = g.store().new_batch();
    b.add_photo(p, batch_faces);
    EXPECT_TRUE(g.commit(b));
    paths.push_back(p.path);
  }
  return paths;
}

void remove_photo(Gallery& g, const std::string& path) {
  auto photo = g.store().photo_by_path(path);
  ASSERT_TRUE(photo && *photo);
  GalleryBatch b = g.store().new_batch();
  b.remove_photo(**photo);
  ASSERT_TRUE(g.commit(b));
}

// Fraction of the exact 10 nearest (by brute force over `all`) that the index returns.
double recall_at_10(const Gallery& g, const std::vector<Descriptor>& queries) {
  auto exact = make_brute_force_index();
  std::vector<uint64_t> ids = g.vectors().ids();
  std::vector<Descriptor> vecs;
  for (uint64_t id : ids) vecs.push_back((*g.store().face(id))->descriptor);
  exact->add(ids, vecs);
  size_t hits = 0;
  for (const auto& q : queries) {
    std::set<uint64_t> truth;
    for (const auto& n : exact->search(q, 10)) truth.insert(n.id);
    for (const auto& n : g.vectors().search(q, 10)) hits += truth.count(n.id);
  }
  return double(hits) / double(10 * queries.size());
}

TEST(IndexChoiceTest, AutoPicksExactThenIvfBySize) {
  EXPECT_EQ(auto_index_type(1000), "Flat");
  EXPECT_EQ(auto_index_type(199999), "Flat");
  EXPECT_EQ(auto_index_type(200000), "IVF2048,Flat");
  EXPECT_EQ(auto_index_type(1000000), "IVF4096,Flat");
  EXPECT_EQ(auto_search_parameters("Flat"), "");
  EXPECT_EQ(auto_search_parameters("IVF256,Flat"), "nprobe=64");
  EXPECT_EQ(auto_search_parameters("IVF4096,Flat"), PqFastScan::supported() ? "nprobe=512" : "nprobe=256");
  EXPECT_TRUE(auto_index_should_switch("Flat", 200000));
  EXPECT_FALSE(auto_index_should_switch("IVF2048,Flat", 250000));
  EXPECT_TRUE(auto_index_should_switch("IVF2048,Flat", 4000000));  // lists cut for a gallery 4x+ smaller
  EXPECT_FALSE(auto_index_should_switch("IVF2048,Flat", 150000));  // hysteresis
  EXPECT_TRUE(auto_index_should_switch("IVF2048,Flat", 90000));
}

TEST(IndexChoiceTest, ProductQuantisationMustDivideTheGallerysDescriptorLength) {
  EXPECT_TRUE(check_index_type("IVF64,PQ16", 128));
  EXPECT_TRUE(check_index_type("IVF64,PQ24", 192));  // MobileFaceNet's 192 values
  const Status s = check_index_type("IVF64,PQ24", 128);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("divide 128"), std::string::npos) << s.message();
  EXPECT_FALSE(check_index_type("IVF64,PQ0", 128));
  EXPECT_TRUE(check_index_type("HNSW32", 192));
}

TEST(IndexChoiceTest, AutoGallerySwitchesToIvfKeepsAnswersAndForgetsRemovedFaces) {
  testing::TempDir dir;
  std::vector<std::string> notices;
  auto note = [&notices](const std::string& n) { notices.push_back(n); };
  const std::vector<Descriptor> faces = testing::clumped_descriptors(2400, 1);
  std::vector<std::string> photos;
  {
    auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, note, "", /*approximate_from=*/2000);
    ASSERT_TRUE(g) << g.status().message();
    photos = add_faces(**g, faces);
    EXPECT_EQ((*g)->vectors().type(), "Flat");  // switched when saved, not in the middle of a batch
    ASSERT_TRUE((*g)->save_vectors());
    EXPECT_EQ((*g)->vectors().type(), "IVF256,Flat");
    // Too few faces for 4-bit codes: the probed lists' floats are compared.
    EXPECT_EQ((*g)->vectors().search_method(),
              "approximate: 64 of 256 lists probed, every face in them compared exactly");
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_NE(notices[0].find("switched from Flat to IVF256,Flat for 2400 faces"), std::string::npos) << notices[0];
    EXPECT_EQ((*g)->vectors().size(), 2400u);

    const std::vector<Descriptor> queries = testing::clumped_descriptors(100, 2);
    const double recall = recall_at_10(**g, queries);
    std::printf("IVF256 nprobe 64 recall@10 on 2,400 clumped faces: %.3f\n", recall);
    EXPECT_GE(recall, 0.95);

    // Forget the faces of one photo: never answered again.
    auto first = (*g)->store().photo_by_path(photos[0]);
    const std::vector<uint64_t> gone = (*first)->face_ids;
    remove_photo(**g, photos[0]);
    for (size_t i = 0; i < 10; ++i)
      for (const auto& n : (*g)->vectors().search(faces[i], 10))
        EXPECT_EQ(std::count(gone.begin(), gone.end(), n.id), 0) << "removed face " << n.id << " answered";
    ASSERT_TRUE((*g)->save_vectors());
  }
  notices.clear();
  {
    // Reopened: the saved IVF file is used as it is (no rebuild, no notice).
    auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, note, "", 2000);
    ASSERT_TRUE(g) << g.status().message();
    EXPECT_TRUE(notices.empty()) << notices[0];
    EXPECT_EQ((*g)->vectors().type(), "IVF256,Flat");
    EXPECT_EQ((*g)->vectors().size(), 2390u);
    const std::vector<Descriptor> again = testing::clumped_descriptors(100, 3);
    EXPECT_GE(recall_at_10(**g, again), 0.95);
    // Shrinking below half the threshold goes back to exact search.
    for (size_t p = 1; p < 150; ++p) remove_photo(**g, photos[p]);
    ASSERT_TRUE((*g)->save_vectors());
    EXPECT_EQ((*g)->vectors().type(), "Flat");
    EXPECT_EQ((*g)->vectors().size(), 900u);
    EXPECT_DOUBLE_EQ(recall_at_10(**g, testing::clumped_descriptors(20, 4)), 1.0);
  }
}

TEST(IndexChoiceTest, ForcedHnswHidesRemovedFacesAndRebuildsBeforeSaving) {
  testing::TempDir dir;
  std::vector<std::string> notices;
  auto note = [&notices](const std::string& n) { notices.push_back(n); };
  const std::vector<Descriptor> faces = testing::clumped_descriptors(300, 5);
  std::vector<uint64_t> gone;
  {
    auto g = Gallery::open(dir.file("db"), OpenMode::kReadWrite, note, "HNSW16");
    ASSERT_TRUE(g) << g.status().message();
    const auto photos = add_faces(**g, faces);
    gone = (*(*g)->store().photo_by_path(photos[3]))->face_ids;
    remove_photo(**g, photos[3]);  // HNSW cannot remove: hidden
    EXPECT_EQ((*g)->vectors().size(), 290u);
    for (size_t i = 30; i < 40; ++i)
      for (const auto& n : (*g)->vectors().search(faces[i], 10))
        EXPECT_EQ(std::count(gone.begin(), gone.end(), n.id), 0) << "removed face " << n.id << " answered";
    ASSERT_TRUE((*g)->save_vectors());
    ASSERT_FALSE(notices.empty());
    EXPECT_NE(notices.back().find("cannot delete"), std::string::npos) << notices.back();
  }
  auto g = Gallery::open(dir.file("db"), OpenMode::kReadOnly, nullptr);
  ASSERT_TRUE(g) << g.status().message();
  EXPECT_EQ((*g)->vectors().type(), "HNSW16");
  EXPECT_EQ((*g)->vectors().size(), 290u);
  const auto ids = (*g)->vectors().ids();
  for (uint64_t id : gone) EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 0) << "removed face in the saved file";
}

}  // namespace
}  // namespace facedex::storage
