// Enrolment and queries end to end with the real binary on crops and
// transformed copies of the demo photos.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::parse_lines;
using testing::shell_quote;

// People of the demo photos: sample3's three women and four of sample5's five;
// sample5's fifth is never enrolled.
struct Person {
  std::string name;
  int sample;
  int face;  // index among the pipeline's faces (largest first)
};
const Person kPeople[] = {{"Anna Ö", 3, 0}, {"Bea", 3, 1}, {"Cleo", 3, 2}, {"Dora", 5, 0},
                          {"Eve", 5, 1},    {"Fay", 5, 2}, {"Gia", 5, 3}};
constexpr int kStrangerSample = 5, kStrangerFace = 4;

class WhoCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pipeline = testing::make_pipeline();
    ASSERT_TRUE(pipeline);
    for (int sample : {3, 5}) {
      auto photo = models::load_photo(testing::demo_photo(sample), {});
      ASSERT_TRUE(photo);
      photos_[sample] = photo->rgb;
      for (const auto& f : pipeline->analyze(photo->rgb, {}).value()) boxes_[sample].push_back(f.face.box);
    }
    ASSERT_EQ(boxes_[3].size(), 3u);
    ASSERT_EQ(boxes_[5].size(), 5u);
  }

  void SetUp() override { db_ = tmp_.file("db"); }

  // The face with some context around it, rescaled: a new photo of that person.
  static cv::Mat crop(int sample, int face, double scale) {
    const auto& b = boxes_[sample][size_t(face)];
    const cv::Mat& img = photos_[sample];
    const int w = b.width(), h = b.height();
    cv::Rect r(b.left - w, b.top - h, 3 * w, 3 * h);
    r &= cv::Rect(0, 0, img.cols, img.rows);
    cv::Mat out;
    cv::resize(img(r), out, cv::Size(), scale, scale, cv::INTER_AREA);
    return out;
  }

  std::string facedex() const { return shell_quote(testing::facedex_binary()) + " --db " + shell_quote(db_) + " "; }

  int run(const std::string& args, std::string* out, std::string* err = nullptr) {
    std::string e;
    const int code = testing::run_command(facedex() + args, out, err ? err : &e);
    if (code != 0 && !err) std::printf("%s\n", e.c_str());
    return code;
  }

  void enroll_everyone() {
    const std::string dir = tmp_.file("known");
    for (const auto& p : kPeople) {
      fs::create_directories(dir + "/" + p.name);
      testing::write_file(dir + "/" + p.name + "/ref.jpg", testing::encode_jpeg(crop(p.sample, p.face, 0.9), 92));
    }
    std::string out;
    ASSERT_EQ(run("enroll --dir " + shell_quote(dir), &out), 0) << out;
  }

  // Mirrored, recompressed copies of the two group photos as probes.
  std::string write_probe(int sample) {
    cv::Mat flipped;
    cv::flip(photos_[sample], flipped, 1);
    const std::string path = tmp_.file("probe" + std::to_string(sample) + ".jpg");
    testing::write_file(path, testing::encode_jpeg(flipped, 60));
    return path;
  }

  // who --json on a probe: (x centre in the ORIGINAL photo) -> identity or "".
  std::map<int, std::string> who(int sample, nlohmann::json* raw = nullptr) {
    std::string out;
    EXPECT_EQ(run("who --json " + shell_quote(write_probe(sample)), &out), 0);
    const auto lines = parse_lines(out);
    EXPECT_EQ(lines.size(), 1u);
    if (lines.empty()) return {};
    if (raw) *raw = lines[0];
    std::map<int, std::string> ids;
    for (const auto& f : lines[0]["faces"]) {
      const int cx = photos_[sample].cols - (f["box"][0].get<int>() + f["box"][2].get<int>()) / 2;
      ids[cx] = f["identity"].is_null() ? "" : f["identity"].get<std::string>();
      // The default rule weighs the gallery around the face; a name needs a score >= 0.
      if (!f["identity"].is_null()) {
        EXPECT_FALSE(f["evidence"].is_null()) << f.dump();
        if (!f["evidence"].is_null()) {
          EXPECT_GE(f["evidence"]["score"].get<double>(), 0.0) << f.dump();
        }
      }
    }
    return ids;
  }

  // Identity answered for a given person's face in a who() result.
  static std::string answer_for(const std::map<int, std::string>& ids, int sample, int face) {
    const auto& b = boxes_[sample][size_t(face)];
    const int cx = (b.left + b.right) / 2;
    for (const auto& [x, name] : ids)
      if (std::abs(x - cx) < b.width() / 3) return name;
    return "(face not found)";
  }

  static std::map<int, cv::Mat> photos_;
  static std::map<int, std::vector<models::FaceBox>> boxes_;
  testing::TempDir tmp_;
  std::string db_;
};
std::map<int, cv::Mat> WhoCommandTest::photos_;
std::map<int, std::vector<models::FaceBox>> WhoCommandTest::boxes_;

TEST_F(WhoCommandTest, EveryEnrolledFaceGetsItsOwnNameAndAStrangerIsUnknown) {
  enroll_everyone();
  std::string out;
  ASSERT_EQ(run("persons --json", &out), 0);
  EXPECT_EQ(nlohmann::json::parse(out).size(), 7u);

  nlohmann::json raw;
  for (int sample : {3, 5}) {
    const auto ids = who(sample, &raw);
    std::set<std::string> names;
    for (const auto& [x, n] : ids) {
      if (n.empty()) continue;
      EXPECT_TRUE(names.insert(n).second) << "two faces named " << n;
    }
    for (const auto& p : kPeople) {
      if (p.sample == sample) {
        EXPECT_EQ(answer_for(ids, sample, p.face), p.name);
      }
    }
    if (sample == kStrangerSample) {
      EXPECT_EQ(answer_for(ids, sample, kStrangerFace), "");
    }
  }
  // The keys external evaluation reads.
  ASSERT_FALSE(raw["faces"].empty());
  EXPECT_TRUE(raw.contains("photo"));
  for (const auto& f : raw["faces"]) {
    for (const char* key : {"box", "identity", "distance", "candidates", "matches"})
      EXPECT_TRUE(f.contains(key)) << key;
    for (const auto& c : f["candidates"])
      for (const char* key : {"name", "distance", "votes"}) EXPECT_TRUE(c.contains(key)) << key;
    for (const auto& m : f["matches"])
      for (const char* key : {"face_id", "photo", "distance", "person"}) EXPECT_TRUE(m.contains(key)) << key;
  }
}

TEST_F(WhoCommandTest, RenameMergeAndForgetChangeTheAnswersAndSurviveAReindex) {
  enroll_everyone();
  std::string out, err;
  ASSERT_EQ(run("rename Bea " + shell_quote("Béatrice Ñúñez"), &out), 0);
  EXPECT_EQ(run("rename Cleo Dora", &out, &err), 2) << "renaming onto an existing name must ask for merge";
  EXPECT_NE(err.find("merge"), std::string::npos) << err;

  // A second photo of Cleo under another name, then merged into Cleo.
  const std::string extra = tmp_.file("cleo2.jpg");
  testing::write_file(extra, testing::encode_jpeg(crop(3, 2, 0.7), 80));
  ASSERT_EQ(run("enroll Cleopatra " + shell_quote(extra), &out), 0);
  ASSERT_EQ(run("merge Cleo Cleopatra", &out), 0);
  ASSERT_EQ(run("persons --json", &out), 0);
  for (const auto& p : nlohmann::json::parse(out)) {
    EXPECT_NE(p["name"], "Cleopatra");
    if (p["name"] == "Cleo") {
      EXPECT_EQ(p["faces"], 2);
    }
  }

  // Re-indexing the enrolment folders changes nothing about the names.
  ASSERT_EQ(run("index " + shell_quote(tmp_.file("known")) + " " + shell_quote(extra), &out), 0);
  auto ids = who(3);
  EXPECT_EQ(answer_for(ids, 3, 1), "Béatrice Ñúñez");
  EXPECT_EQ(answer_for(ids, 3, 2), "Cleo");

  // Forget Dora with her faces: nothing of her is left in RocksDB or FAISS.
  ASSERT_EQ(run("export", &out), 0);
  std::vector<std::vector<float>> dora;
  std::set<uint64_t> dora_ids;
  for (const auto& f : parse_lines(out))
    if (f["person"] == "Dora") {
      dora.push_back(f["embedding"].get<std::vector<float>>());
      dora_ids.insert(f["face_id"].get<uint64_t>());
    }
  ASSERT_EQ(dora.size(), 1u);
  EXPECT_EQ(run("forget --person Dora --faces", &out), 2) << "deleting faces without a terminal to ask needs --yes";
  ASSERT_EQ(run("forget --person Dora --faces --yes", &out), 0);
  ASSERT_EQ(run("export", &out), 0);
  for (const auto& f : parse_lines(out)) {
    EXPECT_NE(f["person"], "Dora");
    EXPECT_FALSE(dora_ids.count(f["face_id"].get<uint64_t>()));
    EXPECT_NE(f["embedding"].get<std::vector<float>>(), dora[0]);
  }
  // A direct search with Dora's face finds no face of hers any more.
  ASSERT_EQ(run("search --json --k 50 " + shell_quote(write_probe(5)), &out), 0);
  for (const auto& face : parse_lines(out).at(0)["faces"])
    for (const auto& m : face["matches"]) EXPECT_FALSE(dora_ids.count(m["face_id"].get<uint64_t>()));
  ids = who(5);
  EXPECT_EQ(answer_for(ids, 5, 0), "") << "a forgotten person is unknown";
  EXPECT_EQ(answer_for(ids, 5, 1), "Eve");
  EXPECT_EQ(run("check", &out), 0) << out;
}

TEST_F(WhoCommandTest, NamingAGalleryFaceByIdMakesWhoAnswerIt) {
  // Index the group photo, then name one of its faces by id.
  fs::create_directories(tmp_.file("gallery"));
  fs::copy_file(testing::demo_photo(3), tmp_.file("gallery/group.jpg"));
  std::string out;
  ASSERT_EQ(run("index " + shell_quote(tmp_.file("gallery")), &out), 0);
  auto ids = who(3);
  EXPECT_EQ(answer_for(ids, 3, 0), "") << "nobody is named yet";
  ASSERT_EQ(run("export", &out), 0);
  const auto faces = parse_lines(out);
  ASSERT_EQ(faces.size(), 3u);
  const uint64_t largest = faces[0]["face_id"].get<uint64_t>();
  ASSERT_EQ(run("name --face " + std::to_string(largest) + " " + shell_quote("Ana María"), &out), 0);
  ids = who(3);
  EXPECT_EQ(answer_for(ids, 3, 0), "Ana María");
  EXPECT_EQ(answer_for(ids, 3, 1), "");
}

TEST_F(WhoCommandTest, CompareSaysSameForAFlippedCopyAndDifferentForTwoPeople) {
  const std::string a = tmp_.file("a.jpg"), a_flipped = tmp_.file("a_flipped.jpg"), b = tmp_.file("b.jpg");
  testing::write_file(a, testing::encode_jpeg(crop(3, 0, 1.0)));
  cv::Mat flipped;
  cv::flip(crop(3, 0, 1.0), flipped, 1);
  testing::write_file(a_flipped, testing::encode_jpeg(flipped));
  testing::write_file(b, testing::encode_jpeg(crop(5, 2, 1.0)));
  std::string out;
  ASSERT_EQ(run("compare --json " + shell_quote(a) + " " + shell_quote(a_flipped), &out), 0);
  auto j = nlohmann::json::parse(out);
  EXPECT_TRUE(j["same"].get<bool>()) << out;
  EXPECT_LT(j["distance"].get<double>(), 0.6);
  ASSERT_EQ(run("compare --json " + shell_quote(a) + " " + shell_quote(b), &out), 0);
  j = nlohmann::json::parse(out);
  EXPECT_FALSE(j["same"].get<bool>()) << out;
  EXPECT_GT(j["distance"].get<double>(), 0.6);
}

TEST_F(WhoCommandTest, BadProbesAreNamedAndTheOthersStillAnswered) {
  enroll_everyone();
  testing::write_file(tmp_.file("broken.jpg"), "not a photo");
  std::string out, err;
  const int code =
      run("who --json " + shell_quote(tmp_.file("broken.jpg")) + " " + shell_quote(write_probe(3)), &out, &err);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find(tmp_.file("broken.jpg") + ": not an image"), std::string::npos) << err;
  const auto lines = parse_lines(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].contains("error"));
  EXPECT_EQ(lines[1]["faces"].size(), 3u);
}

}  // namespace
}  // namespace facedex
