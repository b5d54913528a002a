// Real face chips and the bundled network's weights for embedder tests, and
// how far two descriptor lists differ.
#pragma once

#include <vector>

#include "models/embedder.h"
#include "models/resnet_weights.h"

namespace facedex::testing {

// Every face HOG finds in the six demo photos, and each one mirrored (38+ chips).
std::vector<models::FaceChip> demo_chips();

// The bundled descriptor network's weights, as the oneDNN backend reads them.
Expected<models::ResNetWeights> bundled_resnet_weights();

// The largest per-dimension difference between a[i] and b[i].
double worst_difference(const std::vector<Descriptor>& a, const std::vector<Descriptor>& b);

}  // namespace facedex::testing
