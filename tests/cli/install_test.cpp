// `cmake --install` makes a facedex that runs from its prefix: the program
// finds the bundled models and the AVX2 detection module beside it, not in the
// build tree.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;

TEST(InstallTest, AnInstalledFacedexFindsItsModelsAndModuleInItsPrefix) {
  testing::TempDir tmp;
  const std::string prefix = tmp.file("prefix");
  std::string out, err;
  ASSERT_EQ(testing::run_command(
                "cmake --install " + shell_quote(FACEDEX_BUILD_DIR) + " --prefix " + shell_quote(prefix), &out, &err),
            0)
      << out << err;
  const std::string facedex = prefix + "/bin/facedex";
  ASSERT_TRUE(fs::exists(facedex));
  ASSERT_EQ(testing::run_command(shell_quote(facedex) + " models --json", &out, &err), 0) << err;
  const auto models = nlohmann::json::parse(out);
  EXPECT_EQ(models["descriptor"]["path"], prefix + "/share/facedex/models/facedex_resnet_faceapi_q8.dat") << out;
  if (models["detector_kernel"] != "generic") {
    EXPECT_EQ(models["detector_module"], prefix + "/lib/facedex/libfacedex_detect_avx2.so") << out;
  }
  // And it works: the faces of a demo photo, into a database of its own.
  ASSERT_EQ(testing::run_command(shell_quote(facedex) + " --db " + shell_quote(tmp.file("db")) + " index --json " +
                                     shell_quote(testing::demo_photo(3)),
                                 &out, &err),
            0)
      << err;
  EXPECT_EQ(nlohmann::json::parse(out)["faces_added"], 3) << out;
}

}  // namespace
}  // namespace facedex
