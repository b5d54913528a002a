// A frozen TensorFlow GraphDef made ready for OpenCV's TensorFlow importer,
// which reads some plain patterns as something else and cannot run a graph's
// training switches.
#pragma once

#include <string>

#include "util/status.h"

namespace facedex::models {

// The tensors a descriptor model is run with; each may be "".
struct TfGraphFeed {
  std::string input;        // becomes a float Placeholder, whatever fed it in training (FaceNet's queue)
  std::string output;       // must exist; only what it needs is kept
  std::string phase_train;  // a bool fed false when the graph has it: its tf.cond switches are folded
};

// The GraphDef bytes with:
// - each Add whose operand is a Mul by a constant written as the equal AddN.
//   OpenCV takes such a Mul + Add pair for a batch norm's scale and shift and
//   fails when the Add has no constant: PReLU written as
//   relu(x) + alpha * (x - |x|) (TF-slim, MobileFaceNet) is that pattern;
// - with feed.phase_train, every Switch on it resolved to its false branch and
//   every Merge to its one live input (TF-slim's batch norm and dropout are
//   tf.cond on phase_train: FaceNet), the other branch dropped;
// - with feed.input, that node a float Placeholder;
// - with feed.output, only the nodes the output needs.
// Other nodes are copied byte for byte. kInvalidInput when the bytes are not
// a GraphDef, or names the missing tensor and the graph's placeholders.
Expected<std::string> graphdef_for_opencv(const std::string& graphdef, const TfGraphFeed& feed = {});

}  // namespace facedex::models
