#include "storage/records.h"

#include <gtest/gtest.h>

namespace facedex::storage {
namespace {

TEST(RecordsTest, PhotoRoundTripsWithOddBytesInThePath) {
  Photo p;
  p.id = 42;
  p.path = std::string("/photos/caf\xe9 \xff<script>.jpg");
  p.size = 123456789;
  p.mtime_ns = -5;
  p.content_hash = std::string(64, 'a');
  p.width = 1920;
  p.height = 1080;
  p.orientation = 6;
  p.format = "jpeg";
  p.taken_at = "2024:01:02 03:04:05";
  p.status = PhotoStatus::kFailed;
  p.failure = "truncated JPEG";
  p.failure_kind = "truncated";
  p.face_ids = {1, 2, 300000000000ULL};
  p.indexed_at = 1700000000;
  p.missing_since = 1700000001;
  p.detector = "cnn";
  p.tags_read = std::string(64, 'a') + "|/photos/x.jpg.xmp|812|17";
  p.pixels_hash = "1920x1080:" + std::string(64, 'b');
  Photo q;
  ASSERT_TRUE(decode(encode(p), &q));
  EXPECT_EQ(q.pixels_hash, p.pixels_hash);
  EXPECT_EQ(q.missing_since, p.missing_since);
  EXPECT_EQ(q.detector, p.detector);
  EXPECT_EQ(q.tags_read, p.tags_read);
  EXPECT_EQ(q.path, p.path);
  EXPECT_EQ(q.mtime_ns, p.mtime_ns);
  EXPECT_EQ(q.face_ids, p.face_ids);
  EXPECT_EQ(q.status, PhotoStatus::kFailed);
  EXPECT_EQ(q.taken_at, p.taken_at);
  // Version 4 (before the pixels' hash): the same bytes without it.
  Photo old = p;
  old.pixels_hash.clear();
  std::string v4 = encode(old);
  v4.resize(v4.size() - 1);  // the empty string: one varint 0
  v4[0] = 4;
  Photo read;
  ASSERT_TRUE(decode(v4, &read));
  EXPECT_EQ(read.tags_read, p.tags_read);
  EXPECT_TRUE(read.pixels_hash.empty());
  v4[0] = 6;
  EXPECT_FALSE(decode(v4, &read)) << "a version from the future";
}

TEST(RecordsTest, HistoryEntryRoundTripsWithTheFacesKeptApartAndReadsVersion1) {
  HistoryEntry h;
  h.id = 7;
  h.at = 1700000000;
  h.action = "different";
  h.summary = "different people: Ann / cluster 4";
  h.apart_a = {3, 5, 1ull << 40};
  h.apart_b = {9};
  HistoryEntry back;
  ASSERT_TRUE(decode(encode(h), &back));
  EXPECT_EQ(back.action, "different");
  EXPECT_EQ(back.apart_a, h.apart_a);
  EXPECT_EQ(back.apart_b, h.apart_b);
  // Version 1 (written before faces could be kept apart): the same bytes
  // without the two trailing lists.
  HistoryEntry old = h;
  old.apart_a.clear();
  old.apart_b.clear();
  std::string v1 = encode(old);
  v1.resize(v1.size() - 2);  // two empty lists: one varint 0 each
  v1[0] = 1;
  HistoryEntry read;
  ASSERT_TRUE(decode(v1, &read));
  EXPECT_EQ(read.summary, h.summary);
  EXPECT_TRUE(read.apart_a.empty() && read.apart_b.empty());
  v1[0] = 3;
  EXPECT_FALSE(decode(v1, &read)) << "a version from the future";
}

Face face_of_length(int dims) {
  Face f;
  f.id = 7;
  f.photo_id = 3;
  f.box = {-3, 4, 500, 600};
  f.score = 1.25f;
  f.landmarks = {{1.5f, 2.5f}, {3.f, 4.f}};
  for (int i = 0; i < dims; ++i) f.descriptor.push_back(float(i) / 7.f - 9.f);
  f.model = "abc";
  return f;
}

TEST(RecordsTest, FacesOfAnyModelsLengthRoundTripAndVersion2ReadsAs128) {
  for (int dims : {128, 192, 512}) {
    const Face f = face_of_length(dims);
    Face g;
    ASSERT_TRUE(decode(encode(f), &g)) << dims;
    EXPECT_EQ(g.descriptor, f.descriptor);
  }
  // Version 2 (dlib's 128 values only): the same bytes without the length.
  const Face f = face_of_length(128);
  std::string bytes = encode(f);
  float first = f.descriptor[0];
  std::string length_then_first = std::string("\x80\x01", 2) + std::string(reinterpret_cast<const char*>(&first), 4);
  const size_t at = bytes.find(length_then_first);
  ASSERT_NE(at, std::string::npos);
  bytes.erase(at, 2);
  bytes[0] = 2;
  Face g;
  ASSERT_TRUE(decode(bytes, &g));
  EXPECT_EQ(g.descriptor, f.descriptor);
  EXPECT_EQ(g.model, "abc");
  // A length no model gives is a damaged record.
  EXPECT_FALSE(decode(encode(face_of_length(3)), &g));
}

TEST(RecordsTest, FaceRoundTripsExactly) {
  Face f = face_of_length(kDescriptorDims);
  f.thumbnail_jpeg = std::string("\xff\xd8\x00\x01", 4);
  f.person_id = 9;
  f.cluster_id = 11;
  Face g;
  ASSERT_TRUE(decode(encode(f), &g));
  EXPECT_EQ(g.descriptor, f.descriptor);
  EXPECT_EQ(g.landmarks, f.landmarks);
  EXPECT_EQ(g.thumbnail_jpeg, f.thumbnail_jpeg);
  EXPECT_EQ(g.box.left, -3);
  EXPECT_EQ(g.person_id, 9u);
}

TEST(RecordsTest, TruncatedOrForeignBytesAreRejected) {
  Face f;
  f.descriptor.assign(kDescriptorDims, 0.5f);
  const std::string bytes = encode(f);
  Face g;
  EXPECT_FALSE(decode(bytes.substr(0, bytes.size() - 1), &g));
  EXPECT_FALSE(decode(bytes + "x", &g));
  EXPECT_FALSE(decode(std::string("\x09rest"), &g));
  Photo p;
  EXPECT_FALSE(decode(std::string(), &p));
}

TEST(RecordsTest, IdKeysSortNumerically) {
  EXPECT_LT(id_key(255), id_key(256));
  EXPECT_LT(id_key(1), id_key(1ULL << 40));
  EXPECT_EQ(id_from_key(id_key(1234567890123ULL)), 1234567890123ULL);
}

}  // namespace
}  // namespace facedex::storage
