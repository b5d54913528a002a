// dlib's fHOG features (Felzenszwalb's 31 planes: 18 contrast-sensitive and 9
// contrast-insensitive orientations, 4 texture energies) of an RGB image, for
// 8 px cells, computed with AVX2 eight pixels or eight cells at a time.
//
// Why: dlib's extract_fhog_features gathers every pixel's red, green and blue
// neighbours one byte at a time into vectors, votes each pixel into four cells
// one float at a time, and normalises one cell at a time: 30% of detection's
// time on 250 px photos. Here the image comes as colour planes, votes go
// into one row of cells (then into the two cell rows with the row's vertical
// weights), and cells are normalised eight at a time.
//
// Same arithmetic as dlib's except the order of additions into a cell (dlib
// adds each pixel's four weighted votes; here a row's votes are summed first):
// features differ by float rounding only. The per-column interpolation weights
// and the colour channel chosen on ties follow dlib's vector and scalar paths
// column by column (tests/models/face_detection_kernel_test.cpp compares the
// planes with dlib's).
//
// Only in the AVX2 module (face_detection_kernel.h).
#pragma once

#include <cstddef>
#include <vector>

#include "models/kernels/planar_resize_avx2.h"

namespace facedex::models {

// Row-major float planes whose rows are padded by at least two vectors of
// zeros, so that 8-wide loads and stores past the last column stay in the row.
struct PaddedPlane {
  long rows = 0, cols = 0, stride = 0;
  std::vector<float> data;
  void reset(long r, long c) {
    rows = r;
    cols = c;
    stride = (c + 7) / 8 * 8 + 16;
    data.assign(size_t(r * stride), 0.0f);
  }
  float* row(long r) { return data.data() + r * stride; }
  const float* row(long r) const { return data.data() + r * stride; }
};

inline constexpr int kFhogPlanes = 31;
inline constexpr int kFhogCellSize = 8;

// The planes dlib's extract_fhog_features(image, planes, 8, pad_rows, pad_cols)
// returns: (cells - 2 + pad - 1) rows and columns, the border zero. An image
// with fewer than 3 cells a side gives planes of zero size.
void extract_fhog_avx2(const PlanarImage& image, int pad_rows, int pad_cols, std::vector<PaddedPlane>* planes);

}  // namespace facedex::models
