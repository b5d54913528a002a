// A bug is not the photo's fault. An external descriptor model that describes
// only the first face of a batch (a Slice on the batch axis, as a model
// exported for one face at a time can have) passes facedex's one-chip check
// at load, then fails on the first photo with several faces. That failure
// must end `index` with exit 5 (internal error, README "Exit codes"), name the
// photo, store nothing against it, and leave it to be tried again by the next run.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/protobuf_reader.h"
#include "models/protobuf_writer.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

using testing::shell_quote;

// onnx.proto field numbers.
constexpr int kModelGraph = 7, kGraphNode = 1, kGraphInitializer = 5, kGraphOutput = 12;
constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4;
constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9, kInt64 = 7;
constexpr int kValueInfoName = 1, kValueInfoType = 2, kTypeTensor = 1, kElemType = 1, kShape = 2, kFloat = 1;

// An int64 initializer.
models::protobuf::Message int64_tensor(const std::string& name, int64_t value) {
  models::protobuf::Message t;
  t.add_int(kTensorDims, 1);
  t.add_int(kTensorDataType, kInt64);
  t.add_bytes(kTensorName, name);
  t.add_bytes(kTensorRawData, std::string(reinterpret_cast<const char*>(&value), sizeof value));
  return t;
}

// `model` with only the first row of its output kept: right for one face,
// short of descriptors for more.
std::string first_face_only(const std::string& model) {
  std::vector<models::protobuf::Field> model_fields, graph_fields, info_fields;
  EXPECT_TRUE(models::protobuf::read_fields(model, &model_fields));
  std::string out;
  for (const auto& mf : model_fields) {
    if (mf.number != kModelGraph) {
      out.append(mf.raw);
      continue;
    }
    EXPECT_TRUE(models::protobuf::read_fields(mf.value, &graph_fields));
    std::string graph, old_output;
    for (const auto& gf : graph_fields) {
      if (gf.number == kGraphOutput) {
        EXPECT_TRUE(models::protobuf::read_fields(gf.value, &info_fields));
        for (const auto& f : info_fields)
          if (f.number == kValueInfoName) old_output = std::string(f.value);
        continue;
      }
      graph.append(gf.raw);
    }
    models::protobuf::Message node, tensor_type, type, output, holder;
    for (const char* input : {old_output.c_str(), "slice_starts", "slice_ends", "slice_axes"})
      node.add_bytes(kNodeInput, input);
    node.add_bytes(kNodeOutput, "first_descriptor");
    node.add_bytes(kNodeName, "first_face_only");
    node.add_bytes(kNodeOpType, "Slice");
    holder.add_message(kGraphNode, node);
    holder.add_message(kGraphInitializer, int64_tensor("slice_starts", 0));
    holder.add_message(kGraphInitializer, int64_tensor("slice_ends", 1));
    holder.add_message(kGraphInitializer, int64_tensor("slice_axes", 0));
    tensor_type.add_int(kElemType, kFloat);
    tensor_type.add_message(kShape, models::protobuf::Message());
    type.add_message(kTypeTensor, tensor_type);
    output.add_bytes(kValueInfoName, "first_descriptor");
    output.add_message(kValueInfoType, type);
    holder.add_message(kGraphOutput, output);
    graph.append(holder.bytes());
    models::protobuf::Message new_graph;
    new_graph.add_bytes(kModelGraph, graph);
    out.append(new_graph.bytes());
  }
  return out;
}

TEST(InternalErrorCommandTest, ANetworkFailureEndsIndexWithExit5AndIsNotBlamedOnThePhoto) {
  testing::TempDir tmp;
  const std::string db = " --db " + shell_quote(tmp.file("db")) + " ";
  const std::string exported = tmp.file("exported.onnx"), model = tmp.file("first face only.onnx");
  std::string out, err;
  ASSERT_EQ(testing::run_command(
                shell_quote(testing::facedex_binary()) + " models --export-onnx " + shell_quote(exported), &out, &err),
            0)
      << err;
  testing::write_file(model, first_face_only(testing::read_file(exported)));
  testing::write_file(model + ".json", testing::read_file(exported + ".json"));
  const std::string facedex =
      shell_quote(testing::facedex_binary()) + db + "--embedder " + shell_quote("onnx:" + model);

  // The model loads (its one-chip check passes: a failed one would be exit 3);
  // a photo with several faces makes the network fail. Exit 5, the photo
  // named, nothing stored, and the same again on the next run.
  const std::string photos = tmp.file("photos");
  std::filesystem::create_directories(photos);
  std::filesystem::copy_file(testing::demo_photo(1), photos + "/group.jpg");  // 3 faces
  for (int run = 0; run < 2; ++run) {
    SCOPED_TRACE("run " + std::to_string(run + 1));
    ASSERT_EQ(testing::run_command(facedex + " index --json " + shell_quote(photos), &out, &err), 5) << out << err;
    EXPECT_NE(err.find("group.jpg"), std::string::npos) << err;
    EXPECT_NE(err.find("internal error"), std::string::npos) << err;
    const auto summary = nlohmann::json::parse(out);
    ASSERT_EQ(summary["internal_errors"].size(), 1u) << out;
    EXPECT_EQ(summary["failed"], 0) << "a bug must not be stored as the photo's failure: " << out;
    EXPECT_EQ(summary["faces_added"], 0) << out;
  }
  ASSERT_EQ(testing::run_command(facedex + " stats --json", &out, &err), 0) << err;
  const auto stats = nlohmann::json::parse(out);
  EXPECT_EQ(stats["photos"], 0) << "the photo stays unindexed, to be tried again: " << out;
  EXPECT_EQ(stats["photos_failed"], 0) << out;
}

}  // namespace
}  // namespace facedex
