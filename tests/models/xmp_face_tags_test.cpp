// XMP face tags: regions written by exiv2's own command into demo photos and
// sidecars are read back, turned upright the way the decoder turns the pixels;
// what facedex writes is read back by exiv2's command and keeps everything else.
#include "models/xmp_face_tags.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <opencv2/imgproc.hpp>

#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using models::FaceTag;
using testing::shell_quote;

const std::string kList = "Xmp.mwg-rs.Regions/mwg-rs:RegionList";

// exiv2 -M commands adding MWG region `n` (stored frame, normalised).
std::string mwg_region(int n, const std::string& name, double x, double y, double w, double h,
                       const std::string& type = "Face", const std::string& unit = "normalized") {
  const std::string item = kList + "[" + std::to_string(n) + "]";
  std::string c;
  auto set = [&](const std::string& key, const std::string& value) {
    c += " -M" + shell_quote("set " + key + " " + value);
  };
  if (!name.empty()) set(item + "/mwg-rs:Name", name);
  if (!type.empty()) set(item + "/mwg-rs:Type", type);
  set(item + "/mwg-rs:Area/stArea:x", std::to_string(x));
  set(item + "/mwg-rs:Area/stArea:y", std::to_string(y));
  set(item + "/mwg-rs:Area/stArea:w", std::to_string(w));
  set(item + "/mwg-rs:Area/stArea:h", std::to_string(h));
  set(item + "/mwg-rs:Area/stArea:unit", unit);
  return c;
}

void exiv2(const std::string& args, const std::string& file) {
  std::string out, err;
  ASSERT_EQ(testing::run_command("exiv2 " + args + " " + shell_quote(file), &out, &err), 0) << args << "\n" << err;
}

std::string bag() { return " -M" + shell_quote("set " + kList + " XmpText type=Bag"); }

std::map<std::string, std::string> exiv2_xmp(const std::string& file) { return testing::exiv2_xmp_values(file); }

void expect_area(const FaceTag& t, double x, double y, double w, double h) {
  EXPECT_NEAR(t.x, x, 1e-6) << t.name;
  EXPECT_NEAR(t.y, y, 1e-6) << t.name;
  EXPECT_NEAR(t.w, w, 1e-6) << t.name;
  EXPECT_NEAR(t.h, h, 1e-6) << t.name;
}

TEST(XmpFaceTagsTest, AreasTurnLikeThePixels) {
  // A white block at a known stored area; each orientation turns the image and the area alike.
  const int W = 400, H = 240;
  const FaceTag stored{"", 0.3, 0.25, 0.2, 0.3};
  cv::Mat image(H, W, CV_8UC3, cv::Scalar(0, 0, 0));
  cv::rectangle(image,
                cv::Rect(int((stored.x - stored.w / 2) * W), int((stored.y - stored.h / 2) * H), int(stored.w * W),
                         int(stored.h * H)),
                cv::Scalar(255, 255, 255), cv::FILLED);
  for (int o = 1; o <= 8; ++o) {
    const cv::Mat upright = models::apply_exif_orientation(image, o);
    cv::Mat gray;
    cv::cvtColor(upright, gray, cv::COLOR_RGB2GRAY);
    const cv::Rect block = cv::boundingRect(gray > 128);
    const FaceTag u = models::upright_area(stored, o);
    EXPECT_NEAR(u.x, (block.x + block.width / 2.0) / upright.cols, 1.0 / W) << "orientation " << o;
    EXPECT_NEAR(u.y, (block.y + block.height / 2.0) / upright.rows, 1.0 / W) << "orientation " << o;
    EXPECT_NEAR(u.w, double(block.width) / upright.cols, 1.0 / W) << "orientation " << o;
    EXPECT_NEAR(u.h, double(block.height) / upright.rows, 1.0 / W) << "orientation " << o;
    const FaceTag back = models::stored_area(u, o);
    expect_area(back, stored.x, stored.y, stored.w, stored.h);
  }
}

TEST(XmpFaceTagsTest, ReadsEmbeddedAndSidecarRegions) {
  testing::TempDir tmp;
  const std::string photo = tmp.file("IMG 1.jpg");
  fs::copy_file(testing::demo_photo(1), photo);
  auto none = models::read_face_tags(photo, 1);
  ASSERT_TRUE(none) << none.status().message();
  EXPECT_TRUE(none->tags.empty());
  EXPECT_TRUE(none->from.empty());

  // Embedded: a named face, an unnamed one, a pet, and one in pixels (not MWG).
  exiv2(bag() + mwg_region(1, "Ann Lee", 0.2, 0.3, 0.1, 0.2) + mwg_region(2, "", 0.5, 0.5, 0.1, 0.1) +
            mwg_region(3, "Rex", 0.7, 0.7, 0.1, 0.1, "Pet") + mwg_region(4, "Pix", 100, 100, 20, 20, "Face", "pixel"),
        photo);
  auto embedded = models::read_face_tags(photo, 1);
  ASSERT_TRUE(embedded) << embedded.status().message();
  EXPECT_EQ(embedded->from, "embedded XMP");
  ASSERT_EQ(embedded->tags.size(), 1u);
  EXPECT_EQ(embedded->tags[0].name, "Ann Lee");
  expect_area(embedded->tags[0], 0.2, 0.3, 0.1, 0.2);
  ASSERT_EQ(embedded->skipped.size(), 1u);
  EXPECT_NE(embedded->skipped[0].find("pixel"), std::string::npos) << embedded->skipped[0];

  // Turned by the EXIF orientation (6: stored rotated 90 degrees counter-clockwise).
  auto turned = models::read_face_tags(photo, 6);
  ASSERT_TRUE(turned);
  expect_area(turned->tags[0], 1 - 0.3, 0.2, 0.2, 0.1);

  // A sidecar named like Lightroom's (IMG 1.xmp) wins over the embedded tags.
  const std::string sidecar = tmp.file("IMG 1.xmp");
  testing::write_file(sidecar,
                      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
                      "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" "
                      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:format>image/jpeg</dc:format>"
                      "</rdf:Description></rdf:RDF></x:xmpmeta>");
  exiv2(bag() + mwg_region(1, "Bo", 0.6, 0.4, 0.2, 0.2), sidecar);
  EXPECT_EQ(models::find_sidecar(photo), sidecar);
  auto from_sidecar = models::read_face_tags(photo, 1);
  ASSERT_TRUE(from_sidecar) << from_sidecar.status().message();
  EXPECT_EQ(from_sidecar->from, sidecar);
  ASSERT_EQ(from_sidecar->tags.size(), 1u);
  EXPECT_EQ(from_sidecar->tags[0].name, "Bo");

  // digiKam's name (IMG 1.jpg.xmp) comes first; Microsoft's regions are read when there are no MWG ones.
  const std::string digikam = photo + ".xmp";
  fs::copy_file(sidecar, digikam);
  exiv2("-M" + shell_quote("del Xmp.mwg-rs.Regions") + " -M" +
            shell_quote("set Xmp.MP.RegionInfo/MPRI:Regions XmpText type=Bag") + " -M" +
            shell_quote("set Xmp.MP.RegionInfo/MPRI:Regions[1]/MPReg:Rectangle 0.1, 0.2, 0.3, 0.4") + " -M" +
            shell_quote("set Xmp.MP.RegionInfo/MPRI:Regions[1]/MPReg:PersonDisplayName Cy"),
        digikam);
  EXPECT_EQ(models::find_sidecar(photo), digikam);
  auto microsoft = models::read_face_tags(photo, 1);
  ASSERT_TRUE(microsoft) << microsoft.status().message();
  ASSERT_EQ(microsoft->tags.size(), 1u);
  EXPECT_EQ(microsoft->tags[0].name, "Cy");
  expect_area(microsoft->tags[0], 0.25, 0.4, 0.3, 0.4);
}

TEST(XmpFaceTagsTest, DamagedSidecarsAreRefusedNamingThem) {
  testing::TempDir tmp;
  const std::string photo = tmp.file("a.jpg");
  fs::copy_file(testing::demo_photo(2), photo);
  testing::write_file(photo + ".xmp", "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><unclosed");
  auto r = models::read_face_tags(photo, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find(photo + ".xmp"), std::string::npos) << r.status().message();

  // Text named .jpg: no tags, no error (the indexer reports such files itself).
  const std::string text = tmp.file("notes.jpg");
  testing::write_file(text, "these are not pixels");
  auto t = models::read_face_tags(text, 1);
  ASSERT_TRUE(t) << t.status().message();
  EXPECT_TRUE(t->tags.empty());
}

TEST(XmpFaceTagsTest, WritesRegionsKeepingEverythingElseOnce) {
  testing::TempDir tmp;
  const std::string photo = tmp.file("p.jpg");
  fs::copy_file(testing::demo_photo(1), photo);  // 1920x1280
  const std::string sidecar = photo + ".xmp";
  // Another tool's sidecar: a title, a pet, a face elsewhere, and a face where facedex has Ann.
  testing::write_file(sidecar,
                      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
                      "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" "
                      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:format>image/jpeg</dc:format>"
                      "</rdf:Description></rdf:RDF></x:xmpmeta>");
  exiv2("-M" + shell_quote("set Xmp.dc.title lang=x-default Beach day") + bag() +
            mwg_region(1, "Rex", 0.1, 0.9, 0.1, 0.1, "Pet") + mwg_region(2, "Zed", 0.9, 0.1, 0.05, 0.05) +
            mwg_region(3, "Old name", 0.7, 0.5, 0.12, 0.2),
        sidecar);

  // Upright tags on a photo turned by orientation 8: the file gets stored-frame areas.
  const std::vector<FaceTag> tags = {{"Ann", 0.5, 0.3, 0.2, 0.12}, {"Bé", 0.25, 0.75, 0.1, 0.1}};
  auto w = models::write_face_tags(photo, tags, 1280, 1920, 8, false);
  ASSERT_TRUE(w) << w.status().message();
  EXPECT_TRUE(w->changed);
  EXPECT_EQ(w->path, sidecar);
  EXPECT_EQ(w->kept, 2u);  // Rex and Zed; "Old name" overlapped Ann

  auto kv = exiv2_xmp(sidecar);
  EXPECT_EQ(kv["Xmp.dc.title"], "lang=\"x-default\" Beach day");
  EXPECT_EQ(kv["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"], "1920");
  EXPECT_EQ(kv["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:h"], "1280");
  std::map<std::string, std::vector<double>> regions;
  for (int i = 1; i <= 4; ++i) {
    const std::string item = kList + "[" + std::to_string(i) + "]";
    const std::string a = item + "/mwg-rs:Area/stArea:";
    regions[kv[item + "/mwg-rs:Name"]] = {std::stod(kv[a + "x"]), std::stod(kv[a + "y"]), std::stod(kv[a + "w"]),
                                          std::stod(kv[a + "h"])};
  }
  ASSERT_EQ(regions.size(), 4u);
  EXPECT_EQ(regions.count("Old name"), 0u);
  EXPECT_EQ(regions.count("Rex"), 1u);
  EXPECT_EQ(regions.count("Zed"), 1u);
  // Orientation 8 shows the stored image turned 90 degrees counter-clockwise:
  // upright (x, y) is stored (1 - y, x), with width and height swapped.
  ASSERT_EQ(regions.count("Ann"), 1u);
  EXPECT_NEAR(regions["Ann"][0], 1 - 0.3, 1e-6);
  EXPECT_NEAR(regions["Ann"][1], 0.5, 1e-6);
  EXPECT_NEAR(regions["Ann"][2], 0.12, 1e-6);
  EXPECT_NEAR(regions["Ann"][3], 0.2, 1e-6);
  ASSERT_EQ(regions.count("Bé"), 1u);

  // Again: nothing to change, the file is not touched.
  const std::string before = testing::read_file(sidecar);
  const auto mtime = fs::last_write_time(sidecar);
  auto again = models::write_face_tags(photo, tags, 1280, 1920, 8, false);
  ASSERT_TRUE(again) << again.status().message();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(testing::read_file(sidecar), before);
  EXPECT_EQ(fs::last_write_time(sidecar), mtime);

  // Read back through facedex: the same upright areas.
  auto read = models::read_face_tags(photo, 8);
  ASSERT_TRUE(read) << read.status().message();
  ASSERT_EQ(read->tags.size(), 3u);  // Ann, Bé and Zed (Rex is a pet)
  for (const auto& t : read->tags)
    if (t.name == "Ann") expect_area(t, 0.5, 0.3, 0.2, 0.12);
}

TEST(XmpFaceTagsTest, WritesIntoThePhotoOnlyInPlaceKeepingItsPixels) {
  testing::TempDir tmp;
  const std::string photo = tmp.file("p.jpg");
  fs::copy_file(testing::demo_photo(2), photo);
  auto before = models::load_photo(photo, {});
  ASSERT_TRUE(before);
  auto w = models::write_face_tags(photo, {{"Ann", 0.5, 0.5, 0.1, 0.1}}, before->rgb.cols, before->rgb.rows, 1, true);
  ASSERT_TRUE(w) << w.status().message();
  EXPECT_TRUE(w->changed);
  EXPECT_FALSE(fs::exists(photo + ".xmp"));
  auto kv = exiv2_xmp(photo);
  EXPECT_EQ(kv[kList + "[1]/mwg-rs:Name"], "Ann");
  auto after = models::load_photo(photo, {});
  ASSERT_TRUE(after) << after.status().message();
  EXPECT_EQ(cv::norm(before->rgb, after->rgb, cv::NORM_INF), 0);
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find("facedex-tmp"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace facedex
