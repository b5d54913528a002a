#include "models/kernels/winograd_conv.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>

#include "util/kernel_choice.h"

#define FACEDEX_AVX2 __attribute__((target("avx2,fma")))

namespace facedex::models {
namespace {

using dnnl::memory;
constexpr long kBlock = 8;  // channels per nChw8c block, one __m256

float* floats(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

// The one-dimensional transforms of F(m, 3) (Lavin & Gray's matrices); the
// two-dimensional ones apply them to the columns, then to the rows of a tile.
template <int M>
struct Winograd;

template <>
struct Winograd<2> {
  static constexpr int kAlpha = 4;  // input tile side
  static constexpr double kG[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
  FACEDEX_AVX2 static void input(const __m256* d, __m256* t) {
    t[0] = _mm256_sub_ps(d[0], d[2]);
    t[1] = _mm256_add_ps(d[1], d[2]);
    t[2] = _mm256_sub_ps(d[2], d[1]);
    t[3] = _mm256_sub_ps(d[1], d[3]);
  }
  // A^T = [1 1 1 0; 0 1 -1 -1]
  FACEDEX_AVX2 static void output(const __m256* m, __m256* y) {
    y[0] = _mm256_add_ps(_mm256_add_ps(m[0], m[1]), m[2]);
    y[1] = _mm256_sub_ps(_mm256_sub_ps(m[1], m[2]), m[3]);
  }
};

template <>
struct Winograd<4> {
  static constexpr int kAlpha = 6;
  static constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};
  // B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
  FACEDEX_AVX2 static void input(const __m256* d, __m256* t) {
    const __m256 four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f), two = _mm256_set1_ps(2.f);
    t[0] = _mm256_add_ps(_mm256_fnmadd_ps(five, d[2], _mm256_mul_ps(four, d[0])), d[4]);
    t[1] = _mm256_fnmadd_ps(four, _mm256_add_ps(d[1], d[2]), _mm256_add_ps(d[3], d[4]));
    t[2] = _mm256_fmadd_ps(four, _mm256_sub_ps(d[1], d[2]), _mm256_sub_ps(d[4], d[3]));
    const __m256 even = _mm256_sub_ps(d[4], d[2]), odd = _mm256_mul_ps(two, _mm256_sub_ps(d[3], d[1]));
    t[3] = _mm256_add_ps(even, odd);
    t[4] = _mm256_sub_ps(even, odd);
    t[5] = _mm256_add_ps(_mm256_fnmadd_ps(five, d[3], _mm256_mul_ps(four, d[1])), d[5]);
  }
  // A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
  FACEDEX_AVX2 static void output(const __m256* m, __m256* y) {
    const __m256 sum12 = _mm256_add_ps(m[1], m[2]), diff12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 sum34 = _mm256_add_ps(m[3], m[4]), diff34 = _mm256_sub_ps(m[3], m[4]);
    y[0] = _mm256_add_ps(_mm256_add_ps(m[0], sum12), sum34);
    y[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), diff34, diff12);
    y[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), sum34, sum12);
    y[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), diff34, diff12), m[5]);
  }
};

template <>
struct Winograd<6> {
  static constexpr int kAlpha = 8;
  static constexpr double kG[8][3] = {{1, 0, 0},
                                      {-2.0 / 9, -2.0 / 9, -2.0 / 9},
                                      {-2.0 / 9, 2.0 / 9, -2.0 / 9},
                                      {1.0 / 90, 1.0 / 45, 2.0 / 45},
                                      {1.0 / 90, -1.0 / 45, 2.0 / 45},
                                      {32.0 / 45, 16.0 / 45, 8.0 / 45},
                                      {32.0 / 45, -16.0 / 45, 8.0 / 45},
                                      {0, 0, 1}};
  // B^T = [1 0 -21/4 0 21/4 0 -1 0; 0 1 1 -17/4 -17/4 1 1 0; 0 -1 1 17/4 -17/4 -1 1 0;
  //        0 1/2 1/4 -5/2 -5/4 2 1 0; 0 -1/2 1/4 5/2 -5/4 -2 1 0; 0 2 4 -5/2 -5 1/2 1 0;
  //        0 -2 4 5/2 -5 -1/2 1 0; 0 -1 0 21/4 0 -21/4 0 1]
  // Rows 1-6 come in pairs that share their even and odd parts.
  FACEDEX_AVX2 static void input(const __m256* d, __m256* t) {
    const __m256 c525 = _mm256_set1_ps(5.25f), c425 = _mm256_set1_ps(4.25f);
    t[0] = _mm256_fmadd_ps(c525, _mm256_sub_ps(d[4], d[2]), _mm256_sub_ps(d[0], d[6]));
    t[7] = _mm256_fmadd_ps(c525, _mm256_sub_ps(d[3], d[5]), _mm256_sub_ps(d[7], d[1]));
    const __m256 even1 = _mm256_fnmadd_ps(c425, d[4], _mm256_add_ps(d[2], d[6]));
    const __m256 odd1 = _mm256_fnmadd_ps(c425, d[3], _mm256_add_ps(d[1], d[5]));
    t[1] = _mm256_add_ps(even1, odd1);
    t[2] = _mm256_sub_ps(even1, odd1);
    const __m256 even3 =
        _mm256_fmadd_ps(_mm256_set1_ps(0.25f), d[2], _mm256_fnmadd_ps(_mm256_set1_ps(1.25f), d[4], d[6]));
    const __m256 odd3 =
        _mm256_fmadd_ps(_mm256_set1_ps(0.5f), d[1],
                        _mm256_fmadd_ps(_mm256_set1_ps(2.f), d[5], _mm256_mul_ps(_mm256_set1_ps(-2.5f), d[3])));
    t[3] = _mm256_add_ps(even3, odd3);
    t[4] = _mm256_sub_ps(even3, odd3);
    const __m256 even5 = _mm256_fmadd_ps(_mm256_set1_ps(4.f), d[2], _mm256_fnmadd_ps(_mm256_set1_ps(5.f), d[4], d[6]));
    const __m256 odd5 =
        _mm256_fmadd_ps(_mm256_set1_ps(2.f), d[1],
                        _mm256_fmadd_ps(_mm256_set1_ps(0.5f), d[5], _mm256_mul_ps(_mm256_set1_ps(-2.5f), d[3])));
    t[5] = _mm256_add_ps(even5, odd5);
    t[6] = _mm256_sub_ps(even5, odd5);
  }
  // A^T = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 0; 0 1 1 4 4 1/4 1/4 0; 0 1 -1 8 -8 1/8 -1/8 0;
  //        0 1 1 16 16 1/16 1/16 0; 0 1 -1 32 -32 1/32 -1/32 1]
  FACEDEX_AVX2 static void output(const __m256* m, __m256* y) {
    const __m256 sum12 = _mm256_add_ps(m[1], m[2]), diff12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 sum34 = _mm256_add_ps(m[3], m[4]), diff34 = _mm256_sub_ps(m[3], m[4]);
    const __m256 sum56 = _mm256_add_ps(m[5], m[6]), diff56 = _mm256_sub_ps(m[5], m[6]);
    y[0] = _mm256_add_ps(_mm256_add_ps(m[0], sum12), _mm256_add_ps(sum34, sum56));
    y[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), diff34, _mm256_fmadd_ps(_mm256_set1_ps(0.5f), diff56, diff12));
    y[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), sum34, _mm256_fmadd_ps(_mm256_set1_ps(0.25f), sum56, sum12));
    y[3] = _mm256_fmadd_ps(_mm256_set1_ps(8.f), diff34, _mm256_fmadd_ps(_mm256_set1_ps(0.125f), diff56, diff12));
    y[4] = _mm256_fmadd_ps(_mm256_set1_ps(16.f), sum34, _mm256_fmadd_ps(_mm256_set1_ps(0.0625f), sum56, sum12));
    y[5] = _mm256_add_ps(
        _mm256_fmadd_ps(_mm256_set1_ps(32.f), diff34, _mm256_fmadd_ps(_mm256_set1_ps(0.03125f), diff56, diff12)), m[7]);
  }
};

// Columns of the transformed filters per strip: two AVX2 vectors.
constexpr long kStrip = 16;

// Floats from one xi's matrix of a chunk's transformed tiles (V or M) to the
// next: chunk x channels, plus a cache line. Unpadded, the 16, 36 or 64 matrices
// lay a multiple of 4 KB apart, so the transforms' 16, 36 or 64 loads or stores
// of a tile fell into one L1 set (8 ways) and went to L2.
long xi_stride(long chunk, long channels) { return chunk * channels + 16; }

// U[xi][out / 16][in][16] = (G g G^T)[xi] for every channel pair, in double
// precision: each xi's [in][out] matrix cut into strips of 16 output columns,
// each strip contiguous, so the products read it in order from L1.
template <int M>
std::vector<float> transform_filters(const std::vector<float>& filters, int in, int out) {
  constexpr int a = Winograd<M>::kAlpha;
  const auto& G = Winograd<M>::kG;
  std::vector<float> u(size_t(a * a) * size_t(in) * size_t(out));
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) {
      const float* g = &filters[(size_t(o) * size_t(in) + size_t(i)) * 9];
      double gg[a][3];  // G g
      for (int r = 0; r < a; ++r)
        for (int c = 0; c < 3; ++c) gg[r][c] = G[r][0] * g[c] + G[r][1] * g[3 + c] + G[r][2] * g[6 + c];
      for (int r = 0; r < a; ++r)
        for (int c = 0; c < a; ++c) {
          const double v = gg[r][0] * G[c][0] + gg[r][1] * G[c][1] + gg[r][2] * G[c][2];  // (G g) G^T
          const size_t strip = size_t(o) / kStrip, column = size_t(o) % kStrip;
          u[((size_t(r * a + c) * size_t(out / kStrip) + strip) * size_t(in) + size_t(i)) * kStrip + column] = float(v);
        }
    }
  return u;
}

// c[r][0..n) = sum_k a[r][k] * b[k][0..n) for R rows of a (k_size apart) and
// c (n apart), b in strips of 16 columns ([n / 16][k_size][16]), n a multiple
// of 16. R x 16 outputs live in 2R registers while k runs (R <= 6 keeps 12
// accumulators and the two strip vectors within AVX2's 16). The R rows of a
// (at most 6 KB) stay in L1 over every strip, and b is read in the order it
// lies in memory. (Read as [k][n], each k took a row of b 512 B-1 KB from the
// last, from L2 or L3, and the products stalled on those loads.)
template <int R>
FACEDEX_AVX2 inline void multiply_rows(const float* a, const float* b, float* c, long k_size, long n) {
  for (long col = 0; col < n; col += kStrip) {
    const float* strip = b + col * k_size;
    __m256 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (long k = 0; k < k_size; ++k) {
      const __m256 b0 = _mm256_loadu_ps(strip + k * kStrip), b1 = _mm256_loadu_ps(strip + k * kStrip + 8);
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

FACEDEX_AVX2 void multiply(const float* a, const float* b, float* c, long rows, long k_size, long n) {
  using Rows = void (*)(const float*, const float*, float*, long, long);
  static constexpr Rows kLastRows[6] = {nullptr,          multiply_rows<1>, multiply_rows<2>,
                                        multiply_rows<3>, multiply_rows<4>, multiply_rows<5>};
  long r = 0;
  for (; r + 6 <= rows; r += 6) multiply_rows<6>(a + r * k_size, b, c + r * n, k_size, n);
  if (r < rows) kLastRows[rows - r](a + r * k_size, b, c + r * n, k_size, n);
}

}  // namespace

bool winograd_available() { return use_avx2_kernels(); }

int winograd_tile_for(long height, int channels) {
  // The largest tile whose tiles cover the image about as tightly as F(2x2)'s
  // (35 and 17 rows: 36 and 18 with 6x6 tiles; 8 rows: 8 with 4x4 tiles, 12
  // with 6x6), so that fewer multiplies are not spent on the overhang (F(4x4)
  // on 17 rows, 20 covered, ran slower than F(2x2)). And only while the
  // transformed filters (36/9 or 64/9 the direct ones' size) are small enough
  // to be read once per chunk: not at 256 channels.
  if (channels > 128) return 2;
  if (height % 6 == 0 || height % 6 == 5) return 6;
  if (height % 4 == 0 || height % 4 == 3) return 4;
  return 2;
}

WinogradFilters transform_winograd_filters(const std::vector<float>& filters, int in, int out, int tile) {
  return std::make_shared<const std::vector<float>>(tile == 6   ? transform_filters<6>(filters, in, out)
                                                    : tile == 4 ? transform_filters<4>(filters, in, out)
                                                                : transform_filters<2>(filters, in, out));
}

WinogradConv3x3::WinogradConv3x3(WinogradFilters u, const std::vector<float>& bias, int in, int out, const memory& src,
                                 const memory& dst, Post post, int tile)
    : in_(in),
      out_(out),
      tile_(tile),
      alpha_(tile + 2),
      post_(post),
      src_(src),
      dst_(dst),
      u_(std::move(u)),
      bias_(bias) {
  const memory::dims d = src.get_desc().dims();
  batch_ = d[0];
  height_ = d[2];
  width_ = d[3];
  tiles_h_ = (height_ + tile_ - 1) / tile_;
  tiles_w_ = (width_ + tile_ - 1) / tile_;
  tiles_ = batch_ * tiles_h_ * tiles_w_;
  // 256 KB of transformed input per chunk, but at least 64 tiles of F(2x2)
  // or F(4x4), so that the matrix products still reuse the transformed
  // filters. F(6x6)'s 64 matrices a tile make 16 tiles the floor: with 64, a
  // 64-channel chunk (2 MB with its products) leaves L2 and the 17x17 layers
  // slow down (benchmarks/RESULTS.md, descriptor efficiency).
  const long min_chunk = tile_ == 6 ? 16 : 64;
  chunk_ = std::min(tiles_, std::max<long>(min_chunk, 65536 / (alpha_ * alpha_ * in)));
}

void WinogradConv3x3::run(dnnl::stream& stream, Scratch& scratch) {
  stream.wait();  // the layer before has written src
  // Every thread gets a chunk even when the tiles are few (a single face).
  const long threads = omp_get_max_threads();
  const long chunk = std::min(chunk_, (tiles_ + threads - 1) / threads);
  const long chunks = (tiles_ + chunk - 1) / chunk;
  const long xis = alpha_ * alpha_;
  const size_t v_size = size_t(xis * xi_stride(chunk, in_)), m_size = size_t(xis * xi_stride(chunk, out_));
  if (scratch.size() < size_t(threads)) scratch.resize(size_t(threads));
#pragma omp parallel for schedule(dynamic)
  for (long c = 0; c < chunks; ++c) {
    // V [alpha^2][chunk][in], then M [alpha^2][chunk][out]
    std::vector<float>& mine = scratch[size_t(omp_get_thread_num())];
    if (mine.size() < v_size + m_size) mine.resize(v_size + m_size);
    float* v = mine.data();
    float* m = v + v_size;
    const long first = c * chunk;
    if (tile_ == 6)
      transform_input<6>(first, chunk, v);
    else if (tile_ == 4)
      transform_input<4>(first, chunk, v);
    else
      transform_input<2>(first, chunk, v);
    for (long xi = 0; xi < xis; ++xi)
      multiply(v + xi * xi_stride(chunk, in_), u_->data() + xi * in_ * out_, m + xi * xi_stride(chunk, out_), chunk,
               in_, out_);
    if (tile_ == 6)
      transform_output<6>(first, chunk, m);
    else if (tile_ == 4)
      transform_output<4>(first, chunk, m);
    else
      transform_output<2>(first, chunk, m);
  }
}

// V = B^T d B, 8 channels at a time; tiles past the last (the last chunk is
// padded) are zeros.
template <int M>
FACEDEX_AVX2 void WinogradConv3x3::transform_input(long first_tile, long chunk, float* v) const {
  constexpr int a = Winograd<M>::kAlpha;
  const float* src = floats(src_);
  const long blocks = in_ / kBlock, plane = height_ * width_ * kBlock;
  const long stride = xi_stride(chunk, in_);
  const long per_image = tiles_h_ * tiles_w_;
  for (long tile = 0; tile < chunk; ++tile) {
    const long global = first_tile + tile;
    const long n = global / per_image, ty = global % per_image / tiles_w_, tx = global % tiles_w_;
    // The tile's rows and columns inside the image, [first, last): the rest
    // are the convolution's zero padding. Tiles past the last are all zeros.
    const long top = M * ty - 1, left = M * tx - 1;
    const int first_row = int(std::max(0L, -top)),
              last_row = global < tiles_ ? int(std::min<long>(a, height_ - top)) : 0;
    const int first_col = int(std::max(0L, -left)), last_col = int(std::min<long>(a, width_ - left));
    const bool inside = first_row == 0 && last_row == a && first_col == 0 && last_col == a;
    for (long b = 0; b < blocks; ++b) {
      const float* base = src + (n * blocks + b) * plane;
      __m256 t[a][a];  // B^T d, column by column
      for (int c = 0; c < a; ++c) {
        // An offset, not a pointer: a padding row or column lies outside src.
        const long at = (top * width_ + left + c) * kBlock;
        __m256 column[a];
        if (inside) {
          for (int r = 0; r < a; ++r) column[r] = _mm256_loadu_ps(base + at + r * width_ * kBlock);
        } else {
          const bool in_columns = c >= first_col && c < last_col;
          for (int r = 0; r < a; ++r)
            column[r] = in_columns && r >= first_row && r < last_row ? _mm256_loadu_ps(base + at + r * width_ * kBlock)
                                                                     : _mm256_setzero_ps();
        }
        __m256 out[a];
        Winograd<M>::input(column, out);
        for (int r = 0; r < a; ++r) t[r][c] = out[r];
      }
      float* to = v + tile * in_ + b * kBlock;
      for (int r = 0; r < a; ++r) {
        __m256 row[a];
        Winograd<M>::input(t[r], row);  // (B^T d) B
        for (int c = 0; c < a; ++c) _mm256_storeu_ps(to + (r * a + c) * stride, row[c]);
      }
    }
  }
}

// y = A^T M A; then bias, the post-op, and only the outputs inside the image
// (the last tile of a size that is not a multiple of M hangs over).
template <int M>
FACEDEX_AVX2 void WinogradConv3x3::transform_output(long first_tile, long chunk, const float* m) const {
  constexpr int a = Winograd<M>::kAlpha;
  float* dst = floats(dst_);
  const long blocks = out_ / kBlock, plane = height_ * width_ * kBlock;
  const long stride = xi_stride(chunk, out_);
  const long per_image = tiles_h_ * tiles_w_;
  const long tiles = std::min(chunk, tiles_ - first_tile);
  const __m256 zero = _mm256_setzero_ps();
  for (long tile = 0; tile < tiles; ++tile) {
    const long global = first_tile + tile;
    const long n = global / per_image, ty = global % per_image / tiles_w_, tx = global % tiles_w_;
    for (long b = 0; b < blocks; ++b) {
      const float* from = m + tile * out_ + b * kBlock;
      __m256 t[M][a];  // A^T M, column by column
      for (int c = 0; c < a; ++c) {
        __m256 column[a];
        for (int r = 0; r < a; ++r) column[r] = _mm256_loadu_ps(from + (r * a + c) * stride);
        __m256 out[M];
        Winograd<M>::output(column, out);
        for (int r = 0; r < M; ++r) t[r][c] = out[r];
      }
      const __m256 bias = _mm256_loadu_ps(&bias_[size_t(b * kBlock)]);
      float* base = dst + (n * blocks + b) * plane;
      for (int r = 0; r < M; ++r) {
        const long y = M * ty + r;
        if (y >= height_) break;
        __m256 row[M];
        Winograd<M>::output(t[r], row);  // (A^T M) A
        for (int c = 0; c < M; ++c) {
          const long x = M * tx + c;
          if (x >= width_) break;
          float* at = base + (y * width_ + x) * kBlock;
          __m256 value = _mm256_add_ps(row[c], bias);
          if (post_ == Post::kSumRelu) value = _mm256_add_ps(value, _mm256_loadu_ps(at));
          if (post_ != Post::kNone) value = _mm256_max_ps(value, zero);
          _mm256_storeu_ps(at, value);
        }
      }
    }
  }
}

}  // namespace facedex::models
