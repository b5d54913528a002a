// The oneDNN backend for dlib's face ResNet: the same weights, 4-6x faster than
// dlib's own layers on a CPU (benchmarks/RESULTS.md).
#pragma once

#include <memory>

#include "models/embedder.h"
#include "models/resnet_weights.h"

namespace facedex::models {

// `threads`: OpenMP threads per forward pass. facedex's indexer runs one
// single-threaded embedder per core; a lone query may use more.
Expected<std::unique_ptr<Embedder>> make_onednn_embedder(const ResNetWeights& weights, int threads);

}  // namespace facedex::models
