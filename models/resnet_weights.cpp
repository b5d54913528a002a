#include "models/resnet_weights.h"

namespace facedex::models {

FoldedConv fold_affine(const ResNetConv& c) {
  FoldedConv f{c.out_channels, c.in_channels, c.kernel, c.filters, c.bias};
  const size_t per_out = size_t(c.in_channels) * size_t(c.kernel) * size_t(c.kernel);
  for (int o = 0; o < c.out_channels; ++o) {
    for (size_t k = 0; k < per_out; ++k) f.filters[size_t(o) * per_out + k] *= c.gamma[size_t(o)];
    f.bias[size_t(o)] = c.gamma[size_t(o)] * c.bias[size_t(o)] + c.beta[size_t(o)];
  }
  return f;
}

}  // namespace facedex::models
