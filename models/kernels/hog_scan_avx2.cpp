#include "models/kernels/hog_scan_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <utility>

#include "models/kernels/fhog_avx2.h"

namespace facedex::models {
namespace {

using Scanner = dlib::scan_fhog_pyramid<dlib::pyramid_down<6>>;
using FilterBank = Scanner::fhog_filterbank;

// dlib's frontal detector: 80 px windows of 8 px cells, so 10x10 filters.
constexpr int kTaps = 10;
constexpr int kBefore = kTaps / 2;       // dlib's first_row / first_col
constexpr int kAfter = (kTaps - 1) / 2;  // rows / columns past the last window centre

using Plane = PaddedPlane;

// out[y][x] = sum_j taps[j] * in[y][x - kBefore + j] for x in [kBefore, cols - kAfter).
void filter_rows(const Plane& in, const float* taps, Plane* out) {
  __m256 t[kTaps];
  for (int j = 0; j < kTaps; ++j) t[j] = _mm256_set1_ps(taps[j]);
  const long last = in.cols - kAfter;
  for (long y = 0; y < in.rows; ++y) {
    const float* src = in.row(y) - kBefore;
    float* dst = out->row(y);
    long x = kBefore;
    // Two vectors at a time: two independent chains of ten FMAs.
    for (; x + 8 < last; x += 16) {
      __m256 a = _mm256_mul_ps(t[0], _mm256_loadu_ps(src + x));
      __m256 b = _mm256_mul_ps(t[0], _mm256_loadu_ps(src + x + 8));
      for (int j = 1; j < kTaps; ++j) {
        a = _mm256_fmadd_ps(t[j], _mm256_loadu_ps(src + x + j), a);
        b = _mm256_fmadd_ps(t[j], _mm256_loadu_ps(src + x + 8 + j), b);
      }
      _mm256_storeu_ps(dst + x, a);
      _mm256_storeu_ps(dst + x + 8, b);
    }
    for (; x < last; x += 8) {
      __m256 a = _mm256_mul_ps(t[0], _mm256_loadu_ps(src + x));
      for (int j = 1; j < kTaps; ++j) a = _mm256_fmadd_ps(t[j], _mm256_loadu_ps(src + x + j), a);
      _mm256_storeu_ps(dst + x, a);
    }
  }
}

// sum[y + o][x] += sum_m taps[m] * in[y + o - kBefore + m][x] for o < R: each
// row of `in` loaded once serves up to R output rows.
template <int R>
void add_filtered_columns_tile(const Plane& in, const __m256* t, long y, long x_end, Plane* sum) {
  for (long x = kBefore; x < x_end; x += 8) {
    __m256 acc[R];
    for (int o = 0; o < R; ++o) acc[o] = _mm256_loadu_ps(sum->row(y + o) + x);
    for (int m = 0; m < kTaps + R - 1; ++m) {
      const __m256 v = _mm256_loadu_ps(in.row(y - kBefore + m) + x);
      for (int o = 0; o < R; ++o) {
        const int tap = m - o;
        if (tap >= 0 && tap < kTaps) acc[o] = _mm256_fmadd_ps(t[tap], v, acc[o]);
      }
    }
    for (int o = 0; o < R; ++o) _mm256_storeu_ps(sum->row(y + o) + x, acc[o]);
  }
}

void add_filtered_columns(const Plane& in, const float* taps, Plane* sum) {
  __m256 t[kTaps];
  for (int j = 0; j < kTaps; ++j) t[j] = _mm256_set1_ps(taps[j]);
  const long last_row = in.rows - kAfter, last_col = in.cols - kAfter;
  long y = kBefore;
  for (; y + 4 <= last_row; y += 4) add_filtered_columns_tile<4>(in, t, y, last_col, sum);
  for (; y < last_row; ++y) add_filtered_columns_tile<1>(in, t, y, last_col, sum);
}

bool runs_here(const dlib::frontal_face_detector& detector) {
  const Scanner& scanner = detector.get_scanner();
  if (scanner.get_fhog_window_width() != unsigned(kTaps) || scanner.get_fhog_window_height() != unsigned(kTaps) ||
      scanner.get_cell_size() != unsigned(kFhogCellSize))
    return false;
  for (unsigned long i = 0; i < detector.num_detectors(); ++i) {
    const FilterBank& fb = detector.get_processed_w(i).get_detect_argument();
    // dlib's own rule for running the separable terms (scan_fhog_pyramid.h, apply_filters_to_fhog).
    if (fb.filters.empty() ||
        fb.num_separable_filters() > fb.filters.size() * std::min(fb.filters[0].nr(), fb.filters[0].nc()) / 3.0)
      return false;
    for (size_t c = 0; c < fb.row_filters.size(); ++c)
      for (size_t k = 0; k < fb.row_filters[c].size(); ++k)
        if (fb.row_filters[c][k].size() != kTaps || fb.col_filters[c][k].size() != kTaps) return false;
  }
  return true;
}

struct ScanState {
  std::vector<Plane> planes;  // fHOG of the current level
  Plane row_filtered;
  std::vector<Plane> scores;  // one per detector
  PlanarImage pyramid[2];     // the current level and the one before
};

// This thread's buffers, behind a call (fhog_avx2.cpp, thread_scratch, says why).
__attribute__((noinline)) ScanState& thread_scan_state() {
  thread_local ScanState state;
  return state;
}

// The number of pyramid levels dlib's create_fhog_pyramid uses for this image.
unsigned long pyramid_levels(const Scanner& scanner, const dlib::rectangle& image) {
  const dlib::pyramid_down<6> pyramid;
  unsigned long levels = 0;
  dlib::rectangle rect = image;
  do {
    rect = pyramid.rect_down(rect);
    ++levels;
  } while (rect.width() >= scanner.get_min_pyramid_layer_width() &&
           rect.height() >= scanner.get_min_pyramid_layer_height() && levels < scanner.get_max_pyramid_levels());
  return levels;
}

}  // namespace

void run_frontal_detector_avx2(dlib::frontal_face_detector& detector, const PlanarImage& image, double adjust_threshold,
                               std::vector<dlib::rect_detection>* out) {
  if (!runs_here(detector)) {
    dlib::matrix<dlib::rgb_pixel> interleaved(image.rows, image.cols);
    for (long r = 0; r < image.rows; ++r)
      for (long c = 0; c < image.cols; ++c)
        interleaved(r, c) = dlib::rgb_pixel(image.row(0, r)[c], image.row(1, r)[c], image.row(2, r)[c]);
    detector(interleaved, *out, adjust_threshold);
    return;
  }
  const Scanner& scanner = detector.get_scanner();
  const unsigned long detectors = detector.num_detectors();
  const int cell = int(scanner.get_cell_size());
  const long window_w = long(scanner.get_fhog_window_width()), window_h = long(scanner.get_fhog_window_height());
  const long padding = long(scanner.get_padding());

  ScanState& st = thread_scan_state();

  std::vector<double> thresholds(detectors);
  for (unsigned long i = 0; i < detectors; ++i)
    thresholds[i] = detector.get_processed_w(i).w(scanner.get_num_dimensions());
  std::vector<std::vector<std::pair<double, dlib::rectangle>>> dets(detectors);
  st.scores.resize(detectors);
  const dlib::pyramid_down<6> pyramid;

  // The levels of dlib's create_fhog_pyramid: the image, then each level
  // made from the one before by dlib's pyramid_down<6>.
  const unsigned long levels = pyramid_levels(scanner, dlib::rectangle(image.cols, image.rows));
  const PlanarImage* level_image = &image;
  for (unsigned long level = 0; level < levels; ++level) {
    if (level > 0) {
      PlanarImage* next = &st.pyramid[level % 2];
      pyramid_down6_avx2(*level_image, next);
      level_image = next;
    }
    extract_fhog_avx2(*level_image, int(window_h), int(window_w), &st.planes);
    const auto& planes = st.planes;
    const long rows = planes[0].rows, cols = planes[0].cols;
    if (rows < kTaps || cols < kTaps) continue;  // no window fits: dlib finds nothing here either
    for (auto& s : st.scores) s.reset(rows, cols);
    st.row_filtered.reset(rows, cols);
    for (size_t c = 0; c < planes.size(); ++c) {
      for (unsigned long i = 0; i < detectors; ++i) {
        const FilterBank& fb = detector.get_processed_w(i).get_detect_argument();
        for (size_t k = 0; k < fb.row_filters[c].size(); ++k) {
          filter_rows(planes[c], &fb.row_filters[c][k](0), &st.row_filtered);
          add_filtered_columns(st.row_filtered, &fb.col_filters[c][k](0), &st.scores[i]);
        }
      }
    }
    // What dlib's detect_from_fhog_pyramid does with its saliency image.
    for (unsigned long i = 0; i < detectors; ++i) {
      const double thresh = thresholds[i] + adjust_threshold;
      for (long r = kBefore; r < rows - kAfter; ++r) {
        const float* s = st.scores[i].row(r);
        for (long c = kBefore; c < cols - kAfter; ++c) {
          if (s[c] < thresh) continue;
          dlib::rectangle rect = scanner.get_feature_extractor().feats_to_image(
              dlib::centered_rect(dlib::point(c, r), window_w - 2 * padding, window_h - 2 * padding), cell,
              int(window_h), int(window_w));
          dets[i].emplace_back(s[c], pyramid.rect_up(rect, level));
        }
      }
    }
  }

  // What object_detector::operator() does with each detector's windows.
  std::vector<dlib::rect_detection> accum;
  for (unsigned long i = 0; i < detectors; ++i) {
    std::sort(dets[i].rbegin(), dets[i].rend(), dlib::impl::compare_pair_rect);
    for (const auto& d : dets[i]) {
      dlib::rect_detection det;
      det.detection_confidence = d.first - thresholds[i];
      det.weight_index = i;
      det.rect = d.second;
      accum.push_back(det);
    }
  }
  if (detectors > 1) std::sort(accum.rbegin(), accum.rend());
  const dlib::test_box_overlap& overlaps = detector.get_overlap_tester();
  out->clear();
  for (const auto& det : accum) {
    const bool suppressed = std::any_of(
        out->begin(), out->end(), [&](const dlib::rect_detection& kept) { return overlaps(kept.rect, det.rect); });
    if (!suppressed) out->push_back(det);
  }
}

}  // namespace facedex::models
