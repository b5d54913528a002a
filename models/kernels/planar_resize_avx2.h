// An RGB image as three planes of bytes, and dlib's bilinear resize_image on
// it with AVX2, giving dlib's pixels exactly.
//
// Why: dlib's resize_image (which its pyramid_down<6> and pyramid_up use to
// build the detection pyramid) fetches the four neighbours of every output
// pixel one byte at a time per colour, a large share of detection's time on
// small photos. Here each colour is its own plane, so the neighbours of 8 output
// pixels come from one 16-byte load and a byte shuffle.
//
// Exactly dlib's arithmetic: the column positions are accumulated in floats
// four lanes at a time as dlib's SSE loop does, the four weights and the
// weighted sum are formed in dlib's order, truncated like dlib's; the columns
// dlib leaves to its scalar double-precision loop get that loop
// (tests/models/face_detection_kernel_test.cpp compares every pixel).
//
// Only in the AVX2 module (face_detection_kernel.h).
#pragma once

#include <dlib/pixel.h>

#include <vector>

namespace facedex::models {

struct PlanarImage {
  long rows = 0, cols = 0, stride = 0;  // stride >= cols + 32: vector loads may read past the last column
  std::vector<unsigned char> plane[3];  // red, green, blue
  void reset(long r, long c);
  unsigned char* row(int channel, long r) { return plane[channel].data() + r * stride; }
  const unsigned char* row(int channel, long r) const { return plane[channel].data() + r * stride; }
};

// `rows` rows of `cols` interleaved pixels, `stride` pixels apart.
void to_planar(const dlib::rgb_pixel* pixels, long rows, long cols, long stride, PlanarImage* out);

// dlib's resize_image(in, out, interpolate_bilinear()) to out_rows x out_cols.
void resize_bilinear_avx2(const PlanarImage& in, long out_rows, long out_cols, PlanarImage* out);

// dlib's pyramid_down<6>()(in, out): 5/6 of each side, bilinear.
void pyramid_down6_avx2(const PlanarImage& in, PlanarImage* out);

// dlib's pyramid_up(in, out, pyramid_down<2>()): about twice each side, bilinear.
void pyramid_up2_avx2(const PlanarImage& in, PlanarImage* out);

// The image of pyramid level `level` (0: the image itself), made the way
// dlib's create_fhog_pyramid makes it: pyramid_down<6> from the level before.
// `scratch` is overwritten; the result is `*scratch` or `image`.
const PlanarImage& pyramid_level_avx2(const PlanarImage& image, unsigned long level, PlanarImage scratch[2]);

}  // namespace facedex::models
