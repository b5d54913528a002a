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
  EXPECT_EQ(models["cnn_detector"]["path"], prefix + "/share/facedex/models/retinaface_mnet025.onnx") << out;

  // Without its detector model the installed program says which file is
  // missing and what to do (exit 3), and --detector hog still works.
  fs::remove(prefix + "/share/facedex/models/retinaface_mnet025.onnx");
  const std::string index = shell_quote(facedex) + " --db " + shell_quote(tmp.file("db2")) + " index --json " +
                            shell_quote(testing::demo_photo(3));
  EXPECT_EQ(testing::run_command(index, &out, &err), 3) << err;
  EXPECT_NE(err.find("retinaface_mnet025.onnx"), std::string::npos) << err;
  EXPECT_NE(err.find("scripts/setup.sh"), std::string::npos) << err;
  EXPECT_NE(err.find("--detector hog"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(tmp.file("db2")));
  ASSERT_EQ(testing::run_command("FACEDEX_DETECTOR=hog " + index, &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["faces_added"], 3) << out;
}

// The Debian package holds the same files under /usr, and says which packages
// it needs; unpacked anywhere, its program runs from there.
TEST(InstallTest, TheDebianPackageDependsOnWhatItLinksAndRunsUnpacked) {
  testing::TempDir tmp;
  std::string out, err;
  ASSERT_EQ(testing::run_command("cpack -G DEB -B " + shell_quote(tmp.file("out")) + " --config " +
                                     shell_quote(std::string(FACEDEX_BUILD_DIR) + "/CPackConfig.cmake"),
                                 &out, &err),
            0)
      << out << err;
  std::string deb;
  for (const auto& e : fs::directory_iterator(tmp.file("out")))
    if (e.path().extension() == ".deb") deb = e.path().string();
  ASSERT_FALSE(deb.empty()) << out;
  EXPECT_NE(fs::path(deb).filename().string().find("facedex_"), std::string::npos) << deb;
  EXPECT_NE(fs::path(deb).filename().string().find("_amd64.deb"), std::string::npos) << deb;
  ASSERT_EQ(testing::run_command("dpkg-deb -f " + shell_quote(deb) + " Depends", &out, &err), 0) << err;
  for (const char* package : {"libdlib-data", "libexiv2-27", "libheif1", "libopencv-dnn406", "libdnnl2", "libc6"})
    EXPECT_NE(out.find(package), std::string::npos) << package << " not in Depends: " << out;

  const std::string root = tmp.file("root");
  ASSERT_EQ(testing::run_command("dpkg-deb -x " + shell_quote(deb) + " " + shell_quote(root), &out, &err), 0) << err;
  const std::string facedex = root + "/usr/bin/facedex";
  ASSERT_EQ(testing::run_command(shell_quote(facedex) + " models --json", &out, &err), 0) << err;
  const auto models = nlohmann::json::parse(out);
  EXPECT_EQ(models["cnn_detector"]["path"], root + "/usr/share/facedex/models/retinaface_mnet025.onnx") << out;
  ASSERT_EQ(testing::run_command(shell_quote(facedex) + " --db " + shell_quote(tmp.file("db")) + " index --json " +
                                     shell_quote(testing::demo_photo(3)),
                                 &out, &err),
            0)
      << err;
  EXPECT_EQ(nlohmann::json::parse(out)["faces_added"], 3) << out;
}

}  // namespace
}  // namespace facedex
