// The bundled descriptor models other than dlib's, end to end with the real
// binary. Each indexes a photo into a gallery of its own descriptors (its
// length, its fingerprint), a named face is found again in a mirrored,
// recompressed copy, and dlib's network's queries are refused on it, with the
// --embedder the gallery was made with. Commands without --embedder use the
// gallery's model. --embedder faceplugin: `who` weighs its
// evidence with the weights the model's spec gives (fitted for this model), not
// dlib's. --embedder mobilefacenet: a TensorFlow graph that does not fit its
// spec stops the run before any photo is read.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "models/external_model_spec.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "tests/support/test_photos.h"

namespace facedex {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;

class BundledModelCommandTest : public ::testing::Test {
 protected:
  int run(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    return testing::run_facedex(tmp_.file("db"), args, out, err);
  }
  // Indexes demo photo 3 (three faces) with `embedder`; checks that the gallery
  // is bound to that model's fingerprint, which `stats` names; `faces`: the export.
  void index_group_photo(const std::string& embedder, std::vector<nlohmann::json>* faces) {
    const std::string e = "--embedder " + embedder + " ";
    fs::create_directories(tmp_.file("gallery"));
    fs::copy_file(testing::demo_photo(3), tmp_.file("gallery/group.jpg"));
    std::string out, err, models_json;
    ASSERT_EQ(run(e + "index --json " + shell_quote(tmp_.file("gallery")), &out, &err), 0) << err;
    EXPECT_EQ(nlohmann::json::parse(out)["faces_added"], 3) << out;
    ASSERT_EQ(run(e + "models --json", &models_json, &err), 0) << err;
    EXPECT_EQ(nlohmann::json::parse(models_json)["embedder"], embedder);
    ASSERT_EQ(run("stats --json", &out, &err), 0) << err;
    EXPECT_EQ(nlohmann::json::parse(out)["model"], nlohmann::json::parse(models_json)["fingerprint"]);
    EXPECT_EQ(nlohmann::json::parse(out)["embedder"], embedder);
    ASSERT_EQ(run("export", &out, &err), 0) << err;
    *faces = testing::parse_lines(out);
    ASSERT_EQ(faces->size(), 3u);
  }
  // Names the first exported face "Ana" and writes demo photo 3 mirrored and
  // recompressed as the probe.
  void name_largest_and_mirror(const std::string& embedder_flag, const std::vector<nlohmann::json>& faces,
                               std::string* probe) {
    std::string out, err;
    const uint64_t largest = faces[0]["face_id"].get<uint64_t>();
    ASSERT_EQ(run(embedder_flag + "name --face " + std::to_string(largest) + " Ana", &out, &err), 0) << err;
    auto photo = models::load_photo(testing::demo_photo(3), {});
    ASSERT_TRUE(photo) << photo.status().message();
    cv::Mat flipped;
    cv::flip(photo->rgb, flipped, 1);
    *probe = tmp_.file("mirrored.jpg");
    testing::write_file(*probe, testing::encode_jpeg(flipped, 60));
  }
  testing::TempDir tmp_;
};

TEST_F(BundledModelCommandTest, FacepluginIndexesNamesAndAnswersWhoWithTheWeightsItsSpecGives) {
  const std::string fp = "--embedder faceplugin ";
  std::vector<nlohmann::json> faces;
  ASSERT_NO_FATAL_FAILURE(index_group_photo("faceplugin", &faces));
  std::string out, err;
  for (const auto& f : faces) {
    ASSERT_EQ(f["embedding"].size(), 512u) << f.dump();
    double norm = 0;
    for (double v : f["embedding"]) norm += v * v;
    // The mean of two l2-normalised descriptors (the face's and its mirror image's).
    EXPECT_LE(std::sqrt(norm), 1.0 + 1e-4);
    EXPECT_GT(std::sqrt(norm), 0.9);
  }
  std::string probe;
  ASSERT_NO_FATAL_FAILURE(name_largest_and_mirror(fp, faces, &probe));
  // No --embedder: the gallery's own model describes the probe.
  ASSERT_EQ(run("who --json " + shell_quote(probe), &out, &err), 0) << err;
  const auto lines = testing::parse_lines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  ASSERT_EQ(lines[0]["faces"].size(), 3u) << out;

  // The score is the spec's linear rule over the evidence `who` shows; it names
  // nobody beyond 0.9 of the model's 1:1 distance (a three-face gallery has no crowd to measure).
  std::ifstream spec_file(models::bundled_models_dir() + "/" + models::kFacePluginFile + ".json");
  const nlohmann::json spec = nlohmann::json::parse(spec_file);
  const nlohmann::json w = spec["who_weights"];
  const double same_person = spec["same_person_distance"].get<double>();
  ASSERT_TRUE(w.is_object());
  int named = 0, scored = 0;
  for (const auto& f : lines[0]["faces"]) {
    named += f["identity"] == "Ana";
    const auto& e = f["evidence"];
    if (e.is_null()) continue;
    ++scored;
    const double expected = w["bias"].get<double>() + w["distance"].get<double>() * f["distance"].get<double>() +
                            w["margin"].get<double>() * e["margin"].get<double>() +
                            w["probe_crowding"].get<double>() * e["probe_crowding"].get<double>() +
                            w["reference_crowding"].get<double>() * e["reference_crowding"].get<double>();
    EXPECT_NEAR(e["score"].get<double>(), expected, 1e-3) << f.dump();
    EXPECT_EQ(f["identity"] == "Ana", e["score"].get<double>() >= 0 && f["distance"].get<double>() <= 0.9 * same_person)
        << f.dump();
  }
  EXPECT_EQ(named, 1) << out;
  EXPECT_EQ(scored, 3) << out;

  // Indexing again without --embedder adds the new photo's faces with the gallery's model.
  fs::copy_file(probe, tmp_.file("gallery/mirrored.jpg"));
  ASSERT_EQ(run("index --json " + shell_quote(tmp_.file("gallery")), &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["faces_added"], 3) << out;

  // dlib's descriptors are another model's: asked for, by flag or environment, they are refused, with the reason.
  EXPECT_EQ(run("--embedder auto who " + shell_quote(probe), &out, &err), 4);
  EXPECT_NE(err.find("holds descriptors of model"), std::string::npos) << err;
  EXPECT_NE(err.find("It was made with --embedder faceplugin."), std::string::npos) << err;
  EXPECT_EQ(testing::run_command("FACEDEX_EMBEDDER=auto " + shell_quote(testing::facedex_binary()) + " --db " +
                                     shell_quote(tmp_.file("db")) + " who " + shell_quote(probe),
                                 &out, &err),
            4);
  EXPECT_NE(err.find("It was made with --embedder faceplugin."), std::string::npos) << err;
}

TEST_F(BundledModelCommandTest, MobileFaceNetIndexesNamesAndAnswersWhoWithItsOwnDescriptors) {
  const std::string mfn = "--embedder mobilefacenet ";
  std::vector<nlohmann::json> faces;
  ASSERT_NO_FATAL_FAILURE(index_group_photo("mobilefacenet", &faces));
  std::string out, err;
  for (const auto& f : faces) EXPECT_EQ(f["embedding"].size(), 192u) << f.dump();
  std::string probe;
  ASSERT_NO_FATAL_FAILURE(name_largest_and_mirror(mfn, faces, &probe));
  ASSERT_EQ(run(mfn + "who --json " + shell_quote(probe), &out, &err), 0) << err;
  const auto lines = testing::parse_lines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  int named = 0;
  for (const auto& f : lines[0]["faces"]) named += f["identity"] == "Ana";
  EXPECT_EQ(named, 1) << out;

  // dlib's descriptors are another model's: refused, with the reason.
  EXPECT_EQ(run("--embedder dlib who " + shell_quote(probe), &out, &err), 4);
  EXPECT_NE(err.find("holds descriptors of model"), std::string::npos) << err;
  EXPECT_NE(err.find("It was made with --embedder mobilefacenet."), std::string::npos) << err;
}

// Switching models keeps the user's naming: a gallery made with Faceplugin's
// network takes the names, "not this person" marks and report answers given in
// the dlib gallery of the same photos, face by face (same photo, same box), as
// undoable entries, and a second run adds nothing.
TEST_F(BundledModelCommandTest, ANewGalleryOfAnotherModelTakesTheNamesMarksAndAnswersGivenInTheOld) {
  fs::create_directories(tmp_.file("gallery"));
  fs::copy_file(testing::demo_photo(3), tmp_.file("gallery/group.jpg"));
  fs::copy_file(testing::demo_photo(1), tmp_.file("gallery/single.jpg"));
  const std::string old_db = tmp_.file("old db");
  auto old = [&](const std::string& args, std::string* out, std::string* err) {
    return testing::run_facedex(old_db, args, out, err);
  };
  std::string out, err;
  ASSERT_EQ(old("index " + shell_quote(tmp_.file("gallery")), &out, &err), 0) << err;
  ASSERT_EQ(old("export", &out, &err), 0) << err;
  const auto old_faces = testing::parse_lines(out);
  ASSERT_GE(old_faces.size(), 4u);
  // Two faces of the group photo named by the user, a third taken away from
  // Ana, and Ana and Bo said to be different people; the others stay unnamed.
  std::map<std::string, std::string> named;  // photo + box -> name
  auto key = [](const nlohmann::json& f) { return f["photo"].get<std::string>() + f["box"].dump(); };
  std::string taken_away;
  int given = 0;
  for (const auto& f : old_faces) {
    if (f["photo"].get<std::string>().find("group.jpg") == std::string::npos || given == 3) continue;
    const std::string id = std::to_string(f["face_id"].get<uint64_t>());
    const std::string name = given++ == 1 ? "Bo" : "Ana";
    ASSERT_EQ(old("name --face " + id + " " + name, &out, &err), 0) << err;
    if (given < 3) {
      named[key(f)] = name;
    } else {
      ASSERT_EQ(old("unname --face " + id, &out, &err), 0) << err;
      taken_away = key(f);
    }
  }
  ASSERT_EQ(given, 3);
  ASSERT_EQ(old("different Ana Bo", &out, &err), 0) << err;

  ASSERT_EQ(run("--embedder faceplugin index --json --no-auto-name " + shell_quote(tmp_.file("gallery")) +
                    " --names-from " + shell_quote(old_db),
                &out, &err),
            0)
      << err;
  const auto summary = nlohmann::json::parse(out);
  EXPECT_EQ(summary["names_from"]["faces_matched"], old_faces.size()) << out;
  EXPECT_EQ(summary["names_from"]["faces_named"], 2) << out;
  EXPECT_EQ(summary["names_from"]["unmatched"], 0) << out;
  EXPECT_EQ(summary["names_from"]["faces_marked"], 1) << out;
  EXPECT_EQ(summary["names_from"]["answers"], 1) << out;
  ASSERT_EQ(summary["names_from"]["history_ids"].size(), 1u) << out;
  EXPECT_EQ(summary["names_from"]["mark_history_ids"].size(), 2u) << out;
  ASSERT_EQ(run("export", &out, &err), 0) << err;
  auto faces = testing::parse_lines(out);
  ASSERT_EQ(faces.size(), old_faces.size());  // the same detector finds the same faces
  for (const auto& f : faces) {
    EXPECT_EQ(f["embedding"].size(), 512u);
    const auto it = named.find(key(f));
    EXPECT_EQ(f["person"], it == named.end() ? nlohmann::json() : nlohmann::json(it->second)) << f.dump();
    EXPECT_EQ(f["not_persons"], key(f) == taken_away ? nlohmann::json::array({"Ana"}) : nlohmann::json::array())
        << f.dump();
  }

  ASSERT_EQ(run("history", &out, &err), 0) << err;
  EXPECT_NE(out.find("from the gallery " + old_db + ": different people: Ana / Bo"), std::string::npos) << out;

  // Again: everything is there already.
  ASSERT_EQ(
      run("index --json " + shell_quote(tmp_.file("gallery")) + " --names-from " + shell_quote(old_db), &out, &err), 0)
      << err;
  const auto again = nlohmann::json::parse(out)["names_from"];
  EXPECT_EQ(again["faces_named"], 0) << out;
  EXPECT_EQ(again["already_named"], 2) << out;
  EXPECT_EQ(again["faces_marked"], 0) << out;
  EXPECT_EQ(again["answers"], 0) << out;

  // Undone, the names go; the old gallery still has them.
  const auto entry = summary["names_from"]["history_ids"][0].get<uint64_t>();
  ASSERT_EQ(run("undo " + std::to_string(entry), &out, &err), 0) << err;
  ASSERT_EQ(run("export", &out, &err), 0) << err;
  for (const auto& f : testing::parse_lines(out)) EXPECT_TRUE(f["person"].is_null()) << f.dump();
  ASSERT_EQ(old("persons", &out, &err), 0) << err;
  EXPECT_NE(out.find("Ana"), std::string::npos) << out;

  // The gallery itself, or one that is not there, is refused with the reason.
  EXPECT_EQ(
      run("index " + shell_quote(tmp_.file("gallery")) + " --names-from " + shell_quote(tmp_.file("db")), &out, &err),
      2);
  EXPECT_NE(err.find("is the database being indexed"), std::string::npos) << err;
  EXPECT_EQ(run("index " + shell_quote(tmp_.file("gallery")) + " --names-from " + shell_quote(tmp_.file("nowhere")),
                &out, &err),
            4);
  EXPECT_NE(err.find(tmp_.file("nowhere")), std::string::npos) << err;
}

TEST_F(BundledModelCommandTest, AGraphThatDoesNotFitItsSpecStopsTheRunBeforeAnyPhoto) {
  const std::string model = tmp_.file("my facenet.pb");
  fs::copy_file(models::bundled_models_dir() + "/mobilefacenet.pb", model);
  // FaceNet's default tensor names, which this graph does not have.
  testing::write_file(model + ".json", R"({"input_size": 112, "output_dims": 192})");
  std::string out, err;
  EXPECT_EQ(run("--embedder " + shell_quote("tf:" + model) + " index " + shell_quote(testing::demo_dir()), &out, &err),
            3);
  EXPECT_NE(err.find(model), std::string::npos) << err;
  EXPECT_NE(err.find("no tensor \"input\""), std::string::npos) << err;
  EXPECT_NE(err.find("img_inputs"), std::string::npos) << err;
  EXPECT_EQ(err.find("demo"), std::string::npos) << "no photo was read: " << err;
  EXPECT_EQ(run("--embedder tf: models", &out, &err), 2);
}

}  // namespace
}  // namespace facedex
