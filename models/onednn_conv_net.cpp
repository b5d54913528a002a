#include "models/onednn_conv_net.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>
#include <string>
#include <unordered_map>

#include "models/kernels/winograd_conv.h"

namespace facedex::models {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

enum class OpKind { kConv, kRelu, kAdd, kConcat, kResize };

struct Conv {
  int out_channels = 0, in_channels = 0, groups = 1, kh = 1, kw = 1;
  int stride_h = 1, stride_w = 1, pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  std::vector<float> weights;  // [out][in / groups][kh][kw]
  std::vector<float> bias;     // [out]
};

struct Op {
  OpKind kind = OpKind::kRelu;
  std::vector<int> srcs;
  int dst = -1;
  bool relu = false;               // a Relu fused after the op
  int prelu = -1;                  // kConv: a PRelu fused after it, its slopes in Plan::slopes
  int conv = -1;                   // kConv: index into Plan::convs
  int factor_h = 1, factor_w = 1;  // kResize
};

// The graph as oneDNN will run it, whatever the input's size.
struct Plan {
  int input = -1;                          // the tensor the first ops read
  float input_scale = 1, input_shift = 0;  // applied to the blob: x * scale + shift
  std::vector<Op> ops;
  std::vector<Conv> convs;
  std::vector<std::vector<float>> slopes;  // per fused PRelu, one per channel
  std::vector<int> outputs;
  int tensors = 0;
};

Status unsupported(const OnnxNode& n, const std::string& why) {
  return Status::unsupported("node '" + n.name + "' (" + n.op_type + "): " + why);
}

std::vector<int64_t> ints_or(const OnnxNode& n, const char* name, std::vector<int64_t> fallback) {
  auto it = n.ints.find(name);
  return it == n.ints.end() ? fallback : it->second;
}

Expected<Plan> make_plan(const OnnxGraph& g, const std::vector<std::string>& outputs) {
  if (g.inputs.size() != 1) return Status::unsupported("the graph has " + std::to_string(g.inputs.size()) + " inputs");
  std::map<std::string, int> ids;
  auto id = [&](const std::string& name) { return ids.emplace(name, int(ids.size())).first->second; };
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs)
      if (!g.initializers.count(in)) readers[in].push_back(i);
  const std::set<std::string> wanted(outputs.begin(), outputs.end());
  std::vector<bool> done(g.nodes.size(), false);
  // The one node reading `t`, when it is of type `op` and `t` is not an output.
  auto sole = [&](const std::string& t, const char* op) -> const OnnxNode* {
    auto it = readers.find(t);
    if (wanted.count(t) || it == readers.end() || it->second.size() != 1) return nullptr;
    const OnnxNode& n = g.nodes[it->second[0]];
    return n.op_type == op ? &n : nullptr;
  };
  auto take = [&](const OnnxNode* n) { done[size_t(n - g.nodes.data())] = true; };
  auto fuse_relu = [&](std::string* out) {
    const OnnxNode* r = sole(*out, "Relu");
    if (!r) return false;
    take(r);
    *out = r->outputs.at(0);
    return true;
  };

  Plan plan;
  std::string current = g.inputs[0];
  for (;;) {
    const OnnxNode* n = sole(current, "Sub");
    if (!n) n = sole(current, "Mul");
    if (!n || n->inputs.size() != 2 || n->inputs[0] != current) break;
    auto it = g.initializers.find(n->inputs[1]);
    if (it == g.initializers.end() || it->second.values.size() != 1) break;
    const float v = it->second.values[0];
    if (n->op_type == "Sub") {
      plan.input_shift -= v;
    } else {
      plan.input_scale *= v;
      plan.input_shift *= v;
    }
    take(n);
    current = n->outputs.at(0);
  }
  plan.input = id(current);

  std::set<int> made{plan.input};
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (done[i]) continue;
    const OnnxNode& n = g.nodes[i];
    if (n.outputs.size() != 1) return unsupported(n, "one output expected");
    Op op;
    std::string out = n.outputs[0];
    std::vector<std::string> srcs;
    if (n.op_type == "Conv") {
      auto w = n.inputs.size() > 1 ? g.initializers.find(n.inputs[1]) : g.initializers.end();
      if (w == g.initializers.end() || w->second.dims.size() != 4) return unsupported(n, "4-d weights expected");
      Conv c;
      c.groups = int(ints_or(n, "group", {1}).at(0));
      c.out_channels = int(w->second.dims[0]);
      c.in_channels = int(w->second.dims[1]) * c.groups;
      c.kh = int(w->second.dims[2]);
      c.kw = int(w->second.dims[3]);
      const auto strides = ints_or(n, "strides", {1, 1}), pads = ints_or(n, "pads", {0, 0, 0, 0});
      const auto dilations = ints_or(n, "dilations", {1, 1});
      if (strides.size() != 2 || pads.size() != 4 || dilations != std::vector<int64_t>{1, 1})
        return unsupported(n, "2-d strides and pads and no dilation expected");
      if (n.strings.count("auto_pad") && n.strings.at("auto_pad") != "NOTSET") return unsupported(n, "auto_pad");
      c.stride_h = int(strides[0]), c.stride_w = int(strides[1]);
      c.pad_t = int(pads[0]), c.pad_l = int(pads[1]), c.pad_b = int(pads[2]), c.pad_r = int(pads[3]);
      c.weights = w->second.values;
      c.bias.assign(size_t(c.out_channels), 0.f);
      if (n.inputs.size() > 2) {
        auto b = g.initializers.find(n.inputs[2]);
        if (b == g.initializers.end() || b->second.values.size() != c.bias.size()) return unsupported(n, "bad bias");
        c.bias = b->second.values;
      }
      if (const OnnxNode* bn = sole(out, "BatchNormalization")) {
        // y = gamma * (x - mean) / sqrt(var + eps) + beta, folded into the weights and bias.
        std::vector<const std::vector<float>*> p;
        for (size_t k = 1; k < 5 && k < bn->inputs.size(); ++k) {
          auto it = g.initializers.find(bn->inputs[k]);
          if (it == g.initializers.end() || it->second.values.size() != c.bias.size())
            return unsupported(*bn, "per-channel parameters expected");
          p.push_back(&it->second.values);
        }
        if (p.size() != 4) return unsupported(*bn, "four parameters expected");
        const float eps = bn->floats.count("epsilon") ? bn->floats.at("epsilon") : 1e-5f;
        const size_t per_out = c.weights.size() / c.bias.size();
        for (size_t o = 0; o < c.bias.size(); ++o) {
          const float scale = (*p[0])[o] / std::sqrt((*p[3])[o] + eps);
          for (size_t k = 0; k < per_out; ++k) c.weights[o * per_out + k] *= scale;
          c.bias[o] = (c.bias[o] - (*p[2])[o]) * scale + (*p[1])[o];
        }
        take(bn);
        out = bn->outputs.at(0);
      }
      op.kind = OpKind::kConv;
      op.conv = int(plan.convs.size());
      plan.convs.push_back(std::move(c));
      op.relu = fuse_relu(&out);
      if (const OnnxNode* p = op.relu ? nullptr : sole(out, "PRelu")) {
        auto s = p->inputs.size() == 2 ? g.initializers.find(p->inputs[1]) : g.initializers.end();
        const size_t channels = size_t(plan.convs.back().out_channels);
        if (s == g.initializers.end() || (s->second.values.size() != 1 && s->second.values.size() != channels))
          return unsupported(*p, "one slope or one per channel expected");
        std::vector<float> slopes = s->second.values;
        slopes.resize(channels, slopes[0]);
        op.prelu = int(plan.slopes.size());
        plan.slopes.push_back(std::move(slopes));
        take(p);
        out = p->outputs.at(0);
      }
      srcs = {n.inputs[0]};
    } else if (n.op_type == "Reshape" || n.op_type == "Flatten") {
      // Only as a graph output: the output is handed over in NCHW order, which
      // is the order of its values after any reshape, so it is the same tensor.
      if (!wanted.count(out) || readers.count(out) || !made.count(id(n.inputs.at(0))))
        return unsupported(n, "only a graph output's reshape is run");
      ids[out] = id(n.inputs[0]);
      continue;
    } else if (n.op_type == "Relu") {
      op.kind = OpKind::kRelu;
      srcs = {n.inputs.at(0)};
    } else if (n.op_type == "Add" || n.op_type == "Concat") {
      if (n.op_type == "Concat" && ints_or(n, "axis", {0}).at(0) != 1) return unsupported(n, "channels only");
      if (n.op_type == "Add" && n.inputs.size() != 2) return unsupported(n, "two inputs expected");
      for (const auto& in : n.inputs)
        if (g.initializers.count(in)) return unsupported(n, "constant inputs");
      op.kind = n.op_type == "Add" ? OpKind::kAdd : OpKind::kConcat;
      op.relu = fuse_relu(&out);
      srcs = n.inputs;
    } else if (n.op_type == "Resize" || n.op_type == "Upsample") {
      if (n.strings.count("mode") && n.strings.at("mode") != "nearest") return unsupported(n, "nearest only");
      const std::vector<float>* scales = nullptr;
      for (size_t k = 1; k < n.inputs.size(); ++k)
        if (auto it = g.initializers.find(n.inputs[k]); it != g.initializers.end() && it->second.values.size() == 4)
          scales = &it->second.values;
      if (!scales || (*scales)[0] != 1 || (*scales)[1] != 1 || (*scales)[2] < 1 || (*scales)[3] < 1 ||
          (*scales)[2] != std::floor((*scales)[2]) || (*scales)[3] != std::floor((*scales)[3]))
        return unsupported(n, "whole scale factors on height and width expected");
      op.kind = OpKind::kResize;
      op.factor_h = int((*scales)[2]);
      op.factor_w = int((*scales)[3]);
      srcs = {n.inputs.at(0)};
    } else {
      return unsupported(n, "not an operation this network runs");
    }
    for (const auto& s : srcs) {
      const int sid = id(s);
      if (!made.count(sid)) return unsupported(n, "reads '" + s + "', which no earlier node makes");
      op.srcs.push_back(sid);
    }
    op.dst = id(out);
    made.insert(op.dst);
    plan.ops.push_back(std::move(op));
  }
  for (const auto& o : outputs) {
    auto it = ids.find(o);
    if (it == ids.end() || it->second == plan.input || !made.count(it->second))
      return Status::unsupported("no node makes output '" + o + "'");
    plan.outputs.push_back(it->second);
  }
  plan.tensors = int(ids.size());
  return plan;
}

// The channel-blocked layout oneDNN's convolutions prefer on this CPU.
Tag blocked_tag(const dnnl::engine& engine) {
  const memory::dims d{1, 64, 32, 32};
  const auto any = [&](const memory::dims& dims) { return memory::desc(dims, Dt::f32, Tag::any); };
  dnnl::convolution_forward::primitive_desc pd({dnnl::prop_kind::forward_inference,
                                                dnnl::algorithm::convolution_direct,
                                                any(d),
                                                any({64, 64, 3, 3}),
                                                any(d),
                                                {1, 1},
                                                {1, 1},
                                                {1, 1}},
                                               engine);
  return pd.dst_desc() == memory::desc(d, Dt::f32, Tag::nChw16c) ? Tag::nChw16c : Tag::nChw8c;
}

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

// Activation memory: blocks that the networks of every shape share (one runs
// at a time), so that a new photo size does not fault in fresh pages.
struct BufferPool {
  std::vector<std::unique_ptr<float, AlignedFree>> blocks;
  std::vector<size_t> bytes;

  float* block(size_t i, size_t need) {
    if (i >= blocks.size()) {
      blocks.resize(i + 1);
      bytes.resize(i + 1, 0);
    }
    if (bytes[i] < need) {
      // Half again as much: photos of growing sizes grow it a few times only.
      const size_t rounded = (std::max(need, bytes[i] + bytes[i] / 2) + 63) / 64 * 64;
      blocks[i].reset(static_cast<float*>(std::aligned_alloc(64, rounded)));
      if (!blocks[i]) throw std::bad_alloc();
      bytes[i] = rounded;
    }
    return blocks[i].get();
  }
};

// The primitives for one input shape, and where its tensors live in the pool.
struct ShapeNet {
  memory::dims input_dims;
  memory input;
  std::vector<size_t> block_bytes;                // per pool block, what this shape needs
  std::vector<std::pair<memory, size_t>> placed;  // each tensor's memory and its block
  std::vector<memory> weights;                    // per conv, in the primitive's layout
  std::vector<std::unique_ptr<WinogradConv3x3>> winograd_convs;
  std::vector<std::function<void(dnnl::stream&)>> steps;
  std::vector<std::pair<memory::desc, memory>> outputs;  // each output's NCHW desc and its blocked memory
  std::vector<memory::dims> output_dims;
};

// What the networks of every shape share: Winograd's transformed filters by
// (conv, tile), and its working memory.
struct WinogradShared {
  std::map<std::pair<int, int>, WinogradFilters> filters;
  WinogradConv3x3::Scratch scratch;
};

// The 3x3 convolutions facedex's Winograd kernel runs (it needs nChw8c
// tensors and whole strips of 16 output channels).
bool winograd_fits(const Conv& c, const memory::desc& src, Tag tag) {
  return winograd_available() && tag == Tag::nChw8c && c.kh == 3 && c.kw == 3 && c.stride_h == 1 && c.stride_w == 1 &&
         c.pad_t == 1 && c.pad_l == 1 && c.pad_b == 1 && c.pad_r == 1 && c.groups == 1 && c.out_channels % 16 == 0 &&
         c.in_channels % 8 == 0 && src == memory::desc(src.dims(), Dt::f32, tag);
}

// Rows of BLOCK channels by `plane` pixels; row r has the slopes of block r % blocks.
// Branch-free and alias-free, so that the compiler vectorizes the block.
template <int64_t kBlock>
void prelu_rows(float* x, const float* slopes, int64_t rows, int64_t blocks, int64_t plane) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float s[kBlock];  // a copy the stores cannot alias
    std::copy_n(slopes + (r % blocks) * kBlock, kBlock, s);
    float* p = x + r * plane * kBlock;
    for (int64_t i = 0; i < plane; ++i, p += kBlock)
      for (int64_t k = 0; k < kBlock; ++k) p[k] = std::max(p[k], 0.f) + s[k] * std::min(p[k], 0.f);
  }
}

// PReLU in place on a convolution's output, as a step of its own: oneDNN 2.6
// has no JIT convolution with a PReLU post-op. Its PReLU primitive is used
// where it is JIT; that takes only the CPU's own channel block (16 with
// AVX-512), so on 8-blocked tensors there it would run its reference loop,
// and our loop runs instead (tensors in `tag`: nChw8c, nChw16c or nchw).
// FACEDEX_ONEDNN_PRELU=own always takes our loop (tests compare both).
void add_prelu(ShapeNet& net, const memory& dst, Tag tag, const std::vector<float>& slopes, const dnnl::engine& engine,
               dnnl::stream& stream) {
  const memory::dims d = dst.get_desc().dims();
  const memory::dims slope_dims{1, d[1], 1, 1};
  dnnl::prelu_forward::primitive_desc prelu(
      {dnnl::prop_kind::forward_inference, dst.get_desc(), memory::desc(slope_dims, Dt::f32, Tag::any)}, engine);
  const char* choice = std::getenv("FACEDEX_ONEDNN_PRELU");
  const bool own = (choice && std::string(choice) == "own") || std::string(prelu.impl_info_str()).rfind("ref", 0) == 0;
  if (!own) {
    memory user_slopes({slope_dims, Dt::f32, Tag::nchw}, engine, const_cast<float*>(slopes.data()));
    memory w(prelu.weights_desc(), engine);
    dnnl::reorder(user_slopes, w).execute(stream, user_slopes, w);
    net.steps.push_back([p = dnnl::prelu_forward(prelu), dst, w](dnnl::stream& s) {
      p.execute(s, {{DNNL_ARG_SRC, dst}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}});
    });
    return;
  }
  const int64_t block = tag == Tag::nChw16c ? 16 : tag == Tag::nChw8c ? 8 : 1;
  const int64_t blocks = (d[1] + block - 1) / block, plane = d[2] * d[3];
  // Slopes per element of a channel block; padded channels hold zeros and stay zero.
  std::vector<float> a(size_t(blocks * block), 0.f);
  std::copy(slopes.begin(), slopes.end(), a.begin());
  net.steps.push_back([dst, a = std::move(a), rows = d[0] * blocks, blocks, block, plane](dnnl::stream&) {
    float* x = static_cast<float*>(dst.get_data_handle());
    if (block == 16) return prelu_rows<16>(x, a.data(), rows, blocks, plane);
    if (block == 8) return prelu_rows<8>(x, a.data(), rows, blocks, plane);
    prelu_rows<1>(x, a.data(), rows, blocks, plane);
  });
}

std::unique_ptr<ShapeNet> make_shape_net(const Plan& plan, const memory::dims& input_dims, Tag tag,
                                         WinogradShared& winograd, const dnnl::engine& engine, dnnl::stream& stream) {
  auto net = std::make_unique<ShapeNet>();
  net->input_dims = input_dims;
  std::vector<memory::dims> dims(size_t(plan.tensors));
  std::vector<memory::desc> descs(size_t(plan.tensors));
  dims[size_t(plan.input)] = input_dims;
  descs[size_t(plan.input)] = memory::desc(input_dims, Dt::f32, Tag::nchw);
  for (const Op& op : plan.ops) {
    memory::dims d = dims[size_t(op.srcs[0])];
    if (op.kind == OpKind::kConv) {
      const Conv& c = plan.convs[size_t(op.conv)];
      d = {d[0], c.out_channels, (d[2] + c.pad_t + c.pad_b - c.kh) / c.stride_h + 1,
           (d[3] + c.pad_l + c.pad_r - c.kw) / c.stride_w + 1};
    } else if (op.kind == OpKind::kConcat) {
      d[1] = 0;
      for (int s : op.srcs) d[1] += dims[size_t(s)][1];
    } else if (op.kind == OpKind::kResize) {
      d[2] *= op.factor_h;
      d[3] *= op.factor_w;
    }
    dims[size_t(op.dst)] = d;
    descs[size_t(op.dst)] = memory::desc(d, Dt::f32, tag);
  }

  // Buffers: a tensor's is free again once its last reader has run.
  std::vector<int> last_use(size_t(plan.tensors), -1);
  for (size_t k = 0; k < plan.ops.size(); ++k)
    for (int s : plan.ops[k].srcs) last_use[size_t(s)] = int(k);
  for (int o : plan.outputs) last_use[size_t(o)] = int(plan.ops.size());
  std::vector<size_t>& block_bytes = net->block_bytes;
  std::vector<int> free_blocks, block_of(size_t(plan.tensors), -1);
  std::vector<memory> mems(size_t(plan.tensors));
  auto place = [&](int t) {
    const size_t need = descs[size_t(t)].get_size();
    int best = -1;
    for (int b : free_blocks)
      if (block_bytes[size_t(b)] >= need && (best < 0 || block_bytes[size_t(b)] < block_bytes[size_t(best)])) best = b;
    if (best >= 0) {
      free_blocks.erase(std::find(free_blocks.begin(), free_blocks.end(), best));
      block_bytes[size_t(best)] = std::max(block_bytes[size_t(best)], need);
    } else if (!free_blocks.empty()) {  // the largest free block grows
      auto largest = std::max_element(free_blocks.begin(), free_blocks.end(),
                                      [&](int a, int b) { return block_bytes[size_t(a)] < block_bytes[size_t(b)]; });
      best = *largest;
      free_blocks.erase(largest);
      block_bytes[size_t(best)] = need;
    } else {
      block_bytes.push_back(need);
      best = int(block_bytes.size()) - 1;
    }
    block_of[size_t(t)] = best;
    mems[size_t(t)] = memory(descs[size_t(t)], engine, DNNL_MEMORY_NONE);
    net->placed.push_back({mems[size_t(t)], size_t(best)});
  };
  place(plan.input);
  net->input = mems[size_t(plan.input)];

  auto relu_attr = [](bool relu) {
    dnnl::primitive_attr attr;
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    return attr;
  };
  auto add = [&](dnnl::primitive p, std::unordered_map<int, memory> args) {
    net->steps.push_back([p = std::move(p), args = std::move(args)](dnnl::stream& s) { p.execute(s, args); });
  };
  net->weights.resize(plan.convs.size());
  for (size_t k = 0; k < plan.ops.size(); ++k) {
    const Op& op = plan.ops[k];
    place(op.dst);
    const memory& dst = mems[size_t(op.dst)];
    const memory& src = mems[size_t(op.srcs[0])];
    if (op.kind == OpKind::kConv && op.prelu < 0 && winograd_fits(plan.convs[size_t(op.conv)], src.get_desc(), tag)) {
      const Conv& c = plan.convs[size_t(op.conv)];
      const int tile = winograd_tile_for(dims[size_t(op.dst)][2], c.out_channels);
      WinogradFilters& u = winograd.filters[{op.conv, tile}];
      if (!u) u = transform_winograd_filters(c.weights, c.in_channels, c.out_channels, tile);
      net->winograd_convs.push_back(std::make_unique<WinogradConv3x3>(
          u, c.bias, c.in_channels, c.out_channels, src, dst,
          op.relu ? WinogradConv3x3::Post::kRelu : WinogradConv3x3::Post::kNone, tile));
      net->steps.push_back([conv = net->winograd_convs.back().get(), scratch = &winograd.scratch](dnnl::stream& s) {
        conv->run(s, *scratch);
      });
    } else if (op.kind == OpKind::kConv) {
      const Conv& c = plan.convs[size_t(op.conv)];
      const memory::dims w_dims =
          c.groups > 1 ? memory::dims{c.groups, c.out_channels / c.groups, c.in_channels / c.groups, c.kh, c.kw}
                       : memory::dims{c.out_channels, c.in_channels, c.kh, c.kw};
      const memory::desc bias_desc({c.out_channels}, Dt::f32, Tag::x);
      dnnl::convolution_forward::primitive_desc pd({dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct,
                                                    src.get_desc(),
                                                    memory::desc(w_dims, Dt::f32, Tag::any),
                                                    bias_desc,
                                                    dst.get_desc(),
                                                    {c.stride_h, c.stride_w},
                                                    {c.pad_t, c.pad_l},
                                                    {c.pad_b, c.pad_r}},
                                                   relu_attr(op.relu), engine);
      memory user_w({w_dims, Dt::f32, c.groups > 1 ? Tag::goihw : Tag::oihw}, engine,
                    const_cast<float*>(c.weights.data()));
      memory& w = net->weights[size_t(op.conv)];
      w = memory(pd.weights_desc(), engine);
      dnnl::reorder(user_w, w).execute(stream, user_w, w);
      memory bias(bias_desc, engine, const_cast<float*>(c.bias.data()));
      add(dnnl::convolution_forward(pd),
          {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
      if (op.prelu >= 0) add_prelu(*net, dst, tag, plan.slopes[size_t(op.prelu)], engine, stream);
    } else if (op.kind == OpKind::kRelu) {
      dnnl::eltwise_forward::primitive_desc pd(
          {dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu, src.get_desc(), 0.f}, engine);
      add(dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    } else if (op.kind == OpKind::kAdd) {
      const memory& b = mems[size_t(op.srcs[1])];
      dnnl::binary::primitive_desc pd({dnnl::algorithm::binary_add, src.get_desc(), b.get_desc(), dst.get_desc()},
                                      relu_attr(op.relu), engine);
      add(dnnl::binary(pd), {{DNNL_ARG_SRC_0, src}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}});
    } else if (op.kind == OpKind::kConcat) {
      std::vector<memory::desc> src_descs;
      std::unordered_map<int, memory> args{{DNNL_ARG_DST, dst}};
      for (size_t s = 0; s < op.srcs.size(); ++s) {
        src_descs.push_back(mems[size_t(op.srcs[s])].get_desc());
        args[DNNL_ARG_MULTIPLE_SRC + int(s)] = mems[size_t(op.srcs[s])];
      }
      add(dnnl::concat(dnnl::concat::primitive_desc(dst.get_desc(), 1, src_descs, engine)), args);
      if (op.relu) {
        dnnl::eltwise_forward::primitive_desc pd(
            {dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu, dst.get_desc(), 0.f}, engine);
        add(dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}});
      }
    } else {
      dnnl::resampling_forward::primitive_desc pd(
          {dnnl::prop_kind::forward_inference, dnnl::algorithm::resampling_nearest, src.get_desc(), dst.get_desc()},
          engine);
      add(dnnl::resampling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    }
    for (int s : op.srcs)
      if (last_use[size_t(s)] == int(k) && block_of[size_t(s)] >= 0) {
        free_blocks.push_back(block_of[size_t(s)]);
        block_of[size_t(s)] = -1;
      }
  }
  for (int o : plan.outputs) {
    net->outputs.push_back({memory::desc(dims[size_t(o)], Dt::f32, Tag::nchw), mems[size_t(o)]});
    net->output_dims.push_back(dims[size_t(o)]);
  }
  stream.wait();
  return net;
}

// Shapes whose primitives are kept, most recently used first: the detector
// runs a few scales per photo, and photos of one camera share them.
constexpr size_t kKeptShapes = 4;

}  // namespace

struct OnednnConvNet::Impl {
  Plan plan;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  Tag tag = Tag::nChw8c;
  WinogradShared winograd;
  BufferPool pool;
  int threads = 0;
  std::vector<std::unique_ptr<ShapeNet>> kept;

  ShapeNet& shape_net(const memory::dims& input_dims) {
    auto it = std::find_if(kept.begin(), kept.end(), [&](const auto& n) { return n->input_dims == input_dims; });
    if (it == kept.end()) {
      if (kept.size() >= kKeptShapes) kept.pop_back();
      kept.push_back(make_shape_net(plan, input_dims, tag, winograd, engine, stream));
      it = std::prev(kept.end());
    }
    std::rotate(kept.begin(), it, std::next(it));
    return *kept.front();
  }
};

OnednnConvNet::OnednnConvNet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OnednnConvNet::~OnednnConvNet() = default;

Expected<std::unique_ptr<OnednnConvNet>> OnednnConvNet::create(const OnnxGraph& graph,
                                                               const std::vector<std::string>& outputs) {
  auto plan = make_plan(graph, outputs);
  if (!plan) return plan.status();
  auto impl = std::make_unique<Impl>();
  impl->plan = std::move(*plan);
  try {
    impl->tag = winograd_available() ? Tag::nChw8c : blocked_tag(impl->engine);
  } catch (const dnnl::error& e) {
    return Status::unsupported(std::string("oneDNN: ") + e.what());
  }
  return std::unique_ptr<OnednnConvNet>(new OnednnConvNet(std::move(impl)));
}

void OnednnConvNet::set_threads(int threads) { impl_->threads = std::max(0, threads); }

void OnednnConvNet::run(const cv::Mat& blob, std::vector<cv::Mat>* outputs) {
  if (blob.dims != 4 || blob.type() != CV_32F || blob.size[0] != 1 || !blob.isContinuous())
    throw std::invalid_argument("OnednnConvNet: a continuous 1xCxHxW float blob is needed");
  // oneDNN's OpenMP threads follow the calling thread's setting.
  if (impl_->threads > 0) omp_set_num_threads(impl_->threads);
  ShapeNet& net = impl_->shape_net({1, blob.size[1], blob.size[2], blob.size[3]});
  for (size_t b = 0; b < net.block_bytes.size(); ++b) impl_->pool.block(b, net.block_bytes[b]);
  for (auto& [mem, b] : net.placed) mem.set_data_handle(impl_->pool.blocks[b].get());
  const size_t n = blob.total();
  const float* in = blob.ptr<float>();
  float* to = static_cast<float*>(net.input.get_data_handle());
  const float scale = impl_->plan.input_scale, shift = impl_->plan.input_shift;
  for (size_t i = 0; i < n; ++i) to[i] = in[i] * scale + shift;
  for (auto& step : net.steps) step(impl_->stream);
  outputs->clear();
  for (size_t o = 0; o < net.outputs.size(); ++o) {
    const auto& d = net.output_dims[o];
    const int sizes[] = {int(d[0]), int(d[1]), int(d[2]), int(d[3])};
    cv::Mat out(4, sizes, CV_32F);
    memory user(net.outputs[o].first, impl_->engine, out.ptr<float>());
    dnnl::reorder(net.outputs[o].second, user).execute(impl_->stream, net.outputs[o].second, user);
    outputs->push_back(out);
  }
  impl_->stream.wait();
}

}  // namespace facedex::models
