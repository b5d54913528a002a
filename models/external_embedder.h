// Runs an external descriptor model (ONNX or a frozen TensorFlow GraphDef)
// with OpenCV's dnn module; what the model is and how it is fed:
// external_model_spec.h. An ONNX graph that facedex's oneDNN runner can run
// (onednn_conv_net.h: Faceplugin's) runs there instead, one face at a time,
// when it gives OpenCV's descriptor for a test face;
// FACEDEX_EXTERNAL_BACKEND=opencv keeps OpenCV.
//
// Why OpenCV: it is already facedex's runner for the CNN detector and ONNX
// models, it reads both formats, and it runs TF-slim graphs such as FaceNet
// and MobileFaceNet once tf_graph_rewrite.h has readied them; a conversion to
// ONNX would need TensorFlow, which is not packaged for Debian.
#pragma once

#include <memory>

#include "models/embedder.h"
#include "models/external_model_spec.h"
#include "util/status.h"

namespace facedex::models {

// Loads the network (one per thread) and checks it on a blank face: a graph
// without the named tensors, another input size or an output that is not a
// vector of output_dims values is kInvalidInput naming the model.
Expected<std::unique_ptr<Embedder>> make_external_embedder(const ExternalModelSpec& spec, int threads);

}  // namespace facedex::models
