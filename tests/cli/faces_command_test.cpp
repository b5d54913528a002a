// `facedex faces` end to end: the real binary on real and broken photos.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/test_photos.h"

namespace facedex {
namespace {

using testing::shell_quote;

TEST(FacesCommandTest, KeepsGoingPastBadFilesAndExitsNonZeroAtTheEnd) {
  testing::TempDir dir;
  const std::string bytes = testing::read_file(testing::demo_photo(3));
  testing::write_file(dir.file("cut.jpg"), bytes.substr(0, bytes.size() / 3));
  testing::write_file(dir.file("empty.jpg"), "");
  testing::write_file(dir.file("readme.jpg"), "this is not a photo\n");

  std::string out, err;
  const int code = testing::run_command(
      shell_quote(testing::facedex_binary()) + " faces --json " + shell_quote(dir.file("cut.jpg")) + " " +
          shell_quote(testing::demo_photo(3)) + " " + shell_quote(dir.file("empty.jpg")) + " " +
          shell_quote(dir.file("readme.jpg")) + " " + shell_quote(testing::demo_photo(6)),
      &out, &err);
  EXPECT_EQ(code, 1) << err;
  EXPECT_NE(err.find(dir.file("cut.jpg") + ": truncated JPEG"), std::string::npos) << err;
  EXPECT_NE(err.find(dir.file("empty.jpg") + ": empty file"), std::string::npos) << err;
  EXPECT_NE(err.find(dir.file("readme.jpg") + ": not an image"), std::string::npos) << err;

  std::istringstream lines(out);
  std::string line;
  std::vector<nlohmann::json> results;
  while (std::getline(lines, line)) results.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].contains("error"));
  EXPECT_EQ(results[1]["faces"].size(), 3u);
  EXPECT_EQ(results[1]["faces"][0]["descriptor"].size(), 128u);
  EXPECT_EQ(results[1]["faces"][0]["box"].size(), 4u);
  EXPECT_TRUE(results[2].contains("error"));
  EXPECT_TRUE(results[3].contains("error"));
  EXPECT_EQ(results[4]["faces"].size(), 4u);
}

TEST(FacesCommandTest, HelpVersionAndUsageErrors) {
  std::string out, err;
  EXPECT_EQ(testing::run_command(shell_quote(testing::facedex_binary()) + " --help", &out, &err), 0);
  EXPECT_NE(out.find("faces"), std::string::npos);
  EXPECT_EQ(testing::run_command(shell_quote(testing::facedex_binary()) + " --version", &out, &err), 0);
  EXPECT_NE(out.find("facedex "), std::string::npos);
  EXPECT_EQ(testing::run_command(shell_quote(testing::facedex_binary()) + " faces --help", &out, &err), 0);
  EXPECT_NE(out.find("--json"), std::string::npos);
  EXPECT_EQ(testing::run_command(shell_quote(testing::facedex_binary()) + " no-such-command", &out, &err), 2);
  EXPECT_EQ(testing::run_command(shell_quote(testing::facedex_binary()) + " --models /nonexistent models", &out, &err),
            3);
  EXPECT_NE(err.find("/nonexistent"), std::string::npos) << err;
}

}  // namespace
}  // namespace facedex
