// --embedder faceplugin end to end with the real binary: the bundled
// Faceplugin network indexes a photo into a gallery of 512-value descriptors,
// a named face is found again in a mirrored, recompressed copy, and `who`
// weighs its evidence with the weights the model's spec gives (fitted for
// this model), not dlib's. A query with dlib's network is refused, and told
// which --embedder the gallery was made with.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "models/external_model_spec.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;

class FacepluginCommandTest : public ::testing::Test {
 protected:
  int run(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    return testing::run_facedex(tmp_.file("db"), args, out, err);
  }
  testing::TempDir tmp_;
};

TEST_F(FacepluginCommandTest, IndexesNamesAndAnswersWhoWithTheWeightsItsSpecGives) {
  const std::string fp = "--embedder faceplugin ";
  fs::create_directories(tmp_.file("gallery"));
  fs::copy_file(testing::demo_photo(3), tmp_.file("gallery/group.jpg"));
  std::string out, err;
  ASSERT_EQ(run(fp + "index --json " + shell_quote(tmp_.file("gallery")), &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["faces_added"], 3) << out;
  std::string models_json;
  ASSERT_EQ(run(fp + "models --json", &models_json, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(models_json)["embedder"], "faceplugin");
  ASSERT_EQ(run("stats --json", &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["model"], nlohmann::json::parse(models_json)["fingerprint"]);

  ASSERT_EQ(run("export", &out, &err), 0) << err;
  const auto faces = testing::parse_lines(out);
  ASSERT_EQ(faces.size(), 3u);
  for (const auto& f : faces) {
    ASSERT_EQ(f["embedding"].size(), 512u) << f.dump();
    double norm = 0;
    for (double v : f["embedding"]) norm += v * v;
    // The mean of two l2-normalised descriptors (the face's and its mirror image's).
    EXPECT_LE(std::sqrt(norm), 1.0 + 1e-4);
    EXPECT_GT(std::sqrt(norm), 0.9);
  }
  const uint64_t largest = faces[0]["face_id"].get<uint64_t>();
  ASSERT_EQ(run(fp + "name --face " + std::to_string(largest) + " Ana", &out, &err), 0) << err;

  auto photo = models::load_photo(testing::demo_photo(3), {});
  ASSERT_TRUE(photo) << photo.status().message();
  cv::Mat flipped;
  cv::flip(photo->rgb, flipped, 1);
  const std::string probe = tmp_.file("mirrored.jpg");
  testing::write_file(probe, testing::encode_jpeg(flipped, 60));
  ASSERT_EQ(run(fp + "who --json " + shell_quote(probe), &out, &err), 0) << err;
  const auto lines = testing::parse_lines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  ASSERT_EQ(lines[0]["faces"].size(), 3u) << out;

  // The score is the spec's linear rule over the evidence `who` shows; it names
  // nobody beyond 0.9 of the model's 1:1 distance (a three-face gallery has no crowd to measure).
  std::ifstream spec_file(models::bundled_models_dir() + "/" + models::kFacePluginFile + ".json");
  const nlohmann::json spec = nlohmann::json::parse(spec_file);
  const nlohmann::json w = spec["who_weights"];
  const double same_person = spec["same_person_distance"].get<double>();
  ASSERT_TRUE(w.is_object());
  int named = 0, scored = 0;
  for (const auto& f : lines[0]["faces"]) {
    named += f["identity"] == "Ana";
    const auto& e = f["evidence"];
    if (e.is_null()) continue;
    ++scored;
    const double expected = w["bias"].get<double>() + w["distance"].get<double>() * f["distance"].get<double>() +
                            w["margin"].get<double>() * e["margin"].get<double>() +
                            w["probe_crowding"].get<double>() * e["probe_crowding"].get<double>() +
                            w["reference_crowding"].get<double>() * e["reference_crowding"].get<double>();
    EXPECT_NEAR(e["score"].get<double>(), expected, 1e-3) << f.dump();
    EXPECT_EQ(f["identity"] == "Ana", e["score"].get<double>() >= 0 && f["distance"].get<double>() <= 0.9 * same_person)
        << f.dump();
  }
  EXPECT_EQ(named, 1) << out;
  EXPECT_EQ(scored, 3) << out;

  // dlib's descriptors are another model's: refused, with the reason.
  EXPECT_EQ(run("who " + shell_quote(probe), &out, &err), 4);
  EXPECT_NE(err.find("holds descriptors of model"), std::string::npos) << err;
  EXPECT_NE(err.find("It was made with --embedder faceplugin."), std::string::npos) << err;
}

}  // namespace
}  // namespace facedex
