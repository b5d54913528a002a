// A person's naming work, end to end with the real binary on transformed
// copies of the demo photos: names survive missing files, carry over to new
// photos, can be undone, and "not this person" sticks.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::parse_lines;
using testing::shell_quote;

class NamingCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = tmp_.file("db");
    lib_ = tmp_.file("library");
    fs::create_directories(lib_);
  }

  int run(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    std::string o, e;
    const int code = testing::run_command(
        shell_quote(testing::facedex_binary()) + " --db " + shell_quote(db_) + " " + args + " </dev/null", &o, &e);
    if (out) *out = o;
    if (err) *err = e;
    return code;
  }

  // sample N written as is ("orig"), mirrored, at 80% ("small") or at quality 50.
  void write_copy(int sample, const std::string& kind, const std::string& path) {
    auto photo = models::load_photo(testing::demo_photo(sample), {});
    ASSERT_TRUE(photo);
    cv::Mat img = photo->rgb;
    int quality = 95;
    if (kind == "mirror") cv::flip(photo->rgb, img, 1);
    if (kind == "small") cv::resize(photo->rgb, img, cv::Size(), 0.8, 0.8, cv::INTER_AREA);
    if (kind == "q50") quality = 50;
    fs::create_directories(fs::path(path).parent_path());
    testing::write_file(path, testing::encode_jpeg(img, quality));
  }

  std::vector<nlohmann::json> faces() {
    std::string out;
    EXPECT_EQ(run("export", &out), 0);
    return parse_lines(out);
  }
  // face id -> person ("" when unnamed)
  std::map<uint64_t, std::string> names() {
    std::map<uint64_t, std::string> out;
    for (const auto& f : faces()) out[f["face_id"]] = f["person"].is_null() ? "" : f["person"].get<std::string>();
    return out;
  }
  std::vector<nlohmann::json> faces_of(const std::string& photo) {
    std::vector<nlohmann::json> out;
    for (const auto& f : faces())
      if (f["photo"] == photo) out.push_back(f);
    return out;
  }
  nlohmann::json json_of(const std::string& args) {
    std::string out;
    EXPECT_EQ(run(args, &out), 0) << args;
    return nlohmann::json::parse(out);
  }
  // Names the faces of a photo "P0", "P1"... (largest first); returns id -> name.
  std::map<uint64_t, std::string> name_all(const std::string& photo, const std::string& prefix = "P") {
    std::map<uint64_t, std::string> named;
    int i = 0;
    for (const auto& f : faces_of(photo)) {
      const std::string name = prefix + std::to_string(i++);
      EXPECT_EQ(run("name --face " + std::to_string(f["face_id"].get<uint64_t>()) + " " + name), 0);
      named[f["face_id"]] = name;
    }
    return named;
  }
  void expect_names(const std::map<uint64_t, std::string>& expected, const std::string& when) {
    const auto now = names();
    for (const auto& [id, name] : expected) {
      ASSERT_TRUE(now.count(id)) << when << ": face " << id << " is gone";
      EXPECT_EQ(now.at(id), name) << when << ": face " << id;
    }
  }

  testing::TempDir tmp_;
  std::string db_, lib_;
};

TEST_F(NamingCommandTest, NamesSurviveARootRenamedAwayAFolderMovedOutAndFilesRestoredFromACopy) {
  write_copy(3, "orig", lib_ + "/album1/s3.jpg");
  write_copy(5, "orig", lib_ + "/album2/s5.jpg");
  ASSERT_EQ(run("index --no-auto-name " + shell_quote(lib_)), 0);
  auto named = name_all(lib_ + "/album1/s3.jpg", "A");
  auto more = name_all(lib_ + "/album2/s5.jpg", "B");
  named.insert(more.begin(), more.end());
  ASSERT_EQ(named.size(), 8u);

  // The whole root gone for a run (an unmounted drive): nothing removed, a warning names it.
  const std::string away = tmp_.file("library-away");
  fs::rename(lib_, away);
  std::string out, err;
  ASSERT_EQ(run("index " + shell_quote(lib_), &out, &err), 1) << "a root that is not there is an input that failed";
  EXPECT_NE(err.find("warning: " + lib_ + " is missing"), std::string::npos) << err;
  expect_names(named, "root missing");
  auto persons = json_of("persons --json");
  EXPECT_EQ(persons.size(), 8u);
  fs::rename(away, lib_);
  ASSERT_EQ(run("index --json " + shell_quote(lib_), &out), 0);
  EXPECT_EQ(nlohmann::json::parse(out)["restored"], 2) << out;
  expect_names(named, "root back");

  // A folder moved out of the library and back.
  fs::rename(lib_ + "/album1", tmp_.file("album1-outside"));
  ASSERT_EQ(run("index " + shell_quote(lib_), &out, &err), 0);
  expect_names(named, "folder out");
  fs::rename(tmp_.file("album1-outside"), lib_ + "/album1");
  ASSERT_EQ(run("index " + shell_quote(lib_), &out), 0);
  expect_names(named, "folder back");

  // Files deleted, then restored from a backup copy (new mtimes, same bytes).
  fs::copy(lib_, tmp_.file("backup"), fs::copy_options::recursive);
  fs::remove_all(lib_ + "/album2");
  ASSERT_EQ(run("index --json " + shell_quote(lib_), &out), 0);
  EXPECT_EQ(nlohmann::json::parse(out)["missing"], 1) << out;
  expect_names(named, "files deleted");
  fs::copy(tmp_.file("backup") + "/album2", lib_ + "/album2", fs::copy_options::recursive);
  ASSERT_EQ(run("index --json " + shell_quote(lib_), &out), 0);
  EXPECT_EQ(nlohmann::json::parse(out)["indexed"], 0) << "restored content is not recomputed: " << out;
  expect_names(named, "files restored");
  EXPECT_EQ(run("check", &out), 0) << out;
}

TEST_F(NamingCommandTest, PruneAndForgetPathDeleteOnlyWhenConfirmed) {
  write_copy(3, "orig", lib_ + "/keep/s3.jpg");
  write_copy(5, "orig", lib_ + "/old/s5.jpg");
  write_copy(3, "small", lib_ + "/gone/s3.jpg");
  ASSERT_EQ(run("index " + shell_quote(lib_)), 0);
  const size_t all = faces().size();
  ASSERT_EQ(all, 11u);

  std::string out, err;
  EXPECT_EQ(run("forget --path " + shell_quote(lib_ + "/old"), &out, &err), 2) << "no terminal, no --yes";
  EXPECT_NE(err.find("--yes"), std::string::npos) << err;
  EXPECT_EQ(faces().size(), all);
  ASSERT_EQ(run("forget --path " + shell_quote(lib_ + "/old") + " --yes", &out), 0);
  EXPECT_EQ(faces().size(), all - 5);
  // Deleted for real: the path is in no file of the database (RocksDB's
  // MANIFEST named it as an SST's key range until the store was reopened).
  for (const auto& e : fs::directory_iterator(db_))
    EXPECT_EQ(testing::read_file(e.path().string()).find(lib_ + "/old/"), std::string::npos) << e.path();
  fs::remove_all(lib_ + "/old");  // the files are the user's: forget --path leaves them

  fs::remove_all(lib_ + "/gone");
  ASSERT_EQ(run("index " + shell_quote(lib_)), 0);
  EXPECT_EQ(faces().size(), all - 5) << "missing photos are kept";
  EXPECT_EQ(run("prune", &out, &err), 2);
  ASSERT_EQ(run("prune --dry-run", &out), 0);
  EXPECT_NE(out.find(lib_ + "/gone/s3.jpg"), std::string::npos) << out;
  EXPECT_EQ(faces().size(), all - 5);
  ASSERT_EQ(run("prune --yes", &out), 0) << out;
  EXPECT_EQ(faces().size(), all - 8);
  for (const auto& f : faces()) EXPECT_EQ(f["photo"].get<std::string>().find("/keep/"), lib_.size());
  EXPECT_EQ(run("check", &out), 0) << out;
}

TEST_F(NamingCommandTest, NewPhotosOfNamedPeopleAreNamedAutomaticallyAndShownApart) {
  write_copy(3, "orig", lib_ + "/a/s3.jpg");
  write_copy(5, "orig", lib_ + "/a/s5.jpg");
  ASSERT_EQ(run("index " + shell_quote(lib_)), 0);
  const auto named = name_all(lib_ + "/a/s3.jpg", "W");
  const auto orig = faces_of(lib_ + "/a/s3.jpg");

  // New photos of the three: mirrored and rescaled.
  write_copy(3, "mirror", lib_ + "/b/s3_mirror.jpg");
  write_copy(3, "small", lib_ + "/b/s3_small.jpg");
  std::string out;
  ASSERT_EQ(run("index --json " + shell_quote(lib_), &out), 0);
  EXPECT_EQ(nlohmann::json::parse(out)["named_automatically"], 6) << out;

  // Each new face carries the name of the face at the same place, automatic.
  auto by_x = [](std::vector<nlohmann::json> fs, bool mirrored) {
    std::sort(fs.begin(), fs.end(), [&](const nlohmann::json& a, const nlohmann::json& b) {
      return (a["box"][0].get<int>() < b["box"][0].get<int>()) != mirrored;
    });
    return fs;
  };
  const auto o = by_x(orig, false);
  for (const auto& [photo, mirrored] : {std::pair{std::string("/b/s3_mirror.jpg"), true}, {"/b/s3_small.jpg", false}}) {
    const auto fs = by_x(faces_of(lib_ + photo), mirrored);
    ASSERT_EQ(fs.size(), o.size()) << photo;
    for (size_t i = 0; i < fs.size(); ++i) {
      EXPECT_EQ(fs[i]["person"], o[i]["person"]) << photo;
      EXPECT_EQ(fs[i]["name_source"], "automatic") << photo;
    }
  }
  for (const auto& f : faces_of(lib_ + "/a/s5.jpg")) EXPECT_TRUE(f["person"].is_null()) << "a stranger got a name";

  const auto persons = json_of("persons --json");
  ASSERT_EQ(persons.size(), 3u);
  for (const auto& p : persons) {
    EXPECT_EQ(p["faces"], 3);
    EXPECT_EQ(p["confirmed"], 1);
    EXPECT_EQ(p["automatic"], 2);
  }
  // A user's name wins over an automatic one without --force; confirming makes it the user's.
  const auto small = faces_of(lib_ + "/b/s3_small.jpg");
  const std::string id = std::to_string(small[0]["face_id"].get<uint64_t>());
  ASSERT_EQ(run("name --face " + id + " " + shell_quote(small[0]["person"].get<std::string>()), &out), 0) << out;
  EXPECT_EQ(faces_of(lib_ + "/b/s3_small.jpg")[0]["name_source"], "user");

  // Switched off: a new copy stays unnamed; undo takes the automatic names back.
  write_copy(3, "q50", lib_ + "/c/s3_q50.jpg");
  ASSERT_EQ(run("index --no-auto-name " + shell_quote(lib_), &out), 0);
  for (const auto& f : faces_of(lib_ + "/c/s3_q50.jpg")) EXPECT_TRUE(f["person"].is_null());
  const auto history = json_of("history --json");
  uint64_t auto_entry = 0;
  for (const auto& h : history)
    if (h["action"] == "auto-name") auto_entry = h["id"];
  ASSERT_NE(auto_entry, 0u) << history.dump();
  ASSERT_EQ(run("undo " + std::to_string(auto_entry), &out), 0) << out;
  for (const auto& f : faces_of(lib_ + "/b/s3_mirror.jpg")) EXPECT_TRUE(f["person"].is_null());
  EXPECT_FALSE(faces_of(lib_ + "/b/s3_small.jpg")[0]["person"].is_null()) << "the confirmed name stays";
  expect_names(named, "after undo");
}

TEST_F(NamingCommandTest, RenamingTakenFacesNeedsForceDryRunChangesNothingAndEverythingUndoes) {
  write_copy(3, "orig", lib_ + "/s3.jpg");
  write_copy(3, "mirror", lib_ + "/s3_mirror.jpg");
  write_copy(3, "small", lib_ + "/s3_small.jpg");
  ASSERT_EQ(run("index --no-auto-name " + shell_quote(lib_)), 0);
  ASSERT_EQ(run("cluster --no-auto-name"), 0);
  const auto clusters = json_of("clusters --json");
  ASSERT_EQ(clusters.size(), 3u) << clusters.dump();
  const std::string c = std::to_string(clusters[0]["cluster"].get<uint64_t>());
  EXPECT_EQ(clusters[0]["faces"], 3);
  EXPECT_EQ(clusters[0]["photos"].size(), 3u);

  std::string out, err;
  ASSERT_EQ(run("name --cluster " + c + " " + shell_quote("Joe Biden"), &out), 0) << out;
  const auto before = names();
  EXPECT_EQ(run("name --cluster " + c + " " + shell_quote("Barack Obama"), &out, &err), 2);
  EXPECT_NE(err.find("--force"), std::string::npos) << err;
  ASSERT_EQ(run("name --cluster " + c + " " + shell_quote("Barack Obama") + " --force --dry-run", &out), 0);
  EXPECT_NE(out.find("Joe Biden -> Barack Obama"), std::string::npos) << out;
  EXPECT_EQ(names(), before) << "a dry run changed something";
  ASSERT_EQ(run("name --cluster " + c + " " + shell_quote("Barack Obama") + " --force", &out), 0);
  for (const auto& [id, n] : names()) {
    if (before.at(id) == "Joe Biden") {
      EXPECT_EQ(n, "Barack Obama");
    }
  }
  ASSERT_EQ(run("undo", &out), 0) << out;
  EXPECT_EQ(names(), before);

  // rename, merge and forget undo too, in any order.
  ASSERT_EQ(run("photos --cluster " + c + " --json", &out), 0);
  const auto photo_lines = parse_lines(out);
  ASSERT_EQ(photo_lines.size(), 3u);
  const uint64_t one = photo_lines[0]["faces"][0]["face_id"];
  ASSERT_EQ(run("rename " + shell_quote("Joe Biden") + " Joe", &out), 0);
  ASSERT_EQ(run("split --face " + std::to_string(one) + " --name Jo", &out), 0) << out;
  ASSERT_EQ(run("merge Joe Jo", &out), 0);
  ASSERT_EQ(run("forget --person Joe", &out), 0);
  EXPECT_EQ(json_of("persons --json").size(), 0u);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(run("undo", &out), 0) << i << out;
  EXPECT_EQ(names(), before);
  const auto persons = json_of("persons --json");
  ASSERT_EQ(persons.size(), 1u);
  EXPECT_EQ(persons[0]["name"], "Joe Biden");
  EXPECT_EQ(run("undo", &out), 0);
  EXPECT_EQ(json_of("persons --json --all").size(), 0u) << "the person the first name created is gone with it";
  EXPECT_EQ(run("undo 1", &out, &err), 2) << "an entry undone already";
  EXPECT_EQ(run("check", &out), 0) << out;
}

TEST_F(NamingCommandTest, NotThisPersonSticksThroughClusteringAndAutomaticNames) {
  for (const char* kind : {"orig", "mirror", "small", "q50"}) write_copy(3, kind, lib_ + "/s3_" + kind + ".jpg");
  ASSERT_EQ(run("index --no-auto-name " + shell_quote(lib_)), 0);
  ASSERT_EQ(run("cluster"), 0);
  auto clusters = json_of("clusters --json");
  ASSERT_EQ(clusters.size(), 3u);
  const uint64_t c0 = clusters[0]["cluster"], c1 = clusters[1]["cluster"];
  std::string out;
  ASSERT_EQ(run("photos --cluster " + std::to_string(c0) + " --json", &out), 0);
  const uint64_t split_face = parse_lines(out).at(0)["faces"][0]["face_id"];
  ASSERT_EQ(run("split --face " + std::to_string(split_face) + " --name Other", &out), 0) << out;
  ASSERT_EQ(run("cluster", &out), 0);
  std::map<uint64_t, uint64_t> cluster_of;
  for (const auto& f : faces()) cluster_of[f["face_id"]] = f["cluster"].is_null() ? 0 : f["cluster"].get<uint64_t>();
  const auto now = names();
  for (const auto& [id, c] : cluster_of) {
    if (id != split_face) {
      EXPECT_TRUE(c != cluster_of[split_face] || c == 0 || cluster_of[split_face] == 0 || now.at(id) == "Other")
          << "face " << split_face << " was put back with face " << id;
    }
  }
  EXPECT_EQ(now.at(split_face), "Other");

  // A face unnamed from a person is never named so again, not by its cluster either.
  ASSERT_EQ(run("name --cluster " + std::to_string(c1) + " Bea", &out), 0);
  ASSERT_EQ(run("photos --person Bea --json", &out), 0);
  const uint64_t unnamed = parse_lines(out).at(0)["faces"][0]["face_id"];
  ASSERT_EQ(run("unname --face " + std::to_string(unnamed), &out), 0) << out;
  ASSERT_EQ(run("cluster", &out), 0);
  ASSERT_EQ(run("index " + shell_quote(lib_), &out), 0);
  EXPECT_EQ(names()[unnamed], "");
  const auto persons = json_of("persons --json");
  for (const auto& p : persons) {
    if (p["name"] == "Bea") {
      EXPECT_EQ(p["faces"], 3);
    }
  }
}

TEST_F(NamingCommandTest, NamesAreTrimmedCaseVariantsRefusedAndEmptyPersonsHidden) {
  write_copy(3, "orig", lib_ + "/s3.jpg");
  ASSERT_EQ(run("index " + shell_quote(lib_)), 0);
  const auto fs = faces_of(lib_ + "/s3.jpg");
  ASSERT_EQ(fs.size(), 3u);
  const std::string a = std::to_string(fs[0]["face_id"].get<uint64_t>());
  const std::string b = std::to_string(fs[1]["face_id"].get<uint64_t>());
  const std::string c = std::to_string(fs[2]["face_id"].get<uint64_t>());
  std::string out, err;
  ASSERT_EQ(run("name --face " + a + " " + shell_quote("Tony Blair"), &out), 0);
  ASSERT_EQ(run("name --face " + b + " " + shell_quote("\u00a0Tony Blair \t"), &out), 0);
  EXPECT_EQ(json_of("persons --json").size(), 1u) << "white space made a second person";
  EXPECT_EQ(run("name --face " + c + " " + shell_quote("tony blair"), &out, &err), 2);
  EXPECT_NE(err.find("did you mean \"Tony Blair\""), std::string::npos) << err;
  EXPECT_EQ(run("name --face " + c + " " + shell_quote("  "), &out, &err), 2);
  ASSERT_EQ(run("name --face " + c + " " + shell_quote("tony blair") + " --new", &out), 0);
  EXPECT_EQ(json_of("persons --json").size(), 2u);
  // Moving a face away leaves "tony blair" with none: listed only with --all.
  ASSERT_EQ(run("name --face " + c + " " + shell_quote("Tony Blair") + " --force", &out), 0);
  EXPECT_EQ(json_of("persons --json").size(), 1u);
  EXPECT_EQ(json_of("persons --json --all").size(), 2u);
  // enroll finds the person whatever the case, and says so.
  const std::string ref = tmp_.file("ref.jpg");
  write_copy(3, "small", ref);
  ASSERT_EQ(run("enroll " + shell_quote("TONY BLAIR") + " " + shell_quote(ref), &out), 0) << out;
  EXPECT_NE(out.find("using the existing person \"Tony Blair\""), std::string::npos) << out;
  EXPECT_EQ(run("nosuchcommand", &out, &err), 2);
  EXPECT_NE(err.find("unknown command"), std::string::npos) << err;
  EXPECT_EQ(run("name --face -1 X", &out, &err), 2);
}

TEST_F(NamingCommandTest, WhoShowsFaceIdsAndFoldsByteCopies) {
  write_copy(5, "orig", lib_ + "/s5.jpg");
  fs::copy_file(lib_ + "/s5.jpg", lib_ + "/s5 copy.jpg");
  ASSERT_EQ(run("index " + shell_quote(lib_)), 0);
  const auto fs5 = faces_of(lib_ + "/s5.jpg");
  ASSERT_EQ(run("name --face " + std::to_string(fs5[0]["face_id"].get<uint64_t>()) + " Dora"), 0);
  const std::string probe = tmp_.file("probe.jpg");
  write_copy(5, "mirror", probe);
  std::string out;
  ASSERT_EQ(run("who --json --matches 3 " + shell_quote(probe), &out), 0);
  const auto answer = parse_lines(out).at(0);
  std::map<uint64_t, std::string> box_of;
  for (const auto& f : faces()) box_of[f["face_id"]] = f["box"].dump();
  bool folded = false;
  for (const auto& face : answer["faces"]) {
    std::set<std::string> boxes;  // a copy's face has the same box as the original's
    for (const auto& m : face["matches"]) {
      EXPECT_TRUE(m.contains("face_id") && m.contains("cluster"));
      EXPECT_TRUE(boxes.insert(box_of[m["face_id"]]).second) << "the same face of a copy listed twice";
      folded = folded || m["copies"].size() == 1;
    }
  }
  EXPECT_TRUE(folded) << out;
  ASSERT_EQ(run("who --matches 3 " + shell_quote(probe), &out), 0);
  EXPECT_NE(out.find("+1 copy"), std::string::npos) << out;
  EXPECT_NE(out.find("face " + std::to_string(fs5[0]["face_id"].get<uint64_t>()) + "  Dora"), std::string::npos) << out;
}

TEST_F(NamingCommandTest, AReportReplacesTheOneBeforeItAndRefusesOtherFolders) {
  write_copy(3, "orig", lib_ + "/s3.jpg");
  write_copy(3, "mirror", lib_ + "/s3m.jpg");
  ASSERT_EQ(run("index " + shell_quote(lib_)), 0);
  ASSERT_EQ(run("cluster"), 0);
  const std::string out_dir = tmp_.file("report");
  std::string out, err;
  ASSERT_EQ(run("report --out " + shell_quote(out_dir) + " --format html --format csv", &out), 0) << out;
  testing::write_file(out_dir + "/thumbs/999999.jpg", "stale");
  testing::write_file(out_dir + "/old-page.html", "stale");
  ASSERT_EQ(run("report --out " + shell_quote(out_dir), &out), 0) << out;
  EXPECT_FALSE(fs::exists(out_dir + "/thumbs/999999.jpg"));
  EXPECT_FALSE(fs::exists(out_dir + "/old-page.html"));
  EXPECT_FALSE(fs::exists(out_dir + "/faces.csv")) << "csv was not asked for this time";
  EXPECT_TRUE(fs::exists(out_dir + "/index.html"));
  EXPECT_EQ(fs::status(out_dir).permissions() & fs::perms::others_all, fs::perms::none);
  // A folder of something else is never emptied.
  const std::string other = tmp_.file("documents");
  fs::create_directories(other);
  testing::write_file(other + "/letter.txt", "keep me");
  EXPECT_EQ(run("report --out " + shell_quote(other), &out, &err), 2);
  EXPECT_TRUE(fs::exists(other + "/letter.txt"));
}

}  // namespace
}  // namespace facedex
