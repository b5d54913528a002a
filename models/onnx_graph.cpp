#include "models/onnx_graph.h"

#include <cstring>

#include "models/protobuf_reader.h"

namespace facedex::models {
namespace {

using protobuf::Field;
using protobuf::read_fields;

// onnx.proto field numbers.
constexpr int kModelGraph = 7;
constexpr int kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12;
constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5;
constexpr int kAttrName = 1, kAttrFloat = 2, kAttrInt = 3, kAttrString = 4, kAttrInts = 8;
constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorFloatData = 4, kTensorName = 8, kTensorRawData = 9;
constexpr int kValueInfoName = 1;
constexpr int kFloatType = 1;

// Repeated integers, packed or not.
bool append_ints(const Field& f, std::vector<int64_t>* out) {
  if (f.wire_type == protobuf::kVarintWire) {
    out->push_back(int64_t(f.scalar));
    return true;
  }
  if (f.wire_type != protobuf::kLengthDelimitedWire) return false;
  std::string_view packed = f.value;
  while (!packed.empty()) {
    uint64_t v = 0;
    if (!protobuf::read_varint(&packed, &v)) return false;
    out->push_back(int64_t(v));
  }
  return true;
}

Status read_attribute(std::string_view bytes, OnnxNode* node) {
  std::vector<Field> fields;
  if (!read_fields(bytes, &fields)) return Status::invalid_input("bad attribute in node '" + node->name + "'");
  std::string name;
  for (const auto& f : fields)
    if (f.number == kAttrName) name = std::string(f.value);
  for (const auto& f : fields) {
    if (f.number == kAttrInt || f.number == kAttrInts) {
      if (!append_ints(f, &node->ints[name])) return Status::invalid_input("bad integers in '" + node->name + "'");
    } else if (f.number == kAttrFloat && f.wire_type == protobuf::kFixed32Wire) {
      const auto bits = uint32_t(f.scalar);
      float v;
      std::memcpy(&v, &bits, sizeof v);
      node->floats[name] = v;
    } else if (f.number == kAttrString) {
      node->strings[name] = std::string(f.value);
    }
  }
  return Status::ok();
}

// A float initializer; false (and nothing stored) for other types.
Expected<bool> read_tensor(std::string_view bytes, std::string* name, OnnxTensor* tensor) {
  std::vector<Field> fields;
  if (!read_fields(bytes, &fields)) return Status::invalid_input("bad initializer");
  int64_t type = 0;
  std::string_view raw;
  for (const auto& f : fields) {
    if (f.number == kTensorDims && !append_ints(f, &tensor->dims)) return Status::invalid_input("bad tensor dims");
    if (f.number == kTensorDataType) type = int64_t(f.scalar);
    if (f.number == kTensorName) *name = std::string(f.value);
    if (f.number == kTensorRawData) raw = f.value;
    if (f.number == kTensorFloatData) {
      if (f.wire_type == protobuf::kLengthDelimitedWire) {
        raw = f.value;  // packed floats are the same bytes as raw data
      } else if (f.wire_type == protobuf::kFixed32Wire) {
        const auto bits = uint32_t(f.scalar);
        float v;
        std::memcpy(&v, &bits, sizeof v);
        tensor->values.push_back(v);
      }
    }
  }
  if (type != kFloatType) return false;
  if (!raw.empty()) {
    tensor->values.resize(raw.size() / sizeof(float));
    std::memcpy(tensor->values.data(), raw.data(), tensor->values.size() * sizeof(float));
  }
  size_t count = 1;
  for (auto d : tensor->dims) count *= size_t(d);
  if (count != tensor->values.size()) return Status::invalid_input("initializer '" + *name + "' has the wrong size");
  return true;
}

}  // namespace

Expected<OnnxGraph> read_onnx_graph(const std::string& model) {
  std::vector<Field> model_fields, graph_fields, node_fields, info_fields;
  if (!read_fields(model, &model_fields)) return Status::invalid_input("not an ONNX model (bad protobuf)");
  const Field* graph = nullptr;
  for (const auto& f : model_fields)
    if (f.number == kModelGraph && f.wire_type == protobuf::kLengthDelimitedWire) graph = &f;
  if (!graph || !read_fields(graph->value, &graph_fields)) return Status::invalid_input("not an ONNX model (no graph)");
  OnnxGraph out;
  std::vector<std::string> declared_inputs;
  for (const auto& f : graph_fields) {
    if (f.wire_type != protobuf::kLengthDelimitedWire) continue;
    if (f.number == kGraphNode) {
      if (!read_fields(f.value, &node_fields)) return Status::invalid_input("not an ONNX model (bad node)");
      OnnxNode node;
      for (const auto& nf : node_fields) {
        if (nf.number == kNodeInput) node.inputs.emplace_back(nf.value);
        if (nf.number == kNodeOutput) node.outputs.emplace_back(nf.value);
        if (nf.number == kNodeName) node.name = std::string(nf.value);
        if (nf.number == kNodeOpType) node.op_type = std::string(nf.value);
      }
      for (const auto& nf : node_fields)
        if (nf.number == kNodeAttribute)
          if (Status s = read_attribute(nf.value, &node); !s) return s;
      out.nodes.push_back(std::move(node));
    } else if (f.number == kGraphInitializer) {
      std::string name;
      OnnxTensor tensor;
      auto is_float = read_tensor(f.value, &name, &tensor);
      if (!is_float) return is_float.status();
      if (*is_float) out.initializers[name] = std::move(tensor);
    } else if (f.number == kGraphInput || f.number == kGraphOutput) {
      if (!read_fields(f.value, &info_fields)) return Status::invalid_input("not an ONNX model (bad value info)");
      for (const auto& vf : info_fields)
        if (vf.number == kValueInfoName)
          (f.number == kGraphInput ? declared_inputs : out.outputs).emplace_back(vf.value);
    }
  }
  for (auto& name : declared_inputs)
    if (!out.initializers.count(name)) out.inputs.push_back(std::move(name));
  return out;
}

}  // namespace facedex::models
