#include "models/kernels/fhog_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace facedex::models {
namespace {

constexpr int kBins = 18;  // contrast-sensitive orientations; the first 9 are also the insensitive ones

// dlib's unit vectors for the 9 orientations (fhog.h), as floats like dlib's.
constexpr float kDirX[9] = {1.0000f, 0.9397f, 0.7660f, 0.500f, 0.1736f, -0.1736f, -0.5000f, -0.7660f, -0.9397f};
constexpr float kDirY[9] = {0.0000f, 0.3420f, 0.6428f, 0.8660f, 0.9848f, 0.9848f, 0.8660f, 0.6428f, 0.3420f};

struct Scratch {
  const PlanarImage* image = nullptr;
  // Per image column: the histogram column a pixel votes into (and the next),
  // its two horizontal weights, and whether dlib ran that column on its
  // scalar path (which breaks colour ties the other way).
  std::vector<int> cell_col;
  std::vector<float> weight_left, weight_right;
  std::vector<int> scalar_column;
  std::vector<float> line[2];  // one row of votes, laid out like one row of `hist`; even and odd pixels apart
  std::vector<float> hist;     // kBins planes of (cells_nr + 2) x hist_stride
  long hist_stride = 0;
  std::vector<float> norm;  // (cells_nr + 1) x norm_stride, zero past the last cell
  long norm_stride = 0;
};

inline __m256i load8_u8(const unsigned char* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// The gradient of the colour channel with the largest gradient, at 8 pixels.
// dlib's vector path keeps the later channel on ties, its scalar path the
// earlier one: `scalar` lanes follow the scalar rule.
inline void strongest_gradient(const Scratch& s, long y, long x, __m256i scalar, __m256* gx, __m256* gy, __m256* len) {
  __m256i dx[3], dy[3], l[3];
  for (int c = 0; c < 3; ++c) {
    const unsigned char* row = s.image->row(c, y);
    dx[c] = _mm256_sub_epi32(load8_u8(row + x + 1), load8_u8(row + x - 1));
    dy[c] = _mm256_sub_epi32(load8_u8(s.image->row(c, y + 1) + x), load8_u8(s.image->row(c, y - 1) + x));
    l[c] = _mm256_add_epi32(_mm256_mullo_epi32(dx[c], dx[c]), _mm256_mullo_epi32(dy[c], dy[c]));
  }
  // Vector rule: red if red > green else green; then that if it > blue else blue.
  // Scalar rule: green if green > red else red; then blue if blue > that else that.
  const __m256i red_wins_v = _mm256_cmpgt_epi32(l[0], l[1]);
  const __m256i green_wins_s = _mm256_cmpgt_epi32(l[1], l[0]);
  const __m256i first_is_red =
      _mm256_blendv_epi8(red_wins_v, _mm256_xor_si256(green_wins_s, _mm256_set1_epi32(-1)), scalar);
  __m256i tx = _mm256_blendv_epi8(dx[1], dx[0], first_is_red);
  __m256i ty = _mm256_blendv_epi8(dy[1], dy[0], first_is_red);
  __m256i tl = _mm256_blendv_epi8(l[1], l[0], first_is_red);
  const __m256i keep_v = _mm256_cmpgt_epi32(tl, l[2]);
  const __m256i blue_wins_s = _mm256_cmpgt_epi32(l[2], tl);
  const __m256i keep = _mm256_blendv_epi8(keep_v, _mm256_xor_si256(blue_wins_s, _mm256_set1_epi32(-1)), scalar);
  *gx = _mm256_cvtepi32_ps(_mm256_blendv_epi8(dx[2], tx, keep));
  *gy = _mm256_cvtepi32_ps(_mm256_blendv_epi8(dy[2], ty, keep));
  *len = _mm256_cvtepi32_ps(_mm256_blendv_epi8(l[2], tl, keep));
}

// dlib's snapping of a gradient to one of 18 orientations (0 when it is zero).
// dlib tries dot then -dot for o = 0..8, each replacing the best only when
// strictly greater, starting from 0. At most one of dot, -dot is positive, so
// that is: the first o whose |dot| beats every earlier one, then o or o + 9 by
// the sign of its dot. Same bins, half the blends.
inline __m256i orientation(__m256 gx, __m256 gy) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 best = _mm256_setzero_ps();
  __m256 best_o = _mm256_setzero_ps();
  __m256 best_dot = _mm256_setzero_ps();
  for (int o = 0; o < 9; ++o) {
    const __m256 dot =
        _mm256_add_ps(_mm256_mul_ps(gx, _mm256_set1_ps(kDirX[o])), _mm256_mul_ps(gy, _mm256_set1_ps(kDirY[o])));
    const __m256 size = _mm256_and_ps(dot, abs_mask);
    const __m256 better = _mm256_cmp_ps(size, best, _CMP_GT_OQ);
    best = _mm256_max_ps(best, size);
    best_o = _mm256_blendv_ps(best_o, _mm256_set1_ps(float(o)), better);
    best_dot = _mm256_blendv_ps(best_dot, dot, better);
  }
  // Negative winning dot: the opposite orientation, o + 9.
  const __m256 opposite = _mm256_and_ps(_mm256_cmp_ps(best_dot, _mm256_setzero_ps(), _CMP_LT_OQ), _mm256_set1_ps(9.0f));
  return _mm256_cvttps_epi32(_mm256_add_ps(best_o, opposite));
}

// The per-column tables: dlib's vector path runs x = 1, 9, 17, ... while
// x < visible_nc - 7 and its scalar path the columns after.
void column_tables(long visible_nc, Scratch* s) {
  const long n = visible_nc + 8;
  s->cell_col.assign(size_t(n), 0);
  s->weight_left.assign(size_t(n), 0.0f);
  s->weight_right.assign(size_t(n), 0.0f);
  s->scalar_column.assign(size_t(n), 0);
  long vector_end = 1;
  while (vector_end < visible_nc - 7) vector_end += 8;
  for (long x = 1; x < visible_nc; ++x) {
    if (x < vector_end) {
      const float xp = (float(x) + 0.5f) / float(kFhogCellSize) + 0.5f;
      const int ixp = int(xp);
      const float vx0 = xp - float(ixp);
      s->cell_col[x] = ixp;
      s->weight_right[x] = vx0;
      s->weight_left[x] = 1.0f - vx0;
    } else {
      const float xp = float((double(x) + 0.5) / double(kFhogCellSize) - 0.5);
      const int ixp = int(std::floor(xp));
      const float vx0 = xp - float(ixp);
      s->cell_col[x] = ixp + 1;
      s->weight_right[x] = vx0;
      s->weight_left[x] = float(1.0 - vx0);
      s->scalar_column[x] = -1;
    }
  }
}

// Orientation histograms of every cell (with one cell of border all round),
// as dlib's first loop builds them.
void vote(long visible_nr, long visible_nc, long cells_nr, Scratch* s) {
  const long hist_rows = cells_nr + 2;
  s->hist.assign(size_t(kBins * hist_rows * s->hist_stride), 0.0f);
  for (auto& l : s->line) l.assign(size_t(kBins * s->hist_stride), 0.0f);
  alignas(32) int bins[8];
  alignas(32) float left[8], right[8];
  for (long y = 1; y < visible_nr; ++y) {
    const float yp = float((float(y) + 0.5) / float(kFhogCellSize) - 0.5);
    const int iyp = int(std::floor(yp));
    const float vy0 = yp - float(iyp);
    const float vy1 = float(1.0 - vy0);
    for (long x = 1; x < visible_nc; x += 8) {
      const __m256i scalar = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&s->scalar_column[x]));
      __m256 gx, gy, len;
      strongest_gradient(*s, y, x, scalar, &gx, &gy, &len);
      const __m256 v = _mm256_sqrt_ps(len);
      _mm256_store_si256(reinterpret_cast<__m256i*>(bins), orientation(gx, gy));
      _mm256_store_ps(left, _mm256_mul_ps(_mm256_loadu_ps(&s->weight_left[x]), v));
      _mm256_store_ps(right, _mm256_mul_ps(_mm256_loadu_ps(&s->weight_right[x]), v));
      const int lanes = int(std::min<long>(8, visible_nc - x));
      for (int i = 0; i < lanes; ++i) {
        // Even and odd pixels into separate lines: neighbours often share a
        // bin and a cell, and one line would chain their additions.
        float* line = s->line[i & 1].data() + long(bins[i]) * s->hist_stride + s->cell_col[x + i];
        line[0] += left[i];
        line[1] += right[i];
      }
    }
    // The row's votes into its two cell rows, with the row's vertical weights.
    const long hist_stride = s->hist_stride;
    float* const hist = s->hist.data();
    float* const lines[2] = {s->line[0].data(), s->line[1].data()};
    const __m256 w_top = _mm256_set1_ps(vy1), w_bottom = _mm256_set1_ps(vy0);
    for (int o = 0; o < kBins; ++o) {
      float* top = hist + (o * hist_rows + iyp + 1) * hist_stride;
      float* bottom = top + hist_stride;
      float* even = lines[0] + o * hist_stride;
      float* odd = lines[1] + o * hist_stride;
      for (long c = 0; c < hist_stride; c += 8) {
        const __m256 sum = _mm256_add_ps(_mm256_loadu_ps(even + c), _mm256_loadu_ps(odd + c));
        _mm256_storeu_ps(top + c, _mm256_add_ps(_mm256_loadu_ps(top + c), _mm256_mul_ps(w_top, sum)));
        _mm256_storeu_ps(bottom + c, _mm256_add_ps(_mm256_loadu_ps(bottom + c), _mm256_mul_ps(w_bottom, sum)));
        _mm256_storeu_ps(even + c, _mm256_setzero_ps());
        _mm256_storeu_ps(odd + c, _mm256_setzero_ps());
      }
    }
  }
}

// This thread's scratch, behind a call: used directly, a thread_local in a
// dlopen'd module costs a __tls_get_addr call at nearly every use, inner
// loops included (measured: ~10% of this file's time).
__attribute__((noinline)) Scratch& thread_scratch() {
  thread_local Scratch scratch;
  return scratch;
}

inline __m256 hist_at(const Scratch& s, long hist_rows, int o, long r, long c) {
  return _mm256_loadu_ps(s.hist.data() + (o * hist_rows + r) * s.hist_stride + c);
}

inline __m256 norm_at(const Scratch& s, long r, long c) {
  return _mm256_loadu_ps(s.norm.data() + r * s.norm_stride + c);
}

}  // namespace

void extract_fhog_avx2(const PlanarImage& image, int pad_rows, int pad_cols, std::vector<PaddedPlane>* planes) {
  planes->resize(kFhogPlanes);
  const long nr = image.rows, nc = image.cols;
  const int cells_nr = int(float(nr) / float(kFhogCellSize) + 0.5);
  const int cells_nc = int(float(nc) / float(kFhogCellSize) + 0.5);
  const int hog_nr = std::max(cells_nr - 2, 0), hog_nc = std::max(cells_nc - 2, 0);
  if (hog_nr == 0 || hog_nc == 0) {
    for (auto& p : *planes) p.reset(0, 0);
    return;
  }
  for (auto& p : *planes) p.reset(hog_nr + pad_rows - 1, hog_nc + pad_cols - 1);

  Scratch& s = thread_scratch();
  s.image = &image;
  const long visible_nr = std::min<long>(long(cells_nr) * kFhogCellSize, nr) - 1;
  const long visible_nc = std::min<long>(long(cells_nc) * kFhogCellSize, nc) - 1;
  s.hist_stride = (cells_nc + 2 + 7) / 8 * 8 + 8;
  column_tables(visible_nc, &s);
  vote(visible_nr, visible_nc, cells_nr, &s);
  const long hist_rows = cells_nr + 2;

  // Energy of each cell: sum over the 9 orientations of (sensitive + its opposite)^2.
  s.norm_stride = (cells_nc + 7) / 8 * 8 + 16;
  s.norm.assign(size_t((cells_nr + 1) * s.norm_stride), 0.0f);
  for (long r = 0; r < cells_nr; ++r) {
    for (long c = 0; c < cells_nc; c += 8) {
      __m256 acc = _mm256_setzero_ps();
      for (int o = 0; o < 9; ++o) {
        const __m256 h =
            _mm256_add_ps(hist_at(s, hist_rows, o, r + 1, c + 1), hist_at(s, hist_rows, o + 9, r + 1, c + 1));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(h, h));
      }
      const int lanes = int(std::min<long>(8, cells_nc - c));
      alignas(32) float out[8];
      _mm256_store_ps(out, acc);
      std::copy(out, out + lanes, s.norm.data() + r * s.norm_stride + c);
    }
  }

  // Features of 8 cells at a time, normalised by the energy of the 4 blocks
  // of 2x2 cells around each (dlib's z1..z4, one vector per block).
  const int row_offset = (pad_rows - 1) / 2, col_offset = (pad_cols - 1) / 2;
  const __m256 eps = _mm256_set1_ps(0.0001f), point2 = _mm256_set1_ps(0.2f), point1 = _mm256_set1_ps(0.1f);
  const __m256 texture_scale = _mm256_set1_ps(float(2 * 0.2357));
  for (long y = 0; y < hog_nr; ++y) {
    for (long x = 0; x < hog_nc; x += 8) {
      __m256 nn[4], n[4], t[4];
      const __m256 blocks[4] = {
          _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(norm_at(s, y + 1, x + 1), norm_at(s, y + 1, x + 2)),
                                      norm_at(s, y + 2, x + 1)),
                        norm_at(s, y + 2, x + 2)),
          _mm256_add_ps(
              _mm256_add_ps(_mm256_add_ps(norm_at(s, y, x + 1), norm_at(s, y, x + 2)), norm_at(s, y + 1, x + 1)),
              norm_at(s, y + 1, x + 2)),
          _mm256_add_ps(
              _mm256_add_ps(_mm256_add_ps(norm_at(s, y + 1, x), norm_at(s, y + 1, x + 1)), norm_at(s, y + 2, x)),
              norm_at(s, y + 2, x + 1)),
          _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(norm_at(s, y, x), norm_at(s, y, x + 1)), norm_at(s, y + 1, x)),
                        norm_at(s, y + 1, x + 1)),
      };
      for (int k = 0; k < 4; ++k) {
        nn[k] = _mm256_mul_ps(point2, _mm256_sqrt_ps(_mm256_add_ps(blocks[k], eps)));
        n[k] = _mm256_div_ps(point1, nn[k]);
        t[k] = _mm256_setzero_ps();
      }
      const int lanes = int(std::min<long>(8, hog_nc - x));
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      auto put = [&](int plane, __m256 value) {
        _mm256_maskstore_ps((*planes)[plane].row(y + row_offset) + x + col_offset, mask, value);
      };
      auto normalised = [&](__m256 h, __m256* parts) {
        for (int k = 0; k < 4; ++k) parts[k] = _mm256_mul_ps(_mm256_min_ps(h, nn[k]), n[k]);
        return _mm256_add_ps(_mm256_add_ps(parts[0], parts[1]), _mm256_add_ps(parts[2], parts[3]));
      };
      for (int o = 0; o < kBins; o += 3) {
        __m256 h0[4], h1[4], h2[4];
        put(o, normalised(hist_at(s, hist_rows, o, y + 2, x + 2), h0));
        put(o + 1, normalised(hist_at(s, hist_rows, o + 1, y + 2, x + 2), h1));
        put(o + 2, normalised(hist_at(s, hist_rows, o + 2, y + 2, x + 2), h2));
        for (int k = 0; k < 4; ++k) t[k] = _mm256_add_ps(t[k], _mm256_add_ps(_mm256_add_ps(h0[k], h1[k]), h2[k]));
      }
      for (int o = 0; o < 9; ++o) {
        __m256 parts[4];
        const __m256 h =
            _mm256_add_ps(hist_at(s, hist_rows, o, y + 2, x + 2), hist_at(s, hist_rows, o + 9, y + 2, x + 2));
        put(18 + o, normalised(h, parts));
      }
      for (int k = 0; k < 4; ++k) put(27 + k, _mm256_mul_ps(t[k], texture_scale));
    }
  }
}

}  // namespace facedex::models
