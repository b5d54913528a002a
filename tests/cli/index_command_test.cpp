// `facedex index` end to end with the real binary: JSON summary, export and
// stats agreeing, kill -9 at random moments, hostile inputs, a second writer.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "models/photo_decoder.h"
#include "storage/gallery.h"
#include "storage/gallery_store.h"
#include "tests/support/test_photos.h"

extern char** environ;

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::parse_lines;
using testing::shell_quote;

std::string facedex(const std::string& db) {
  return shell_quote(testing::facedex_binary()) + " --db " + shell_quote(db) + " ";
}

// (photo path, box) -> embedding, from `facedex export`.
std::map<std::string, std::vector<float>> export_faces(const std::string& db) {
  std::string out, err;
  EXPECT_EQ(testing::run_command(facedex(db) + "export", &out, &err), 0) << err;
  std::map<std::string, std::vector<float>> faces;
  for (const auto& j : parse_lines(out)) {
    const std::string key = j["photo"].get<std::string>() + " " + j["box"].dump();
    EXPECT_EQ(faces.count(key), 0u) << "duplicate face " << key;
    faces[key] = j["embedding"].get<std::vector<float>>();
  }
  return faces;
}

void copy_demo_photos(const std::string& dir) {
  fs::create_directories(dir);
  for (int i = 1; i <= 6; ++i) fs::copy_file(testing::demo_photo(i), dir + "/sample" + std::to_string(i) + ".jpg");
}

TEST(IndexCommandTest, JsonSummaryExportAndStatsAgree) {
  testing::TempDir tmp;
  copy_demo_photos(tmp.file("photos"));
  std::string out, err;
  ASSERT_EQ(
      testing::run_command(facedex(tmp.file("db")) + "index --json " + shell_quote(tmp.file("photos")), &out, &err), 0)
      << err;
  const auto summary = nlohmann::json::parse(out);
  EXPECT_EQ(summary["photos_seen"], 6);
  EXPECT_EQ(summary["indexed"], 6);
  EXPECT_EQ(summary["faces_added"], 22);  // 3 + 3 + 3 + 4 + 5 + 4, see demo_photo_detection_test

  ASSERT_EQ(testing::run_command(facedex(tmp.file("db")) + "export", &out, &err), 0) << err;
  const auto faces = parse_lines(out);
  ASSERT_EQ(faces.size(), 22u);
  for (const auto& f : faces) {
    EXPECT_EQ(f["embedding"].size(), 128u);
    EXPECT_EQ(f["box"].size(), 4u);
    EXPECT_TRUE(f["person"].is_null());
    EXPECT_TRUE(f["cluster"].is_null());
    EXPECT_EQ(f["photo"].get<std::string>().rfind(tmp.file("photos") + "/sample", 0), 0u);
    EXPECT_TRUE(f.contains("face_id") && f.contains("score"));
  }
  ASSERT_EQ(testing::run_command(facedex(tmp.file("db")) + "export --format csv", &out, &err), 0) << err;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 23);  // a header and 22 faces

  ASSERT_EQ(testing::run_command(facedex(tmp.file("db")) + "stats --json", &out, &err), 0) << err;
  const auto stats = nlohmann::json::parse(out);
  EXPECT_EQ(stats["photos"], 6);
  EXPECT_EQ(stats["faces"], 22);
  EXPECT_EQ(stats["vectors"], 22);
  EXPECT_EQ(stats["index_type"], "Flat");
  EXPECT_EQ(stats["search"], "exact");
  EXPECT_EQ(testing::run_command(facedex(tmp.file("db")) + "check", &out, &err), 0) << out << err;
}

// A few hundred distinct photos: every demo photo at 34 sizes, mirrored or not.
void make_many_photos(const std::string& dir) {
  fs::create_directories(dir);
  for (int i = 1; i <= 6; ++i) {
    auto photo = models::load_photo(testing::demo_photo(i), {});
    ASSERT_TRUE(photo);
    for (int s = 0; s < 34; ++s) {
      const double scale = 0.5 + 0.005 * s;
      cv::Mat img;
      cv::resize(photo->rgb, img, cv::Size(), scale, scale, cv::INTER_AREA);
      if (s % 2) cv::flip(img, img, 1);
      testing::write_file(dir + "/s" + std::to_string(i) + "_" + std::to_string(s) + ".jpg",
                          testing::encode_jpeg(img, 90));
    }
  }
}

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

TEST(IndexCommandTest, HeicAndAvifPhotosAreIndexedWithTheFacesOfTheirJpeg) {
  testing::TempDir tmp;
  const std::string dir = tmp.file("iphone");
  fs::create_directories(dir);
  fs::copy_file(testing::demo_photo(3), dir + "/IMG_0001.jpg");
  std::string out, err;
  for (const char* name : {"IMG_0002.HEIC", "IMG_0003.avif"})
    ASSERT_EQ(testing::run_command(
                  "heif-enc -q 90 " + shell_quote(dir + "/IMG_0001.jpg") + " -o " + shell_quote(dir + "/" + name), &out,
                  &err),
              0)
        << "heif-enc (scripts/setup.sh installs libheif-examples): " << err;
  ASSERT_EQ(testing::run_command(facedex(tmp.file("db")) + "index --json " + shell_quote(dir), &out, &err), 0) << err;
  const auto summary = nlohmann::json::parse(out);
  EXPECT_EQ(summary["indexed"], 3) << out;
  EXPECT_EQ(summary["failed"], 0) << out;
  std::map<std::string, int> per_photo;
  for (const auto& [key, e] : export_faces(tmp.file("db"))) ++per_photo[key.substr(0, key.find(" ["))];
  EXPECT_EQ(per_photo[dir + "/IMG_0001.jpg"], 3);
  EXPECT_EQ(per_photo[dir + "/IMG_0002.HEIC"], 3);
  EXPECT_EQ(per_photo[dir + "/IMG_0003.avif"], 3);
}

// real/IMG_1.jpg (a demo photo) and album/best.jpg, a link to it.
void make_linked_album(const std::string& real, const std::string& album) {
  fs::create_directories(real);
  fs::create_directories(album);
  fs::copy_file(testing::demo_photo(3), real + "/IMG_1.jpg");
  fs::create_symlink(real + "/IMG_1.jpg", album + "/best.jpg");
}

TEST(IndexCommandTest, SymlinkedAlbumsAreNeverSilentAndOneFileIsOnePhoto) {
  testing::TempDir tmp;
  const std::string real = tmp.file("library/2024"), album = tmp.file("library/album");
  make_linked_album(real, album);
  const std::string db = tmp.file("db");
  std::string out, err;
  // Not followed: said, with the hint.
  ASSERT_EQ(testing::run_command(facedex(db) + "index --json " + shell_quote(album), &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["skipped_symlinks"], 1) << out;
  EXPECT_NE(err.find("--follow-symlinks"), std::string::npos) << err;
  // Followed: stored under the real path, and the real file indexed directly later is the same photo.
  ASSERT_EQ(testing::run_command(facedex(db) + "index --follow-symlinks " + shell_quote(album), &out, &err), 0) << err;
  ASSERT_EQ(testing::run_command(facedex(db) + "index " + shell_quote(real), &out, &err), 0) << err;
  std::set<std::string> photos;
  for (const auto& f : parse_lines([&] {
         EXPECT_EQ(testing::run_command(facedex(db) + "export", &out, &err), 0);
         return out;
       }()))
    photos.insert(f["photo"].get<std::string>());
  EXPECT_EQ(photos, std::set<std::string>{fs::canonical(real + "/IMG_1.jpg").string()});
}

TEST(IndexCommandTest, APhotoStoredUnderALinkMovesToItsRealPathWithItsName) {
  testing::TempDir tmp;
  const std::string real = tmp.file("real"), album = tmp.file("album");
  make_linked_album(real, album);
  const std::string db = tmp.file("db");
  std::string out, err;
  ASSERT_EQ(testing::run_command(facedex(db) + "index " + shell_quote(real), &out, &err), 0) << err;
  ASSERT_EQ(testing::run_command(facedex(db) + "name --face 1 Ann", &out, &err), 0) << err;
  {
    // What an older facedex stored when it followed the link: the link's path.
    auto gallery = storage::Gallery::open(db, storage::OpenMode::kReadWrite, nullptr);
    ASSERT_TRUE(gallery) << gallery.status().message();
    auto photo = (*gallery)->store().photo_by_path(fs::canonical(real + "/IMG_1.jpg").string());
    ASSERT_TRUE(photo && *photo);
    storage::Photo p = **photo;
    p.path = album + "/best.jpg";
    auto batch = (*gallery)->store().new_batch();
    batch.update_photo(p, &**photo);
    ASSERT_TRUE((*gallery)->commit(batch, true));
  }
  ASSERT_EQ(testing::run_command(facedex(db) + "index --json " + shell_quote(real), &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["moved"], 1) << out;
  ASSERT_EQ(testing::run_command(facedex(db) + "export", &out, &err), 0);
  std::set<std::string> photos;
  std::set<std::string> names;
  for (const auto& f : parse_lines(out)) {
    photos.insert(f["photo"].get<std::string>());
    if (!f["person"].is_null()) names.insert(f["person"].get<std::string>());
  }
  EXPECT_EQ(photos, std::set<std::string>{fs::canonical(real + "/IMG_1.jpg").string()});
  EXPECT_EQ(names, std::set<std::string>{"Ann"});
}

TEST(IndexCommandTest, KilledAtRandomMomentsThenResumedGivesExactlyTheCleanRunsFaces) {
  testing::TempDir tmp;
  const std::string photos = tmp.file("photos");
  make_many_photos(photos);
  // Crash safety, not detection: HOG without upsampling (the copies are 960-1270 px, where it finds the
  // faces without it) keeps the test short.
  std::string out, err;
  ASSERT_EQ(testing::run_command(
                facedex(tmp.file("clean")) + "--detector hog index --upsample 0 " + shell_quote(photos), &out, &err),
            0)
      << err;
  const auto clean = export_faces(tmp.file("clean"));
  ASSERT_GT(clean.size(), 500u);

  const unsigned seed = unsigned(std::chrono::steady_clock::now().time_since_epoch().count());
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(300, 8000);
  std::printf("kill schedule seed %u\n", seed);
  for (int k = 0; k < 4; ++k) {
    const int ms = delay_ms(rng);
    const pid_t pid = spawn({testing::facedex_binary(), "--db", tmp.file("killed"), "--detector", "hog", "index",
                             "--upsample", "0", photos});
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    std::printf("kill %d after %d ms (%s)\n", k + 1, ms, WIFSIGNALED(status) ? "killed" : "had finished");
  }
  ASSERT_EQ(testing::run_command(
                facedex(tmp.file("killed")) + "--detector hog index --upsample 0 " + shell_quote(photos), &out, &err),
            0)
      << err;
  EXPECT_EQ(testing::run_command(facedex(tmp.file("killed")) + "check", &out, &err), 0) << out << err;
  const auto resumed = export_faces(tmp.file("killed"));
  ASSERT_EQ(resumed.size(), clean.size());
  for (const auto& [key, embedding] : clean) {
    auto it = resumed.find(key);
    ASSERT_NE(it, resumed.end()) << "lost face " << key;
    for (size_t d = 0; d < embedding.size(); ++d) ASSERT_NEAR(it->second[d], embedding[d], 1e-5) << key;
  }
}

TEST(IndexCommandTest, HostileInputsAreReportedAndEverythingElseIsIndexed) {
  testing::TempDir tmp;
  // Run as an unprivileged user when we are root, so that a file without read
  // permission really is unreadable.
  chmod(tmp.path().c_str(), 0777);
  const std::string dir = tmp.file("photos");
  fs::create_directories(dir);
  const std::string demo3 = testing::read_file(testing::demo_photo(3));
  fs::copy_file(testing::demo_photo(1), dir + "/good1.jpg");
  fs::copy_file(testing::demo_photo(3), dir + "/good2.JPG");
  fs::copy_file(testing::demo_photo(5), dir + "/bad\xff\xfe name.jpg");
  testing::write_file(dir + "/zero.jpg", "");
  testing::write_file(dir + "/truncated.jpg", demo3.substr(0, demo3.size() / 2));
  std::string noise(10000, '\0');
  std::mt19937 rng(7);
  for (char& c : noise) c = char(rng());
  noise[0] = 'X';
  testing::write_file(dir + "/random.jpg", noise);
  testing::write_file(dir + "/text.png", "hello, I am a text file\n");
  {
    std::vector<uchar> png;
    cv::imencode(".png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)), png);
    std::string bytes(png.begin(), png.end());
    const char big[4] = {0x00, 0x00, char(0xC3), 0x50};  // 50000
    bytes.replace(16, 4, big, 4);
    bytes.replace(20, 4, big, 4);
    testing::write_file(dir + "/bomb.png", bytes);
  }
  fs::copy_file(testing::demo_photo(6), dir + "/noperm.jpg");
  chmod((dir + "/noperm.jpg").c_str(), 0);
  fs::create_directories(dir + "/sub");
  fs::create_directory_symlink("..", dir + "/sub/loop");
  mkfifo((dir + "/fifo.jpg").c_str(), 0644);
  fs::copy_file(testing::demo_photo(4), dir + "/vanishing.jpg");
  for (const auto& e : fs::recursive_directory_iterator(tmp.path()))
    chmod(e.path().c_str(), e.is_directory() ? 0777 : (e.path().filename() == "noperm.jpg" ? 0 : 0666));

  std::string prefix;
  if (geteuid() == 0 &&
      testing::run_command("setpriv --reuid=65534 --regid=65534 --clear-groups test -x " +
                           shell_quote(testing::facedex_binary()) + " -a -r " +
                           shell_quote(std::string(FACEDEX_FACEAPI_DIR) + "/model/face_recognition_model.bin")) == 0)
    prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  const bool unprivileged = geteuid() != 0 || !prefix.empty();
  std::printf("running as %s\n", unprivileged ? "an unprivileged user" : "root (permissions cannot be tested)");

  // The vanishing file is removed while the run goes on.
  std::thread remover([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    fs::remove(dir + "/vanishing.jpg");
  });
  std::string out, err;
  const int code = testing::run_command(
      prefix + facedex(tmp.file("db")) + "index --json --follow-symlinks " + shell_quote(dir), &out, &err);
  remover.join();
  ASSERT_EQ(code, 0) << err;
  const auto summary = nlohmann::json::parse(out);
  std::map<std::string, std::string> failures;
  for (const auto& f : summary["failures"]) failures[f["photo"].get<std::string>()] = f["reason"].get<std::string>();
  auto reason = [&](const std::string& name) {
    return failures.count(dir + "/" + name) ? failures[dir + "/" + name] : "(none)";
  };
  EXPECT_NE(reason("zero.jpg").find("empty file"), std::string::npos) << reason("zero.jpg");
  EXPECT_NE(reason("truncated.jpg").find("truncated JPEG"), std::string::npos) << reason("truncated.jpg");
  EXPECT_NE(reason("random.jpg").find("not an image"), std::string::npos) << reason("random.jpg");
  EXPECT_NE(reason("text.png").find("not an image: the file holds text"), std::string::npos) << reason("text.png");
  EXPECT_NE(reason("bomb.png").find("50000x50000"), std::string::npos) << reason("bomb.png");
  if (unprivileged) {
    EXPECT_NE(reason("noperm.jpg").find("Permission denied"), std::string::npos) << reason("noperm.jpg");
  }
  // Each bad file is also named on stderr with its reason.
  EXPECT_NE(err.find(dir + "/truncated.jpg: truncated JPEG"), std::string::npos) << err;

  // Good photos, including the one whose name is not UTF-8, are indexed once
  // each although the loop makes every file reachable through many paths.
  const auto faces = export_faces(tmp.file("db"));
  std::map<std::string, int> per_photo;
  // A file that vanished after it was indexed is kept with its faces, marked
  // missing by the next run (the remover may act after this run's end).
  std::string rerun;
  ASSERT_EQ(testing::run_command(prefix + facedex(tmp.file("db")) + "-q index --follow-symlinks " + shell_quote(dir),
                                 &rerun, &err),
            0)
      << err;
  ASSERT_EQ(testing::run_command(facedex(tmp.file("db")) + "export", &out, &err), 0) << err;
  for (const auto& j : parse_lines(out)) {
    if (j["photo"] == dir + "/vanishing.jpg") {
      EXPECT_TRUE(j["missing"].get<bool>()) << "vanished but not marked missing";
    }
  }
  for (const auto& [key, e] : faces) {
    const std::string photo = key.substr(0, key.find(" ["));
    if (photo != dir + "/vanishing.jpg") ++per_photo[photo];
  }
  EXPECT_EQ(per_photo[dir + "/good1.jpg"], 3);  // three women (HOG also took a badge for a face)
  EXPECT_EQ(per_photo[dir + "/good2.JPG"], 3);
  EXPECT_EQ(per_photo[dir + "/bad\xEF\xBF\xBD\xEF\xBF\xBD name.jpg"], 5);  // shown with U+FFFD in JSON
  EXPECT_EQ(per_photo.size(), unprivileged ? 3u : 4u);
  EXPECT_EQ(testing::run_command(facedex(tmp.file("db")) + "check", &out, &err), 0) << out << err;

  // Second run: nothing changes, the loop still does not repeat work.
  ASSERT_EQ(testing::run_command(
                prefix + facedex(tmp.file("db")) + "index --json --follow-symlinks " + shell_quote(dir), &out, &err),
            0)
      << err;
  const auto again = nlohmann::json::parse(out);
  EXPECT_EQ(again["indexed"], 0) << out;
  EXPECT_EQ(again["faces_added"], 0) << out;
}

TEST(IndexCommandTest, SecondWriterGetsInUseErrorWhileReadersStillWork) {
  testing::TempDir tmp;
  copy_demo_photos(tmp.file("photos"));
  std::string out, err;
  ASSERT_EQ(testing::run_command(facedex(tmp.file("db")) + "index " + shell_quote(tmp.file("photos")), &out, &err), 0)
      << err;
  auto holder = storage::GalleryStore::open(tmp.file("db"), storage::OpenMode::kReadWrite);
  ASSERT_TRUE(holder) << holder.status().message();
  EXPECT_EQ(testing::run_command(facedex(tmp.file("db")) + "index " + shell_quote(tmp.file("photos")), &out, &err), 4);
  EXPECT_NE(err.find("in use by PID " + std::to_string(getpid())), std::string::npos) << err;
  EXPECT_EQ(testing::run_command(facedex(tmp.file("db")) + "stats --json", &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["faces"], 22);
  EXPECT_EQ(testing::run_command(facedex(tmp.file("db")) + "export", &out, &err), 0) << err;
  EXPECT_EQ(parse_lines(out).size(), 22u);
}

}  // namespace
}  // namespace facedex
