// A 3x3, stride 1, pad 1 convolution by Winograd's minimal filtering F(2x2, 3x3),
// F(4x4, 3x3) or F(6x6, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016): a 2x2 output tile costs 16 multiplies per
// input/output channel pair instead of 36, a 4x4 tile 36 instead of 144, a
// 6x6 tile 64 instead of 324 (its interpolation points 0, +-1, +-2, +-1/2
// keep its fp32 error near F(4x4)'s). oneDNN 2.6 offers Winograd only on
// AVX-512, and on AVX2 its direct convolution already runs near the FMA peak,
// so the arithmetic itself had to shrink (benchmarks/RESULTS.md, descriptor
// efficiency).
//
// Three passes per chunk of tiles, over activations in oneDNN's nChw8c layout
// (8 channels per 256-bit vector):
//   input transform   V[xi][tile][cin]  = (B^T d B)[xi]   few multiplies
//   16, 36 or 64 matrix products M[xi] = V[xi] * U[xi], U = G g G^T  AVX2 kernel
//   output transform  y = A^T M A + bias (+ y) (relu)      few multiplies
// A chunk's transformed tiles (1.8-4x the input's size) stay in the core's L2
// between the passes: done layer-wide they went through memory, and the
// transforms took a fifth of the time. The transforms use AVX2 intrinsics; winograd_available() says whether this
// CPU has them. The filter transform is done once, in double precision.
// Descriptors stay within 1e-6 of the direct convolution's (onednn_embedder_test
// holds both to dlib's within 1e-4).
#pragma once

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

namespace facedex::models {

bool winograd_available();

// The output tile side (2, 4 or 6) for a layer of this height and channel count.
int winograd_tile_for(long height, int channels);

// A layer's filters [out][in][3][3] transformed for `tile` (U = G g G^T, laid
// out [xi][out / 16][in][16]: strips of 16 output channels, read in order by
// the products): made once, shared by the networks of every batch size.
using WinogradFilters = std::shared_ptr<const std::vector<float>>;
WinogradFilters transform_winograd_filters(const std::vector<float>& filters, int in, int out, int tile);

class WinogradConv3x3 {
 public:
  enum class Post { kNone, kRelu, kSumRelu };

  // u from transform_winograd_filters for `tile` (2, 4 or 6), bias [out]; src and
  // dst are nChw8c tensors of one batch with the same height and width (dst
  // may not be src).
  WinogradConv3x3(WinogradFilters u, const std::vector<float>& bias, int in, int out, const dnnl::memory& src,
                  const dnnl::memory& dst, Post post, int tile);

  // Per thread, the transformed tiles of the chunk it runs (V and M); one set
  // serves every layer of a network, since they run one after another.
  using Scratch = std::vector<std::vector<float>>;

  void run(dnnl::stream& stream, Scratch& scratch);

 private:
  // AVX2 code in a generic build: the attribute must be on the declaration.
  template <int M>
  __attribute__((target("avx2,fma"))) void transform_input(long first_tile, long chunk, float* v) const;
  template <int M>
  __attribute__((target("avx2,fma"))) void transform_output(long first_tile, long chunk, const float* m) const;

  int in_, out_;
  int tile_, alpha_;  // output and input tile sides
  long batch_, height_, width_, tiles_h_, tiles_w_, tiles_;
  long chunk_;  // tiles per chunk, at most
  Post post_;
  dnnl::memory src_, dst_;
  WinogradFilters u_;  // [alpha^2][out / 16][in][16]
  std::vector<float> bias_;
};

}  // namespace facedex::models
