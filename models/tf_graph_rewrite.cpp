#include "models/tf_graph_rewrite.h"

#include <functional>
#include <map>
#include <set>
#include <vector>

#include "models/protobuf_reader.h"
#include "models/protobuf_writer.h"

namespace facedex::models {
namespace {

// Field numbers from tensorflow/core/framework/{graph,node_def,attr_value,tensor}.proto.
constexpr int kGraphNode = 1;
constexpr int kNodeName = 1, kNodeOp = 2, kNodeInput = 3, kNodeAttr = 5;
constexpr int kMapKey = 1, kMapValue = 2;
constexpr int kAttrInt = 3, kAttrType = 6, kAttrTensor = 8;
constexpr int kTensorDtype = 1, kTensorShape = 2, kTensorBoolVal = 11;
constexpr int kDtFloat = 1, kDtBool = 10;

// One input of a node as written: "name", "name:1" or "^name" (an ordering-only edge).
struct Ref {
  std::string node;
  int output = 0;
  bool control = false;
};

Ref parse_ref(std::string_view s) {
  Ref r;
  if (!s.empty() && s[0] == '^') {
    r.control = true;
    s.remove_prefix(1);
  }
  r.node = std::string(s);
  if (auto colon = r.node.rfind(':'); colon != std::string::npos) {
    r.output = std::atoi(r.node.c_str() + colon + 1);
    r.node.resize(colon);
  }
  return r;
}

std::string ref_string(const Ref& r) {
  return (r.control ? "^" : "") + r.node + (r.output ? ":" + std::to_string(r.output) : "");
}

struct Node {
  std::string_view raw;  // the whole GraphDef field, to copy unchanged
  std::vector<protobuf::Field> fields;
  std::string name, op;
  std::vector<Ref> inputs;
};

void add_attr(protobuf::Message* node, const std::string& key, const protobuf::Message& value) {
  protobuf::Message entry;
  entry.add_bytes(kMapKey, key);
  entry.add_message(kMapValue, value);
  node->add_message(kNodeAttr, entry);
}

protobuf::Message type_attr(int dtype) {
  protobuf::Message m;
  m.add_int(kAttrType, dtype);
  return m;
}

// A NodeDef of `op` with `inputs` and `n`'s other fields, or none of them (`keep_attrs`).
protobuf::Message rebuilt(const Node& n, const std::string& op, const std::vector<Ref>& inputs, bool keep_attrs) {
  protobuf::Message m;
  m.add_bytes(kNodeName, n.name);
  m.add_bytes(kNodeOp, op);
  for (const Ref& r : inputs) m.add_bytes(kNodeInput, ref_string(r));
  for (const auto& f : n.fields)
    if (f.number != kNodeName && f.number != kNodeOp && f.number != kNodeInput && (keep_attrs || f.number != kNodeAttr))
      m.add_raw(f.raw);
  return m;
}

class GraphRewrite {
 public:
  GraphRewrite(std::vector<protobuf::Field> top, std::vector<Node> nodes, const TfGraphFeed& feed)
      : top_(std::move(top)), nodes_(std::move(nodes)), feed_(feed) {
    for (size_t i = 0; i < nodes_.size(); ++i) by_name_[nodes_[i].name] = i;
  }

  Expected<std::string> run() {
    for (const std::string* name : {&feed_.input, &feed_.output})
      if (!name->empty() && !by_name_.count(*name))
        return Status::invalid_input("the graph has no tensor \"" + *name + "\" (its placeholders: " + placeholders() +
                                     ")");
    folding_ = !feed_.phase_train.empty() && by_name_.count(feed_.phase_train);
    std::set<std::string> kept;
    if (!feed_.output.empty()) keep(feed_.output, &kept);

    std::string out;
    size_t next = 0;  // top-level fields are copied in order, nodes rewritten where needed
    for (const auto& f : top_) {
      if (f.number != kGraphNode || f.wire_type != protobuf::kLengthDelimitedWire) {
        out.append(f.raw);
        continue;
      }
      const Node& n = nodes_[next++];
      if (!feed_.output.empty() && !kept.count(n.name)) continue;
      protobuf::Message wrapper;
      if (n.name == feed_.input && n.op != "Placeholder") {
        protobuf::Message m = rebuilt(n, "Placeholder", {}, false);
        add_attr(&m, "dtype", type_attr(kDtFloat));
        wrapper.add_message(kGraphNode, m);
      } else if (folding_ && n.name == feed_.phase_train) {
        protobuf::Message m = rebuilt(n, "Const", {}, false), tensor, value;
        add_attr(&m, "dtype", type_attr(kDtBool));
        tensor.add_int(kTensorDtype, kDtBool);
        tensor.add_message(kTensorShape, protobuf::Message());
        tensor.add_int(kTensorBoolVal, 0);
        value.add_message(kAttrTensor, tensor);
        add_attr(&m, "value", value);
        wrapper.add_message(kGraphNode, m);
      } else {
        const std::vector<Ref> inputs = live_inputs(n);
        const bool addn = add_of_scaled(n);
        if (!addn && !changed(n, inputs)) {
          out.append(n.raw);
          continue;
        }
        protobuf::Message m = rebuilt(n, addn ? "AddN" : n.op, inputs, true);
        if (addn) {
          protobuf::Message count;
          count.add_int(kAttrInt, 2);  // AddN's N, the number of its inputs
          add_attr(&m, "N", count);
        }
        wrapper.add_message(kGraphNode, m);
      }
      out.append(wrapper.bytes());
    }
    return out;
  }

 private:
  const Node* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &nodes_[it->second];
  }
  std::string op_of(const std::string& name) const {
    const Node* n = find(name);
    return n ? n->op : "";
  }

  std::string placeholders() const {
    std::string out;
    for (const Node& n : nodes_)
      if (n.op == "Placeholder" || n.op == "PlaceholderWithDefault") out += (out.empty() ? "" : ", ") + n.name;
    return out.empty() ? "none" : out;
  }

  bool add_of_scaled(const Node& n) const {
    auto mul_by_constant = [&](const Ref& r) {
      const Node* m = find(r.node);
      if (!m || m->op != "Mul") return false;
      for (const Ref& in : m->inputs)
        if (op_of(in.node) == "Const") return true;
      return false;
    };
    return n.op == "Add" && n.inputs.size() == 2 && op_of(n.inputs[0].node) != "Const" &&
           op_of(n.inputs[1].node) != "Const" && (mul_by_constant(n.inputs[0]) || mul_by_constant(n.inputs[1]));
  }

  // phase_train, possibly through Identity nodes (tf.cond's pred_id).
  bool is_false_predicate(const std::string& name, int depth = 0) const {
    if (!folding_ || depth > 16) return false;
    if (name == feed_.phase_train) return true;
    const Node* n = find(name);
    return n && n->op == "Identity" && !n->inputs.empty() && is_false_predicate(n->inputs[0].node, depth + 1);
  }
  // A Switch whose predicate is phase_train: only its output 0 (false) is live.
  bool folded_switch(const Node& n) const {
    return (n.op == "Switch" || n.op == "RefSwitch") && n.inputs.size() == 2 && is_false_predicate(n.inputs[1].node);
  }

  // Whether the tensor `r` names is never computed once phase_train is false.
  bool dead(const Ref& r) {
    if (!folding_) return false;
    const Node* n = find(r.node);
    if (!n) return false;
    if (folded_switch(*n) && !r.control && r.output != 0) return true;
    return node_dead(*n);
  }
  bool node_dead(const Node& n) {
    if (auto it = dead_.find(n.name); it != dead_.end()) return it->second;
    dead_[n.name] = false;  // a loop (NextIteration -> Merge) counts as live
    bool result;
    if (n.op == "Merge") {
      result = true;
      for (const Ref& in : n.inputs)
        if (!in.control && !dead(in)) result = false;
    } else {
      result = false;
      for (const Ref& in : n.inputs)
        if (dead(in)) result = true;
    }
    return dead_[n.name] = result;
  }

  // The tensor `r` stands for once Switches pass their data and Merges their one live input.
  Ref resolve(Ref r, int depth = 0) {
    const Node* n = find(r.node);
    if (!folding_ || !n || r.control || depth > 10000) return r;
    if (folded_switch(*n)) return resolve(n->inputs[0], depth + 1);
    if (n->op == "Merge" && r.output == 0) {
      const Ref* live = nullptr;
      int count = 0;
      for (const Ref& in : n->inputs)
        if (!in.control && !dead(in)) live = &in, ++count;
      if (count == 1) return resolve(*live, depth + 1);
    }
    return r;
  }

  // n's inputs after folding: dead control edges dropped, the rest resolved.
  std::vector<Ref> live_inputs(const Node& n) {
    std::vector<Ref> out;
    for (const Ref& in : n.inputs) {
      if (in.control) {
        if (!folding_) out.push_back(in);
        continue;  // ordering only: a frozen graph run for inference does not need it
      }
      out.push_back(resolve(in));
    }
    return out;
  }
  static bool changed(const Node& n, const std::vector<Ref>& inputs) {
    if (inputs.size() != n.inputs.size()) return true;
    for (size_t i = 0; i < inputs.size(); ++i)
      if (ref_string(inputs[i]) != ref_string(n.inputs[i])) return true;
    return false;
  }

  // Marks `name` and what it needs, through folded inputs.
  void keep(const std::string& name, std::set<std::string>* kept) {
    std::vector<std::string> stack{name};
    while (!stack.empty()) {
      std::string s = std::move(stack.back());
      stack.pop_back();
      if (!kept->insert(s).second) continue;
      const Node* n = find(s);
      if (!n || s == feed_.input || (folding_ && s == feed_.phase_train)) continue;
      for (const Ref& in : live_inputs(*n))
        if (!kept->count(in.node)) stack.push_back(in.node);
    }
  }

  std::vector<protobuf::Field> top_;
  std::vector<Node> nodes_;
  TfGraphFeed feed_;
  std::map<std::string, size_t> by_name_;
  std::map<std::string, bool> dead_;
  bool folding_ = false;
};

}  // namespace

Expected<std::string> graphdef_for_opencv(const std::string& graphdef, const TfGraphFeed& feed) {
  std::vector<protobuf::Field> top;
  if (!protobuf::read_fields(graphdef, &top)) return Status::invalid_input("not a TensorFlow GraphDef");
  std::vector<Node> nodes;
  for (const auto& f : top) {
    if (f.number != kGraphNode || f.wire_type != protobuf::kLengthDelimitedWire) continue;
    Node n;
    n.raw = f.raw;
    if (!protobuf::read_fields(f.value, &n.fields)) return Status::invalid_input("a node that is not a NodeDef");
    for (const auto& nf : n.fields) {
      if (nf.wire_type != protobuf::kLengthDelimitedWire) continue;
      if (nf.number == kNodeName) n.name = std::string(nf.value);
      if (nf.number == kNodeOp) n.op = std::string(nf.value);
      if (nf.number == kNodeInput) n.inputs.push_back(parse_ref(nf.value));
    }
    nodes.push_back(std::move(n));
  }
  if (nodes.empty()) return Status::invalid_input("not a TensorFlow GraphDef (no nodes)");
  return GraphRewrite(std::move(top), std::move(nodes), feed).run();
}

}  // namespace facedex::models
