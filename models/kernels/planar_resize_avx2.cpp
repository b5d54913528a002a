#include "models/kernels/planar_resize_avx2.h"

#include <dlib/image_transforms/image_pyramid.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace facedex::models {

void PlanarImage::reset(long r, long c) {
  rows = r;
  cols = c;
  stride = c + 32;
  for (auto& p : plane) p.resize(size_t(r * stride));
}

void to_planar(const dlib::rgb_pixel* pixels, long rows, long cols, long stride, PlanarImage* out) {
  out->reset(rows, cols);
  for (long y = 0; y < rows; ++y) {
    const dlib::rgb_pixel* p = pixels + y * stride;
    unsigned char* r = out->row(0, y);
    unsigned char* g = out->row(1, y);
    unsigned char* b = out->row(2, y);
    for (long x = 0; x < cols; ++x) {
      r[x] = p[x].red;
      g[x] = p[x].green;
      b[x] = p[x].blue;
    }
  }
}

namespace {

// Where each output column reads, as dlib's resize_image computes it.
struct ColumnTable {
  std::vector<int> left;
  std::vector<float> frac, inv_frac;  // dlib's lr_frac and 1 - lr_frac (float columns)
  long float_end = 0;                 // columns before this take dlib's float path, the rest its double path
  // Per group of 8 float columns: the first column's left neighbour, and the
  // byte shuffles that bring each column's left and right neighbours from 16
  // bytes loaded there; `shuffled` false where the group spans too far.
  std::vector<int> base;
  struct alignas(16) Shuffle {
    unsigned char byte[16];
  };
  std::vector<Shuffle> pick_left, pick_right;
  std::vector<bool> shuffled;
};

ColumnTable column_table(long in_cols, long out_cols) {
  ColumnTable t;
  t.left.assign(size_t(out_cols), 0);
  t.frac.assign(size_t(out_cols), 0.0f);
  t.inv_frac.assign(size_t(out_cols), 0.0f);
  const double x_scale = (in_cols - 1) / double(std::max<long>(out_cols - 1, 1));
  // dlib: _x = simd4f(x, x+s, x+2s, x+3s) with x = -4s, then _x += 4s before each group of 4.
  const double x = -4 * x_scale;
  float lanes[4] = {float(x), float(x + x_scale), float(x + 2 * x_scale), float(x + 3 * x_scale)};
  const float step = float(4 * x_scale);
  long c = 0;
  for (;; c += 4) {
    int left[4];
    for (int i = 0; i < 4; ++i) {
      lanes[i] += step;
      left[i] = int(lanes[i]);  // _mm_cvttps_epi32
    }
    if (left[3] + 1 >= in_cols) break;
    for (int i = 0; i < 4; ++i) {
      t.left[c + i] = left[i];
      t.frac[c + i] = lanes[i] - float(left[i]);
      t.inv_frac[c + i] = 1.0f - t.frac[c + i];
    }
  }
  t.float_end = c;
  for (long g = 0; g + 8 <= t.float_end; g += 8) {
    const int base = t.left[g];
    ColumnTable::Shuffle pl, pr;
    bool ok = true;
    for (int i = 0; i < 16; ++i) pl.byte[i] = pr.byte[i] = 0x80;  // zero bytes
    for (int i = 0; i < 8; ++i) {
      const int offset = t.left[g + i] - base;
      if (offset < 0 || offset + 1 > 15) ok = false;
      pl.byte[i] = (unsigned char)offset;
      pr.byte[i] = (unsigned char)(offset + 1);
    }
    t.base.push_back(base);
    t.pick_left.push_back(pl);
    t.pick_right.push_back(pr);
    t.shuffled.push_back(ok);
  }
  return t;
}

inline __m256 bytes_to_floats(__m128i eight_bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(eight_bytes)); }

}  // namespace

void resize_bilinear_avx2(const PlanarImage& in, long out_rows, long out_cols, PlanarImage* out) {
  out->reset(out_rows, out_cols);
  if (out_rows == 0 || out_cols == 0 || in.rows == 0 || in.cols == 0) return;
  const ColumnTable t = column_table(in.cols, out_cols);
  const double x_scale = (in.cols - 1) / double(std::max<long>(out_cols - 1, 1));
  const double y_scale = (in.rows - 1) / double(std::max<long>(out_rows - 1, 1));
  double y = -y_scale;
  for (long r = 0; r < out_rows; ++r) {
    y += y_scale;
    const long top = long(std::floor(y));
    const long bottom = std::min(top + 1, in.rows - 1);
    const double tb_frac = y - top;
    const float tb = float(tb_frac), inv_tb = float(1 - tb_frac);
    const __m256 v_tb = _mm256_set1_ps(tb), v_inv_tb = _mm256_set1_ps(inv_tb);
    long c = 0;
    for (size_t g = 0; g < t.base.size() && t.shuffled[g]; ++g, c += 8) {
      const __m128i pick_left = _mm_load_si128(reinterpret_cast<const __m128i*>(t.pick_left[g].byte));
      const __m128i pick_right = _mm_load_si128(reinterpret_cast<const __m128i*>(t.pick_right[g].byte));
      const __m256 lr = _mm256_loadu_ps(&t.frac[c]), inv_lr = _mm256_loadu_ps(&t.inv_frac[c]);
      const __m256 tlf = _mm256_mul_ps(v_inv_tb, inv_lr), trf = _mm256_mul_ps(v_inv_tb, lr);
      const __m256 blf = _mm256_mul_ps(v_tb, inv_lr), brf = _mm256_mul_ps(v_tb, lr);
      for (int ch = 0; ch < 3; ++ch) {
        const __m128i top16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in.row(ch, top) + t.base[g]));
        const __m128i bottom16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in.row(ch, bottom) + t.base[g]));
        const __m256 tl = bytes_to_floats(_mm_shuffle_epi8(top16, pick_left));
        const __m256 tr = bytes_to_floats(_mm_shuffle_epi8(top16, pick_right));
        const __m256 bl = bytes_to_floats(_mm_shuffle_epi8(bottom16, pick_left));
        const __m256 br = bytes_to_floats(_mm_shuffle_epi8(bottom16, pick_right));
        // dlib: tlf*tl + trf*tr + blf*bl + brf*br, left to right, then truncated.
        __m256 sum = _mm256_add_ps(_mm256_mul_ps(tlf, tl), _mm256_mul_ps(trf, tr));
        sum = _mm256_add_ps(sum, _mm256_mul_ps(blf, bl));
        sum = _mm256_add_ps(sum, _mm256_mul_ps(brf, br));
        const __m256i v = _mm256_cvttps_epi32(sum);
        const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out->row(ch, r) + c), _mm_packus_epi16(words, words));
      }
    }
    // The rest of dlib's float columns, one at a time with the same float operations.
    for (; c < t.float_end; ++c) {
      const float tlf = inv_tb * t.inv_frac[c], trf = inv_tb * t.frac[c];
      const float blf = tb * t.inv_frac[c], brf = tb * t.frac[c];
      const long left = t.left[c], right = left + 1;
      for (int ch = 0; ch < 3; ++ch) {
        const unsigned char* tp = in.row(ch, top);
        const unsigned char* bp = in.row(ch, bottom);
        const float sum =
            tlf * float(tp[left]) + trf * float(tp[right]) + blf * float(bp[left]) + brf * float(bp[right]);
        out->row(ch, r)[c] = static_cast<unsigned char>(int(sum));
      }
    }
    // dlib's scalar loop for the last columns, in doubles.
    double x = -x_scale + c * x_scale;
    for (; c < out_cols; ++c) {
      x += x_scale;
      const long left = long(std::floor(x));
      const long right = std::min(left + 1, in.cols - 1);
      const double lr_frac = x - left;
      for (int ch = 0; ch < 3; ++ch) {
        const double tl = in.row(ch, top)[left], tr = in.row(ch, top)[right];
        const double bl = in.row(ch, bottom)[left], br = in.row(ch, bottom)[right];
        const double v =
            (1 - tb_frac) * ((1 - lr_frac) * tl + lr_frac * tr) + tb_frac * ((1 - lr_frac) * bl + lr_frac * br);
        out->row(ch, r)[c] = static_cast<unsigned char>(v);
      }
    }
  }
}

void pyramid_down6_avx2(const PlanarImage& in, PlanarImage* out) {
  // dlib: set_image_size(down, ((N-1)*rows)/N + 0.5, ...), an integer division.
  resize_bilinear_avx2(in, (5 * in.rows) / 6, (5 * in.cols) / 6, out);
}

void pyramid_up2_avx2(const PlanarImage& in, PlanarImage* out) {
  if (in.rows == 0 || in.cols == 0) {
    out->reset(0, 0);
    return;
  }
  const dlib::rectangle up = dlib::pyramid_down<2>().rect_up(dlib::rectangle(in.cols, in.rows));
  if (up.is_empty()) {
    out->reset(0, 0);
    return;
  }
  resize_bilinear_avx2(in, up.bottom() + 1, up.right() + 1, out);
}

const PlanarImage& pyramid_level_avx2(const PlanarImage& image, unsigned long level, PlanarImage scratch[2]) {
  const PlanarImage* current = &image;
  for (unsigned long l = 1; l <= level; ++l) {
    PlanarImage* next = &scratch[l % 2];
    pyramid_down6_avx2(*current, next);
    current = next;
  }
  return *current;
}

}  // namespace facedex::models
