#include "models/onnx_graph_cut.h"

#include <set>
#include <string_view>

#include "models/protobuf_reader.h"
#include "models/protobuf_writer.h"

namespace facedex::models {
namespace {

using protobuf::Field;
using protobuf::read_fields;

// onnx.proto field numbers.
constexpr int kModelGraph = 7;
constexpr int kGraphNode = 1, kGraphOutput = 12, kGraphValueInfo = 13;
constexpr int kNodeInput = 1, kNodeOutput = 2;
constexpr int kValueInfoName = 1, kValueInfoType = 2;
constexpr int kTypeTensor = 1, kTensorElemType = 1, kTensorShape = 2, kElemFloat = 1;

struct Node {
  std::string raw;  // the node's field, rewritten when an input was rewired
  std::vector<std::string_view> inputs, outputs;
};

}  // namespace

Expected<std::string> cut_onnx_graph(const std::string& model, const std::vector<std::string>& outputs,
                                     const std::map<std::string, std::string>& rewired_inputs) {
  std::vector<Field> model_fields, graph_fields, node_fields;
  if (!read_fields(model, &model_fields)) return Status::invalid_input("not an ONNX model (bad protobuf)");
  const Field* graph = nullptr;
  for (const auto& f : model_fields)
    if (f.number == kModelGraph && f.wire_type == 2) graph = &f;
  if (!graph || !read_fields(graph->value, &graph_fields)) return Status::invalid_input("not an ONNX model (no graph)");

  std::vector<Node> nodes;
  std::set<std::string> rewired;
  for (const auto& f : graph_fields) {
    if (f.number != kGraphNode || f.wire_type != 2) continue;
    if (!read_fields(f.value, &node_fields)) return Status::invalid_input("not an ONNX model (bad node)");
    Node node{std::string(f.raw), {}, {}};
    std::string body;
    bool changed = false;
    for (const auto& nf : node_fields) {
      const auto to = nf.number == kNodeInput && nf.wire_type == 2 ? rewired_inputs.find(std::string(nf.value))
                                                                   : rewired_inputs.end();
      if (to == rewired_inputs.end()) {
        body.append(nf.raw);
        if (nf.number == kNodeInput && nf.wire_type == 2) node.inputs.push_back(nf.value);
      } else {
        protobuf::Message input;
        input.add_bytes(kNodeInput, to->second);
        body.append(input.bytes());
        node.inputs.push_back(to->second);  // rewired_inputs outlives the walk
        rewired.insert(to->first);
        changed = true;
      }
      if (nf.number == kNodeOutput && nf.wire_type == 2) node.outputs.push_back(nf.value);
    }
    if (changed) {
      protobuf::Message rewritten;
      rewritten.add_bytes(kGraphNode, body);
      node.raw = rewritten.bytes();
    }
    nodes.push_back(std::move(node));
  }
  for (const auto& [from, to] : rewired_inputs)
    if (!rewired.count(from)) return Status::invalid_input("no node of the model reads tensor '" + from + "'");

  // Walk back from the outputs; ONNX lists nodes in topological order, so one
  // pass from the end finds every node they need.
  std::set<std::string_view> needed(outputs.begin(), outputs.end());
  std::set<std::string_view> made;
  std::vector<bool> keep(nodes.size(), false);
  for (size_t i = nodes.size(); i-- > 0;) {
    for (const auto& out : nodes[i].outputs)
      if (needed.count(out)) keep[i] = true;
    if (!keep[i]) continue;
    for (const auto& out : nodes[i].outputs) made.insert(out);
    for (const auto& in : nodes[i].inputs) needed.insert(in);
  }
  for (const auto& out : outputs)
    if (!made.count(out)) return Status::invalid_input("no node of the model makes tensor '" + out + "'");

  std::string new_graph;
  bool outputs_written = false;
  size_t node_index = 0;
  for (const auto& f : graph_fields) {
    if (f.number == kGraphNode && f.wire_type == 2) {
      if (keep[node_index]) new_graph.append(nodes[node_index].raw);
      ++node_index;
    } else if (f.number == kGraphOutput || f.number == kGraphValueInfo) {
      // Shapes recorded for the old outputs and intermediates are dropped:
      // they hold the fixed input size the cut is made to escape.
      if (f.number == kGraphOutput && !outputs_written) {
        for (const auto& name : outputs) {
          // OpenCV wants a type and a shape on every output: float, no dimensions given.
          protobuf::Message tensor, type, value_info, holder;
          tensor.add_int(kTensorElemType, kElemFloat);
          tensor.add_message(kTensorShape, protobuf::Message());
          type.add_message(kTypeTensor, tensor);
          value_info.add_bytes(kValueInfoName, name);
          value_info.add_message(kValueInfoType, type);
          holder.add_message(kGraphOutput, value_info);
          new_graph.append(holder.bytes());
        }
        outputs_written = true;
      }
    } else {
      new_graph.append(f.raw);
    }
  }

  std::string out;
  for (const auto& f : model_fields) {
    if (f.number != kModelGraph) {
      out.append(f.raw);
      continue;
    }
    protobuf::Message holder;
    holder.add_bytes(kModelGraph, new_graph);
    out.append(holder.bytes());
  }
  return out;
}

}  // namespace facedex::models
