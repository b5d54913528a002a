// A frozen TensorFlow GraphDef made ready for OpenCV's TensorFlow importer,
// which reads some plain patterns as something else.
#pragma once

#include <string>

#include "util/status.h"

namespace facedex::models {

// The GraphDef bytes with each Add whose operand is a Mul by a constant
// written as the equal AddN. OpenCV takes such a Mul + Add pair for a batch
// norm's scale and shift and fails when the Add has no constant: PReLU written
// as relu(x) + alpha * (x - |x|) (TF-slim, MobileFaceNet) is that pattern.
// Other nodes are copied byte for byte. kInvalidInput when the bytes are not a
// GraphDef.
Expected<std::string> graphdef_for_opencv(const std::string& graphdef);

}  // namespace facedex::models
