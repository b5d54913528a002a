// facedex cluster and report, end to end, on transformed copies of the demo
// photos: several photos per person, several people per photo.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <regex>
#include <set>

#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::parse_lines;
using testing::shell_quote;

class ClusterCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = tmp_.file("db");
    photos_ = tmp_.file("photos");
    fs::create_directories(photos_);
  }

  int run(const std::string& args, std::string* out) {
    std::string err;
    const int code = testing::run_command(
        shell_quote(testing::facedex_binary()) + " --db " + shell_quote(db_) + " " + args, out, &err);
    if (code != 0) std::printf("%s\n", err.c_str());
    return code;
  }

  // Writes the sample photo as is, mirrored, at 80% and recompressed at quality 50.
  void add_copies(int sample) {
    auto photo = models::load_photo(testing::demo_photo(sample), {});
    ASSERT_TRUE(photo);
    const std::string stem = photos_ + "/s" + std::to_string(sample);
    cv::Mat flipped, small;
    cv::flip(photo->rgb, flipped, 1);
    cv::resize(photo->rgb, small, cv::Size(), 0.8, 0.8, cv::INTER_AREA);
    testing::write_file(stem + "_original.jpg", testing::encode_jpeg(photo->rgb));
    testing::write_file(stem + "_mirrored.jpg", testing::encode_jpeg(flipped));
    testing::write_file(stem + "_small.jpg", testing::encode_jpeg(small));
    testing::write_file(stem + "_q50.jpg", testing::encode_jpeg(photo->rgb, 50));
    widths_[sample] = photo->rgb.cols;
  }

  // Who each exported face is: the face of the untouched copy whose centre is
  // nearest once the transformation is undone: "s<sample>_<that face's x>".
  std::string truth(const nlohmann::json& face, const std::vector<nlohmann::json>& all) const {
    auto centre = [&](const nlohmann::json& f) {
      const std::string photo = f["photo"].get<std::string>();
      const std::string name = photo.substr(photo.find_last_of('/') + 1);
      const int sample = name[1] - '0';
      double cx = (f["box"][0].get<double>() + f["box"][2].get<double>()) / 2;
      double cy = (f["box"][1].get<double>() + f["box"][3].get<double>()) / 2;
      if (name.find("mirrored") != std::string::npos) cx = widths_.at(sample) - cx;
      if (name.find("small") != std::string::npos) cx /= 0.8, cy /= 0.8;
      return std::make_tuple(sample, cx, cy, name.find("original") != std::string::npos);
    };
    const auto [sample, cx, cy, original] = centre(face);
    double best = 1e18;
    int best_x = -1;
    for (const auto& o : all) {
      const auto [s2, ox, oy, is_original] = centre(o);
      if (!is_original || s2 != sample) continue;
      const double d = (ox - cx) * (ox - cx) + (oy - cy) * (oy - cy);
      if (d < best) best = d, best_x = int(ox);
    }
    return "s" + std::to_string(sample) + "_" + std::to_string(best_x);
  }

  static uint64_t cluster_of(const nlohmann::json& f) {
    return f["cluster"].is_null() ? 0 : f["cluster"].get<uint64_t>();
  }

  std::vector<nlohmann::json> faces() {
    std::string out;
    EXPECT_EQ(run("export", &out), 0);
    return parse_lines(out);
  }

  testing::TempDir tmp_;
  std::string db_, photos_;
  std::map<int, int> widths_;
};

TEST_F(ClusterCommandTest, ClustersAreThePeopleAndKeepTheirIdsNamesAndSplits) {
  add_copies(3);
  add_copies(5);
  std::string out;
  ASSERT_EQ(run("index " + shell_quote(photos_), &out), 0);
  ASSERT_EQ(run("cluster --json", &out), 0);
  const auto first = nlohmann::json::parse(out);
  EXPECT_EQ(first["clusters"], 8) << out;  // 3 + 5 people, 4 photos each

  // Clusters match the true groups, and no cluster holds two faces of one photo.
  std::map<uint64_t, std::set<std::string>> people_in_cluster;
  std::map<std::string, std::set<uint64_t>> clusters_of_person;
  std::set<std::pair<uint64_t, std::string>> cluster_photo;
  std::map<uint64_t, uint64_t> cluster_of_face;
  const auto all = faces();
  for (const auto& f : all) {
    ASSERT_FALSE(f["cluster"].is_null()) << f.dump();
    const uint64_t c = f["cluster"].get<uint64_t>();
    people_in_cluster[c].insert(truth(f, all));
    clusters_of_person[truth(f, all)].insert(c);
    EXPECT_TRUE(cluster_photo.insert({c, f["photo"].get<std::string>()}).second)
        << "two faces of one photo in cluster " << c;
    cluster_of_face[f["face_id"].get<uint64_t>()] = c;
  }
  EXPECT_EQ(clusters_of_person.size(), 8u);
  for (const auto& [c, people] : people_in_cluster) EXPECT_EQ(people.size(), 1u) << "cluster " << c << " mixes people";
  for (const auto& [p, clusters] : clusters_of_person) EXPECT_EQ(clusters.size(), 1u) << p << " is split";

  // Name one cluster, then add photos of four new people and cluster again:
  // the old clusters keep their ids and the name stays.
  const uint64_t anna_cluster = cluster_of_face.begin()->second;
  ASSERT_EQ(run("name --cluster " + std::to_string(anna_cluster) + " " + shell_quote("Anna Åberg"), &out), 0);
  add_copies(6);
  ASSERT_EQ(run("index " + shell_quote(photos_), &out), 0);
  ASSERT_EQ(run("cluster --json", &out), 0);
  const auto second = nlohmann::json::parse(out);
  EXPECT_EQ(second["clusters"], 12) << out;
  EXPECT_EQ(second["kept_ids"], 8) << out;
  size_t named = 0;
  for (const auto& f : faces()) {
    const uint64_t id = f["face_id"].get<uint64_t>();
    if (cluster_of_face.count(id)) {
      EXPECT_EQ(cluster_of(f), cluster_of_face[id]) << "face " << id << " changed cluster";
    }
    if (f["person"] == "Anna Åberg") {
      ++named;
      EXPECT_EQ(cluster_of(f), anna_cluster);
    }
  }
  EXPECT_EQ(named, 4u);

  // Split one of Anna's faces out into another person: clustering keeps it apart.
  uint64_t moved = 0;
  for (const auto& f : faces())
    if (f["person"] == "Anna Åberg") moved = f["face_id"].get<uint64_t>();
  ASSERT_EQ(run("split --face " + std::to_string(moved) + " --name " + shell_quote("Not Anna"), &out), 0);
  ASSERT_EQ(run("cluster", &out), 0);
  ASSERT_EQ(run("index " + shell_quote(photos_), &out), 0);
  std::map<std::string, int> per_person;
  for (const auto& f : faces()) {
    if (f["person"].is_string()) ++per_person[f["person"].get<std::string>()];
    if (f["face_id"].get<uint64_t>() == moved) {
      EXPECT_EQ(f["person"], "Not Anna");
      EXPECT_NE(cluster_of(f), anna_cluster);
    }
  }
  EXPECT_EQ(per_person["Anna Åberg"], 3);
  EXPECT_EQ(per_person["Not Anna"], 1);
  ASSERT_EQ(run("check", &out), 0) << out;
}

// One person under two names: the report lists the pair with its closest face
// pairs and the merge that accepts it; every such finding here is right, and
// after the merge the pair is gone.
TEST_F(ClusterCommandTest, OnePersonUnderTwoNamesIsListedWithTheMergeThatAcceptsIt) {
  add_copies(3);
  add_copies(5);
  std::string out;
  ASSERT_EQ(run("index " + shell_quote(photos_), &out), 0);
  const auto all = faces();
  // The widest face of sample 3: its original copy named "Ann", its mirrored copy "Anne".
  std::string person;
  int widest = 0;
  for (const auto& f : all) {
    const int w = f["box"][2].get<int>() - f["box"][0].get<int>();
    if (f["photo"].get<std::string>().find("s3_original") != std::string::npos && w > widest)
      widest = w, person = truth(f, all);
  }
  uint64_t original = 0, mirrored = 0;
  for (const auto& f : all) {
    if (truth(f, all) != person) continue;
    const std::string photo = f["photo"].get<std::string>();
    if (photo.find("_original") != std::string::npos) original = f["face_id"].get<uint64_t>();
    if (photo.find("_mirrored") != std::string::npos) mirrored = f["face_id"].get<uint64_t>();
  }
  ASSERT_TRUE(original && mirrored);
  ASSERT_EQ(run("name --face " + std::to_string(original) + " Ann", &out), 0);
  ASSERT_EQ(run("name --face " + std::to_string(mirrored) + " Anne", &out), 0);
  ASSERT_EQ(run("cluster", &out), 0);

  const std::string report = tmp_.file("report");
  ASSERT_EQ(run("report --out " + shell_quote(report) + " --format json", &out), 0);
  auto json = nlohmann::json::parse(testing::read_file(report + "/report.json"));
  // Who each group is: the truth of its faces (one person per group here).
  std::map<std::string, std::set<std::string>> group_truth;
  std::map<uint64_t, nlohmann::json> by_id;
  for (const auto& f : faces()) by_id[f["face_id"].get<uint64_t>()] = f;
  for (const auto& g : json["groups"])
    for (const auto& f : g["faces"]) group_truth[g["name"]].insert(truth(by_id.at(f["face_id"]), all));
  std::string command;
  for (const auto& f : json["findings"]) {
    if (f["kind"] != "one_person_two_groups") continue;
    EXPECT_EQ(group_truth[f["a"]], group_truth[f["b"]]) << f.dump() << ": two different people listed";
    EXPECT_LE(f["crowded_distance"].get<double>(), 0.92);
    EXPECT_FALSE(f["faces_a"].empty());
    EXPECT_EQ(f["faces_a"].size(), f["faces_b"].size()) << "closest pairs, side by side";
    const std::set<std::string> names = {f["a"].get<std::string>(), f["b"].get<std::string>()};
    if (names == std::set<std::string>{"Ann", "Anne"}) command = f["command"].get<std::string>();
  }
  ASSERT_FALSE(command.empty()) << json["findings"].dump();
  EXPECT_TRUE(command == "facedex merge 'Ann' 'Anne'" || command == "facedex merge 'Anne' 'Ann'") << command;

  // Rejected ("different people"), the pair is not listed again; undone, it is.
  auto lists_ann_and_anne = [&]() {
    EXPECT_EQ(run("report --out " + shell_quote(report) + " --format json", &out), 0);
    const auto j = nlohmann::json::parse(testing::read_file(report + "/report.json"));
    for (const auto& f : j["findings"])
      if (std::set<std::string>{f["a"].get<std::string>(), f["b"].get<std::string>()} ==
          std::set<std::string>{"Ann", "Anne"})
        return true;
    return false;
  };
  ASSERT_EQ(run("different Ann Anne", &out), 0);
  EXPECT_FALSE(lists_ann_and_anne());
  EXPECT_EQ(run("cluster", &out), 0);
  EXPECT_FALSE(lists_ann_and_anne()) << "remembered across clustering";
  ASSERT_EQ(run("undo", &out), 0) << out;
  EXPECT_TRUE(lists_ann_and_anne());
  std::string err;
  EXPECT_NE(testing::run_command(shell_quote(testing::facedex_binary()) + " --db " + shell_quote(db_) +
                                     " different Ann 'cluster 999999'",
                                 &out, &err),
            0);
  EXPECT_NE(err.find("cluster 999999"), std::string::npos) << err;

  // The command, as printed, accepts the finding.
  ASSERT_EQ(run(command.substr(std::string("facedex ").size()), &out), 0);
  ASSERT_EQ(run("report --out " + shell_quote(report) + " --format json", &out), 0);
  json = nlohmann::json::parse(testing::read_file(report + "/report.json"));
  for (const auto& f : json["findings"]) {
    const std::set<std::string> names = {f["a"].get<std::string>(), f["b"].get<std::string>()};
    EXPECT_FALSE(names.count("Ann") && names.count("Anne")) << f.dump();
  }
}

TEST_F(ClusterCommandTest, TwoPeopleUnderOneNameAreListedWithTheSplitThatAcceptsIt) {
  add_copies(3);
  add_copies(5);
  std::string out;
  ASSERT_EQ(run("index " + shell_quote(photos_), &out), 0);
  const auto all = faces();
  // The widest face of each sample's original: two people, four copies each.
  std::map<int, std::pair<int, std::string>> widest;  // sample -> width, truth
  for (const auto& f : all) {
    const std::string photo = f["photo"].get<std::string>();
    const int w = f["box"][2].get<int>() - f["box"][0].get<int>();
    for (int sample : {3, 5})
      if (photo.find("s" + std::to_string(sample) + "_original") != std::string::npos && w > widest[sample].first)
        widest[sample] = {w, truth(f, all)};
  }
  const std::set<std::string> two = {widest[3].second, widest[5].second};
  std::string ids;
  std::map<uint64_t, std::string> truth_of;
  for (const auto& f : all) {
    truth_of[f["face_id"].get<uint64_t>()] = truth(f, all);
    if (two.count(truth(f, all))) ids += " --face " + std::to_string(f["face_id"].get<uint64_t>());
  }
  ASSERT_EQ(run("cluster", &out), 0);
  const std::string report = tmp_.file("report");
  auto two_people_findings = [&]() {
    EXPECT_EQ(run("report --out " + shell_quote(report) + " --format json", &out), 0);
    std::vector<nlohmann::json> found;
    const auto json = nlohmann::json::parse(testing::read_file(report + "/report.json"));
    for (const auto& f : json["findings"])
      if (f["kind"] == "two_people_one_group") found.push_back(f);
    return found;
  };
  EXPECT_TRUE(two_people_findings().empty()) << "each cluster here is one person";

  // Both people under one name: listed, one person a side, with the split that accepts it.
  ASSERT_EQ(run("name" + ids + " Bo", &out), 0);
  auto found = two_people_findings();
  ASSERT_EQ(found.size(), 1u);
  const auto& f = found[0];
  EXPECT_EQ(f["a"], "Bo (4 faces)");
  EXPECT_EQ(f["b"], "Bo (4 faces)");
  std::set<std::string> side_a, side_b;
  for (const auto& id : f["faces_a"]) side_a.insert(truth_of.at(id.get<uint64_t>()));
  for (const auto& id : f["faces_b"]) side_b.insert(truth_of.at(id.get<uint64_t>()));
  ASSERT_EQ(side_a.size(), 1u);
  ASSERT_EQ(side_b.size(), 1u);
  EXPECT_NE(*side_a.begin(), *side_b.begin());
  EXPECT_GT(f["distance"].get<double>(), 0.54);
  EXPECT_LT(f["within"].get<double>(), f["distance"].get<double>());
  const std::string command = f["command"].get<std::string>();
  ASSERT_EQ(command.rfind("facedex split --name 'Bo (2)' --face ", 0), 0u) << command;
  ASSERT_EQ(f["reject_command"], "facedex same 'Bo'");

  // Rejected ("one person"), it is not listed again, through re-clustering too; undone, it is.
  ASSERT_EQ(run("same Bo", &out), 0);
  EXPECT_TRUE(two_people_findings().empty());
  ASSERT_EQ(run("cluster", &out), 0);
  EXPECT_TRUE(two_people_findings().empty()) << "remembered across clustering";
  ASSERT_EQ(run("undo", &out), 0) << out;
  EXPECT_EQ(two_people_findings().size(), 1u);
  std::string err;
  EXPECT_EQ(testing::run_command(shell_quote(testing::facedex_binary()) + " --db " + shell_quote(db_) + " same Nobody",
                                 &out, &err),
            2)
      << "an unknown name is a usage error: " << err;
  EXPECT_NE(err.find("Nobody"), std::string::npos) << err;

  // The command, as printed, splits them: two persons, one person each, nothing listed.
  ASSERT_EQ(run(command.substr(std::string("facedex ").size()), &out), 0);
  EXPECT_TRUE(two_people_findings().empty());
  std::map<std::string, std::set<std::string>> person_truth;
  for (const auto& face : faces())
    if (face.contains("person") && !face["person"].is_null())
      person_truth[face["person"].get<std::string>()].insert(truth_of.at(face["face_id"].get<uint64_t>()));
  ASSERT_EQ(person_truth.size(), 2u);
  EXPECT_EQ(person_truth["Bo"].size(), 1u);
  EXPECT_EQ(person_truth["Bo (2)"].size(), 1u);
  EXPECT_NE(person_truth["Bo"], person_truth["Bo (2)"]);
}

// The HTML report in a real browser: headless Chromium from Debian's package.
TEST_F(ClusterCommandTest, HtmlReportOpensInChromiumWithEveryThumbnailAndHostileNamesAsText) {
  add_copies(3);
  // A slash cannot be in a file name: the folder "<script>alert(1)<" holds "script>.jpg".
  const std::string hostile = "<script>alert(1)</script>.jpg";
  fs::create_directories(photos_ + "/<script>alert(1)<");
  fs::copy_file(testing::demo_photo(5), photos_ + "/" + hostile);
  std::string out;
  ASSERT_EQ(run("index " + shell_quote(photos_), &out), 0);
  ASSERT_EQ(run("cluster", &out), 0);
  const std::string report = tmp_.file("report");
  ASSERT_EQ(run("report --out " + shell_quote(report) + " --format html --format json --format csv", &out), 0);

  // JSON and CSV agree with each other and with the store.
  const auto json = nlohmann::json::parse(testing::read_file(report + "/report.json"));
  const size_t total_faces = faces().size();
  size_t json_faces = 0, shown_on_index = 0;
  for (const auto& g : json["groups"]) {
    json_faces += g["faces"].size();
    shown_on_index += std::min<size_t>(8, g["faces"].size());
  }
  EXPECT_EQ(json_faces, total_faces);
  const std::string csv = testing::read_file(report + "/faces.csv");
  EXPECT_EQ(size_t(std::count(csv.begin(), csv.end(), '\n')), total_faces + 1);
  EXPECT_NE(csv.find(hostile), std::string::npos);
  const std::string findings_csv = testing::read_file(report + "/findings.csv");
  EXPECT_EQ(size_t(std::count(findings_csv.begin(), findings_csv.end(), '\n')), json["findings"].size() + 1);

  // A harness copy of each page with a script that counts images and broken ones.
  auto browse = [&](const std::string& page) {
    std::string html = testing::read_file(report + "/" + page);
    const std::string probe =
        "<script>window.addEventListener('load',function(){var imgs=document.images,broken=0;"
        "for(var i=0;i<imgs.length;i++){if(!imgs[i].complete||imgs[i].naturalWidth==0)broken++;}"
        "var d=document.createElement('div');d.id='probe';d.textContent='images='+imgs.length+' broken='+broken+"
        "' scripts='+document.scripts.length;document.body.appendChild(d);});</script>";
    html.insert(html.rfind("</body>"), probe);
    testing::write_file(report + "/check-" + page, html);
    std::string dom, err;
    const int code = testing::run_command(
        "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
        "--disable-component-update --disable-sync --user-data-dir=" +
            shell_quote(tmp_.file("chrome")) + " --virtual-time-budget=10000 --dump-dom " +
            shell_quote("file://" + report + "/check-" + page),
        &dom, &err);
    EXPECT_EQ(code, 0) << err;
    return dom;
  };
  const std::string index = browse("index.html");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(index, m, std::regex("images=(\\d+) broken=(\\d+) scripts=(\\d+)")))
      << index.substr(0, 2000);
  EXPECT_EQ(std::stoul(m[1]), shown_on_index);
  EXPECT_EQ(m[2], "0") << "broken thumbnails";

  // The hostile name shows as text on the page of the group its faces are in, and runs nothing.
  bool seen = false;
  for (const auto& g : json["groups"]) {
    bool has = false;
    for (const auto& f : g["faces"]) has |= f["photo"].get<std::string>().find(hostile) != std::string::npos;
    if (!has) continue;
    const std::string page = g["kind"].get<std::string>() + "-" + std::to_string(g["id"].get<uint64_t>()) + ".html";
    const std::string dom = browse(page);
    ASSERT_TRUE(std::regex_search(dom, m, std::regex("images=(\\d+) broken=(\\d+) scripts=(\\d+)")));
    EXPECT_EQ(std::stoul(m[1]), g["faces"].size());
    EXPECT_EQ(m[2], "0");
    EXPECT_EQ(m[3], "1") << "only the test's own script may be on the page";
    EXPECT_NE(dom.find("&lt;script&gt;alert(1)&lt;/script&gt;.jpg"), std::string::npos) << "the name must show as text";
    seen = true;
    break;
  }
  EXPECT_TRUE(seen);

  // A screenshot to look at.
  const std::string shot = std::string(FACEDEX_TEST_ARTIFACTS) + "/report_index.png";
  fs::create_directories(FACEDEX_TEST_ARTIFACTS);
  std::string err;
  EXPECT_EQ(testing::run_command("chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                                 "--disable-background-networking --disable-component-update --disable-sync "
                                 "--user-data-dir=" +
                                     shell_quote(tmp_.file("chrome2")) + " --window-size=1000,1200 --screenshot=" +
                                     shell_quote(shot) + " " + shell_quote("file://" + report + "/index.html"),
                                 &out, &err),
            0)
      << err;
  // The page was drawn: the window's size, and more than a blank page's colours.
  const cv::Mat png = cv::imread(shot, cv::IMREAD_COLOR);
  ASSERT_FALSE(png.empty()) << shot;
  EXPECT_EQ(png.cols, 1000);
  EXPECT_EQ(png.rows, 1200);
  cv::Scalar mean, stddev;
  cv::meanStdDev(png, mean, stddev);
  EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 10.0) << "a blank screenshot";
  std::printf("screenshot: %s\n", shot.c_str());
}

}  // namespace
}  // namespace facedex
