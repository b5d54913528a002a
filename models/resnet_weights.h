// The parameters of dlib's face ResNet as plain arrays, so that a backend other
// than dlib can run the same network without instantiating dlib's network type
// (which costs a minute of compile time per translation unit).
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace facedex::models {

struct ResNetConv {
  int out_channels = 0, in_channels = 0, kernel = 0;
  std::vector<float> filters;  // [out][in][kernel][kernel], dlib's layout
  std::vector<float> bias;     // [out]
  // The affine layer that follows every conv in this network (per channel).
  std::vector<float> gamma, beta;
};

// The network after the stem (dnn_face_recognition_ex.cpp): output channels
// and whether it down-samples, per residual block, input to output. Shared by
// every backend that rebuilds the network from these arrays.
struct ResNetBlock {
  int channels;
  bool down;
};
inline constexpr ResNetBlock kResNetBlocks[] = {
    {32, false}, {32, false},  {32, false},                // level 4
    {64, true},  {64, false},  {64, false},  {64, false},  // level 3
    {128, true}, {128, false}, {128, false},               // level 2
    {256, true}, {256, false}, {256, false},               // level 1
    {256, true},                                           // level 0
};
inline constexpr int kResNetBlockCount = int(sizeof(kResNetBlocks) / sizeof(kResNetBlocks[0]));

struct ResNetWeights {
  // dlib's input_rgb_image: (value - mean) / 256 per channel, R G B.
  float mean_rgb[3] = {0, 0, 0};
  // In network order, input to output: the 7x7 stem, then two per residual block.
  std::vector<ResNetConv> convs;
  std::vector<float> fc;  // [256][128]: descriptor = pooled * fc
  int fc_inputs = 0, fc_outputs = 0;
};

// A conv with the affine layer after it folded in (w' = gamma*w,
// b' = gamma*b + beta): what every fast backend runs.
struct FoldedConv {
  int out = 0, in = 0, kernel = 0;
  std::vector<float> filters, bias;  // [out][in][kernel][kernel], [out]
};
FoldedConv fold_affine(const ResNetConv& c);

// Reads a dlib .dat holding the face ResNet (official or converted) into plain
// arrays. Implemented in dlib_embedder.cpp, the one TU that knows dlib's type.
Expected<ResNetWeights> read_resnet_weights(const std::string& model_path);

}  // namespace facedex::models
