// The only translation unit that instantiates dlib's ResNet type: each one costs
// about a minute of compile time, so the converter lives here too.
#include <dlib/dnn.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/embedder.h"
#include "models/resnet_weights.h"

namespace facedex::models {
namespace {

// dlib's face recognition network, as in dlib/examples/dnn_face_recognition_ex.cpp
// (affine layers in place of batch norm: the inference form).
template <template <int, template <typename> class, int, typename> class block, int N, template <typename> class BN,
          typename SUBNET>
using residual = dlib::add_prev1<block<N, BN, 1, dlib::tag1<SUBNET>>>;

template <template <int, template <typename> class, int, typename> class block, int N, template <typename> class BN,
          typename SUBNET>
using residual_down =
    dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<block<N, BN, 2, dlib::tag1<SUBNET>>>>>>;

template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<dlib::con<N, 3, 3, 1, 1, dlib::relu<BN<dlib::con<N, 3, 3, stride, stride, SUBNET>>>>>;

template <int N, typename SUBNET>
using ares = dlib::relu<residual<block, N, dlib::affine, SUBNET>>;
template <int N, typename SUBNET>
using ares_down = dlib::relu<residual_down<block, N, dlib::affine, SUBNET>>;

template <typename SUBNET>
using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET>
using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET>
using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET>
using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET>
using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;

using anet_type = dlib::loss_metric<dlib::fc_no_bias<
    128, dlib::avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<dlib::max_pool<
             3, 3, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 7, 7, 2, 2, dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

class DlibEmbedder final : public Embedder {
 public:
  explicit DlibEmbedder(anet_type net) : net_(std::move(net)) {}

  std::vector<Descriptor> run(const std::vector<FaceChip>& chips) override {
    std::vector<Descriptor> out;
    out.reserve(chips.size());
    if (chips.empty()) return out;
    // Batches of 16 keep the workspace small (a 150x150 batch of 128 needs
    // ~1.5 GB in dlib's first layers) while still amortising per-call costs.
    const std::vector<dlib::matrix<float, 0, 1>> descriptors = net_(chips, 16);
    for (const auto& d : descriptors) {
      out.emplace_back(d.begin(), d.end());
    }
    return out;
  }

  std::string backend_name() const override { return "dlib"; }

 private:
  anet_type net_;
};

template <typename T>
struct IsConv : std::false_type {};
template <long nf, long nr, long nc, int sy, int sx, int py, int px>
struct IsConv<dlib::con_<nf, nr, nc, sy, sx, py, px>> : std::true_type {};

// One tfjs tensor, dequantized.
struct Tensor {
  std::vector<int> shape;
  std::vector<float> values;
};

Expected<std::vector<std::pair<std::string, Tensor>>> read_tfjs_weights(const std::string& manifest_path,
                                                                        const std::string& weights_path) {
  std::ifstream manifest_in(manifest_path);
  if (!manifest_in) return Status::not_found(manifest_path + ": cannot open manifest");
  nlohmann::json manifest;
  try {
    manifest_in >> manifest;
  } catch (const std::exception& e) {
    return Status::invalid_input(manifest_path + ": not valid JSON (" + e.what() + ")");
  }
  std::ifstream bin_in(weights_path, std::ios::binary);
  if (!bin_in) return Status::not_found(weights_path + ": cannot open weights");
  const std::string bin((std::istreambuf_iterator<char>(bin_in)), std::istreambuf_iterator<char>());

  std::vector<std::pair<std::string, Tensor>> tensors;
  size_t offset = 0;
  try {
    for (const auto& group : manifest) {
      for (const auto& w : group.at("weights")) {
        Tensor t;
        size_t count = 1;
        for (const auto& d : w.at("shape")) {
          t.shape.push_back(d.get<int>());
          count *= size_t(d.get<int>());
        }
        t.values.resize(count);
        if (w.contains("quantization")) {
          const auto& q = w.at("quantization");
          if (q.at("dtype") != "uint8") return Status::unsupported(manifest_path + ": only uint8 quantization handled");
          const double scale = q.at("scale").get<double>(), min = q.at("min").get<double>();
          if (offset + count > bin.size())
            return Status::invalid_input(weights_path + ": shorter than the manifest says");
          for (size_t i = 0; i < count; ++i) t.values[i] = float(min + scale * double(uint8_t(bin[offset + i])));
          offset += count;
        } else {
          if (w.at("dtype") != "float32") return Status::unsupported(manifest_path + ": only float32 tensors handled");
          if (offset + 4 * count > bin.size())
            return Status::invalid_input(weights_path + ": shorter than the manifest says");
          std::memcpy(t.values.data(), bin.data() + offset, 4 * count);
          offset += 4 * count;
        }
        tensors.emplace_back(w.at("name").get<std::string>(), std::move(t));
      }
    }
  } catch (const std::exception& e) {
    return Status::invalid_input(manifest_path + ": unexpected manifest layout (" + e.what() + ")");
  }
  if (offset != bin.size())
    return Status::invalid_input(weights_path + ": " + std::to_string(bin.size() - offset) +
                                 " bytes left over after the last tensor");
  return tensors;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Parameters of one dlib computational layer, in the order the tfjs manifest
// lists them (input to output).
struct LayerParams {
  enum Kind { kConv, kAffine, kFc } kind;
  std::string name;
  const Tensor* a = nullptr;  // conv filters / affine gamma / fc weights
  const Tensor* b = nullptr;  // conv bias / affine beta
};

class ParamWriter {
 public:
  ParamWriter(const std::vector<LayerParams>& layers) : layers_(layers), next_(layers.size()) {}

  // visit_computational_layers walks from the output to the input.
  template <long nf, long nr, long nc, int sy, int sx, int py, int px>
  void operator()(dlib::con_<nf, nr, nc, sy, sx, py, px>& layer) {
    const LayerParams* p = take(LayerParams::kConv);
    if (!p) return;
    const auto& f = *p->a;  // tfjs: [h][w][in][out]
    const long in = f.shape.size() == 4 ? f.shape[2] : 0;
    if (f.shape != std::vector<int>{int(nr), int(nc), int(in), int(nf)} || long(p->b->values.size()) != nf) {
      fail(p->name + ": shape does not match the dlib layer");
      return;
    }
    dlib::tensor& params = layer.get_layer_params();
    if (params.size() != size_t(nf * in * nr * nc + nf)) {
      fail(p->name + ": dlib layer holds " + std::to_string(params.size()) + " parameters");
      return;
    }
    float* dst = params.host();  // dlib: [out][in][h][w], then the biases
    for (long o = 0; o < nf; ++o)
      for (long i = 0; i < in; ++i)
        for (long y = 0; y < nr; ++y)
          for (long x = 0; x < nc; ++x)
            dst[((o * in + i) * nr + y) * nc + x] = f.values[size_t(((y * nc + x) * in + i) * nf + o)];
    std::copy(p->b->values.begin(), p->b->values.end(), dst + nf * in * nr * nc);
  }

  void operator()(dlib::affine_& layer) {
    const LayerParams* p = take(LayerParams::kAffine);
    if (!p) return;
    auto gamma = layer.get_gamma();
    auto beta = layer.get_beta();
    if (gamma.size() != p->a->values.size() || beta.size() != p->b->values.size()) {
      fail(p->name + ": affine size mismatch");
      return;
    }
    std::copy(p->a->values.begin(), p->a->values.end(), gamma.host());
    std::copy(p->b->values.begin(), p->b->values.end(), beta.host());
  }

  template <unsigned long n, dlib::fc_bias_mode mode>
  void operator()(dlib::fc_<n, mode>& layer) {
    const LayerParams* p = take(LayerParams::kFc);
    if (!p) return;
    dlib::tensor& params = layer.get_layer_params();
    // dlib's fc_no_bias computes x * W with W as [inputs][outputs]: the same
    // layout as tfjs's [256][128], so a straight copy.
    if (params.size() != p->a->values.size()) {
      fail(p->name + ": fc size mismatch");
      return;
    }
    std::copy(p->a->values.begin(), p->a->values.end(), params.host());
  }

  // relu, pooling and add_prev layers hold no parameters.
  template <typename Other>
  void operator()(Other&) {}

  Status finish() const {
    if (!error_.empty()) return Status::invalid_input(error_);
    if (next_ != 0) return Status::invalid_input(std::to_string(next_) + " tfjs layers were not used");
    return Status::ok();
  }

 private:
  const LayerParams* take(LayerParams::Kind kind) {
    if (!error_.empty()) return nullptr;
    if (next_ == 0) {
      fail("the network has more layers than the weights");
      return nullptr;
    }
    const LayerParams* p = &layers_[--next_];
    if (p->kind != kind) {
      fail(p->name + ": layer kind does not match the dlib layer at that position");
      return nullptr;
    }
    return p;
  }
  void fail(const std::string& m) {
    if (error_.empty()) error_ = m;
  }

  const std::vector<LayerParams>& layers_;
  size_t next_;
  std::string error_;
};

}  // namespace

Expected<std::unique_ptr<Embedder>> load_dlib_embedder(const std::string& model_path) {
  anet_type net;
  try {
    dlib::deserialize(model_path) >> net;
  } catch (const std::exception& e) {
    return Status::invalid_input(model_path + ": not a dlib face recognition network (" + e.what() + ")");
  }
  return std::unique_ptr<Embedder>(new DlibEmbedder(std::move(net)));
}

Expected<ResNetWeights> read_resnet_weights(const std::string& model_path) {
  anet_type net;
  try {
    dlib::deserialize(model_path) >> net;
  } catch (const std::exception& e) {
    return Status::invalid_input(model_path + ": not a dlib face recognition network (" + e.what() + ")");
  }
  ResNetWeights w;
  const auto& in = net.input_layer();
  w.mean_rgb[0] = in.get_avg_red();
  w.mean_rgb[1] = in.get_avg_green();
  w.mean_rgb[2] = in.get_avg_blue();

  // visit_computational_layers walks output to input: collect, then reverse.
  std::vector<ResNetConv> convs;
  std::vector<std::pair<std::vector<float>, std::vector<float>>> affines;
  std::string error;
  dlib::visit_computational_layers(net, [&](auto& layer) {
    using Layer = std::decay_t<decltype(layer)>;
    if constexpr (std::is_same_v<Layer, dlib::affine_>) {
      if (layer.get_mode() != dlib::CONV_MODE) error = "an affine layer is not per channel";
      const auto gamma = layer.get_gamma();
      const auto beta = layer.get_beta();
      affines.emplace_back(std::vector<float>(gamma.host(), gamma.host() + gamma.size()),
                           std::vector<float>(beta.host(), beta.host() + beta.size()));
    } else if constexpr (std::is_same_v<Layer, dlib::fc_<128, dlib::FC_NO_BIAS>>) {
      const dlib::tensor& p = layer.get_layer_params();
      w.fc.assign(p.host(), p.host() + p.size());
      w.fc_outputs = int(layer.get_num_outputs());
      w.fc_inputs = int(p.size()) / w.fc_outputs;
    } else if constexpr (IsConv<Layer>::value) {
      const dlib::tensor& p = layer.get_layer_params();
      ResNetConv c;
      c.out_channels = int(layer.num_filters());
      c.kernel = int(layer.nr());
      const size_t per_filter = size_t(c.kernel) * size_t(c.kernel);
      c.in_channels = int((p.size() - size_t(c.out_channels)) / (size_t(c.out_channels) * per_filter));
      const size_t nfilters = size_t(c.out_channels) * size_t(c.in_channels) * per_filter;
      c.filters.assign(p.host(), p.host() + nfilters);
      c.bias.assign(p.host() + nfilters, p.host() + p.size());
      convs.push_back(std::move(c));
    }
  });
  if (!error.empty()) return Status::unsupported(model_path + ": " + error);
  if (convs.size() != affines.size() || w.fc.empty())
    return Status::invalid_input(model_path + ": unexpected layer sequence");
  std::reverse(convs.begin(), convs.end());
  std::reverse(affines.begin(), affines.end());
  for (size_t i = 0; i < convs.size(); ++i) {
    if (affines[i].first.size() != size_t(convs[i].out_channels))
      return Status::invalid_input(model_path + ": affine layer size does not match its conv");
    convs[i].gamma = std::move(affines[i].first);
    convs[i].beta = std::move(affines[i].second);
  }
  w.convs = std::move(convs);
  return w;
}

Status convert_faceapi_weights(const std::string& manifest_path, const std::string& weights_path,
                               const std::string& out_path) {
  auto tensors = read_tfjs_weights(manifest_path, weights_path);
  if (!tensors) return tensors.status();

  std::vector<LayerParams> layers;
  for (size_t i = 0; i < tensors->size(); ++i) {
    const auto& [name, t] = (*tensors)[i];
    auto next_is = [&](const std::string& suffix) {
      return i + 1 < tensors->size() && ends_with((*tensors)[i + 1].first, suffix);
    };
    if (ends_with(name, "/conv/filters") && next_is("/conv/bias")) {
      layers.push_back({LayerParams::kConv, name, &t, &(*tensors)[i + 1].second});
      ++i;
    } else if (ends_with(name, "/scale/weights") && next_is("/scale/biases")) {
      layers.push_back({LayerParams::kAffine, name, &t, &(*tensors)[i + 1].second});
      ++i;
    } else if (name == "fc") {
      layers.push_back({LayerParams::kFc, name, &t, nullptr});
    } else {
      return Status::invalid_input(manifest_path + ": unexpected tensor " + name);
    }
  }

  anet_type net;
  // The tfjs scale layers are per-channel: dlib's affine_ must be in CONV_MODE
  // (its default, FC_MODE, holds one value per element).
  dlib::visit_computational_layers(net, [](auto& layer) {
    if constexpr (std::is_same_v<std::decay_t<decltype(layer)>, dlib::affine_>) layer = dlib::affine_(dlib::CONV_MODE);
  });
  // dlib allocates parameters on the first forward pass.
  dlib::matrix<dlib::rgb_pixel> blank(kChipSize, kChipSize);
  dlib::assign_all_pixels(blank, dlib::rgb_pixel(0, 0, 0));
  net(blank);

  ParamWriter writer(layers);
  dlib::visit_computational_layers(net, [&writer](auto& layer) { writer(layer); });
  if (Status s = writer.finish(); !s) return Status::invalid_input(manifest_path + ": " + s.message());

  // clean() drops the dummy pass's cached outputs so the file holds parameters
  // only and its bytes do not depend on the BLAS kernel that ran the pass.
  net.clean();
  try {
    const std::string tmp = out_path + ".tmp";
    dlib::serialize(tmp) << net;
    if (std::rename(tmp.c_str(), out_path.c_str()) != 0)
      return Status::io_error(out_path + ": cannot rename into place");
  } catch (const std::exception& e) {
    return Status::io_error(out_path + ": cannot write (" + e.what() + ")");
  }
  return Status::ok();
}

}  // namespace facedex::models
