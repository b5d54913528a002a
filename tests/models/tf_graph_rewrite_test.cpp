// FaceNet's frozen graphs feed `input` from a training queue and switch batch
// norm and dropout on the bool `phase_train` (tf.cond: Switch and Merge), which
// OpenCV's importer cannot run. A graph of that shape, written here, must run
// in OpenCV after graphdef_for_opencv and compute the false branch.
#include "models/tf_graph_rewrite.h"

#include <gtest/gtest.h>

#include <map>
#include <opencv2/dnn.hpp>

#include "models/external_embedder.h"
#include "models/protobuf_writer.h"
#include "tests/support/temp_files.h"

namespace facedex {
namespace {

using models::protobuf::Message;

// tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape}.proto
constexpr int kGraphNode = 1, kNodeName = 1, kNodeOp = 2, kNodeInput = 3, kNodeAttr = 5;
constexpr int kAttrType = 6, kAttrTensor = 8;
constexpr int kTensorDtype = 1, kTensorShape = 2, kTensorFloatVal = 5;
constexpr int kDtFloat = 1, kDtBool = 10;

class GraphBuilder {
 public:
  void node(const std::string& name, const std::string& op, const std::vector<std::string>& inputs,
            std::vector<std::pair<std::string, Message>> attrs = {}) {
    Message n;
    n.add_bytes(kNodeName, name);
    n.add_bytes(kNodeOp, op);
    for (const auto& in : inputs) n.add_bytes(kNodeInput, in);
    for (const auto& [key, value] : attrs) {
      Message entry;
      entry.add_bytes(1, key);
      entry.add_message(2, value);
      n.add_message(kNodeAttr, entry);
    }
    graph_.add_message(kGraphNode, n);
  }
  void constant(const std::string& name, float value, const std::vector<std::string>& control = {}) {
    Message tensor, v;
    tensor.add_int(kTensorDtype, kDtFloat);
    tensor.add_message(kTensorShape, Message());
    tensor.add_float(kTensorFloatVal, value);
    v.add_message(kAttrTensor, tensor);
    node(name, "Const", control, {{"dtype", type(kDtFloat)}, {"value", v}});
  }
  static Message type(int dtype) {
    Message m;
    m.add_int(kAttrType, dtype);
    return m;
  }
  const std::string& bytes() const { return graph_.bytes(); }

 private:
  Message graph_;
};

// input <- image_batch <- a queue; phase_train ? x * 2 : x * 3; then Relu.
std::string facenet_shaped_graph() {
  GraphBuilder g;
  g.node("batch_join", "QueueDequeueUpToV2", {"batch_join/fifo_queue", "batch_size"});
  g.node("image_batch", "Identity", {"batch_join"}, {{"T", GraphBuilder::type(kDtFloat)}});
  g.node("input", "Identity", {"image_batch"}, {{"T", GraphBuilder::type(kDtFloat)}});
  g.node("phase_train", "Placeholder", {}, {{"dtype", GraphBuilder::type(kDtBool)}, {"shape", Message()}});
  g.node("cond/Switch", "Switch", {"phase_train", "phase_train"});
  g.node("cond/switch_t", "Identity", {"cond/Switch:1"});
  g.node("cond/switch_f", "Identity", {"cond/Switch"});
  g.node("cond/pred_id", "Identity", {"phase_train"});
  g.node("cond/Switch_1", "Switch", {"input", "cond/pred_id"}, {{"T", GraphBuilder::type(kDtFloat)}});
  g.constant("cond/two", 2.f, {"^cond/switch_t"});
  g.node("cond/mul", "Mul", {"cond/Switch_1:1", "cond/two"}, {{"T", GraphBuilder::type(kDtFloat)}});
  g.constant("cond/three", 3.f, {"^cond/switch_f"});
  g.node("cond/mul_1", "Mul", {"cond/Switch_1", "cond/three"}, {{"T", GraphBuilder::type(kDtFloat)}});
  g.node("cond/Merge", "Merge", {"cond/mul_1", "cond/mul"}, {{"T", GraphBuilder::type(kDtFloat)}});
  g.node("embeddings", "Relu", {"cond/Merge"}, {{"T", GraphBuilder::type(kDtFloat)}});
  return g.bytes();
}

TEST(TfGraphRewriteTest, FaceNetShapedGraphRunsItsInferenceBranchInOpenCv) {
  const std::string graph = facenet_shaped_graph();
  // As written, OpenCV cannot import it (the queue, the switches).
  EXPECT_ANY_THROW(cv::dnn::readNetFromTensorflow(graph.data(), graph.size()));

  auto ready = models::graphdef_for_opencv(graph, {"input", "embeddings", "phase_train"});
  ASSERT_TRUE(ready) << ready.status().message();
  EXPECT_EQ(ready->find("batch_join"), std::string::npos);  // the queue is gone
  EXPECT_EQ(ready->find("cond/two"), std::string::npos);    // and the training branch
  EXPECT_EQ(ready->find("Switch"), std::string::npos);
  EXPECT_EQ(ready->find("Merge"), std::string::npos);

  // Through the embedder, as --embedder tf:PATH runs it: each value of a flat
  // face comes out times three (the false branch), never two.
  testing::TempDir dir;
  const std::string path = dir.file("facenet shaped.pb");
  testing::write_file(path, graph);
  testing::write_file(path + ".json", R"({"input_size": 16, "output_dims": 768})");
  auto spec = models::load_external_model_spec({models::ExternalFormat::kTensorFlow, path});
  ASSERT_TRUE(spec) << spec.status().message();
  EXPECT_EQ(spec->input_name, "input");
  EXPECT_EQ(spec->phase_train, "phase_train");
  auto embedder = models::make_external_embedder(*spec, 1);
  ASSERT_TRUE(embedder) << embedder.status().message();
  models::FaceChip flat(16, 16);
  for (long r = 0; r < 16; ++r)
    for (long c = 0; c < 16; ++c) flat(r, c) = dlib::rgb_pixel(10, 20, 30);
  auto out = (*embedder)->embed({flat});
  ASSERT_TRUE(out) << out.status().message();
  ASSERT_EQ((*out)[0].size(), 768u);
  std::map<float, int> values;
  for (float v : (*out)[0]) ++values[v];
  EXPECT_EQ(values, (std::map<float, int>{{30.f, 256}, {60.f, 256}, {90.f, 256}}));
}

TEST(TfGraphRewriteTest, MissingTensorsAreNamedWithTheGraphsPlaceholders) {
  const std::string graph = facenet_shaped_graph();
  auto no_input = models::graphdef_for_opencv(graph, {"img_inputs", "embeddings", "phase_train"});
  ASSERT_FALSE(no_input);
  EXPECT_NE(no_input.status().message().find("no tensor \"img_inputs\""), std::string::npos);
  EXPECT_NE(no_input.status().message().find("phase_train"), std::string::npos) << no_input.status().message();
  auto no_output = models::graphdef_for_opencv(graph, {"input", "logits", ""});
  ASSERT_FALSE(no_output);
  EXPECT_NE(no_output.status().message().find("no tensor \"logits\""), std::string::npos);
  EXPECT_FALSE(models::graphdef_for_opencv(""));
}

}  // namespace
}  // namespace facedex
