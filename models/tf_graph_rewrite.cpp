#include "models/tf_graph_rewrite.h"

#include <map>
#include <set>
#include <vector>

#include "models/protobuf_reader.h"
#include "models/protobuf_writer.h"

namespace facedex::models {
namespace {

// Field numbers from tensorflow/core/framework/{graph,node_def}.proto.
constexpr int kGraphNode = 1;
constexpr int kNodeName = 1, kNodeOp = 2, kNodeInput = 3, kNodeAttr = 5;
constexpr int kMapKey = 1, kMapValue = 2, kAttrInt = 3;

struct Node {
  std::string_view raw;  // the whole GraphDef field, to copy unchanged
  std::vector<protobuf::Field> fields;
  std::string name, op;
  std::vector<std::string> inputs;  // node names, ":0" and "^" dropped
};

std::string node_of(std::string_view input) {
  std::string s(input);
  if (!s.empty() && s[0] == '^') s.erase(0, 1);
  if (auto colon = s.find(':'); colon != std::string::npos) s.resize(colon);
  return s;
}

}  // namespace

Expected<std::string> graphdef_for_opencv(const std::string& graphdef) {
  std::vector<protobuf::Field> top;
  if (!protobuf::read_fields(graphdef, &top)) return Status::invalid_input("not a TensorFlow GraphDef");
  std::vector<Node> nodes;
  std::map<std::string, size_t> by_name;
  for (const auto& f : top) {
    if (f.number != kGraphNode || f.wire_type != protobuf::kLengthDelimitedWire) continue;
    Node n;
    n.raw = f.raw;
    if (!protobuf::read_fields(f.value, &n.fields)) return Status::invalid_input("a node that is not a NodeDef");
    for (const auto& nf : n.fields) {
      if (nf.wire_type != protobuf::kLengthDelimitedWire) continue;
      if (nf.number == kNodeName) n.name = std::string(nf.value);
      if (nf.number == kNodeOp) n.op = std::string(nf.value);
      if (nf.number == kNodeInput) n.inputs.push_back(node_of(nf.value));
    }
    by_name[n.name] = nodes.size();
    nodes.push_back(std::move(n));
  }
  auto op_of = [&](const std::string& name) -> std::string {
    auto it = by_name.find(name);
    return it == by_name.end() ? "" : nodes[it->second].op;
  };
  auto mul_by_constant = [&](const std::string& name) {
    auto it = by_name.find(name);
    if (it == by_name.end() || nodes[it->second].op != "Mul") return false;
    for (const auto& in : nodes[it->second].inputs)
      if (op_of(in) == "Const") return true;
    return false;
  };

  std::string out;
  size_t next = 0;  // top-level fields are copied in order, nodes rewritten where needed
  for (const auto& f : top) {
    const bool node = f.number == kGraphNode && f.wire_type == protobuf::kLengthDelimitedWire;
    if (!node) {
      out.append(f.raw);
      continue;
    }
    const Node& n = nodes[next++];
    bool rewrite = false;
    if (n.op == "Add" && n.inputs.size() == 2 && op_of(n.inputs[0]) != "Const" && op_of(n.inputs[1]) != "Const")
      rewrite = mul_by_constant(n.inputs[0]) || mul_by_constant(n.inputs[1]);
    if (!rewrite) {
      out.append(n.raw);
      continue;
    }
    protobuf::Message m;
    for (const auto& nf : n.fields) {
      if (nf.number == kNodeOp) {
        m.add_bytes(kNodeOp, "AddN");
      } else {
        m.add_raw(nf.raw);
      }
    }
    protobuf::Message count, entry;  // AddN's N, the number of its inputs
    count.add_int(kAttrInt, 2);
    entry.add_bytes(kMapKey, "N");
    entry.add_message(kMapValue, count);
    m.add_message(kNodeAttr, entry);
    protobuf::Message wrapper;
    wrapper.add_message(kGraphNode, m);
    out.append(wrapper.bytes());
  }
  return out;
}

}  // namespace facedex::models
