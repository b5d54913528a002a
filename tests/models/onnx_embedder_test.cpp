// External ONNX descriptor models (--embedder onnx:PATH), tested with a real
// model file facedex makes itself: the bundled ResNet exported to ONNX, run by
// OpenCV's dnn module, must give dlib's descriptors; bad specs are named. The
// bundled Faceplugin graph runs on oneDNN and must give OpenCV's descriptors.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "models/embedder.h"
#include "models/external_embedder.h"
#include "models/model_files.h"
#include "models/onnx_export.h"
#include "tests/support/demo_chips.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

class OnnxEmbedderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = models::locate_models("");
    ASSERT_TRUE(set) << set.status().message();
    set_ = *set;
    auto weights = models::read_resnet_weights(set_.descriptor.path);
    ASSERT_TRUE(weights) << weights.status().message();
    model_ = dir_.file("resnet.onnx");
    ASSERT_TRUE(models::write_resnet_onnx(*weights, model_));
  }
  void write_spec(const nlohmann::json& spec) { testing::write_file(model_ + ".json", spec.dump()); }

  testing::TempDir dir_;
  models::ModelSet set_;
  std::string model_;
};

TEST_F(OnnxEmbedderTest, ExportedResNetRunByOpenCvMatchesDlib) {
  const std::vector<models::FaceChip> chips = testing::demo_chips();
  ASSERT_GE(chips.size(), 38u);
  auto dlib_net = models::load_dlib_embedder(set_.descriptor.path);
  ASSERT_TRUE(dlib_net) << dlib_net.status().message();
  const std::vector<Descriptor> expected = (*dlib_net)->embed(chips).value();

  auto spec = models::load_external_model_spec({models::ExternalFormat::kOnnx, model_});
  ASSERT_TRUE(spec) << spec.status().message();
  EXPECT_EQ(spec->input_size, models::kChipSize);
  auto onnx = models::make_external_embedder(*spec, 2);
  ASSERT_TRUE(onnx) << onnx.status().message();
  EXPECT_EQ((*onnx)->backend_name(), "onnx");
  const double all_at_once = testing::worst_difference((*onnx)->embed(chips).value(), expected);
  std::vector<Descriptor> singly;
  for (size_t i = 0; i < 6; ++i) singly.push_back((*onnx)->embed({chips[i]}).value()[0]);
  const double one_by_one =
      testing::worst_difference(singly, std::vector<Descriptor>(expected.begin(), expected.begin() + 6));
  std::printf("onnx (OpenCV dnn) vs dlib, worst per-dimension difference: batch %.2g, one by one %.2g\n", all_at_once,
              one_by_one);
  EXPECT_LT(all_at_once, 1e-4);
  EXPECT_LT(one_by_one, 1e-4);
}

TEST_F(OnnxEmbedderTest, AnExternalModelHasItsOwnFingerprintAndDistance) {
  write_spec({{"input_size", 150},
              {"mean", {122.782, 117.001, 104.298}},
              {"scale", 1.0 / 256},
              {"same_person_distance", 0.3}});
  auto spec = models::load_external_model_spec({models::ExternalFormat::kOnnx, model_});
  ASSERT_TRUE(spec) << spec.status().message();
  models::ModelSet external = set_;
  ASSERT_TRUE(models::use_external_model(*spec, &external));
  EXPECT_NE(external.fingerprint, set_.fingerprint);
  EXPECT_FLOAT_EQ(external.same_person_distance, 0.3f);
  EXPECT_EQ(external.descriptor.path, spec->model_path);

  // Another spec for the same file is another model: a different fingerprint.
  write_spec({{"input_size", 150}, {"mean", 127.5}, {"scale", 1.0 / 128}});
  auto other = models::load_external_model_spec({models::ExternalFormat::kOnnx, model_});
  ASSERT_TRUE(other) << other.status().message();
  models::ModelSet other_set = set_;
  ASSERT_TRUE(models::use_external_model(*other, &other_set));
  EXPECT_NE(other_set.fingerprint, external.fingerprint);

  EXPECT_EQ(*models::parse_embedder_backend("onnx:" + model_), models::EmbedderBackend::kExternal);
  auto ref = models::external_model_ref("onnx:" + model_, "");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->path, model_);
  EXPECT_EQ(ref->format, models::ExternalFormat::kOnnx);
}

// The bundled Faceplugin network was exported for one face at a time (its
// graph reshapes to [1, -1]): a batch must still give each face its own
// descriptor. Its spec's `who` weights are calibration, not identity: a refit
// keeps the fingerprint, so galleries stay usable.
TEST_F(OnnxEmbedderTest, FacepluginGivesEachFaceOfABatchItsOwnDescriptorAndItsWeightsKeepTheFingerprint) {
  auto bundled = models::locate_models("", models::kFacePluginEmbedder);
  ASSERT_TRUE(bundled) << bundled.status().message();
  ASSERT_TRUE(bundled->external);
  const models::ExternalModelSpec& spec = *bundled->external;
  EXPECT_EQ(spec.output_dims, 512);
  EXPECT_EQ(spec.crop, models::ChipCrop::kArcFace);
  ASSERT_TRUE(spec.who_weights);
  EXPECT_NE(bundled->fingerprint, set_.fingerprint);

  auto net = models::make_external_embedder(spec, 2);
  ASSERT_TRUE(net) << net.status().message();
  const std::vector<models::FaceChip> all = testing::demo_chips();
  ASSERT_GE(all.size(), 6u);
  const std::vector<models::FaceChip> chips(all.begin(), all.begin() + 6);
  std::vector<Descriptor> singly;
  for (const auto& c : chips) singly.push_back((*net)->embed({c}).value()[0]);
  const std::vector<Descriptor> batch = (*net)->embed(chips).value();
  EXPECT_LT(testing::worst_difference(batch, singly), 1e-5);
  for (size_t i = 1; i < singly.size(); ++i)
    EXPECT_GT(testing::worst_difference({singly[i]}, {singly[0]}), 1e-3) << "face " << i << " got face 0's descriptor";

  // The same file with refitted weights: the same model to a gallery.
  const std::string copy = dir_.file("fr_feature.onnx");
  testing::write_file(copy, testing::read_file(spec.model_path));
  nlohmann::json j = nlohmann::json::parse(testing::read_file(spec.model_path + ".json"));
  j["who_weights"]["bias"] = j["who_weights"]["bias"].get<double>() + 1;
  testing::write_file(copy + ".json", j.dump());
  auto refit = models::load_external_model_spec({models::ExternalFormat::kOnnx, copy});
  ASSERT_TRUE(refit) << refit.status().message();
  EXPECT_FLOAT_EQ((*refit->who_weights)[0], (*spec.who_weights)[0] + 1);
  models::ModelSet refit_set = set_;
  ASSERT_TRUE(models::use_external_model(*refit, &refit_set));
  EXPECT_EQ(refit_set.fingerprint, bundled->fingerprint);
}

// Faceplugin's graph (convolutions, PReLU, Add, a final reshape) runs on
// facedex's oneDNN runner; OpenCV's dnn, which it replaces, must agree on every
// demo face. OpenCV is also checked on a whole batch, which this graph (made
// for batch 1) folds into one row unless it is run one face at a time.
TEST_F(OnnxEmbedderTest, FacepluginRunByOnednnGivesOpenCvsDescriptors) {
  auto bundled = models::locate_models("", models::kFacePluginEmbedder);
  ASSERT_TRUE(bundled) << bundled.status().message();
  setenv("FACEDEX_EXTERNAL_BACKEND", "opencv", 1);
  auto opencv = models::make_external_embedder(*bundled->external, 1);
  unsetenv("FACEDEX_EXTERNAL_BACKEND");
  ASSERT_TRUE(opencv) << opencv.status().message();
  EXPECT_EQ((*opencv)->backend_name(), "onnx");
  auto onednn = models::make_external_embedder(*bundled->external, 1);
  ASSERT_TRUE(onednn) << onednn.status().message();
  EXPECT_EQ((*onednn)->backend_name(), "onnx-onednn");

  const std::vector<models::FaceChip> chips = testing::demo_chips();
  ASSERT_GE(chips.size(), 20u);
  const std::vector<Descriptor> reference = (*opencv)->embed(chips).value();
  std::vector<Descriptor> singly;
  for (size_t i = 0; i < 4; ++i) singly.push_back((*opencv)->embed({chips[i]}).value()[0]);
  EXPECT_LT(testing::worst_difference(singly, std::vector<Descriptor>(reference.begin(), reference.begin() + 4)), 1e-5);
  const double worst = testing::worst_difference((*onednn)->embed(chips).value(), reference);
  std::printf("Faceplugin, oneDNN vs OpenCV dnn on %zu faces: worst per-dimension difference %.2g\n", chips.size(),
              worst);
  EXPECT_LT(worst, 1e-4);

  // PReLU by facedex's own loop, which the runner takes where oneDNN's PReLU is not JIT.
  setenv("FACEDEX_ONEDNN_PRELU", "own", 1);
  auto own_prelu = models::make_external_embedder(*bundled->external, 1);
  unsetenv("FACEDEX_ONEDNN_PRELU");
  ASSERT_TRUE(own_prelu) << own_prelu.status().message();
  EXPECT_EQ((*own_prelu)->backend_name(), "onnx-onednn");
  const double own_worst = testing::worst_difference((*own_prelu)->embed(chips).value(), reference);
  std::printf("...with facedex's PReLU loop: worst per-dimension difference %.2g\n", own_worst);
  EXPECT_LT(own_worst, 1e-4);
}

TEST_F(OnnxEmbedderTest, BadSpecsAndModelsAreNamedWithTheReason) {
  auto expect_error = [&](const nlohmann::json& spec, const std::string& words) {
    write_spec(spec);
    auto loaded = models::load_external_model_spec({models::ExternalFormat::kOnnx, model_});
    ASSERT_FALSE(loaded) << spec.dump();
    EXPECT_NE(loaded.status().message().find(model_ + ".json"), std::string::npos) << loaded.status().message();
    EXPECT_NE(loaded.status().message().find(words), std::string::npos) << loaded.status().message();
  };
  expect_error({{"output_dims", 8}}, "output_dims");
  expect_error({{"output_dims", 100000}}, "output_dims");
  expect_error({{"channel_order", "grb"}}, "channel_order");
  expect_error({{"mean", "zero"}}, "mean");
  expect_error({{"same_person_distance", -1}}, "same_person_distance");
  expect_error({{"who_weights", {{"bias", 1}, {"distance", -2}}}}, "margin");
  testing::write_file(model_ + ".json", "{not json");
  EXPECT_FALSE(models::load_external_model_spec({models::ExternalFormat::kOnnx, model_}));

  std::remove((model_ + ".json").c_str());
  auto missing = models::load_external_model_spec({models::ExternalFormat::kOnnx, model_});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("missing"), std::string::npos) << missing.status().message();

  // A model that does not take 150 px input: named when it is loaded, not mid-run.
  write_spec({{"input_size", 96}});
  auto spec = models::load_external_model_spec({models::ExternalFormat::kOnnx, model_});
  ASSERT_TRUE(spec) << spec.status().message();
  auto small = models::make_external_embedder(*spec, 1);
  ASSERT_FALSE(small);  // the exported graph's padding is for 150 px
  EXPECT_NE(small.status().message().find(model_), std::string::npos) << small.status().message();
  EXPECT_NE(small.status().message().find("96 px"), std::string::npos) << small.status().message();
  // A spec promising another descriptor length than the model gives: named when loaded.
  write_spec({{"output_dims", 512}});
  auto wide =
      models::make_external_embedder(*models::load_external_model_spec({models::ExternalFormat::kOnnx, model_}), 1);
  ASSERT_FALSE(wide);
  EXPECT_NE(wide.status().message().find("512 values"), std::string::npos) << wide.status().message();
  // A truncated file is refused with its name.
  testing::write_file(model_, testing::read_file(model_).substr(0, 1000));
  auto truncated = models::make_external_embedder(*spec, 1);
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.status().message().find(model_), std::string::npos) << truncated.status().message();
}

}  // namespace
}  // namespace facedex
