// The pixel work of face detection (HOG, landmarks, chips), built twice: into
// facedex_models for any x86-64 CPU, and into a small module compiled for
// AVX2 + FMA that FaceDetector loads when the CPU has them.
//
// Why two builds: dlib's HOG and shape predictor are header templates, so they
// run at the instruction set facedex is compiled for, and Debian's baseline is
// SSE2. Compiled for AVX2 the same code is faster with the same boxes
// (tests/models/face_detection_kernel_test.cpp compares the two;
// benchmarks/detection_speed measures them). The
// module hides every symbol but its entry point, so its AVX2 copies of dlib's
// templates never replace the generic ones (which the linker would otherwise
// be free to do, crashing CPUs without AVX2).
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "models/face_detector.h"

namespace facedex::models {

// A face another detector found: its box and score as reported, and the
// rectangle dlib's shape predictor starts from (inclusive corners, as dlib's
// rectangle has them), which is where HOG would have put its box.
struct FaceSeed {
  FaceBox box;
  double score = 0;
  long shape_left = 0, shape_top = 0, shape_right = 0, shape_bottom = 0;
};

struct DetectionKernelOps {
  const char* name;  // "generic" or "avx2"
  // One HOG scanner (stateful: one per thread). `decoded_path`: dlib's frontal
  // detector as written by facedex_write_hog_detector, read instead of decoding
  // the compressed copy in dlib's headers (~0.8 s) when it exists.
  void* (*create_hog)(const char* decoded_path);
  void (*destroy_hog)(void* hog);
  // Runs HOG on `rgb` scaled by `scale` and upsampled `upsample` times, maps the
  // boxes back and places landmarks and chips on the full-resolution pixels.
  void (*detect)(void* hog, const LandmarkModel& landmarks, const cv::Mat& rgb, double scale, int upsample,
                 double adjust_threshold, std::vector<DetectedFace>* out);
  // Places landmarks and cuts chips for faces found by another detector.
  void (*place)(const LandmarkModel& landmarks, const cv::Mat& rgb, const std::vector<FaceSeed>& seeds,
                std::vector<DetectedFace>* out);
  // The 31 fHOG planes (8 px cells, padded for 10x10 filters) of pyramid level
  // `level` of `rgb` upsampled `upsample` times, as this kernel's detector
  // computes them, each `rows` x `cols`, row-major: for tests that compare kernels.
  void (*fhog)(const cv::Mat& rgb, int upsample, int level, std::vector<std::vector<float>>* planes, long* rows,
               long* cols);
};

// The build in this binary, for any x86-64 CPU.
const DetectionKernelOps& generic_detection_kernel();

}  // namespace facedex::models

// Entry points of the AVX2 module (the only symbols it exports): the kernel
// with window scores by models/kernels/hog_scan_avx2.h ("avx2"), and the same kernel
// with dlib's own scanner ("avx2-dlib-scan", for comparisons).
extern "C" const facedex::models::DetectionKernelOps* facedex_detection_kernel_avx2();
extern "C" const facedex::models::DetectionKernelOps* facedex_detection_kernel_avx2_dlib_scan();
