#include "models/tfjs_graph_export.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/protobuf_writer.h"

namespace facedex::models {
namespace {

using nlohmann::json;
using protobuf::Message;

// Field numbers from tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape}.proto.
namespace tf {
enum GraphField { kGraphNode = 1 };
enum NodeField { kNodeName = 1, kNodeOp = 2, kNodeInput = 3, kNodeDevice = 4, kNodeAttr = 5 };
enum MapEntryField { kKey = 1, kValue = 2 };
enum AttrField {
  kAttrList = 1,
  kAttrS = 2,
  kAttrI = 3,
  kAttrF = 4,
  kAttrB = 5,
  kAttrType = 6,
  kAttrShape = 7,
  kAttrTensor = 8
};
enum ListField { kListS = 2, kListI = 3, kListF = 4, kListB = 5, kListType = 6, kListShape = 7 };
enum TensorField { kTensorDtype = 1, kTensorShape = 2, kTensorContent = 4 };
enum ShapeField { kShapeDim = 2, kShapeUnknownRank = 3 };
enum DimField { kDimSize = 1 };
}  // namespace tf

// The element types a graph model's weights and attributes use.
const std::map<std::string, int64_t>& data_types() {
  static const std::map<std::string, int64_t> types = {{"DT_FLOAT", 1},  {"DT_DOUBLE", 2}, {"DT_INT32", 3},
                                                       {"DT_UINT8", 4},  {"DT_INT16", 5},  {"DT_INT8", 6},
                                                       {"DT_STRING", 7}, {"DT_INT64", 9},  {"DT_BOOL", 10}};
  return types;
}

class ExportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

int64_t data_type(const std::string& name) {
  auto it = data_types().find(name);
  if (it == data_types().end()) throw ExportError("unsupported data type " + name);
  return it->second;
}

std::string base64_decode(const std::string& in) {
  std::string out;
  int bits = 0;
  uint32_t buffer = 0;  // only the low 14 bits matter; unsigned so the shift can overflow
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    else
      throw ExportError("bad base64 in an attribute");
    buffer = (buffer << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// JSON writes int64 as strings (proto3's JSON mapping), sometimes as numbers.
int64_t json_int(const json& v) { return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>(); }

Message shape_message(const json& shape) {
  Message m;
  if (shape.value("unknownRank", false)) m.add_int(tf::kShapeUnknownRank, 1);
  for (const auto& d : shape.value("dim", json::array())) {
    Message dim;
    dim.add_int(tf::kDimSize, d.contains("size") ? json_int(d["size"]) : 0);
    m.add_message(tf::kShapeDim, dim);
  }
  return m;
}

Message attr_value(const json& v) {
  Message m;
  if (v.contains("s")) {
    m.add_bytes(tf::kAttrS, base64_decode(v["s"].get<std::string>()));
  } else if (v.contains("i")) {
    m.add_int(tf::kAttrI, json_int(v["i"]));
  } else if (v.contains("f")) {
    m.add_float(tf::kAttrF, v["f"].get<float>());
  } else if (v.contains("b")) {
    m.add_int(tf::kAttrB, v["b"].get<bool>() ? 1 : 0);
  } else if (v.contains("type")) {
    m.add_int(tf::kAttrType, data_type(v["type"].get<std::string>()));
  } else if (v.contains("shape")) {
    m.add_message(tf::kAttrShape, shape_message(v["shape"]));
  } else if (v.contains("list")) {
    const json& l = v["list"];
    Message list;
    for (const auto& s : l.value("s", json::array())) list.add_bytes(tf::kListS, base64_decode(s.get<std::string>()));
    std::vector<int64_t> ints;
    for (const auto& i : l.value("i", json::array())) ints.push_back(json_int(i));
    if (!ints.empty()) list.add_packed_ints(tf::kListI, ints);
    for (const auto& f : l.value("f", json::array())) list.add_float(tf::kListF, f.get<float>());
    for (const auto& b : l.value("b", json::array())) list.add_int(tf::kListB, b.get<bool>() ? 1 : 0);
    for (const auto& t : l.value("type", json::array())) list.add_int(tf::kListType, data_type(t.get<std::string>()));
    for (const auto& s : l.value("shape", json::array())) list.add_message(tf::kListShape, shape_message(s));
    m.add_message(tf::kAttrList, list);
  } else {
    throw ExportError("an attribute of a kind this exporter does not write: " + v.dump());
  }
  return m;
}

// One weight of the manifest: its TensorProto (dtype, shape, raw bytes).
struct Weight {
  int64_t dtype = 0;
  std::vector<int64_t> shape;
  std::string bytes;
};

// Reads every weight of the manifest from its shards. Quantized weights
// (uint8/uint16 with min and scale) are written back as the floats they stand for.
std::map<std::string, Weight> read_weights(const json& manifest, const std::filesystem::path& dir) {
  std::map<std::string, Weight> weights;
  for (const auto& group : manifest) {
    std::string data;
    for (const auto& p : group.at("paths")) {
      const auto file = dir / p.get<std::string>();
      std::ifstream in(file, std::ios::binary);
      if (!in) throw ExportError(file.string() + ": cannot read the weight shard");
      data += std::string(std::istreambuf_iterator<char>(in), {});
    }
    size_t offset = 0;
    for (const auto& w : group.at("weights")) {
      Weight out;
      size_t count = 1;
      for (const auto& d : w.at("shape")) {
        out.shape.push_back(d.get<int64_t>());
        count *= size_t(d.get<int64_t>());
      }
      const std::string dtype = w.at("dtype").get<std::string>();
      const std::string name = w.at("name").get<std::string>();
      if (w.contains("quantization")) {
        const json& q = w["quantization"];
        const std::string qtype = q.at("dtype").get<std::string>();
        const size_t width = qtype == "uint8" ? 1 : qtype == "uint16" ? 2 : 0;
        if (width == 0 || dtype != "float32" || !q.contains("scale"))
          throw ExportError(name + ": quantization " + q.dump() + " is not one this exporter reads");
        if (offset + count * width > data.size()) throw ExportError(name + ": the weight shards end early");
        const float scale = q["scale"].get<float>(), min = q.value("min", 0.0f);
        std::vector<float> values(count);
        for (size_t i = 0; i < count; ++i) {
          uint32_t code = uint8_t(data[offset + i * width]);
          if (width == 2) code |= uint32_t(uint8_t(data[offset + i * 2 + 1])) << 8;
          values[i] = float(code) * scale + min;
        }
        out.bytes.assign(reinterpret_cast<const char*>(values.data()), count * sizeof(float));
        out.dtype = data_type("DT_FLOAT");
        offset += count * width;
      } else {
        if (dtype != "float32" && dtype != "int32")
          throw ExportError(name + ": weights of type " + dtype + " are not written by this exporter");
        if (offset + count * 4 > data.size()) throw ExportError(name + ": the weight shards end early");
        out.bytes = data.substr(offset, count * 4);
        out.dtype = data_type(dtype == "float32" ? "DT_FLOAT" : "DT_INT32");
        offset += count * 4;
      }
      weights[name] = std::move(out);
    }
  }
  return weights;
}

Message tensor_attr(const Weight& w) {
  Message tensor, shape, value;
  tensor.add_int(tf::kTensorDtype, w.dtype);
  for (int64_t d : w.shape) {
    Message dim;
    dim.add_int(tf::kDimSize, d);
    shape.add_message(tf::kShapeDim, dim);
  }
  tensor.add_message(tf::kTensorShape, shape);
  tensor.add_bytes(tf::kTensorContent, w.bytes);
  value.add_message(tf::kAttrTensor, tensor);
  return value;
}

class GraphDefWriter {
 public:
  // attrs: name -> AttrValue, written in name order (a map's order in protobuf's own output).
  void node(const std::string& name, const std::string& op, const std::vector<std::string>& inputs,
            const std::string& device, const std::map<std::string, Message>& attrs) {
    Message n;
    n.add_bytes(tf::kNodeName, name);
    n.add_bytes(tf::kNodeOp, op);
    for (const auto& i : inputs) n.add_bytes(tf::kNodeInput, i);
    if (!device.empty()) n.add_bytes(tf::kNodeDevice, device);
    for (const auto& [key, value] : attrs) {
      Message entry;
      entry.add_bytes(tf::kKey, key);
      entry.add_message(tf::kValue, value);
      n.add_message(tf::kNodeAttr, entry);
    }
    graph_.add_message(tf::kGraphNode, n);
  }
  const std::string& bytes() const { return graph_.bytes(); }

 private:
  Message graph_;
};

// The attributes of `attrs` named in `keep` that the node has.
std::map<std::string, Message> pick(const std::map<std::string, Message>& attrs,
                                    std::initializer_list<const char*> keep) {
  std::map<std::string, Message> out;
  for (const char* k : keep)
    if (auto it = attrs.find(k); it != attrs.end()) out.emplace(k, it->second);
  return out;
}

// _FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul: the plain op, then
// BiasAdd, then the activation, the last one under the fused node's name.
void write_unfused(GraphDefWriter& out, const json& node, const std::map<std::string, Message>& attrs) {
  const std::string name = node.at("name").get<std::string>(), op = node.at("op").get<std::string>();
  std::vector<std::string> fused;
  for (const auto& s : node.at("attr").at("fused_ops").at("list").value("s", json::array()))
    fused.push_back(base64_decode(s.get<std::string>()));
  const std::vector<std::string> inputs = node.at("input").get<std::vector<std::string>>();
  const bool activation = fused.size() == 2;
  const int64_t num_args = node.at("attr").contains("num_args") ? json_int(node["attr"]["num_args"]["i"]) : 0;
  if (fused.empty() || fused[0] != "BiasAdd" || fused.size() > 2 || num_args != 1 || inputs.size() != 3 ||
      (activation && fused[1] != "Relu" && fused[1] != "Relu6"))
    throw ExportError(name + ": fused ops of " + op +
                      " this exporter does not unfuse: " + node["attr"]["fused_ops"].dump());
  std::string plain;
  std::map<std::string, Message> plain_attrs;
  if (op == "_FusedConv2D") {
    plain = "Conv2D";
    plain_attrs =
        pick(attrs, {"T", "strides", "padding", "explicit_paddings", "data_format", "dilations", "use_cudnn_on_gpu"});
  } else if (op == "FusedDepthwiseConv2dNative") {
    plain = "DepthwiseConv2dNative";
    plain_attrs = pick(attrs, {"T", "strides", "padding", "explicit_paddings", "data_format", "dilations"});
  } else {
    plain = "MatMul";
    plain_attrs = pick(attrs, {"T", "transpose_a", "transpose_b"});
  }
  const std::string device = node.value("device", "");
  const std::string plain_name = name + "/" + plain, bias_name = activation ? name + "/BiasAdd" : name;
  out.node(plain_name, plain, {inputs[0], inputs[1]}, device, plain_attrs);
  out.node(bias_name, "BiasAdd", {plain_name, inputs[2]}, device, pick(attrs, {"T", "data_format"}));
  if (activation) out.node(name, fused[1], {bias_name}, device, pick(attrs, {"T"}));
}

std::string export_graph(const std::string& model_json) {
  std::ifstream in(model_json);
  if (!in) throw ExportError("cannot read the model");
  json model;
  try {
    model = json::parse(in);
  } catch (const json::exception& e) {
    throw ExportError(std::string("not JSON: ") + e.what());
  }
  if (model.value("format", "") != "graph-model" || !model.contains("modelTopology") ||
      !model.contains("weightsManifest"))
    throw ExportError(
        "not a TensorFlow.js graph model (format \"graph-model\" with modelTopology and weightsManifest)");
  if (!model["modelTopology"].value("library", json::object()).empty())
    throw ExportError("the graph has a function library (control flow), which this exporter does not write");
  const auto weights = read_weights(model["weightsManifest"], std::filesystem::path(model_json).parent_path());

  GraphDefWriter out;
  for (const auto& node : model["modelTopology"].at("node")) {
    const std::string name = node.at("name").get<std::string>(), op = node.at("op").get<std::string>();
    std::map<std::string, Message> attrs;
    const json node_attrs = node.value("attr", json::object());
    for (const auto& item : node_attrs.items()) {
      if (op == "Const" && item.key() == "value") continue;  // from the weights below
      attrs.emplace(item.key(), attr_value(item.value()));
    }
    if (op == "Const") {
      auto w = weights.find(name);
      if (w == weights.end()) throw ExportError(name + ": a constant missing from the weights manifest");
      attrs["value"] = tensor_attr(w->second);
    }
    if (op == "_FusedConv2D" || op == "FusedDepthwiseConv2dNative" || op == "_FusedMatMul") {
      write_unfused(out, node, attrs);
      continue;
    }
    out.node(name, op, node.value("input", std::vector<std::string>{}), node.value("device", ""), attrs);
  }
  return out.bytes();
}

}  // namespace

Status write_tfjs_graph_as_graphdef(const std::string& model_json, const std::string& pb_path) {
  std::string bytes;
  try {
    bytes = export_graph(model_json);
  } catch (const ExportError& e) {
    return Status::invalid_input(model_json + ": " + e.what());
  } catch (const std::exception& e) {  // nlohmann's type errors: a field of the wrong kind
    return Status::invalid_input(model_json + ": malformed graph model (" + e.what() + ")");
  }
  std::ofstream out(pb_path, std::ios::binary | std::ios::trunc);
  if (!out.write(bytes.data(), std::streamsize(bytes.size())) || !out.flush())
    return Status::io_error(pb_path + ": cannot write");
  return Status::ok();
}

}  // namespace facedex::models
