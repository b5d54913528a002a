// Photos for tests: the face-api demo photos that setup installs, and
// transformed copies of them made on the fly (flip, rescale, recompress,
// rotate + EXIF tag). Nothing here depends on ../shared/data.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "models/model_constants.h"
#include "tests/support/temp_files.h"

namespace facedex::testing {

// .deps/face-api/package/demo
std::string demo_dir();
// demo_dir()/sampleN.jpg, N in 1..6
std::string demo_photo(int n);
// The facedex binary under test.
std::string facedex_binary();
// Runs `facedex --db DB ARGS` (ARGS quoted already); its exit status, and its
// output where asked.
int run_facedex(const std::string& db, const std::string& args, std::string* out = nullptr, std::string* err = nullptr);

// RGB image -> JPEG bytes.
std::string encode_jpeg(const cv::Mat& rgb, int quality = 95);
// Inserts an EXIF APP1 segment holding only an Orientation tag after the SOI.
std::string with_exif_orientation(const std::string& jpeg, int orientation);
// The pixels of an upright RGB image stored rotated, with the tag that tells a
// viewer how to undo it: clockwise_degrees 90 -> tag 8, 180 -> 3, 270 -> 6.
std::string rotated_jpeg_with_exif(const cv::Mat& upright_rgb, int clockwise_degrees, int quality = 95);

// One JSON value per non-empty line (the --json output of most commands).
std::vector<nlohmann::json> parse_lines(const std::string& text);
// `exiv2 -px FILE` (exiv2's own command, independent of facedex's reader):
// every XMP key with its value as text.
std::map<std::string, std::string> exiv2_xmp_values(const std::string& file);

}  // namespace facedex::testing

#include <memory>

#include "models/face_pipeline.h"

namespace facedex::testing {
// The pipeline over the models a user would get (locate_models("")), with
// `detector`; fails the calling test when they are missing.
std::unique_ptr<models::FacePipeline> make_pipeline(models::DetectorKind detector = models::DetectorKind::kCnn);
}  // namespace facedex::testing
