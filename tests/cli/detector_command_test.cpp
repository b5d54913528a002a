// The CNN detector as a user meets it: a gallery made with HOG is analysed
// again once and keeps every face, id and name; a bad detector model is a
// clear exit 3.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::parse_lines;
using testing::shell_quote;

class DetectorCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_.file("photos"));
    for (int i = 1; i <= 6; ++i)
      fs::copy_file(testing::demo_photo(i), tmp_.file("photos/sample" + std::to_string(i) + ".jpg"));
  }
  int run(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    return testing::run_facedex(tmp_.file("db"), args, out, err);
  }
  // face id -> export line
  std::map<uint64_t, nlohmann::json> faces() {
    std::string out;
    EXPECT_EQ(run("export", &out), 0);
    std::map<uint64_t, nlohmann::json> by_id;
    for (auto& j : parse_lines(out)) by_id[j["face_id"].get<uint64_t>()] = j;
    return by_id;
  }
  testing::TempDir tmp_;
};

TEST_F(DetectorCommandTest, AGalleryMadeWithHogIsAnalysedAgainOnceKeepingEveryFaceIdAndName) {
  std::string out, err;
  ASSERT_EQ(run("--detector hog index --json --no-auto-name " + shell_quote(tmp_.file("photos")), &out, &err), 0)
      << err;
  EXPECT_EQ(nlohmann::json::parse(out)["faces_added"], 20);  // demo_photo_detection_test: 19 faces and a badge
  const auto before = faces();
  ASSERT_EQ(before.size(), 20u);
  // Name the faces of sample3 (three women HOG finds).
  int named = 0;
  for (const auto& [id, f] : before) {
    if (f["photo"].get<std::string>().find("sample3") == std::string::npos) continue;
    ASSERT_EQ(run("name --face " + std::to_string(id) + " person" + std::to_string(++named)), 0);
  }
  ASSERT_EQ(named, 3);
  const auto named_before = faces();

  // The default detector: every photo is analysed again, once.
  ASSERT_EQ(run("index --json --no-auto-name " + shell_quote(tmp_.file("photos")), &out, &err), 0) << err;
  const auto summary = nlohmann::json::parse(out);
  EXPECT_EQ(summary["redetected"], 6) << out;
  EXPECT_EQ(summary["redetected_faces_found_again"], 19) << out;
  // sample2's woman in profile and the one with her head bowed, sample4's leftmost.
  EXPECT_EQ(summary["redetected_faces_added"], 3) << out;
  EXPECT_EQ(summary["faces_removed"], 0) << out;
  EXPECT_EQ(summary["faces_in_index"], 23) << out;

  const auto after = faces();
  ASSERT_EQ(after.size(), 23u);
  for (const auto& [id, f] : named_before) {
    ASSERT_TRUE(after.count(id)) << "face " << id << " is gone";
    const auto& g = after.at(id);
    EXPECT_EQ(g["box"], f["box"]);
    EXPECT_EQ(g["embedding"], f["embedding"]);
    EXPECT_EQ(g["person"], f["person"]);
    EXPECT_EQ(g["photo"], f["photo"]);
  }
  int still_named = 0;
  for (const auto& [id, f] : after) still_named += !f["person"].is_null();
  EXPECT_EQ(still_named, 3);

  // Once: the next run has nothing to do.
  ASSERT_EQ(run("index --json --no-auto-name " + shell_quote(tmp_.file("photos")), &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["redetected"], 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["unchanged"], 6) << out;
  EXPECT_EQ(faces().size(), 23u);
}

TEST_F(DetectorCommandTest, AnAlteredDetectorModelIsExit3NamingTheFileAndTheFix) {
  fs::create_directories(tmp_.file("models"));
  testing::write_file(tmp_.file("models/retinaface_mnet025.onnx"), std::string(4096, 'x'));
  std::string out, err;
  const std::string models = "--models " + shell_quote(tmp_.file("models")) + " ";
  EXPECT_EQ(run(models + "index " + shell_quote(tmp_.file("photos/sample3.jpg")), &out, &err), 3);
  EXPECT_NE(err.find(tmp_.file("models/retinaface_mnet025.onnx")), std::string::npos) << err;
  EXPECT_NE(err.find("not the pinned face detector"), std::string::npos) << err;
  EXPECT_NE(err.find("--detector hog"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(tmp_.file("db")));
  EXPECT_EQ(run(models + "faces " + shell_quote(tmp_.file("photos/sample3.jpg")), &out, &err), 3);
  EXPECT_EQ(run(models + "--detector hog index " + shell_quote(tmp_.file("photos/sample3.jpg")), &out, &err), 0) << err;
  EXPECT_EQ(run("--detector nonsense models", &out, &err), 2);
}

TEST_F(DetectorCommandTest, MinFaceAndMinScoreAreValidatedAndApplied) {
  std::string out, err;
  const std::string photo = shell_quote(tmp_.file("photos/sample5.jpg"));
  ASSERT_EQ(run("faces --json " + photo, &out, &err), 0) << err;
  const auto all = nlohmann::json::parse(out)["faces"];
  EXPECT_EQ(all.size(), 5u);
  for (const auto& f : all) {
    EXPECT_GE(f["score"].get<double>(), 0.5);
    EXPECT_LE(f["score"].get<double>(), 1.0);
  }
  // sample5's smallest face is ~150 px wide.
  ASSERT_EQ(run("faces --json --min-face 200 " + photo, &out, &err), 0) << err;
  EXPECT_LT(nlohmann::json::parse(out)["faces"].size(), all.size());
  for (const char* bad : {"--min-face 0", "--min-face -5", "--min-score 1.5", "--min-score nan"})
    EXPECT_EQ(run(std::string("faces ") + bad + " " + photo, &out, &err), 2) << bad;
}

}  // namespace
}  // namespace facedex
