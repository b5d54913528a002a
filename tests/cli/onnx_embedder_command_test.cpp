// --embedder onnx:PATH end to end with the real binary: the bundled network
// exported to ONNX indexes the demo photos into its own gallery, whose
// fingerprint no other model's queries may use, and whose distance rules come
// from the model's spec.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/test_photos.h"

namespace facedex {
namespace {

using testing::shell_quote;

class OnnxEmbedderCommandTest : public ::testing::Test {
 protected:
  int run(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    return testing::run_facedex(tmp_.file("db"), args, out, err);
  }
  testing::TempDir tmp_;
};

TEST_F(OnnxEmbedderCommandTest, IndexesWithTheExportedModelAndKeepsItsDescriptorsApart) {
  const std::string model = tmp_.file("dlib resnet.onnx");  // a space in the name, on purpose
  const std::string onnx = "--embedder " + shell_quote("onnx:" + model) + " ";
  std::string out, err;
  ASSERT_EQ(run("models --export-onnx " + shell_quote(model), &out, &err), 0) << err;
  ASSERT_TRUE(std::filesystem::exists(model + ".json"));

  std::string bundled_json, onnx_json;
  ASSERT_EQ(run("models --json", &bundled_json), 0);
  ASSERT_EQ(run(onnx + "models --json", &onnx_json, &err), 0) << err;
  const auto bundled = nlohmann::json::parse(bundled_json), external = nlohmann::json::parse(onnx_json);
  EXPECT_NE(bundled["fingerprint"], external["fingerprint"]);
  EXPECT_EQ(external["embedder"], "onnx");

  // Index the demo folder with the ONNX model: the same faces as the bundled
  // backend finds (the folder also holds screenshots with faces).
  ASSERT_EQ(run(onnx + "index --json " + shell_quote(testing::demo_dir()), &out, &err), 0) << err;
  const auto summary = nlohmann::json::parse(out);
  std::string bundled_out;
  ASSERT_EQ(testing::run_command(shell_quote(testing::facedex_binary()) + " --db " + shell_quote(tmp_.file("db2")) +
                                     " index --json " + shell_quote(testing::demo_dir()),
                                 &bundled_out, &err),
            0)
      << err;
  EXPECT_GE(summary["faces_added"].get<int>(), 20);
  EXPECT_EQ(summary["faces_added"], nlohmann::json::parse(bundled_out)["faces_added"]);
  ASSERT_EQ(run("stats --json", &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["model"], external["fingerprint"]);

  // The same probe through the same model finds its own photo at distance ~0.
  ASSERT_EQ(run(onnx + "search --json --k 1 " + shell_quote(testing::demo_photo(3)), &out, &err), 0) << err;
  const auto answer = nlohmann::json::parse(out);
  ASSERT_FALSE(answer["faces"].empty()) << out;
  EXPECT_LT(answer["faces"][0]["matches"][0]["distance"].get<double>(), 1e-3) << out;

  // The bundled backend's descriptors are another model's: refused, with the reason.
  EXPECT_EQ(run("who " + shell_quote(testing::demo_photo(3)), &out, &err), 4);
  EXPECT_NE(err.find("holds descriptors of model"), std::string::npos) << err;

  // compare uses the model's own same-person distance unless told otherwise.
  nlohmann::json spec = nlohmann::json::parse(testing::read_file(model + ".json"));
  spec["same_person_distance"] = 0.3;
  testing::write_file(model + ".json", spec.dump());
  ASSERT_EQ(
      run(onnx + "compare --json " + shell_quote(testing::demo_photo(3)) + " " + shell_quote(testing::demo_photo(5)),
          &out, &err),
      0)
      << err;
  EXPECT_NEAR(nlohmann::json::parse(out)["threshold"].get<double>(), 0.3, 1e-6) << out;
}

TEST_F(OnnxEmbedderCommandTest, AMissingModelOrSpecIsNamed) {
  std::string err;
  EXPECT_EQ(run("--embedder onnx:/nonexistent/model.onnx models", nullptr, &err), 3);
  EXPECT_NE(err.find("/nonexistent/model.onnx"), std::string::npos) << err;
  EXPECT_EQ(run("--embedder cuda models", nullptr, &err), 2);
  EXPECT_NE(err.find("onnx:PATH"), std::string::npos) << err;
}

}  // namespace
}  // namespace facedex
