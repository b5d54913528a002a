// dlib's face ResNet run with oneDNN (Intel's CPU deep-learning primitives).
// The same weights and arithmetic as dlib's own layers, 4-6x faster: oneDNN's
// JIT convolutions use AVX2/FMA directly where dlib goes through im2col + sgemm
// and generic element-wise passes. tests/models/onednn_embedder_test.cpp holds
// it to dlib's descriptors within 1e-4 per dimension on real chips.
//
// Layout: the chip goes in as planar RGB (NCHW); activations after the stem
// are blocked by 8 channels (nChw8c), what oneDNN's AVX2 kernels run fastest on. Each affine layer is
// folded into the conv before it (w' = gamma*w, b' = gamma*b + beta); a residual
// block's add and relu are post-ops of its second conv, which writes into the
// block's input in place. Down-sampling blocks are different: dlib adds the conv
// branch to an average-pooled, zero-padded shortcut with more channels and, for
// odd sizes, more rows and columns (3x3 conv on 8x8 -> 3x3; pooled shortcut 4x4).
// Those tensors are tiny, so that add is a plain loop.
#include "models/onednn_embedder.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "models/kernels/winograd_conv.h"

namespace facedex::models {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

// What runs outside oneDNN: the input scaling and the final fully connected layer.
struct InputAndOutput {
  float mean_rgb[3] = {0, 0, 0};
  std::vector<float> fc;  // [channels][kDescriptorDims]
};

Status check_shapes(const ResNetWeights& w) {
  if (int(w.convs.size()) != 1 + 2 * kResNetBlockCount)
    return Status::invalid_input("expected " + std::to_string(1 + 2 * kResNetBlockCount) + " convolutions, found " +
                                 std::to_string(w.convs.size()));
  auto expect = [&](size_t i, int out, int in, int k) -> Status {
    const ResNetConv& c = w.convs[i];
    if (c.out_channels != out || c.in_channels != in || c.kernel != k)
      return Status::invalid_input("convolution " + std::to_string(i) + " has an unexpected shape");
    return Status::ok();
  };
  if (Status s = expect(0, 32, 3, 7); !s) return s;
  int channels = 32;
  for (int b = 0; b < kResNetBlockCount; ++b) {
    if (Status s = expect(size_t(1 + 2 * b), kResNetBlocks[b].channels, channels, 3); !s) return s;
    if (Status s = expect(size_t(2 + 2 * b), kResNetBlocks[b].channels, kResNetBlocks[b].channels, 3); !s) return s;
    channels = kResNetBlocks[b].channels;
  }
  if (w.fc_inputs != channels || w.fc_outputs != kDescriptorDims || w.fc.size() != size_t(channels) * kDescriptorDims)
    return Status::invalid_input("the fully connected layer has an unexpected shape");
  return Status::ok();
}

float* data(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

// Activations between layers: channels in blocks of 8, the layout oneDNN's
// AVX2 convolutions run fastest on (every channel count here is a multiple of 8).
constexpr Tag kActivationTag = Tag::nChw8c;
constexpr long kChannelBlock = 8;
// Offset of element (n, c, h, w) in an nChw8c tensor of dims d.
inline long blocked_offset(const memory::dims& d, long n, long c, long h, long w) {
  return (((n * (d[1] / kChannelBlock) + c / kChannelBlock) * d[2] + h) * d[3] + w) * kChannelBlock + c % kChannelBlock;
}

// A 3x3 stride-2 max pool of one image in 8-channel blocks ([c / 8][h][w][8]),
// no padding. oneDNN's was slow on the stem's output even in L2; this is the
// AVX2 loop it should be.
__attribute__((target("avx2"))) void max_pool_3x3_stride_2(const float* src, long channels, long height, long width,
                                                           float* dst) {
  const long out_h = (height - 3) / 2 + 1, out_w = (width - 3) / 2 + 1;
  for (long b = 0; b < channels / kChannelBlock; ++b) {
    const float* plane = src + b * height * width * kChannelBlock;
    float* out = dst + b * out_h * out_w * kChannelBlock;
    for (long y = 0; y < out_h; ++y)
      for (long x = 0; x < out_w; ++x) {
        const float* at = plane + ((2 * y) * width + 2 * x) * kChannelBlock;
        __m256 m = _mm256_loadu_ps(at);
        for (long dy = 0; dy < 3; ++dy)
          for (long dx = 0; dx < 3; ++dx) m = _mm256_max_ps(m, _mm256_loadu_ps(at + (dy * width + dx) * kChannelBlock));
        _mm256_storeu_ps(out + (y * out_w + x) * kChannelBlock, m);
      }
  }
}

// The whole network for one batch size: memories, primitives and the order to
// run them in.
class BatchNetwork {
 public:
  // winograd: the 3x3 stride-1 convolutions (84% of the arithmetic) by
  // WinogradConv3x3 instead of oneDNN's direct convolution, at every batch
  // size: with F(6x6) it pays from batch 1 on (benchmarks/RESULTS.md,
  // descriptor efficiency).
  // winograd_cache: each layer's transformed filters by (conv index, tile);
  // winograd_scratch: the working memory all Winograd layers share.
  using WinogradCache = std::map<std::pair<size_t, int>, WinogradFilters>;
  BatchNetwork(int batch, const std::vector<FoldedConv>& convs, const InputAndOutput& ends,
               std::vector<std::vector<std::pair<memory::desc, memory>>>& weight_cache, bool winograd,
               WinogradCache& winograd_cache, WinogradConv3x3::Scratch& winograd_scratch, const dnnl::engine& engine)
      : batch_(batch),
        winograd_(winograd),
        winograd_cache_(winograd_cache),
        winograd_scratch_(winograd_scratch),
        engine_(engine),
        ends_(ends),
        weight_cache_(weight_cache) {
    // Planar RGB: the layout oneDNN's AVX2 first-layer convolution reads
    // (with an interleaved input it falls back to its reference code, 20x slower).
    input_ = memory({{batch, 3, kChipSize, kChipSize}, Dt::f32, Tag::nchw}, engine_);
    memory x = stem_and_pool(convs[0]);
    for (int b = 0; b < kResNetBlockCount; ++b) {
      const FoldedConv& a = convs[size_t(1 + 2 * b)];
      const FoldedConv& c = convs[size_t(2 + 2 * b)];
      if (!kResNetBlocks[b].down) {
        memory t = same_size_conv(x, a, size_t(1 + 2 * b), Post::kRelu);
        conv_into(t, c, size_t(2 + 2 * b), x);  // x = relu(x + conv(t))
      } else {
        memory t = conv(x, a, size_t(1 + 2 * b), 2, 0, Post::kRelu);
        memory u = same_size_conv(t, c, size_t(2 + 2 * b), Post::kNone);
        memory shortcut = pool(x, dnnl::algorithm::pooling_avg_exclude_padding, 2, 2);
        x = add_padded_and_relu(shortcut, u);
      }
    }
    last_ = x;
  }

  void run(const FaceChip* chips, Descriptor* out, dnnl::stream& stream) {
    float* in = data(input_);
    for (int n = 0; n < batch_; ++n) {
      const FaceChip& chip = chips[n];
      const size_t plane = size_t(kChipSize) * kChipSize;
      float* red = in + size_t(n) * 3 * plane;
      float* green = red + plane;
      float* blue = green + plane;
      for (long r = 0; r < kChipSize; ++r)
        for (long c = 0; c < kChipSize; ++c) {
          const dlib::rgb_pixel p = chip(r, c);
          // dlib's input_rgb_image: (value - mean) / 256.
          *red++ = (float(p.red) - ends_.mean_rgb[0]) / 256.0f;
          *green++ = (float(p.green) - ends_.mean_rgb[1]) / 256.0f;
          *blue++ = (float(p.blue) - ends_.mean_rgb[2]) / 256.0f;
        }
    }
    for (auto& step : steps_) step(stream);
    stream.wait();

    // avg_pool_everything, then fc_no_bias.
    const memory::dims d = last_.get_desc().dims();
    const int channels = int(d[1]), positions = int(d[2] * d[3]);
    const float* act = data(last_);
    std::vector<float> pooled(static_cast<size_t>(channels));
    for (int n = 0; n < batch_; ++n) {
      std::fill(pooled.begin(), pooled.end(), 0.0f);
      for (long h = 0; h < d[2]; ++h)
        for (long w = 0; w < d[3]; ++w)
          for (int c = 0; c < channels; ++c) pooled[size_t(c)] += act[blocked_offset(d, n, c, h, w)];
      for (float& v : pooled) v /= float(positions);
      Descriptor& desc = out[n];
      desc.assign(size_t(kDescriptorDims), 0.0f);
      for (int c = 0; c < channels; ++c) {
        const float* row = ends_.fc.data() + size_t(c) * kDescriptorDims;
        for (int j = 0; j < kDescriptorDims; ++j) desc[size_t(j)] += pooled[size_t(c)] * row[j];
      }
    }
  }

 private:
  enum class Post { kNone, kRelu, kSumRelu };

  memory make(const memory::dims& dims) { return memory({dims, Dt::f32, kActivationTag}, engine_); }

  // The folded weights reordered into the layout a primitive asked for; shared
  // between batch sizes whose primitives ask for the same layout.
  memory weights_for(size_t index, const FoldedConv& c, const memory::desc& want) {
    for (auto& [desc, mem] : weight_cache_[index])
      if (desc == want) return mem;
    memory user({{c.out, c.in, c.kernel, c.kernel}, Dt::f32, Tag::oihw}, engine_, const_cast<float*>(c.filters.data()));
    memory mem(want, engine_);
    dnnl::stream s(engine_);
    dnnl::reorder(user, mem).execute(s, user, mem);
    s.wait();
    weight_cache_[index].emplace_back(want, mem);
    return mem;
  }

  // A convolution primitive from src_md to dst_md with its weights (reordered
  // as it asks) and bias, ready to execute.
  struct Conv {
    dnnl::convolution_forward primitive;
    memory weights, bias;
    void execute(dnnl::stream& s, const memory& src, const memory& dst) const {
      primitive.execute(s,
                        {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
    }
  };
  Conv make_conv(const memory::desc& src_md, const FoldedConv& c, size_t index, int stride, int pad, Post post,
                 const memory::desc& dst_md) {
    const memory::desc weights_md({c.out, c.in, c.kernel, c.kernel}, Dt::f32, Tag::any);
    const memory::desc bias_md({c.out}, Dt::f32, Tag::x);
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                         src_md, weights_md, bias_md, dst_md, {stride, stride}, {pad, pad}, {pad, pad});
    dnnl::post_ops ops;
    if (post == Post::kSumRelu) ops.append_sum(1.0f);
    if (post != Post::kNone) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, engine_);
    return {dnnl::convolution_forward(pd), weights_for(index, c, pd.weights_desc()),
            memory(bias_md, engine_, const_cast<float*>(c.bias.data()))};
  }

  memory add_conv(const memory& src, const FoldedConv& c, size_t index, int stride, int pad, Post post, memory dst) {
    const Conv conv = make_conv(src.get_desc(), c, index, stride, pad, post, dst.get_desc());
    steps_.push_back([conv, src, dst](dnnl::stream& s) { conv.execute(s, src, dst); });
    return dst;
  }

  // The stem (7x7 stride-2 convolution and relu, then a 3x3 stride-2 max
  // pool), one image at a time: an image's stem output (72x72x32, 663 KB) then
  // stays in L2 for the pool. Over a whole batch it went out to memory and
  // back (DNNL_VERBOSE showed the pool's cost).
  memory stem_and_pool(const FoldedConv& c) {
    const memory::dims id = input_.get_desc().dims();
    const long stem_h = (id[2] - c.kernel) / 2 + 1, stem_w = (id[3] - c.kernel) / 2 + 1;
    const long pool_h = (stem_h - 3) / 2 + 1, pool_w = (stem_w - 3) / 2 + 1;
    const memory::desc image_md({1, 3, id[2], id[3]}, Dt::f32, Tag::nchw);
    const memory::desc stem_md({1, c.out, stem_h, stem_w}, Dt::f32, kActivationTag);
    const memory::desc pooled_md({1, c.out, pool_h, pool_w}, Dt::f32, kActivationTag);
    const Conv stem = make_conv(image_md, c, 0, 2, 0, Post::kRelu, stem_md);
    // facedex's pool where the CPU has AVX2 (the check Winograd's loops use),
    // oneDNN's elsewhere.
    const bool own_pool = winograd_available() && c.out % kChannelBlock == 0;
    dnnl::pooling_forward max_pool;
    if (!own_pool)
      max_pool = dnnl::pooling_forward(dnnl::pooling_forward::primitive_desc(
          dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, stem_md,
                                      pooled_md, {2, 2}, {3, 3}, {0, 0}, {0, 0}),
          engine_));

    memory pooled = make({batch_, c.out, pool_h, pool_w});
    const memory stem_out(stem_md, engine_);  // one image's, reused
    // Views of each image in the batch tensors (n is the outermost dimension).
    std::vector<memory> images, outputs;
    for (long n = 0; n < batch_; ++n) {
      images.emplace_back(image_md, engine_, data(input_) + n * 3 * id[2] * id[3]);
      outputs.emplace_back(pooled_md, engine_, data(pooled) + n * c.out * pool_h * pool_w);
    }
    const long channels = c.out;
    steps_.push_back([stem, max_pool, stem_out, images, outputs, own_pool, channels, stem_h, stem_w](dnnl::stream& s) {
      for (size_t n = 0; n < images.size(); ++n) {
        stem.execute(s, images[n], stem_out);
        if (own_pool) {
          s.wait();
          max_pool_3x3_stride_2(data(stem_out), channels, stem_h, stem_w, data(outputs[n]));
        } else {
          max_pool.execute(s, {{DNNL_ARG_SRC, stem_out}, {DNNL_ARG_DST, outputs[n]}});
        }
      }
    });
    return pooled;
  }

  memory conv(const memory& src, const FoldedConv& c, size_t index, int stride, int pad, Post post) {
    const memory::dims sd = src.get_desc().dims();
    const long out_h = (sd[2] + 2 * pad - c.kernel) / stride + 1, out_w = (sd[3] + 2 * pad - c.kernel) / stride + 1;
    return add_conv(src, c, index, stride, pad, post, make({sd[0], c.out, out_h, out_w}));
  }

  // A 3x3 convolution, stride 1, pad 1.
  memory same_size_conv(const memory& src, const FoldedConv& c, size_t index, Post post) {
    if (!winograd_) return conv(src, c, index, 1, 1, post);
    const memory::dims sd = src.get_desc().dims();
    memory dst = make({sd[0], c.out, sd[2], sd[3]});
    add_winograd(src, c, index, post, dst);
    return dst;
  }

  void conv_into(const memory& src, const FoldedConv& c, size_t index, memory& accumulator) {
    if (winograd_)
      add_winograd(src, c, index, Post::kSumRelu, accumulator);
    else
      add_conv(src, c, index, 1, 1, Post::kSumRelu, accumulator);
  }

  void add_winograd(const memory& src, const FoldedConv& c, size_t index, Post post, const memory& dst) {
    const auto wpost = post == Post::kNone   ? WinogradConv3x3::Post::kNone
                       : post == Post::kRelu ? WinogradConv3x3::Post::kRelu
                                             : WinogradConv3x3::Post::kSumRelu;
    const int tile = winograd_tile_for(src.get_desc().dims()[2], c.out);
    WinogradFilters& u = winograd_cache_[{index, tile}];
    if (!u) u = transform_winograd_filters(c.filters, c.in, c.out, tile);
    winograd_convs_.push_back(std::make_unique<WinogradConv3x3>(u, c.bias, c.in, c.out, src, dst, wpost, tile));
    WinogradConv3x3* conv = winograd_convs_.back().get();
    steps_.push_back([conv, scratch = &winograd_scratch_](dnnl::stream& s) { conv->run(s, *scratch); });
  }

  memory pool(const memory& src, dnnl::algorithm algorithm, int window, int stride) {
    const memory::dims sd = src.get_desc().dims();
    memory dst = make({sd[0], sd[1], (sd[2] - window) / stride + 1, (sd[3] - window) / stride + 1});
    dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, src.get_desc(), dst.get_desc(),
                                     {stride, stride}, {window, window}, {0, 0}, {0, 0});
    dnnl::pooling_forward prim(dnnl::pooling_forward::primitive_desc(desc, engine_));
    steps_.push_back([prim, src, dst](dnnl::stream& s) {
      prim.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    });
    return dst;
  }

  // dlib's add_prev with tensors of different shapes: the result has the larger
  // of each dimension and each input adds where it exists (zero elsewhere).
  memory add_padded_and_relu(const memory& shortcut, const memory& branch) {
    const memory::dims s = shortcut.get_desc().dims(), b = branch.get_desc().dims();
    memory out = make({s[0], std::max(s[1], b[1]), std::max(s[2], b[2]), std::max(s[3], b[3])});
    steps_.push_back([shortcut, branch, out, s, b](dnnl::stream& st) {
      st.wait();
      const memory::dims o = out.get_desc().dims();
      const float* sp = data(shortcut);
      const float* bp = data(branch);
      float* op = data(out);
      // Channel counts are multiples of 8, so a block of 8 channels is in a
      // tensor or not as a whole.
      for (long n = 0; n < o[0]; ++n)
        for (long c = 0; c < o[1]; c += kChannelBlock)
          for (long h = 0; h < o[2]; ++h)
            for (long w = 0; w < o[3]; ++w) {
              float v[kChannelBlock] = {};
              if (c < s[1] && h < s[2] && w < s[3]) {
                const float* from = sp + blocked_offset(s, n, c, h, w);
                for (long k = 0; k < kChannelBlock; ++k) v[k] += from[k];
              }
              if (c < b[1] && h < b[2] && w < b[3]) {
                const float* from = bp + blocked_offset(b, n, c, h, w);
                for (long k = 0; k < kChannelBlock; ++k) v[k] += from[k];
              }
              float* to = op + blocked_offset(o, n, c, h, w);
              for (long k = 0; k < kChannelBlock; ++k) to[k] = std::max(v[k], 0.0f);
            }
    });
    return out;
  }

  int batch_;
  bool winograd_;
  WinogradCache& winograd_cache_;
  WinogradConv3x3::Scratch& winograd_scratch_;
  std::vector<std::unique_ptr<WinogradConv3x3>> winograd_convs_;
  dnnl::engine engine_;
  const InputAndOutput& ends_;
  std::vector<std::vector<std::pair<memory::desc, memory>>>& weight_cache_;
  memory input_, last_;
  std::vector<std::function<void(dnnl::stream&)>> steps_;
};

class OneDnnEmbedder final : public Embedder {
 public:
  OneDnnEmbedder(const ResNetWeights& weights, int threads)
      : threads_(threads),
        direct_forced_(forced_direct()),
        winograd_(winograd_available() && !direct_forced_),
        engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_) {
    std::copy(weights.mean_rgb, weights.mean_rgb + 3, ends_.mean_rgb);
    ends_.fc = weights.fc;
    for (const ResNetConv& c : weights.convs) convs_.push_back(fold_affine(c));
    weight_cache_.resize(convs_.size());
  }

  std::vector<Descriptor> run(const std::vector<FaceChip>& chips) override {
    std::vector<Descriptor> out(chips.size());
    // oneDNN's OpenMP threads follow the calling thread's setting.
    omp_set_num_threads(threads_);
    size_t done = 0;
    while (done < chips.size()) {
      // Networks exist for powers of two up to kMaxBatch: a batch of 13 runs as 8 + 4 + 1.
      int batch = kMaxBatch;
      while (size_t(batch) > chips.size() - done) batch /= 2;
      network(batch).run(chips.data() + done, out.data() + done, stream_);
      done += size_t(batch);
    }
    return out;
  }

  // "onednn-direct" only when forced (a CPU without AVX2 runs direct as "onednn").
  std::string backend_name() const override { return direct_forced_ ? "onednn-direct" : "onednn"; }

 private:
  static constexpr int kMaxBatch = 32;

  // Winograd where the CPU has AVX2; FACEDEX_ONEDNN_CONV=direct forces oneDNN's
  // direct convolutions (for comparison: benchmarks/descriptor_efficiency).
  static bool forced_direct() {
    const char* conv = std::getenv("FACEDEX_ONEDNN_CONV");
    return conv && std::string(conv) == "direct";
  }

  BatchNetwork& network(int batch) {
    auto it = networks_.find(batch);
    if (it == networks_.end())
      it = networks_
               .emplace(batch, std::make_unique<BatchNetwork>(batch, convs_, ends_, weight_cache_, winograd_,
                                                              winograd_cache_, winograd_scratch_, engine_))
               .first;
    return *it->second;
  }

  InputAndOutput ends_;
  int threads_;
  bool direct_forced_;
  bool winograd_;
  std::vector<FoldedConv> convs_;
  std::vector<std::vector<std::pair<memory::desc, memory>>> weight_cache_;
  BatchNetwork::WinogradCache winograd_cache_;
  WinogradConv3x3::Scratch winograd_scratch_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<int, std::unique_ptr<BatchNetwork>> networks_;
};

}  // namespace

Expected<std::unique_ptr<Embedder>> make_onednn_embedder(const ResNetWeights& weights, int threads) {
  if (Status s = check_shapes(weights); !s) return Status::invalid_input("oneDNN backend: " + s.message());
  try {
    return std::unique_ptr<Embedder>(new OneDnnEmbedder(weights, std::max(1, threads)));
  } catch (const dnnl::error& e) {
    return Status::unsupported(std::string("oneDNN backend: ") + e.what());
  }
}

}  // namespace facedex::models
