// facedex's Winograd 3x3 convolution (models/kernels/winograd_conv.h) against
// the library convolutions it replaces, layer by layer, one thread: oneDNN's
// direct convolution on the same nChw8c tensors, oneDNN's direct convolution
// on nChw16c (its AVX-512 layout), and oneDNN's own Winograd (AVX-512 only in
// oneDNN 2.6; "n/a" where it will not run). Layers: the descriptor ResNet's
// 3x3 convolutions at batch 16 (the indexer's batches) and RetinaFace's stride-8
// 3x3 convolutions at a 640x640 input. Each time is the best of the rounds;
// the ratio is oneDNN direct (nChw8c) over the row's.
//   winograd_layers [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <string>
#include <vector>

#include "models/kernels/winograd_conv.h"

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

struct Layer {
  const char* what;
  long batch, in, out, side;
};

double best_ms(int rounds, const std::function<void()>& run) {
  run();  // warm up
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    const auto t = std::chrono::steady_clock::now();
    run();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

// oneDNN's convolution with `algorithm` on `tag` tensors, or a negative time
// when it cannot make that primitive here.
double onednn_ms(const Layer& l, Tag tag, dnnl::algorithm algorithm, const std::vector<float>& filters,
                 const std::vector<float>& bias, int rounds, dnnl::engine& engine, dnnl::stream& stream) {
  const memory::dims src_dims{l.batch, l.in, l.side, l.side}, dst_dims{l.batch, l.out, l.side, l.side};
  try {
    dnnl::convolution_forward::primitive_desc pd({dnnl::prop_kind::forward_inference,
                                                  algorithm,
                                                  memory::desc(src_dims, Dt::f32, tag),
                                                  memory::desc({l.out, l.in, 3, 3}, Dt::f32, Tag::any),
                                                  memory::desc({l.out}, Dt::f32, Tag::x),
                                                  memory::desc(dst_dims, Dt::f32, tag),
                                                  {1, 1},
                                                  {1, 1},
                                                  {1, 1}},
                                                 engine);
    memory src(pd.src_desc(), engine), dst(pd.dst_desc(), engine), weights(pd.weights_desc(), engine);
    memory user_w({{l.out, l.in, 3, 3}, Dt::f32, Tag::oihw}, engine, const_cast<float*>(filters.data()));
    dnnl::reorder(user_w, weights).execute(stream, user_w, weights);
    memory b({{l.out}, Dt::f32, Tag::x}, engine, const_cast<float*>(bias.data()));
    std::fill_n(static_cast<float*>(src.get_data_handle()), pd.src_desc().get_size() / sizeof(float), 0.5f);
    dnnl::convolution_forward conv(pd);
    return best_ms(rounds, [&] {
      conv.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, dst}});
      stream.wait();
    });
  } catch (const dnnl::error&) {
    return -1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace facedex::models;
  int rounds = 20;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = std::atoi(argv[++i]);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  std::printf("oneDNN ISA: %s; one thread (OMP_NUM_THREADS=1 to be sure); best of %d\n",
              isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni ||
                      isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx
                  ? "AVX-512"
                  : "below AVX-512 (oneDNN's Winograd will not run)",
              rounds);
  if (!winograd_available()) std::printf("facedex's Winograd is off here (no AVX2, or FACEDEX_KERNELS=generic)\n");
  const Layer layers[] = {{"ResNet 32 ch", 16, 32, 32, 35},     {"ResNet 64 ch", 16, 64, 64, 17},
                          {"ResNet 128 ch", 16, 128, 128, 9},   {"ResNet 256 ch", 16, 256, 256, 5},
                          {"RetinaFace 64->64", 1, 64, 64, 80}, {"RetinaFace 64->32", 1, 64, 32, 80},
                          {"RetinaFace 16->16", 1, 16, 16, 80}};
  std::printf("%-18s %6s %14s %16s %16s %16s\n", "layer", "batch", "direct 8c ms", "facedex winograd", "direct 16c",
              "onednn winograd");
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 0.05f);
  for (const Layer& l : layers) {
    std::vector<float> filters(size_t(l.out * l.in * 9)), bias(size_t(l.out), 0.01f);
    for (auto& f : filters) f = normal(rng);
    const double direct8 =
        onednn_ms(l, Tag::nChw8c, dnnl::algorithm::convolution_direct, filters, bias, rounds, engine, stream);
    const double direct16 =
        onednn_ms(l, Tag::nChw16c, dnnl::algorithm::convolution_direct, filters, bias, rounds, engine, stream);
    const double onednn_winograd =
        onednn_ms(l, Tag::nChw16c, dnnl::algorithm::convolution_winograd, filters, bias, rounds, engine, stream);
    double ours = -1;
    if (winograd_available()) {
      const memory::desc md8({l.batch, l.in, l.side, l.side}, Dt::f32, Tag::nChw8c);
      memory src(md8, engine), dst({{l.batch, l.out, l.side, l.side}, Dt::f32, Tag::nChw8c}, engine);
      std::fill_n(static_cast<float*>(src.get_data_handle()), md8.get_size() / sizeof(float), 0.5f);
      const int tile = winograd_tile_for(l.side, int(l.out));
      WinogradConv3x3 conv(transform_winograd_filters(filters, int(l.in), int(l.out), tile), bias, int(l.in),
                           int(l.out), src, dst, WinogradConv3x3::Post::kRelu, tile);
      WinogradConv3x3::Scratch scratch;
      ours = best_ms(rounds, [&] { conv.run(stream, scratch); });
    }
    auto cell = [](double ms, double base) {
      static char buf[64];
      if (ms < 0) return std::string("n/a");
      std::snprintf(buf, sizeof buf, "%.3f (%.2fx)", ms, base / ms);
      return std::string(buf);
    };
    std::printf("%-18s %6ld %14.3f %16s %16s %16s\n", l.what, l.batch, direct8, cell(ours, direct8).c_str(),
                cell(direct16, direct8).c_str(), cell(onednn_winograd, direct8).c_str());
  }
  return 0;
}
