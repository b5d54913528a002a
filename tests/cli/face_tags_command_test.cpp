// Face tags with other photo tools, end to end: regions written by exiv2's own
// command name the faces `facedex index` finds (embedded, sidecar, a photo
// stored turned); conflicts are reported and kept; `export --xmp` writes what
// exiv2 reads back, once, and what a fresh gallery imports again.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;

const std::string kList = "Xmp.mwg-rs.Regions/mwg-rs:RegionList";

std::string facedex(const std::string& db) {
  return shell_quote(testing::facedex_binary()) + " --db " + shell_quote(db) + " ";
}

struct Area {
  double x, y, w, h;  // centre and size, fractions of the photo
};

// The faces facedex finds in a photo, as fractions of the upright photo.
std::vector<Area> faces_of(const std::string& photo) {
  std::string out, err;
  EXPECT_EQ(
      testing::run_command(shell_quote(testing::facedex_binary()) + " faces --json " + shell_quote(photo), &out, &err),
      0)
      << err;
  const auto j = nlohmann::json::parse(out);
  const double W = j["width"], H = j["height"];
  std::vector<Area> areas;
  for (const auto& f : j["faces"]) {
    const auto b = f["box"].get<std::vector<double>>();
    areas.push_back({(b[0] + b[2]) / 2 / W, (b[1] + b[3]) / 2 / H, (b[2] - b[0]) / W, (b[3] - b[1]) / H});
  }
  return areas;
}

// exiv2 -M arguments setting MWG face region `n` to `a` (as the file stores it).
std::string region(int n, const std::string& name, const Area& a) {
  const std::string item = kList + "[" + std::to_string(n) + "]";
  std::string c;
  auto set = [&](const std::string& key, const std::string& value) {
    c += " -M" + shell_quote("set " + key + " " + value);
  };
  set(item + "/mwg-rs:Name", name);
  set(item + "/mwg-rs:Type", "Face");
  set(item + "/mwg-rs:Area/stArea:x", std::to_string(a.x));
  set(item + "/mwg-rs:Area/stArea:y", std::to_string(a.y));
  set(item + "/mwg-rs:Area/stArea:w", std::to_string(a.w));
  set(item + "/mwg-rs:Area/stArea:h", std::to_string(a.h));
  set(item + "/mwg-rs:Area/stArea:unit", "normalized");
  return c;
}

void exiv2(const std::string& args, const std::string& file) {
  std::string out, err;
  ASSERT_EQ(
      testing::run_command(
          "exiv2 -M" + shell_quote("set " + kList + " XmpText type=Bag") + args + " " + shell_quote(file), &out, &err),
      0)
      << err;
}

// `exiv2 -px`: the regions of a file, by name.
std::map<std::string, Area> exiv2_regions(const std::string& file, std::map<std::string, std::string>* all = nullptr) {
  std::map<std::string, std::string> kv = testing::exiv2_xmp_values(file);
  std::map<std::string, Area> regions;
  for (int i = 1; kv.count(kList + "[" + std::to_string(i) + "]"); ++i) {
    const std::string item = kList + "[" + std::to_string(i) + "]", a = item + "/mwg-rs:Area/stArea:";
    regions[kv[item + "/mwg-rs:Name"]] = {std::stod(kv[a + "x"]), std::stod(kv[a + "y"]), std::stod(kv[a + "w"]),
                                          std::stod(kv[a + "h"])};
  }
  if (all) *all = kv;
  return regions;
}

// Photo file name -> names of its faces, from `facedex export`, in box order.
// The names a user gave (tags count as such), by photo. Automatic names are
// left out: the demo photos show some people twice, and auto-naming may name
// them after a tag in another photo.
std::map<std::string, std::multiset<std::string>> names_by_photo(const std::string& db) {
  std::string out, err;
  EXPECT_EQ(testing::run_command(facedex(db) + "export", &out, &err), 0) << err;
  std::map<std::string, std::multiset<std::string>> names;
  for (const auto& j : testing::parse_lines(out))
    if (!j["person"].is_null() && j["name_source"] == "user")
      names[fs::path(j["photo"].get<std::string>()).filename().string()].insert(j["person"].get<std::string>());
  return names;
}

nlohmann::json index_json(const std::string& db, const std::string& dir, std::string* err = nullptr) {
  std::string out, e;
  EXPECT_EQ(testing::run_command(facedex(db) + "index --json " + shell_quote(dir), &out, &e), 0) << e;
  if (err) *err = e;
  return nlohmann::json::parse(out)["face_tags"];
}

// An upright area of a photo stored turned 90 degrees clockwise (EXIF tag 8),
// as the file keeps it: upright (x, y) is stored (1 - y, x).
Area stored_turned_clockwise(const Area& u) { return {1 - u.y, u.x, u.h, u.w}; }

// sample1 with tags inside, sample2 with a Lightroom-style sidecar, and
// sample3 stored turned with its tag in the stored frame.
struct TaggedLibrary {
  explicit TaggedLibrary(const testing::TempDir& tmp) : dir(tmp.file("photos")) {
    fs::create_directories(dir);
    fs::copy_file(testing::demo_photo(1), dir + "/sample1.jpg");
    fs::copy_file(testing::demo_photo(2), dir + "/sample2.jpg");
    const cv::Mat upright = cv::imread(testing::demo_photo(3), cv::IMREAD_COLOR);
    cv::Mat rgb;
    cv::cvtColor(upright, rgb, cv::COLOR_BGR2RGB);
    testing::write_file(dir + "/turned.jpg", testing::rotated_jpeg_with_exif(rgb, 90));
    one = faces_of(dir + "/sample1.jpg");
    two = faces_of(dir + "/sample2.jpg");
    turned = faces_of(dir + "/turned.jpg");
  }
  std::string dir;
  std::vector<Area> one, two, turned;
};

TEST(FaceTagsCommandTest, ATaggedLibraryArrivesNamed) {
  testing::TempDir tmp;
  TaggedLibrary lib(tmp);
  ASSERT_GE(lib.one.size(), 2u);
  ASSERT_GE(lib.two.size(), 1u);
  ASSERT_GE(lib.turned.size(), 1u);
  // Embedded: two faces and a region over the sky.
  exiv2(region(1, "Ann Lee", lib.one[0]) + region(2, "Ben", lib.one[1]) + region(3, "Ghost", {0.05, 0.05, 0.04, 0.06}),
        lib.dir + "/sample1.jpg");
  // Sidecar: a region drawn looser than facedex's box (hair to chin, 1.4x).
  const Area loose{lib.two[0].x, lib.two[0].y - 0.2 * lib.two[0].h, lib.two[0].w * 1.4, lib.two[0].h * 1.4};
  testing::write_file(lib.dir + "/sample2.xmp",
                      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
                      "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/></x:xmpmeta>");
  exiv2(region(1, "ann lee", loose), lib.dir + "/sample2.xmp");
  exiv2(region(1, "Cleo", stored_turned_clockwise(lib.turned[0])), lib.dir + "/turned.jpg");

  const std::string db = tmp.file("db");
  std::string err;
  const auto tags = index_json(db, lib.dir, &err);
  EXPECT_EQ(tags["photos_with_tags"], 3) << tags.dump();
  EXPECT_EQ(tags["tags"], 5);
  EXPECT_EQ(tags["faces_named"], 4);
  EXPECT_EQ(tags["unmatched"], 1);
  EXPECT_EQ(tags["conflicts"], 0);
  EXPECT_NE(err.find("\"Ghost\""), std::string::npos) << err;
  EXPECT_NE(err.find("sample1.jpg"), std::string::npos) << err;

  auto names = names_by_photo(db);
  EXPECT_EQ(names["sample1.jpg"], (std::multiset<std::string>{"Ann Lee", "Ben"}));
  EXPECT_EQ(names["sample2.jpg"], (std::multiset<std::string>{"Ann Lee"}));  // the case variant joins her
  EXPECT_EQ(names["turned.jpg"], (std::multiset<std::string>{"Cleo"}));

  // An unchanged library is not read again.
  EXPECT_EQ(index_json(db, lib.dir)["photos_read"], 0);

  // A name given in facedex wins over a tag, which is reported.
  std::string out;
  ASSERT_EQ(testing::run_command(facedex(db) + "export", &out, &err), 0);
  uint64_t face_in_two = 0;
  for (const auto& j : testing::parse_lines(out))
    if (j["photo"].get<std::string>().find("sample2.jpg") != std::string::npos && !j["person"].is_null())
      face_in_two = j["face_id"];
  ASSERT_NE(face_in_two, 0u);
  ASSERT_EQ(
      testing::run_command(facedex(db) + "name --force --face " + std::to_string(face_in_two) + " Dora", &out, &err), 0)
      << err;
  exiv2(region(1, "Ann Lee", loose), lib.dir + "/sample2.xmp");  // the sidecar changes (same tag)
  const auto again = index_json(db, lib.dir, &err);
  EXPECT_EQ(again["photos_read"], 1) << again.dump();
  EXPECT_EQ(again["conflicts"], 1);
  EXPECT_NE(err.find("\"Dora\" in facedex, kept"), std::string::npos) << err;
  EXPECT_EQ(names_by_photo(db)["sample2.jpg"], (std::multiset<std::string>{"Dora"}));

  // The import is one history entry that undo reverts.
  ASSERT_EQ(tags["history_ids"].size(), 1u);
  ASSERT_EQ(testing::run_command(facedex(db) + "undo " + std::to_string(tags["history_ids"][0].get<int>()), &out, &err),
            0)
      << err;
  names = names_by_photo(db);
  EXPECT_EQ(names["sample1.jpg"].size(), 0u);
  EXPECT_EQ(names["turned.jpg"].size(), 0u);
  EXPECT_EQ(names["sample2.jpg"], (std::multiset<std::string>{"Dora"}));  // changed since: left as it is

  // --no-tags reads nothing.
  const std::string other = tmp.file("db2");
  ASSERT_EQ(testing::run_command(facedex(other) + "-q index --no-tags " + shell_quote(lib.dir), &out, &err), 0) << err;
  EXPECT_TRUE(names_by_photo(other).empty());
}

TEST(FaceTagsCommandTest, ExportWritesSidecarsOnceThatAFreshGalleryReads) {
  testing::TempDir tmp;
  TaggedLibrary lib(tmp);
  const std::string db = tmp.file("db");
  std::string out, err;
  ASSERT_EQ(testing::run_command(facedex(db) + "-q index " + shell_quote(lib.dir), &out, &err), 0) << err;
  // Name one face per photo; remember their boxes.
  ASSERT_EQ(testing::run_command(facedex(db) + "export", &out, &err), 0) << err;
  std::map<std::string, uint64_t> first_face;
  std::map<std::string, std::string> first_box;
  for (const auto& j : testing::parse_lines(out)) {
    const std::string file = fs::path(j["photo"].get<std::string>()).filename().string();
    if (!first_face.count(file)) first_face[file] = j["face_id"], first_box[file] = j["box"].dump();
  }
  ASSERT_EQ(first_face.size(), 3u);
  const std::map<std::string, std::string> person = {
      {"sample1.jpg", "Émile"}, {"sample2.jpg", "Fay"}, {"turned.jpg", "Gus"}};
  for (const auto& [file, id] : first_face)
    ASSERT_EQ(testing::run_command(
                  facedex(db) + "name --face " + std::to_string(id) + " " + shell_quote(person.at(file)), &out, &err),
              0)
        << err;
  // sample2 already has a sidecar with other metadata.
  testing::write_file(lib.dir + "/sample2.jpg.xmp",
                      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
                      "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/></x:xmpmeta>");
  ASSERT_EQ(testing::run_command(
                "exiv2 -M" + shell_quote("set Xmp.xmp.Rating 4") + " " + shell_quote(lib.dir + "/sample2.jpg.xmp"),
                &out, &err),
            0)
      << err;

  ASSERT_EQ(testing::run_command(facedex(db) + "export --xmp", &out, &err), 0) << err;
  EXPECT_NE(out.find("3 files written"), std::string::npos) << out;
  for (const auto& [file, name] : person) {
    std::map<std::string, std::string> kv;
    const auto regions = exiv2_regions(lib.dir + "/" + file + ".xmp", &kv);
    ASSERT_EQ(regions.count(name), 1u) << file;
    const Area& r = regions.at(name);
    // The first face in export order is the largest; find it among faces_of's.
    const auto& faces = file == "sample1.jpg" ? lib.one : file == "sample2.jpg" ? lib.two : lib.turned;
    bool found = false;
    for (const Area& f : faces) {
      const Area want = file == "turned.jpg" ? stored_turned_clockwise(f) : f;
      if (std::abs(r.x - want.x) < 1e-5 && std::abs(r.y - want.y) < 1e-5 && std::abs(r.w - want.w) < 1e-5 &&
          std::abs(r.h - want.h) < 1e-5)
        found = true;
    }
    EXPECT_TRUE(found) << file << " " << r.x << " " << r.y << " " << r.w << " " << r.h;
    if (file == "sample2.jpg") {
      EXPECT_EQ(kv["Xmp.xmp.Rating"], "4");
    }
    if (file == "turned.jpg") {  // AppliedToDimensions is the stored frame's
      const cv::Mat stored = cv::imread(lib.dir + "/turned.jpg", cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
      EXPECT_EQ(kv["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"], std::to_string(stored.cols));
      EXPECT_EQ(kv["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:h"], std::to_string(stored.rows));
    }
  }
  EXPECT_FALSE(fs::exists(lib.dir + "/sample2.xmp"));

  // Idempotent: nothing is rewritten.
  const std::string before = testing::read_file(lib.dir + "/sample1.jpg.xmp");
  const auto mtime = fs::last_write_time(lib.dir + "/sample1.jpg.xmp");
  ASSERT_EQ(testing::run_command(facedex(db) + "export --xmp", &out, &err), 0) << err;
  EXPECT_NE(out.find("0 files written, 3 already up to date"), std::string::npos) << out;
  EXPECT_EQ(testing::read_file(lib.dir + "/sample1.jpg.xmp"), before);
  EXPECT_EQ(fs::last_write_time(lib.dir + "/sample1.jpg.xmp"), mtime);

  // A fresh gallery of the same folder arrives named.
  const std::string fresh = tmp.file("fresh");
  ASSERT_EQ(testing::run_command(facedex(fresh) + "-q index " + shell_quote(lib.dir), &out, &err), 0) << err;
  const auto names = names_by_photo(fresh);
  for (const auto& [file, name] : person) EXPECT_EQ(names.at(file), (std::multiset<std::string>{name})) << file;

  // In place: into copies of the photos, no sidecar; a fresh gallery of them arrives named too.
  const std::string copies = tmp.file("copies");
  ASSERT_EQ(testing::run_command(facedex(db) + "export --xmp --in-place --dry-run", &out, &err), 0) << err;
  EXPECT_NE(out.find("3 files would be written"), std::string::npos) << out;
  fs::copy(lib.dir, copies);
  for (const auto& e : fs::directory_iterator(copies))
    if (e.path().extension() == ".xmp") fs::remove(e.path());
  const std::string copies_db = tmp.file("copies-db");
  ASSERT_EQ(testing::run_command(facedex(copies_db) + "-q index --no-tags " + shell_quote(copies), &out, &err), 0)
      << err;
  ASSERT_EQ(testing::run_command(facedex(copies_db) + "export", &out, &err), 0) << err;
  for (const auto& j : testing::parse_lines(out)) {
    const std::string file = fs::path(j["photo"].get<std::string>()).filename().string();
    if (j["box"].dump() == first_box[file]) {  // the same face (ids depend on the order workers finish)
      ASSERT_EQ(testing::run_command(facedex(copies_db) + "name --face " + std::to_string(j["face_id"].get<int>()) +
                                         " " + shell_quote(person.at(file)),
                                     &out, &err),
                0)
          << err;
    }
  }
  ASSERT_EQ(testing::run_command(facedex(copies_db) + "export --xmp --in-place", &out, &err), 0) << err;
  EXPECT_NE(out.find("3 files written"), std::string::npos) << out;
  for (const auto& e : fs::directory_iterator(copies)) EXPECT_NE(e.path().extension(), ".xmp") << e.path();
  EXPECT_EQ(exiv2_regions(copies + "/sample2.jpg").count("Fay"), 1u);
  // The gallery that wrote them follows the files: nothing to read again, same faces.
  ASSERT_EQ(testing::run_command(facedex(copies_db) + "export", &out, &err), 0) << err;
  const std::string exported = out;
  ASSERT_EQ(testing::run_command(facedex(copies_db) + "index --json " + shell_quote(copies), &out, &err), 0) << err;
  auto rerun = nlohmann::json::parse(out);
  EXPECT_EQ(rerun["unchanged"], 3) << out;
  EXPECT_EQ(rerun["face_tags"]["photos_read"], 3) << "read once: indexed with --no-tags";
  ASSERT_EQ(testing::run_command(facedex(copies_db) + "export", &out, &err), 0) << err;
  EXPECT_EQ(out, exported) << "same faces, ids and names";
  const std::string copies_fresh = tmp.file("copies-fresh");
  ASSERT_EQ(testing::run_command(facedex(copies_fresh) + "-q index " + shell_quote(copies), &out, &err), 0) << err;
  const auto copied_names = names_by_photo(copies_fresh);
  for (const auto& [file, name] : person) EXPECT_EQ(copied_names.at(file), (std::multiset<std::string>{name})) << file;
  // Written by the other gallery (its records do not follow): only the metadata changed, the faces stay.
  std::string unnamed;
  for (const auto& j : testing::parse_lines(exported))
    if (j["person"].is_null()) unnamed = std::to_string(j["face_id"].get<int>());
  ASSERT_FALSE(unnamed.empty());
  ASSERT_EQ(testing::run_command(facedex(copies_db) + "name --face " + unnamed + " Gus", &out, &err), 0) << err;
  ASSERT_EQ(testing::run_command(facedex(copies_db) + "export --xmp --in-place", &out, &err), 0) << err;
  ASSERT_EQ(testing::run_command(facedex(copies_fresh) + "index --json " + shell_quote(copies), &out, &err), 0) << err;
  rerun = nlohmann::json::parse(out);
  EXPECT_EQ(rerun["metadata_edited"], 1) << out;
  EXPECT_EQ(rerun["indexed"], 0);
  EXPECT_EQ(rerun["face_tags"]["photos_read"], 1) << "what changed is read";
}

TEST(FaceTagsCommandTest, AnUnreadableSidecarIsReportedAndTheRunGoesOn) {
  testing::TempDir tmp;
  const std::string dir = tmp.file("photos");
  fs::create_directories(dir);
  fs::copy_file(testing::demo_photo(1), dir + "/a.jpg");
  fs::copy_file(testing::demo_photo(2), dir + "/b.jpg");
  testing::write_file(dir + "/a.jpg.xmp", "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><broken");
  const std::string db = tmp.file("db");
  std::string err;
  const auto tags = index_json(db, dir, &err);
  EXPECT_EQ(tags["unreadable"], 1) << tags.dump();
  EXPECT_NE(err.find(dir + "/a.jpg.xmp: unreadable XMP"), std::string::npos) << err;
  std::string out;
  ASSERT_EQ(testing::run_command(facedex(db) + "stats --json", &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["photos"], 2);
  // Read again (and reported again) until it is fixed.
  EXPECT_EQ(index_json(db, dir)["unreadable"], 1);
}

}  // namespace
}  // namespace facedex
