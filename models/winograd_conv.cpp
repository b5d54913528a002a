#include "models/winograd_conv.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>

namespace facedex::models {
namespace {

using dnnl::memory;
constexpr long kBlock = 8;  // channels per nChw8c block, one __m256

float* floats(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

// U[xi][in][out] = (G g G^T)[xi] for every channel pair, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
std::vector<float> transform_filters(const std::vector<float>& filters, int in, int out) {
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  std::vector<float> u(size_t(16) * size_t(in) * size_t(out));
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) {
      const float* g = &filters[(size_t(o) * size_t(in) + size_t(i)) * 9];
      double gg[4][3];  // G g
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 3; ++c) gg[r][c] = G[r][0] * g[c] + G[r][1] * g[3 + c] + G[r][2] * g[6 + c];
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) {
          const double v = gg[r][0] * G[c][0] + gg[r][1] * G[c][1] + gg[r][2] * G[c][2];  // (G g) G^T
          u[(size_t(r * 4 + c) * size_t(in) + size_t(i)) * size_t(out) + size_t(o)] = float(v);
        }
    }
  return u;
}

// c[r][0..n) = sum_k a[r][k] * b[k][0..n) for `rows` rows; n a multiple of 16.
// R rows x 16 columns of c live in 2R registers while k runs (R <= 6 keeps 12
// accumulators and the two b vectors within AVX2's 16 registers).
template <int R>
__attribute__((target("avx2,fma"))) inline void multiply_rows(const float* a, const float* b, float* c, long k_size,
                                                               long n) {
  for (long col = 0; col < n; col += 16) {
    __m256 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (long k = 0; k < k_size; ++k) {
      const __m256 b0 = _mm256_loadu_ps(b + k * n + col), b1 = _mm256_loadu_ps(b + k * n + col + 8);
      for (int r = 0; r < R; ++r) {
        const __m256 x = _mm256_broadcast_ss(a + r * k_size + k);
        acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < R; ++r) {
      _mm256_storeu_ps(c + r * n + col, acc[r][0]);
      _mm256_storeu_ps(c + r * n + col + 8, acc[r][1]);
    }
  }
}

__attribute__((target("avx2,fma"))) void multiply(const float* a, const float* b, float* c, long rows, long k_size,
                                                  long n) {
  long r = 0;
  for (; r + 6 <= rows; r += 6) multiply_rows<6>(a + r * k_size, b, c + r * n, k_size, n);
  switch (rows - r) {
    case 5: multiply_rows<5>(a + r * k_size, b, c + r * n, k_size, n); break;
    case 4: multiply_rows<4>(a + r * k_size, b, c + r * n, k_size, n); break;
    case 3: multiply_rows<3>(a + r * k_size, b, c + r * n, k_size, n); break;
    case 2: multiply_rows<2>(a + r * k_size, b, c + r * n, k_size, n); break;
    case 1: multiply_rows<1>(a + r * k_size, b, c + r * n, k_size, n); break;
    default: break;
  }
}

}  // namespace

bool winograd_available() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

WinogradConv3x3::WinogradConv3x3(const std::vector<float>& filters, const std::vector<float>& bias, int in, int out,
                                 const memory& src, const memory& dst, Post post, const dnnl::engine&)
    : in_(in), out_(out), post_(post), src_(src), dst_(dst), u_(transform_filters(filters, in, out)), bias_(bias) {
  const memory::dims d = src.get_desc().dims();
  batch_ = d[0];
  height_ = d[2];
  width_ = d[3];
  tiles_h_ = (height_ + 1) / 2;
  tiles_w_ = (width_ + 1) / 2;
  tiles_ = batch_ * tiles_h_ * tiles_w_;
  // 256 KB of transformed input per chunk, but at least 64 tiles, so that the
  // matrix products still reuse the transformed filters (4 MB at 256 channels).
  chunk_ = std::min(tiles_, std::max<long>(64, 4096 / in));
}

void WinogradConv3x3::run(dnnl::stream& stream) {
  stream.wait();  // the layer before has written src
  // Every thread gets a chunk even when the tiles are few (a single face).
  const long threads = omp_get_max_threads();
  const long chunk = std::min(chunk_, (tiles_ + threads - 1) / threads);
  const long chunks = (tiles_ + chunk - 1) / chunk;
  const size_t v_size = size_t(16 * chunk * in_), m_size = size_t(16 * chunk * out_);
  if (scratch_.size() < size_t(threads)) scratch_.resize(size_t(threads));
#pragma omp parallel for schedule(dynamic)
  for (long c = 0; c < chunks; ++c) {
    std::vector<float>& scratch = scratch_[size_t(omp_get_thread_num())];
    scratch.resize(v_size + m_size);
    float* v = scratch.data();
    float* m = v + v_size;
    const long first = c * chunk;
    transform_input(first, chunk, v);
    for (long xi = 0; xi < 16; ++xi)
      multiply(v + xi * chunk * in_, u_.data() + xi * in_ * out_, m + xi * chunk * out_, chunk, in_, out_);
    transform_output(first, chunk, m);
  }
}

// V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], 8 channels at a time.
// Tiles past the last (the last chunk is padded) are zeros.
__attribute__((target("avx2,fma"))) void WinogradConv3x3::transform_input(long first_tile, long chunk, float* v) const {
  const float* src = floats(src_);
  const long blocks = in_ / kBlock, plane = height_ * width_ * kBlock;
  const long xi_stride = chunk * in_;
  const long per_image = tiles_h_ * tiles_w_;
  for (long tile = 0; tile < chunk; ++tile) {
        const long global = first_tile + tile;
        const long n = global / per_image, ty = global % per_image / tiles_w_, tx = global % tiles_w_;
        for (long b = 0; b < blocks; ++b) {
          const float* base = src + (n * blocks + b) * plane;
          __m256 d[4][4];
          for (int r = 0; r < 4; ++r) {
            const long y = 2 * ty - 1 + r;
            for (int c = 0; c < 4; ++c) {
              const long x = 2 * tx - 1 + c;
              d[r][c] = (global < tiles_ && y >= 0 && y < height_ && x >= 0 && x < width_)
                            ? _mm256_loadu_ps(base + (y * width_ + x) * kBlock)
                            : _mm256_setzero_ps();
            }
          }
          __m256 t[4][4];  // B^T d
          for (int c = 0; c < 4; ++c) {
            t[0][c] = _mm256_sub_ps(d[0][c], d[2][c]);
            t[1][c] = _mm256_add_ps(d[1][c], d[2][c]);
            t[2][c] = _mm256_sub_ps(d[2][c], d[1][c]);
            t[3][c] = _mm256_sub_ps(d[1][c], d[3][c]);
          }
          float* out = v + tile * in_ + b * kBlock;
          for (int r = 0; r < 4; ++r) {
            _mm256_storeu_ps(out + (r * 4 + 0) * xi_stride, _mm256_sub_ps(t[r][0], t[r][2]));
            _mm256_storeu_ps(out + (r * 4 + 1) * xi_stride, _mm256_add_ps(t[r][1], t[r][2]));
            _mm256_storeu_ps(out + (r * 4 + 2) * xi_stride, _mm256_sub_ps(t[r][2], t[r][1]));
            _mm256_storeu_ps(out + (r * 4 + 3) * xi_stride, _mm256_sub_ps(t[r][1], t[r][3]));
          }
        }
  }
}

// y = A^T M A, A^T = [1 1 1 0; 0 1 -1 -1]; then bias, the post-op, and only the
// outputs inside the image (the last tile of an odd size hangs over).
__attribute__((target("avx2,fma"))) void WinogradConv3x3::transform_output(long first_tile, long chunk, const float* m) const {
  float* dst = floats(dst_);
  const long blocks = out_ / kBlock, plane = height_ * width_ * kBlock;
  const long xi_stride = chunk * out_;
  const long per_image = tiles_h_ * tiles_w_;
  const long tiles = std::min(chunk, tiles_ - first_tile);
  const __m256 zero = _mm256_setzero_ps();
  for (long tile = 0; tile < tiles; ++tile) {
        const long global = first_tile + tile;
        const long n = global / per_image, ty = global % per_image / tiles_w_, tx = global % tiles_w_;
        for (long b = 0; b < blocks; ++b) {
          const float* in = m + tile * out_ + b * kBlock;
          __m256 a[2][4];  // A^T M
          for (int c = 0; c < 4; ++c) {
            const __m256 m0 = _mm256_loadu_ps(in + (0 * 4 + c) * xi_stride);
            const __m256 m1 = _mm256_loadu_ps(in + (1 * 4 + c) * xi_stride);
            const __m256 m2 = _mm256_loadu_ps(in + (2 * 4 + c) * xi_stride);
            const __m256 m3 = _mm256_loadu_ps(in + (3 * 4 + c) * xi_stride);
            a[0][c] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
            a[1][c] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
          }
          const __m256 bias = _mm256_loadu_ps(&bias_[size_t(b * kBlock)]);
          float* base = dst + (n * blocks + b) * plane;
          for (int r = 0; r < 2; ++r) {
            const long y = 2 * ty + r;
            if (y >= height_) break;
            const __m256 y0 = _mm256_add_ps(_mm256_add_ps(a[r][0], a[r][1]), a[r][2]);
            const __m256 y1 = _mm256_sub_ps(_mm256_sub_ps(a[r][1], a[r][2]), a[r][3]);
            for (int c = 0; c < 2; ++c) {
              const long x = 2 * tx + c;
              if (x >= width_) break;
              float* at = base + (y * width_ + x) * kBlock;
              __m256 value = _mm256_add_ps(c == 0 ? y0 : y1, bias);
              if (post_ == Post::kSumRelu) value = _mm256_add_ps(value, _mm256_loadu_ps(at));
              if (post_ != Post::kNone) value = _mm256_max_ps(value, zero);
              _mm256_storeu_ps(at, value);
            }
          }
        }
  }
}

}  // namespace facedex::models
