#include "models/onnx_export.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/model_constants.h"
#include "models/protobuf_writer.h"

namespace facedex::models {
namespace {

using protobuf::Message;

// Field numbers and enum values from onnx/onnx.proto.
namespace onnx {
enum ModelField {
  kModelIrVersion = 1,
  kModelProducerName = 2,
  kModelProducerVersion = 3,
  kModelDocString = 6,
  kModelGraph = 7,
  kModelOpsetImport = 8
};
enum OpsetField { kOpsetVersion = 2 };
enum GraphField { kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12 };
enum NodeField { kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5 };
enum AttributeField { kAttrName = 1, kAttrInt = 3, kAttrInts = 8, kAttrType = 20 };
enum AttributeType { kAttrTypeInt = 2, kAttrTypeInts = 7 };
enum TensorField { kTensorDims = 1, kTensorDataType = 2, kTensorInt64Data = 7, kTensorName = 8, kTensorRawData = 9 };
enum DataType { kFloat = 1, kInt64 = 7 };
enum ValueInfoField { kValueName = 1, kValueType = 2 };
enum TypeField { kTypeTensor = 1 };
enum TensorTypeField { kTensorElemType = 1, kTensorShape = 2 };
enum ShapeField { kShapeDim = 1 };
enum DimField { kDimValue = 1, kDimParam = 2 };
constexpr int64_t kIrVersion = 6;  // ONNX 1.7
constexpr int64_t kOpset = 11;
}  // namespace onnx

// dims of an activation: channels, height, width (the batch is symbolic).
using Shape = std::array<int64_t, 3>;

class GraphWriter {
 public:
  std::string input(const std::string& name, const Shape& s) {
    graph_.add_message(onnx::kGraphInput, value_info(name, s));
    return name;
  }
  void output(const std::string& name, int64_t dims) {
    Message shape, batch, d;
    batch.add_bytes(onnx::kDimParam, "N");
    d.add_int(onnx::kDimValue, dims);
    shape.add_message(onnx::kShapeDim, batch);
    shape.add_message(onnx::kShapeDim, d);
    graph_.add_message(onnx::kGraphOutput, typed(name, shape));
  }
  std::string initializer(const std::vector<int64_t>& dims, const std::vector<float>& values) {
    const std::string name = "w" + std::to_string(next_++);
    Message t;
    t.add_packed_ints(onnx::kTensorDims, dims);
    t.add_int(onnx::kTensorDataType, onnx::kFloat);
    t.add_bytes(onnx::kTensorName, name);
    t.add_raw_floats(onnx::kTensorRawData, values);
    graph_.add_message(onnx::kGraphInitializer, t);
    return name;
  }
  std::string int64_initializer(const std::vector<int64_t>& values) {
    const std::string name = "i" + std::to_string(next_++);
    Message t;
    t.add_packed_ints(onnx::kTensorDims, {int64_t(values.size())});
    t.add_int(onnx::kTensorDataType, onnx::kInt64);
    t.add_bytes(onnx::kTensorName, name);
    t.add_packed_ints(onnx::kTensorInt64Data, values);
    graph_.add_message(onnx::kGraphInitializer, t);
    return name;
  }
  struct Attr {
    std::string name;
    std::vector<int64_t> ints;
    bool single = false;  // INT rather than INTS
  };
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::vector<Attr>& attrs = {},
                   const std::string& output_name = "") {
    const std::string out = output_name.empty() ? "t" + std::to_string(next_++) : output_name;
    Message n;
    for (const auto& in : inputs) n.add_bytes(onnx::kNodeInput, in);
    n.add_bytes(onnx::kNodeOutput, out);
    n.add_bytes(onnx::kNodeName, op + "_" + out);
    n.add_bytes(onnx::kNodeOpType, op);
    for (const auto& a : attrs) {
      Message m;
      m.add_bytes(onnx::kAttrName, a.name);
      if (a.single) {
        m.add_int(onnx::kAttrInt, a.ints.at(0));
        m.add_int(onnx::kAttrType, onnx::kAttrTypeInt);
      } else {
        for (int64_t v : a.ints) m.add_int(onnx::kAttrInts, v);
        m.add_int(onnx::kAttrType, onnx::kAttrTypeInts);
      }
      n.add_message(onnx::kNodeAttribute, m);
    }
    graph_.add_message(onnx::kGraphNode, n);
    return out;
  }
  Message finish(const std::string& name) {
    Message g = graph_;
    g.add_bytes(onnx::kGraphName, name);
    return g;
  }

 private:
  static Message value_info(const std::string& name, const Shape& s) {
    Message shape, batch;
    batch.add_bytes(onnx::kDimParam, "N");
    shape.add_message(onnx::kShapeDim, batch);
    for (int64_t v : s) {
      Message d;
      d.add_int(onnx::kDimValue, v);
      shape.add_message(onnx::kShapeDim, d);
    }
    return typed(name, shape);
  }
  static Message typed(const std::string& name, const Message& shape) {
    Message tensor, type, info;
    tensor.add_int(onnx::kTensorElemType, onnx::kFloat);
    tensor.add_message(onnx::kTensorShape, shape);
    type.add_message(onnx::kTypeTensor, tensor);
    info.add_bytes(onnx::kValueName, name);
    info.add_message(onnx::kValueType, type);
    return info;
  }

  Message graph_;
  int next_ = 0;
};

// A conv with dlib's affine layer folded in.
std::string conv(GraphWriter& g, const std::string& x, Shape* shape, const ResNetConv& c, int stride, int pad) {
  const FoldedConv f = fold_affine(c);
  const std::string wn = g.initializer({c.out_channels, c.in_channels, c.kernel, c.kernel}, f.filters);
  const std::string bn = g.initializer({c.out_channels}, f.bias);
  (*shape)[0] = c.out_channels;
  for (int i = 1; i < 3; ++i) (*shape)[size_t(i)] = ((*shape)[size_t(i)] + 2 * pad - c.kernel) / stride + 1;
  return g.node(
      "Conv", {x, wn, bn},
      {{"kernel_shape", {c.kernel, c.kernel}}, {"strides", {stride, stride}}, {"pads", {pad, pad, pad, pad}}});
}

std::string pool(GraphWriter& g, const std::string& op, const std::string& x, Shape* shape, int window, int stride) {
  for (int i = 1; i < 3; ++i) (*shape)[size_t(i)] = ((*shape)[size_t(i)] - window) / stride + 1;
  return g.node(op, {x}, {{"kernel_shape", {window, window}}, {"strides", {stride, stride}}});
}

// Zero-pads channels, rows and columns at their ends up to `to` (dlib's
// add_prev adds tensors of different shapes that way).
std::string pad_to(GraphWriter& g, const std::string& x, const Shape& from, const Shape& to) {
  if (from == to) return x;
  const std::string pads = g.int64_initializer({0, 0, 0, 0, 0, to[0] - from[0], to[1] - from[1], to[2] - from[2]});
  return g.node("Pad", {x, pads}, {});
}

}  // namespace

Status write_resnet_onnx(const ResNetWeights& weights, const std::string& onnx_path) {
  // The network's fixed shape: a 7x7 stem, then kResNetBlocks.
  if (weights.convs.size() != size_t(1 + 2 * kResNetBlockCount) || weights.convs[0].kernel != 7 ||
      weights.fc_outputs != kDescriptorDims)
    return Status::invalid_input("not dlib's face ResNet: cannot export it to ONNX");
  GraphWriter g;
  Shape shape{3, kChipSize, kChipSize};
  std::string x = g.input("chips", shape);
  x = g.node("Relu", {conv(g, x, &shape, weights.convs[0], 2, 0)});
  x = pool(g, "MaxPool", x, &shape, 3, 2);
  for (int b = 0; b < kResNetBlockCount; ++b) {
    const ResNetConv& first = weights.convs[size_t(1 + 2 * b)];
    const ResNetConv& second = weights.convs[size_t(2 + 2 * b)];
    const bool down = kResNetBlocks[b].down;
    Shape branch_shape = shape;
    std::string t = g.node("Relu", {conv(g, x, &branch_shape, first, down ? 2 : 1, down ? 0 : 1)});
    std::string u = conv(g, t, &branch_shape, second, 1, 1);
    if (!down) {
      x = g.node("Relu", {g.node("Add", {x, u})});
      continue;
    }
    Shape short_shape = shape;
    std::string s = pool(g, "AveragePool", x, &short_shape, 2, 2);
    Shape out;
    for (int i = 0; i < 3; ++i) out[size_t(i)] = std::max(short_shape[size_t(i)], branch_shape[size_t(i)]);
    x = g.node("Relu", {g.node("Add", {pad_to(g, s, short_shape, out), pad_to(g, u, branch_shape, out)})});
    shape = out;
  }
  if (shape[0] != weights.fc_inputs) return Status::invalid_input("ResNet shape does not match its fc layer");
  x = g.node("Flatten", {g.node("GlobalAveragePool", {x})}, {{"axis", {1}, true}});
  // Gemm with transB: the weights as [128][256], the layout every runtime's fully connected layer reads.
  std::vector<float> fc_t(weights.fc.size());
  for (int i = 0; i < weights.fc_inputs; ++i)
    for (int o = 0; o < weights.fc_outputs; ++o)
      fc_t[size_t(o) * size_t(weights.fc_inputs) + size_t(i)] =
          weights.fc[size_t(i) * size_t(weights.fc_outputs) + size_t(o)];
  const std::string fc = g.initializer({weights.fc_outputs, weights.fc_inputs}, fc_t);
  g.node("Gemm", {x, fc}, {{"transB", {1}, true}}, "descriptors");
  g.output("descriptors", weights.fc_outputs);

  Message opset, model;
  opset.add_int(onnx::kOpsetVersion, onnx::kOpset);
  model.add_int(onnx::kModelIrVersion, onnx::kIrVersion);
  model.add_bytes(onnx::kModelProducerName, "facedex");
  model.add_bytes(onnx::kModelProducerVersion, "1");
  model.add_bytes(onnx::kModelDocString,
                  "dlib's face recognition ResNet (affine layers folded into the convolutions); "
                  "input: 150x150 aligned RGB chips, (pixel - mean) / 256");
  model.add_message(onnx::kModelGraph, g.finish("dlib_face_resnet"));
  model.add_message(onnx::kModelOpsetImport, opset);

  {
    std::ofstream out(onnx_path, std::ios::binary | std::ios::trunc);
    out.write(model.bytes().data(), std::streamsize(model.bytes().size()));
    if (!out) return Status::io_error(onnx_path + ": cannot write the ONNX model");
  }
  // Six decimals: what the weights file holds, without float noise (0.6000000238).
  auto round6 = [](double v) { return std::round(v * 1e6) / 1e6; };
  const nlohmann::json spec{
      {"input_size", kChipSize},
      {"channel_order", "rgb"},
      {"layout", "nchw"},
      {"mean", {round6(weights.mean_rgb[0]), round6(weights.mean_rgb[1]), round6(weights.mean_rgb[2])}},
      {"scale", 1.0 / 256.0},
      {"output_dims", weights.fc_outputs},
      {"normalise_output", "none"},
      {"same_person_distance", round6(kSamePersonDistance)},
      {"description", "dlib face ResNet exported by facedex"}};
  std::ofstream spec_out(onnx_path + ".json", std::ios::trunc);
  spec_out << spec.dump(2) << "\n";
  if (!spec_out) return Status::io_error(onnx_path + ".json: cannot write the model spec");
  return Status::ok();
}

Status write_resnet_onnx(const std::string& dat_path, const std::string& onnx_path) {
  auto weights = read_resnet_weights(dat_path);
  if (!weights) return weights.status();
  return write_resnet_onnx(*weights, onnx_path);
}

}  // namespace facedex::models
