// --embedder mobilefacenet end to end with the real binary: the bundled
// MobileFaceNet indexes a photo into a gallery of 192-value descriptors, a
// named face is found again in a mirrored, recompressed copy, the dlib
// network's queries are refused on it, and a TensorFlow graph that does not
// fit its spec stops the run before any photo is read.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;

class MobileFaceNetCommandTest : public ::testing::Test {
 protected:
  int run(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    return testing::run_facedex(tmp_.file("db"), args, out, err);
  }
  testing::TempDir tmp_;
};

TEST_F(MobileFaceNetCommandTest, IndexesNamesAndAnswersWhoWithItsOwnDescriptors) {
  const std::string mfn = "--embedder mobilefacenet ";
  fs::create_directories(tmp_.file("gallery"));
  fs::copy_file(testing::demo_photo(3), tmp_.file("gallery/group.jpg"));
  std::string out, err;
  ASSERT_EQ(run(mfn + "index --json " + shell_quote(tmp_.file("gallery")), &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["faces_added"], 3) << out;
  std::string models_json;
  ASSERT_EQ(run(mfn + "models --json", &models_json, &err), 0) << err;
  ASSERT_EQ(run("stats --json", &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["model"], nlohmann::json::parse(models_json)["fingerprint"]);
  EXPECT_EQ(nlohmann::json::parse(models_json)["embedder"], "mobilefacenet");

  ASSERT_EQ(run("export", &out, &err), 0) << err;
  const auto faces = testing::parse_lines(out);
  ASSERT_EQ(faces.size(), 3u);
  for (const auto& f : faces) EXPECT_EQ(f["embedding"].size(), 192u) << f.dump();
  const uint64_t largest = faces[0]["face_id"].get<uint64_t>();
  ASSERT_EQ(run(mfn + "name --face " + std::to_string(largest) + " Ana", &out, &err), 0) << err;

  auto photo = models::load_photo(testing::demo_photo(3), {});
  ASSERT_TRUE(photo) << photo.status().message();
  cv::Mat flipped;
  cv::flip(photo->rgb, flipped, 1);
  const std::string probe = tmp_.file("mirrored.jpg");
  testing::write_file(probe, testing::encode_jpeg(flipped, 60));
  ASSERT_EQ(run(mfn + "who --json " + shell_quote(probe), &out, &err), 0) << err;
  const auto lines = testing::parse_lines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  int named = 0;
  for (const auto& f : lines[0]["faces"]) named += f["identity"] == "Ana";
  EXPECT_EQ(named, 1) << out;

  // dlib's descriptors are another model's: refused, with the reason.
  EXPECT_EQ(run("who " + shell_quote(probe), &out, &err), 4);
  EXPECT_NE(err.find("holds descriptors of model"), std::string::npos) << err;
}

TEST_F(MobileFaceNetCommandTest, AGraphThatDoesNotFitItsSpecStopsTheRunBeforeAnyPhoto) {
  const std::string model = tmp_.file("my facenet.pb");
  fs::copy_file(models::bundled_models_dir() + "/mobilefacenet.pb", model);
  // FaceNet's default tensor names, which this graph does not have.
  testing::write_file(model + ".json", R"({"input_size": 112, "output_dims": 192})");
  std::string out, err;
  EXPECT_EQ(run("--embedder " + shell_quote("tf:" + model) + " index " + shell_quote(testing::demo_dir()), &out, &err),
            3);
  EXPECT_NE(err.find(model), std::string::npos) << err;
  EXPECT_NE(err.find("no tensor \"input\""), std::string::npos) << err;
  EXPECT_NE(err.find("img_inputs"), std::string::npos) << err;
  EXPECT_EQ(err.find("demo"), std::string::npos) << "no photo was read: " << err;
  EXPECT_EQ(run("--embedder tf: models", &out, &err), 2);
}

}  // namespace
}  // namespace facedex
