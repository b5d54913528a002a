// WinogradConv3x3 against a plain direct convolution in double precision, on
// the network's own (folded) weights and activations made from real chips:
// every tile size, image sizes whose last tiles overhang (35, 17, 8, 3), batches
// whose tiles run across images, and every post-op. The whole network is held
// to dlib by onednn_embedder_test; this finds a broken layer by name.
#include "models/kernels/winograd_conv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "models/resnet_weights.h"
#include "tests/support/demo_chips.h"

namespace facedex {
namespace {

using dnnl::memory;

// Element (n, c, y, x) of an nChw8c tensor with c channels of h x w.
size_t at(long n, long c, long y, long x, long channels, long h, long w) {
  return size_t((((n * (channels / 8) + c / 8) * h + y) * w + x) * 8 + c % 8);
}

struct Case {
  size_t conv;  // index into ResNetWeights::convs
  long side;
  int tile;
  models::WinogradConv3x3::Post post;
};

TEST(WinogradConvTest, EqualsTheDirectConvolutionOnRealWeights) {
  if (!models::winograd_available())
    GTEST_SKIP() << "no AVX2/FMA here, or FACEDEX_KERNELS=generic: no Winograd kernel to compare";
  auto weights = testing::bundled_resnet_weights();
  ASSERT_TRUE(weights) << weights.status().message();
  const std::vector<models::FaceChip> chips = testing::demo_chips();
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  using Post = models::WinogradConv3x3::Post;
  // convs: 1 = 32 -> 32 (35x35 in the network), 8 = 64 -> 64 (17x17),
  // 16 = 128 -> 128 (8x8), 22 = 256 -> 256 (3x3 and 4x4).
  const std::vector<Case> cases = {{1, 35, 4, Post::kRelu},    {1, 35, 2, Post::kSumRelu}, {8, 17, 2, Post::kSumRelu},
                                   {8, 17, 4, Post::kNone},    {16, 8, 4, Post::kSumRelu}, {22, 3, 2, Post::kNone},
                                   {22, 4, 2, Post::kSumRelu}, {22, 3, 4, Post::kRelu},    {1, 35, 6, Post::kSumRelu},
                                   {8, 17, 6, Post::kRelu},    {16, 8, 6, Post::kNone}};
  const long batch = 3;
  for (const Case& k : cases) {
    const models::FoldedConv c = models::fold_affine(weights->convs[k.conv]);
    const long in = c.in, out = c.out, side = k.side;
    memory src({{batch, in, side, side}, memory::data_type::f32, memory::format_tag::nChw8c}, engine);
    memory dst({{batch, out, side, side}, memory::data_type::f32, memory::format_tag::nChw8c}, engine);
    float* s = static_cast<float*>(src.get_data_handle());
    float* d = static_cast<float*>(dst.get_data_handle());
    // Activations from the chips' pixels: image n, channel c samples colour c % 3.
    for (long n = 0; n < batch; ++n)
      for (long ch = 0; ch < in; ++ch)
        for (long y = 0; y < side; ++y)
          for (long x = 0; x < side; ++x) {
            const auto& chip = chips[size_t(n * 7 + ch) % chips.size()];
            const dlib::rgb_pixel p = chip((y * 4 + ch) % 150, (x * 4) % 150);
            const unsigned char v = ch % 3 == 0 ? p.red : ch % 3 == 1 ? p.green : p.blue;
            s[at(n, ch, y, x, in, side, side)] = (float(v) - 128.f) / 256.f;
          }
    std::vector<float> before(size_t(batch * out * side * side));
    for (size_t i = 0; i < before.size(); ++i) before[i] = d[i] = float(int(i * 7919 % 201) - 100) / 400.f;

    models::WinogradConv3x3 conv(models::transform_winograd_filters(c.filters, int(in), int(out), k.tile), c.bias,
                                 int(in), int(out), src, dst, k.post, k.tile);
    dnnl::stream stream(engine);
    models::WinogradConv3x3::Scratch scratch;
    conv.run(stream, scratch);

    double worst = 0;
    for (long n = 0; n < batch; ++n)
      for (long o = 0; o < out; ++o)
        for (long y = 0; y < side; ++y)
          for (long x = 0; x < side; ++x) {
            double v = c.bias[size_t(o)];
            for (long i = 0; i < in; ++i)
              for (long ky = 0; ky < 3; ++ky)
                for (long kx = 0; kx < 3; ++kx) {
                  const long yy = y + ky - 1, xx = x + kx - 1;
                  if (yy < 0 || yy >= side || xx < 0 || xx >= side) continue;
                  v +=
                      double(c.filters[size_t(((o * in + i) * 3 + ky) * 3 + kx)]) * s[at(n, i, yy, xx, in, side, side)];
                }
            const size_t where = at(n, o, y, x, out, side, side);
            if (k.post == Post::kSumRelu) v += before[where];
            if (k.post != Post::kNone) v = std::max(v, 0.0);
            worst = std::max(worst, std::abs(v - double(d[where])) / std::max(1.0, std::abs(v)));
          }
    std::printf("conv %zu (%ld -> %ld channels, %ldx%ld), F(%dx%d): worst relative difference %.2e\n", k.conv, in, out,
                side, side, k.tile, k.tile, worst);
    EXPECT_LT(worst, 1e-5) << "conv " << k.conv << " at " << side << "x" << side << ", tile " << k.tile;
  }
}

}  // namespace
}  // namespace facedex
