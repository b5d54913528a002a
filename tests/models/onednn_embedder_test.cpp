// The oneDNN backend must compute dlib's descriptors: within 1e-4 per dimension
// on real chips, at every batch size and thread count. This equality is what
// lets both backends share one model fingerprint (embedder.h).
#include "models/onednn_embedder.h"

#include <dlib/image_transforms.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "models/embedder.h"
#include "models/kernels/winograd_conv.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "tests/support/demo_chips.h"
#include "tests/support/sanitized_build.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

TEST(OneDnnEmbedderTest, MatchesDlibOnDemoFacesAtEveryBatchSizeAndThreadCount) {
  const std::vector<models::FaceChip> chips = testing::demo_chips();
  ASSERT_GE(chips.size(), 38u);  // 19 faces, each also mirrored

  auto set = models::locate_models("");
  ASSERT_TRUE(set) << set.status().message();
  auto dlib_net = models::load_dlib_embedder(set->descriptor.path);
  ASSERT_TRUE(dlib_net) << dlib_net.status().message();
  const std::vector<Descriptor> expected = (*dlib_net)->embed(chips).value();

  auto weights = models::read_resnet_weights(set->descriptor.path);
  ASSERT_TRUE(weights) << weights.status().message();
  // Sanitized builds check memory and races: two threads show both.
  for (int threads : testing::kSanitizedBuild ? std::vector<int>{2} : std::vector<int>{1, 2}) {
    auto onednn = models::make_onednn_embedder(*weights, threads);
    ASSERT_TRUE(onednn) << onednn.status().message();
    EXPECT_EQ((*onednn)->backend_name(), "onednn");

    // All at once: 38+ chips run as batches of 32, 4, 2 ...
    const double all_at_once = testing::worst_difference((*onednn)->embed(chips).value(), expected);
    // One at a time, and in uneven groups of 5 (4 + 1).
    std::vector<Descriptor> singly, in_fives;
    for (const auto& chip : chips) singly.push_back((*onednn)->embed({chip}).value()[0]);
    for (size_t i = 0; i < chips.size(); i += 5) {
      const std::vector<models::FaceChip> group(chips.begin() + long(i),
                                                chips.begin() + long(std::min(chips.size(), i + 5)));
      for (const auto& d : (*onednn)->embed(group).value()) in_fives.push_back(d);
    }
    const double one_by_one = testing::worst_difference(singly, expected);
    const double fives = testing::worst_difference(in_fives, expected);
    std::printf(
        "%d thread(s), %zu chips: worst per-dimension difference to dlib: %.3g (one batch), %.3g (singly), "
        "%.3g (groups of 5)\n",
        threads, chips.size(), all_at_once, one_by_one, fives);
    EXPECT_LT(all_at_once, 1e-4);
    EXPECT_LT(one_by_one, 1e-4);
    EXPECT_LT(fives, 1e-4);
  }
  // The descriptors are not all alike: a broken network that outputs a
  // constant would also "match" itself, not dlib.
  EXPECT_GT(testing::worst_difference({expected[0]}, {expected[2]}), 0.05);
}

// At every batch size the 3x3 convolutions run as Winograd (models/kernels/winograd_conv.h)
// unless FACEDEX_ONEDNN_CONV=direct forces oneDNN's direct ones: different
// arithmetic, so different last bits, but the same descriptors well within the
// 1e-4 the backends promise.
TEST(OneDnnEmbedderTest, WinogradRunsAtEveryBatchSizeAndAgreesWithDirect) {
  if (!models::winograd_available())
    GTEST_SKIP() << "no AVX2/FMA here, or FACEDEX_KERNELS=generic: oneDNN runs direct only";
  auto weights = testing::bundled_resnet_weights();
  ASSERT_TRUE(weights) << weights.status().message();
  auto winograd = models::make_onednn_embedder(*weights, 1);
  setenv("FACEDEX_ONEDNN_CONV", "direct", 1);
  auto direct = models::make_onednn_embedder(*weights, 1);
  unsetenv("FACEDEX_ONEDNN_CONV");
  ASSERT_TRUE(winograd && direct);
  EXPECT_EQ((*winograd)->backend_name(), "onednn");
  EXPECT_EQ((*direct)->backend_name(), "onednn-direct");

  const std::vector<models::FaceChip> all = testing::demo_chips();
  const std::vector<models::FaceChip> sixteen(all.begin(), all.begin() + 16);
  const double batched =
      testing::worst_difference((*winograd)->embed(sixteen).value(), (*direct)->embed(sixteen).value());
  const std::vector<models::FaceChip> one(all.begin(), all.begin() + 1);
  const double single = testing::worst_difference((*winograd)->embed(one).value(), (*direct)->embed(one).value());
  std::printf("batch 16, Winograd vs direct: %.3g per dimension; batch 1: %.3g\n", batched, single);
  EXPECT_GT(batched, 0.0) << "batch 16 did not run the Winograd convolutions";
  EXPECT_GT(single, 0.0) << "batch 1 did not run the Winograd convolutions";
  EXPECT_LT(batched, 1e-5);
  EXPECT_LT(single, 1e-5);
}

TEST(OneDnnEmbedderTest, EmptyInputGivesNoDescriptors) {
  auto weights = testing::bundled_resnet_weights();
  ASSERT_TRUE(weights) << weights.status().message();
  auto onednn = models::make_onednn_embedder(*weights, 1);
  ASSERT_TRUE(onednn) << onednn.status().message();
  EXPECT_TRUE((*onednn)->embed({}).value().empty());
}

TEST(OneDnnEmbedderTest, RefusesFilesThatAreNotTheFaceNetwork) {
  const auto not_a_model = models::read_resnet_weights(testing::demo_photo(1));
  ASSERT_FALSE(not_a_model);
  EXPECT_NE(not_a_model.status().message().find("sample1.jpg"), std::string::npos) << not_a_model.status().message();

  auto weights = testing::bundled_resnet_weights();
  ASSERT_TRUE(weights) << weights.status().message();
  weights->convs.pop_back();
  const auto broken = models::make_onednn_embedder(*weights, 1);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.status().message().find("convolutions"), std::string::npos) << broken.status().message();
}

TEST(OneDnnEmbedderTest, BackendNamesParse) {
  EXPECT_EQ(*models::parse_embedder_backend("dlib"), models::EmbedderBackend::kDlib);
  EXPECT_EQ(*models::parse_embedder_backend("onednn"), models::EmbedderBackend::kOneDnn);
  EXPECT_EQ(models::resolve_embedder_backend(*models::parse_embedder_backend("auto")),
            models::EmbedderBackend::kOneDnn);
  const auto bad = models::parse_embedder_backend("cuda");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("cuda"), std::string::npos);
}

}  // namespace
}  // namespace facedex
