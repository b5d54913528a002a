// The gallery under deliberate damage and bad arguments, end to end with the
// real binary: each case states the promised outcome (no crash; exit 4 with a
// message saying what is damaged and what to do; nothing deleted that was not
// asked for; `check` catches it) and checks it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "storage/gallery.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::parse_lines;
using testing::shell_quote;

class DamageCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = tmp_.file("db");
    photos_ = tmp_.file("photos");
    fs::create_directories(photos_);
    for (int i : {1, 2, 3}) fs::copy_file(testing::demo_photo(i), photos_ + "/s" + std::to_string(i) + ".jpg");
  }

  int run(const std::string& args, std::string* out = nullptr, std::string* err = nullptr, const std::string& db = "") {
    std::string o, e;
    const int code = testing::run_command(shell_quote(testing::facedex_binary()) + " --db " +
                                              shell_quote(db.empty() ? db_ : db) + " " + args + " </dev/null",
                                          &o, &e);
    if (out) *out = o;
    if (err) *err = e;
    return code;
  }

  // A gallery with two named persons, its vectors saved.
  void make_gallery() {
    ASSERT_EQ(run("index " + shell_quote(photos_)), 0);
    ASSERT_EQ(run("name --face 1 Ann"), 0);
    ASSERT_EQ(run("name --face 2 Bob"), 0);
  }

  std::set<std::string> files_of(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
  }

  std::vector<nlohmann::json> exported() {
    std::string out;
    EXPECT_EQ(run("export", &out), 0);
    return parse_lines(out);
  }

  testing::TempDir tmp_;
  std::string db_, photos_;
};

TEST_F(DamageCommandTest, AMissingCurrentFileIsRefusedAndNothingIsWrittenOrDeleted) {
  make_gallery();
  const std::string current = testing::read_file(db_ + "/CURRENT");
  fs::remove(db_ + "/CURRENT");
  const auto before = files_of(db_);
  for (const char* args :
       {"index", "index", "check --repair", "check --repair", "name --face 3 Cy", "stats", "persons", "cluster"}) {
    std::string out, err;
    const std::string full = std::string(args) + (std::string(args) == "index" ? " " + shell_quote(photos_) : "");
    EXPECT_EQ(run(full, &out, &err), 4) << args;
    EXPECT_NE(err.find("CURRENT file is missing"), std::string::npos) << args << ": " << err;
    EXPECT_EQ(files_of(db_), before) << args << " wrote or deleted files";
  }
  testing::write_file(db_ + "/CURRENT", current);
  auto persons = nlohmann::json::parse([&] {
    std::string out;
    EXPECT_EQ(run("persons --json", &out), 0);
    return out;
  }());
  EXPECT_EQ(persons.size(), 2u) << "names lost";
  EXPECT_EQ(run("check"), 0);
}

TEST_F(DamageCommandTest, ADeletedWriteAheadLogIsLostCommitsNotASilentRebuild) {
  make_gallery();
  int logs = 0;
  for (const auto& f : files_of(db_))
    if (f.size() > 4 && f.substr(f.size() - 4) == ".log") fs::remove(db_ + "/" + f), ++logs;
  ASSERT_GT(logs, 0);
  for (const char* args : {"persons", "stats", "check", "check --repair", "export"}) {
    std::string out, err;
    EXPECT_EQ(run(args, &out, &err), 4) << args;
    EXPECT_NE(err.find("lost committed writes"), std::string::npos) << args << ": " << err;
  }
  // Going on with what is left is an explicit choice, and then the gallery is whole again.
  std::string out, err;
  EXPECT_EQ(run("check --accept-lost-writes", &out, &err), 2) << "only with --repair";
  ASSERT_EQ(run("check --repair --accept-lost-writes", &out, &err), 0) << out << err;
  EXPECT_NE(out.find("lost committed writes"), std::string::npos) << out;
  EXPECT_EQ(run("check", &out), 0) << out;
  EXPECT_EQ(run("index " + shell_quote(photos_), &out, &err), 0) << err;
}

TEST_F(DamageCommandTest, AVectorFileAheadOfRocksdbIsLostCommits) {
  ASSERT_EQ(run("index " + shell_quote(photos_ + "/s1.jpg")), 0);
  fs::copy(db_, tmp_.file("older"), fs::copy_options::recursive);
  ASSERT_EQ(run("index " + shell_quote(photos_)), 0);
  // An older RocksDB with a newer vector file: commits the file saw are gone.
  const std::string older = tmp_.file("older");
  fs::copy_file(db_ + "/vectors.faiss", older + "/vectors.faiss", fs::copy_options::overwrite_existing);
  fs::remove(older + "/facedex.commit");
  std::string out, err;
  EXPECT_EQ(run("stats", &out, &err, older), 4);
  EXPECT_NE(err.find("lost committed writes"), std::string::npos) << err;
  ASSERT_EQ(run("check --repair --accept-lost-writes", &out, &err, older), 0) << out << err;
  EXPECT_EQ(run("check", &out, &err, older), 0) << out;
}

TEST_F(DamageCommandTest, SwappedOrDamagedVectorsAreCaughtByCheckAndRepaired) {
  make_gallery();
  const auto faces = exported();
  ASSERT_GE(faces.size(), 2u);
  // Face 1's and face 2's vectors swapped inside vectors.faiss.
  auto bytes_of = [](const nlohmann::json& f) {
    std::string b;
    for (const auto& v : f["embedding"]) {
      const float x = v.get<float>();
      b.append(reinterpret_cast<const char*>(&x), 4);
    }
    return b;
  };
  std::string file = testing::read_file(db_ + "/vectors.faiss");
  const std::string a = bytes_of(faces[0]), b = bytes_of(faces[1]);
  const size_t pa = file.find(a), pb = file.find(b);
  ASSERT_NE(pa, std::string::npos);
  ASSERT_NE(pb, std::string::npos);
  file.replace(pa, a.size(), b);
  file.replace(pb, b.size(), a);
  testing::write_file(db_ + "/vectors.faiss", file);
  std::string out, err;
  EXPECT_EQ(run("check", &out, &err), 4) << out;
  EXPECT_NE(out.find("2 vectors in the vector index differ from their face records"), std::string::npos) << out;
  ASSERT_EQ(run("check --repair", &out, &err), 0) << out << err;
  EXPECT_EQ(run("check", &out), 0) << out;

  // A missing vector file: check says so, --repair saves the rebuilt one.
  fs::remove(db_ + "/vectors.faiss");
  EXPECT_EQ(run("check", &out), 4) << out;
  EXPECT_NE(out.find("vector index file was missing"), std::string::npos) << out;
  ASSERT_EQ(run("check --repair", &out), 0) << out;
  EXPECT_TRUE(fs::exists(db_ + "/vectors.faiss"));
  EXPECT_EQ(run("check", &out), 0) << out;
}

TEST_F(DamageCommandTest, ADamagedSstIsCaughtByCheck) {
  make_gallery();
  ASSERT_EQ(run("cluster"), 0);
  ASSERT_EQ(run("forget --person Ann"), 0);
  std::string out;
  // `forget --faces` compacts: every column family lands in SST files.
  ASSERT_EQ(run("forget --person Bob --faces --yes", &out), 0) << out;
  std::vector<std::string> ssts;
  for (const auto& f : files_of(db_))
    if (f.size() > 4 && f.substr(f.size() - 4) == ".sst") ssts.push_back(f);
  ASSERT_FALSE(ssts.empty());
  for (const auto& sst : ssts) {
    std::string bytes = testing::read_file(db_ + "/" + sst);
    bytes[bytes.size() / 3] ^= 0x5A;  // inside a data block
    testing::write_file(db_ + "/" + sst, bytes);
  }
  std::string err;
  EXPECT_EQ(run("check", &out, &err), 4) << out << err;
  EXPECT_NE((out + err).find("checksum"), std::string::npos) << out << err;
  // Indexing stops on the damaged store instead of blaming the photos.
  fs::copy_file(testing::demo_photo(4), photos_ + "/s4.jpg");
  EXPECT_EQ(run("index --json " + shell_quote(photos_), &out, &err), 4) << out << err;
  EXPECT_EQ(out.find("\"failed\": 1"), std::string::npos) << out;
}

TEST_F(DamageCommandTest, InvalidIndexTypesAreRefusedBeforeTheyAreStored) {
  ASSERT_EQ(run("index " + shell_quote(photos_)), 0);
  for (const char* type : {"HNSW0", "IVF0,Flat", "PQ0", "garbage", "IVF64,Flat"}) {
    std::string out, err;
    EXPECT_EQ(run("index --index-type " + shell_quote(type) + " " + shell_quote(photos_), &out, &err), 2) << type;
    EXPECT_NE(err.find(type), std::string::npos) << err;
    ASSERT_EQ(run("stats --json", &out, &err), 0) << type << ": every later command must still work: " << err;
    EXPECT_EQ(nlohmann::json::parse(out)["index_type"], "Flat") << type;
    EXPECT_EQ(run("check", &out), 0) << type;
  }
}

TEST_F(DamageCommandTest, OutOfRangeArgumentsAreRefusedBeforeAnythingIsWritten) {
  ASSERT_EQ(run("index " + shell_quote(photos_)), 0);
  ASSERT_EQ(run("cluster"), 0);
  const auto before = exported();
  for (const char* args :
       {"cluster --threshold nan", "cluster --threshold -5", "cluster --min-size -1", "cluster --k 0",
        "who --threshold inf x.jpg", "who --threshold -1 x.jpg", "compare a.jpg b.jpg --threshold nan",
        "index --jobs 100000 .", "index --max-pixels -1 .", "name --face -1 X", "name --face 0 X", "name --face 1 ''",
        "split --face -1 --name X", "undo 0", "photos --cluster -3"}) {
    std::string out, err;
    EXPECT_EQ(run(args, &out, &err), 2) << args << ": " << err;
    EXPECT_FALSE(err.empty()) << args;
  }
  EXPECT_EQ(exported(), before) << "a refused command changed the gallery";
}

TEST_F(DamageCommandTest, CommandsThatChangeAGalleryNeverCreateOneAndForeignFoldersAreRefused) {
  const std::string typo = tmp_.file("no-such-db");
  for (const char* args : {"name --face 1 X", "rename A B", "merge A B", "forget --person A", "split --face 1 --name X",
                           "cluster", "check --repair", "prune --yes", "undo", "persons", "stats", "check"}) {
    std::string out, err;
    EXPECT_EQ(run(args, &out, &err, typo), 4) << args << ": " << err;
    EXPECT_FALSE(fs::exists(typo)) << args << " created the database";
  }
  // A shared folder holding other files is neither written to nor made private.
  const std::string shared = tmp_.file("shared");
  fs::create_directories(shared);
  ::chmod(shared.c_str(), 01777);
  testing::write_file(shared + "/somebody-elses.txt", "x");
  std::string out, err;
  EXPECT_EQ(run("index " + shell_quote(photos_), &out, &err, shared), 4);
  EXPECT_NE(err.find("not a facedex database"), std::string::npos) << err;
  EXPECT_EQ(files_of(shared), std::set<std::string>{"somebody-elses.txt"});
  struct stat st {};
  ASSERT_EQ(::stat(shared.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
}

TEST_F(DamageCommandTest, ADatabaseAmongThePhotosIsRefusedAndAHiddenOneIsFine) {
  std::string out, err;
  EXPECT_EQ(run("index " + shell_quote(photos_), &out, &err, photos_ + "/db"), 2);
  EXPECT_NE(err.find("among the photos"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(photos_ + "/db"));
  EXPECT_EQ(run("index " + shell_quote(photos_), &out, &err, photos_ + "/.facedex"), 0) << err;
}

TEST_F(DamageCommandTest, CsvCellsCannotRunAsFormulasAndReportsArePrivate) {
  ASSERT_EQ(run("index " + shell_quote(photos_)), 0);
  ASSERT_EQ(run("name --face 1 " + shell_quote("=1+2")), 0);
  ASSERT_EQ(run("name --face 2 " + shell_quote("@SUM(A1)")), 0);
  std::string out;
  ASSERT_EQ(run("export --format csv", &out), 0);
  EXPECT_NE(out.find(",\"'=1+2\","), std::string::npos) << out.substr(0, 600);
  EXPECT_NE(out.find(",\"'@SUM(A1)\","), std::string::npos);
  EXPECT_EQ(out.find(",=1+2,"), std::string::npos);
  const std::string report = tmp_.file("report");
  ASSERT_EQ(run("report --out " + shell_quote(report) + " --format csv --format html", &out), 0) << out;
  const std::string faces_csv = testing::read_file(report + "/faces.csv");
  EXPECT_NE(faces_csv.find("\"'=1+2\""), std::string::npos) << faces_csv;
  for (const auto& e : fs::recursive_directory_iterator(report)) {
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << e.path() << " is readable by others";
  }
}

TEST_F(DamageCommandTest, AFullDiskDuringIndexExits4AndTheResumeMatchesACleanRun) {
  // Enough distinct photos that a 120 KB filesystem fills while they are stored.
  for (int i = 4; i <= 6; ++i) fs::copy_file(testing::demo_photo(i), photos_ + "/s" + std::to_string(i) + ".jpg");
  const std::string small = tmp_.file("small");
  fs::create_directories(small);
  if (testing::run_command("mount -t tmpfs -o size=120k tmpfs " + shell_quote(small) + " 2>/dev/null") != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN): the full disk is not tested";
  std::string out, err;
  const int code = run("index " + shell_quote(photos_), &out, &err, small + "/db");
  fs::copy(small + "/db", tmp_.file("resumed"), fs::copy_options::recursive);
  testing::run_command("umount " + shell_quote(small));
  EXPECT_EQ(code, 4) << err;
  EXPECT_NE(err.find("disk full"), std::string::npos) << err;
  // Space back (the folder moved to a roomy disk): the same command finishes the job.
  const std::string resumed = tmp_.file("resumed");
  ASSERT_EQ(run("index " + shell_quote(photos_), &out, &err, resumed), 0) << err;
  ASSERT_EQ(run("index " + shell_quote(photos_), &out, &err), 0) << err;
  std::string a, b;
  ASSERT_EQ(run("export", &a, &err, resumed), 0);
  ASSERT_EQ(run("export", &b), 0);
  auto faces = [](const std::string& text) {
    std::multiset<std::string> out;
    for (const auto& f : parse_lines(text)) out.insert(f["photo"].get<std::string>() + f["box"].dump());
    return out;
  };
  EXPECT_EQ(faces(a), faces(b)) << "the resumed gallery differs from a clean run";
  EXPECT_EQ(run("check", &out, &err, resumed), 0) << out;
}

// Which files of a folder hold these bytes.
std::vector<std::string> files_holding(const std::string& dir, const std::string& bytes) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && testing::read_file(e.path().string()).find(bytes) != std::string::npos)
      out.push_back(e.path().filename().string());
  return out;
}

TEST_F(DamageCommandTest, AForgetFacesKilledAfterItsCommitIsFinishedByTheNextWriter) {
  make_gallery();
  const auto faces = exported();
  std::string ann;  // face 1's descriptor as stored
  for (const auto& f : faces)
    if (f["face_id"] == 1)
      for (const auto& v : f["embedding"]) {
        const float x = v.get<float>();
        ann.append(reinterpret_cast<const char*>(&x), 4);
      }
  ASSERT_EQ(ann.size(), 512u);
  {
    // What `forget --person Ann --faces` has done when killed right after its
    // commit: records gone, the bytes still in the vector file and RocksDB's log.
    auto gallery = storage::Gallery::open(db_, storage::OpenMode::kReadWrite, nullptr);
    ASSERT_TRUE(gallery) << gallery.status().message();
    auto& store = (*gallery)->store();
    auto face = store.face(1);
    ASSERT_TRUE(face && *face);
    auto photo = store.photo((*face)->photo_id);
    ASSERT_TRUE(photo && *photo);
    auto person = store.person((*face)->person_id);
    ASSERT_TRUE(person && *person);
    storage::Photo p = **photo;
    p.face_ids.erase(std::find(p.face_ids.begin(), p.face_ids.end(), 1u));
    auto batch = store.new_batch();
    batch.remove_face(1);
    batch.update_photo(p);
    batch.remove_person(**person);
    batch.mark_purge_pending();
    ASSERT_TRUE((*gallery)->commit(batch, true));
  }
  ASSERT_FALSE(files_holding(db_, ann).empty()) << "the test did not leave the bytes behind";
  // Readers work meanwhile; the next writer finishes the deletion.
  std::string out, err;
  ASSERT_EQ(run("persons --json", &out), 0);
  EXPECT_EQ(nlohmann::json::parse(out).size(), 1u);
  ASSERT_EQ(run("index " + shell_quote(photos_), &out, &err), 0) << err;
  EXPECT_NE(err.find("finished an interrupted deletion"), std::string::npos) << err;
  EXPECT_EQ(files_holding(db_, ann), std::vector<std::string>{}) << "deleted descriptor bytes are still on disk";
  EXPECT_EQ(run("check", &out), 0) << out;
  // Once finished, it is not done again.
  ASSERT_EQ(run("index " + shell_quote(photos_), &out, &err), 0) << err;
  EXPECT_EQ(err.find("interrupted deletion"), std::string::npos) << err;
}

}  // namespace
}  // namespace facedex
