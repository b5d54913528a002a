// A 3x3, stride 1, pad 1 convolution by Winograd's minimal filtering F(2x2, 3x3)
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// each 2x2 output tile costs 16 multiplies per input/output channel pair
// instead of 36, 2.25x less arithmetic than the direct convolution. oneDNN 2.6
// offers Winograd only on AVX-512, and on this 2-core AVX2 machine the direct
// convolution already runs near the FMA peak, so the arithmetic itself had to
// shrink (benchmarks/RESULTS.md, descriptor efficiency).
//
// Three passes per chunk of tiles, over activations in oneDNN's nChw8c layout
// (8 channels per 256-bit vector):
//   input transform   V[xi][tile][cin]  = (B^T d B)[xi]   additions only
//   16 matrix products M[xi] = V[xi] * U[xi], U = G g G^T  an AVX2 kernel
//   output transform  y = A^T M A + bias (+ y) (relu)      additions only
// A chunk's transformed tiles (4x the input's size) stay in the core's L2
// between the passes: done layer-wide they went through memory, and the
// transforms took a fifth of the time. The transforms use AVX2 intrinsics; winograd_available() says whether this
// CPU has them. The filter transform is done once, in double precision.
// Descriptors stay within 1e-6 of the direct convolution's (onednn_embedder_test
// holds both to dlib's within 1e-4).
#pragma once

#include <memory>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace facedex::models {

bool winograd_available();

class WinogradConv3x3 {
 public:
  enum class Post { kNone, kRelu, kSumRelu };

  // filters [out][in][3][3], bias [out]; src and dst are nChw8c tensors of one
  // batch with the same height and width (dst may not be src).
  WinogradConv3x3(const std::vector<float>& filters, const std::vector<float>& bias, int in, int out,
                  const dnnl::memory& src, const dnnl::memory& dst, Post post, const dnnl::engine& engine);

  void run(dnnl::stream& stream);

 private:
  void transform_input(long first_tile, long chunk, float* v) const;
  void transform_output(long first_tile, long chunk, const float* m) const;

  int in_, out_;
  long batch_, height_, width_, tiles_h_, tiles_w_, tiles_;
  long chunk_;  // tiles per chunk, at most
  Post post_;
  dnnl::memory src_, dst_;
  std::vector<float> u_;  // [16][in][out]
  std::vector<float> bias_;
  // Per thread: V [16][chunk][in] and M [16][chunk][out] of the chunk it runs.
  std::vector<std::vector<float>> scratch_;
};

}  // namespace facedex::models
