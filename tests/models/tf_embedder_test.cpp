// --embedder tf:PATH and --embedder mobilefacenet on a real TensorFlow-exported
// network: the frozen GraphDef the build writes from MobileFaceNet's TF.js
// graph, run through the same path a user's FaceNet .pb takes, must give the
// TF.js reference's embeddings (tests/fixtures/make_mobilefacenet_fixture.sh);
// a graph or spec that does not fit is named before any face is read.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "models/external_embedder.h"
#include "models/face_pipeline.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "tests/support/temp_files.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

const std::string kBundled = models::bundled_models_dir() + "/" + models::kMobileFaceNetFile;

// The fixture's chips, cut to their central `size` pixels, and TF.js's embedding of each.
void read_fixture(std::vector<models::FaceChip>* chips, std::vector<std::vector<float>>* expected) {
  std::ifstream in(std::string(FACEDEX_FIXTURES_DIR) + "/mobilefacenet_embeddings.json");
  ASSERT_TRUE(in) << "missing fixture";
  const nlohmann::json fixture = nlohmann::json::parse(in);
  const int size = fixture.at("size").get<int>();
  for (const auto& [name, values] : fixture.at("chips").items()) {
    cv::Mat bgr = cv::imread(std::string(FACEDEX_FIXTURES_DIR) + "/faceapi_chips/" + name, cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << name;
    cv::Mat rgb;
    cv::cvtColor(bgr(cv::Rect((bgr.cols - size) / 2, (bgr.rows - size) / 2, size, size)), rgb, cv::COLOR_BGR2RGB);
    models::FaceChip chip(size, size);
    for (int r = 0; r < size; ++r) std::memcpy(&chip(r, 0), rgb.ptr(r), size_t(size) * 3);
    chips->push_back(std::move(chip));
    expected->push_back(values.get<std::vector<float>>());
  }
}

class TfEmbedderTest : public ::testing::Test {
 protected:
  // A copy of the bundled graph under a user's name, with a spec of `fields`.
  models::ExternalModelRef user_model(const nlohmann::json& fields) {
    const std::string path = dir_.file("mobile face net.pb");
    if (!std::filesystem::exists(path)) std::filesystem::copy_file(kBundled, path);
    testing::write_file(path + ".json", fields.dump());
    return {models::ExternalFormat::kTensorFlow, path};
  }
  static nlohmann::json mobilefacenet_fields() {
    return {{"input", "img_inputs"}, {"input_size", 112}, {"mean", 127.5}, {"scale", 1.0 / 128}, {"output_dims", 192}};
  }
  testing::TempDir dir_;
};

TEST_F(TfEmbedderTest, TheTfPathReproducesTheTfjsEmbeddings) {
  std::vector<models::FaceChip> chips;
  std::vector<std::vector<float>> expected;
  read_fixture(&chips, &expected);
  ASSERT_GE(chips.size(), 4u);
  auto spec = models::load_external_model_spec(user_model(mobilefacenet_fields()));
  ASSERT_TRUE(spec) << spec.status().message();
  EXPECT_EQ(spec->output_name, "embeddings");  // FaceNet's default name, which MobileFaceNet shares
  auto embedder = models::make_external_embedder(*spec, 2);
  ASSERT_TRUE(embedder) << embedder.status().message();
  EXPECT_EQ((*embedder)->backend_name(), "tf");
  auto got = (*embedder)->embed(chips);
  ASSERT_TRUE(got) << got.status().message();
  double worst = 0;
  for (size_t c = 0; c < chips.size(); ++c) {
    ASSERT_EQ((*got)[c].size(), 192u);
    for (size_t d = 0; d < 192; ++d) worst = std::max(worst, double(std::abs((*got)[c][d] - expected[c][d])));
  }
  std::printf("tf: path vs TF.js, worst per-dimension difference: %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
}

TEST_F(TfEmbedderTest, MobileFaceNetIsBundledWithItsOwnFingerprintLengthAndCrop) {
  auto dlib_set = models::locate_models("");
  auto set = models::locate_models("", models::kMobileFaceNetEmbedder);
  ASSERT_TRUE(dlib_set && set) << set.status().message();
  EXPECT_NE(set->fingerprint, dlib_set->fingerprint);
  EXPECT_EQ(set->descriptor_dims, 192);
  ASSERT_TRUE(set->external);
  EXPECT_EQ(set->external->crop, models::ChipCrop::kArcFace);
  EXPECT_EQ(set->descriptor.path, std::filesystem::absolute(kBundled).string());

  auto loaded = models::FaceModels::load(*set, models::EmbedderBackend::kExternal);
  ASSERT_TRUE(loaded) << loaded.status().message();
  auto pipeline = models::FacePipeline::create(*loaded);
  ASSERT_TRUE(pipeline) << pipeline.status().message();
  auto photo = models::load_photo(testing::demo_photo(3), {});
  ASSERT_TRUE(photo) << photo.status().message();
  auto faces = (*pipeline)->analyze(photo->rgb, {});
  ASSERT_TRUE(faces) << faces.status().message();
  ASSERT_FALSE(faces->empty());
  // The chips are the ArcFace crop, and the mirrored photo's faces are the same people.
  cv::Mat mirrored;
  cv::flip(photo->rgb, mirrored, 1);
  auto flipped = (*pipeline)->analyze(mirrored, {});
  ASSERT_TRUE(flipped) << flipped.status().message();
  ASSERT_EQ(flipped->size(), faces->size());
  ASSERT_GE(faces->size(), 2u);
  EXPECT_GT(descriptor_distance((*faces)[0].descriptor, (*faces)[1].descriptor), 1e-3) << "two people, one vector";
  for (const auto& f : *faces) {
    EXPECT_EQ(f.face.chip.nr(), 112);
    ASSERT_EQ(f.descriptor.size(), 192u);
    double nearest = 1e9;
    for (const auto& g : *flipped) nearest = std::min(nearest, double(descriptor_distance(f.descriptor, g.descriptor)));
    EXPECT_LT(nearest, 0.5 * set->same_person_distance);
  }
}

TEST_F(TfEmbedderTest, ABadGraphOrSpecIsNamedBeforeAnyFace) {
  auto error_of = [&](const nlohmann::json& fields) {
    auto spec = models::load_external_model_spec(user_model(fields));
    if (!spec) return spec.status().message();
    auto embedder = models::make_external_embedder(*spec, 1);
    return embedder ? std::string() : embedder.status().message();
  };
  nlohmann::json fields = mobilefacenet_fields();
  fields.erase("input");  // FaceNet's "input": this graph's input is img_inputs
  std::string e = error_of(fields);
  EXPECT_NE(e.find("mobile face net.pb"), std::string::npos) << e;
  EXPECT_NE(e.find("no tensor \"input\""), std::string::npos) << e;
  EXPECT_NE(e.find("img_inputs"), std::string::npos) << e;

  fields = mobilefacenet_fields();
  fields["output"] = "logits";
  e = error_of(fields);
  EXPECT_NE(e.find("no tensor \"logits\""), std::string::npos) << e;

  fields = mobilefacenet_fields();
  fields["input_size"] = 96;  // its last 7x7 convolution needs 112 px
  e = error_of(fields);
  EXPECT_NE(e.find("96 px"), std::string::npos) << e;

  fields = mobilefacenet_fields();
  fields["output"] = "MobileFaceNet/MobileFaceNet/Conv2d_0/Relu";  // a feature map, not a vector
  e = error_of(fields);
  EXPECT_NE(e.find("shape [1, 64, 56, 56]"), std::string::npos) << e;

  fields = mobilefacenet_fields();
  fields["prewhiten"] = true;  // and a mean and scale too
  e = error_of(fields);
  EXPECT_NE(e.find("prewhiten"), std::string::npos) << e;

  fields = mobilefacenet_fields();
  fields["crop"] = "tight";
  e = error_of(fields);
  EXPECT_NE(e.find("crop"), std::string::npos) << e;

  testing::write_file(dir_.file("not a graph.pb"), std::string(2000, '\x07'));
  testing::write_file(dir_.file("not a graph.pb.json"), mobilefacenet_fields().dump());
  auto spec = models::load_external_model_spec({models::ExternalFormat::kTensorFlow, dir_.file("not a graph.pb")});
  ASSERT_TRUE(spec) << spec.status().message();
  auto garbage = models::make_external_embedder(*spec, 1);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.status().message().find("not a graph.pb"), std::string::npos) << garbage.status().message();
}

}  // namespace
}  // namespace facedex
