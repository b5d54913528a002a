#include "models/model_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "models/model_constants.h"
#include "util/sha256.h"

#ifndef FACEDEX_BUNDLED_MODELS_DIR
#error "FACEDEX_BUNDLED_MODELS_DIR must be set by the build"
#endif

namespace facedex::models {
namespace {

constexpr const char* kDebianDlibDataDir = "/usr/share/dlib";

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// Hashing the 100 MB landmark model costs half a second on every start, so
// digests are cached per (path, size, mtime) in the user's cache directory.
// A stale or unwritable cache only costs time, never correctness.
std::string cache_file_path() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return join(xdg, "facedex-model-sha256.txt");
  if (const char* home = std::getenv("HOME"); home && *home) return join(home, ".cache/facedex-model-sha256.txt");
  return "";
}

Expected<std::string> cached_sha256(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::not_found(path + ": no such model file");
  std::ostringstream key;
  key << path << '\t' << st.st_size << '\t' << st.st_mtim.tv_sec << '.' << st.st_mtim.tv_nsec;

  const std::string cache = cache_file_path();
  std::map<std::string, std::string> entries;
  if (!cache.empty()) {
    std::ifstream in(cache);
    std::string line;
    while (std::getline(in, line)) {
      const auto tab = line.rfind('\t');
      if (tab != std::string::npos) entries[line.substr(0, tab)] = line.substr(tab + 1);
    }
  }
  if (auto it = entries.find(key.str()); it != entries.end() && it->second.size() == 64) return it->second;

  auto digest = sha256_file_hex(path);
  if (!digest) return digest;
  if (!cache.empty()) {
    entries[key.str()] = *digest;
    // Per process: two processes writing at once must not share a half-written file.
    const std::string tmp = cache + ".tmp." + std::to_string(::getpid());
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [k, v] : entries) out << k << '\t' << v << '\n';
    out.close();
    if (out) std::rename(tmp.c_str(), cache.c_str());
  }
  return digest;
}

Expected<ModelFile> describe(const std::string& path, const std::string& origin) {
  auto digest = cached_sha256(path);
  if (!digest) return digest.status();
  return ModelFile{path, origin, *digest};
}

}  // namespace

std::string installed_path(const std::string& relative) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (exe.parent_path().parent_path() / relative).lexically_normal().string();
}

std::string bundled_models_dir() {
  // Installed (PREFIX/bin/facedex beside PREFIX/share/facedex/models) first, so
  // that an installed binary never depends on its build tree; the build's own
  // folder next.
  static const std::string dir = [] {
    const std::string installed = installed_path(kInstalledModelsDir);
    std::error_code ec;
    if (!installed.empty() && std::filesystem::is_regular_file(installed + "/" + kConvertedDescriptorFile, ec))
      return installed;
    return std::string(FACEDEX_BUNDLED_MODELS_DIR);
  }();
  return dir;
}

Expected<ModelSet> locate_models(const std::string& user_dir_arg, const std::string& embedder) {
  std::string user_dir = user_dir_arg;
  if (user_dir.empty()) {
    if (const char* env = std::getenv("FACEDEX_MODELS"); env && *env) user_dir = env;
  }
  if (!user_dir.empty()) {
    struct stat st {};
    if (::stat(user_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Status::not_found(user_dir + ": models directory does not exist");
  }

  ModelSet set;
  // Descriptor network: the user's official file wins over our converted copy.
  std::string path;
  if (!user_dir.empty() && is_regular_file(path = join(user_dir, kOfficialDescriptorFile))) {
    auto f = describe(path, "dlib official ResNet descriptor model (user's models directory)");
    if (!f) return f.status();
    set.descriptor = *f;
  } else if (!user_dir.empty() && is_regular_file(path = join(user_dir, kConvertedDescriptorFile))) {
    auto f = describe(path, "face-api 1.7.15 weights converted to dlib, 8-bit quantized (user's models directory)");
    if (!f) return f.status();
    set.descriptor = *f;
  } else if (is_regular_file(path = join(bundled_models_dir(), kConvertedDescriptorFile))) {
    auto f = describe(path, "face-api 1.7.15 weights converted to dlib, 8-bit quantized (bundled by setup)");
    if (!f) return f.status();
    set.descriptor = *f;
  } else {
    return Status::not_found("face descriptor model not found: looked for " + std::string(kOfficialDescriptorFile) +
                             (user_dir.empty() ? "" : " in " + user_dir) + " and " +
                             join(bundled_models_dir(), kConvertedDescriptorFile) +
                             ". Run scripts/setup.sh to provision it, or pass --models DIR.");
  }

  // Landmarks: 68 points first (what the bundled pipeline was validated with).
  struct Candidate {
    std::string dir;
    const char* file;
    int points;
    const char* origin;
  };
  const Candidate candidates[] = {
      {user_dir, kLandmarks68File, 68, "dlib 68-point shape predictor (user's models directory)"},
      {user_dir, kLandmarks5File, 5, "dlib 5-point shape predictor (user's models directory)"},
      {bundled_models_dir(), kLandmarks68File, 68, "dlib 68-point shape predictor (bundled)"},
      {kDebianDlibDataDir, kLandmarks68File, 68,
       "dlib 68-point shape predictor from Debian libdlib-data (iBUG 300-W: non-commercial use)"},
  };
  bool found = false;
  for (const auto& c : candidates) {
    if (c.dir.empty() || !is_regular_file(path = join(c.dir, c.file))) continue;
    auto f = describe(path, c.origin);
    if (!f) return f.status();
    set.landmarks = *f;
    set.landmark_points = c.points;
    found = true;
    break;
  }
  if (!found)
    return Status::not_found(std::string("landmark model not found: looked for ") + kLandmarks68File + " in " +
                             kDebianDlibDataDir + " (apt-get install libdlib-data)" +
                             (user_dir.empty() ? "" : " and " + user_dir));

  if (!user_dir.empty() && is_regular_file(path = join(user_dir, kCnnDetectorFile))) {
    auto f = describe(path, "RetinaFace mnet.25 CNN face detector (user's models directory)");
    if (!f) return f.status();
    set.cnn_detector = *f;
  } else if (is_regular_file(path = join(bundled_models_dir(), kCnnDetectorFile))) {
    auto f =
        describe(path, std::string("RetinaFace mnet.25 CNN face detector (insightface); from npm retinaface@0.0.6, "
                                   "package/mnet.25_v2.onnx (bundled); licence: ") +
                           kCnnDetectorLicence);
    if (!f) return f.status();
    set.cnn_detector = *f;
  }
  // The descriptor recipe is part of the fingerprint: flip-averaged and plain
  // descriptors of the same network are not comparable either.
  set.fingerprint =
      sha256_hex(set.descriptor.sha256 + ":" + set.landmarks.sha256 + (kFlipAveragedDescriptors ? ":flip-average" : ""))
          .substr(0, 16);
  if (auto ref = external_model_ref(embedder, bundled_models_dir())) {
    if (const BundledExternalModel* bundled = bundled_external_model(embedder); bundled && !is_regular_file(ref->path))
      return Status::not_found(std::string(bundled->name) + " not found: " + ref->path +
                               " is missing (run scripts/setup.sh and build facedex to write it)");
    auto spec = load_external_model_spec(*ref);
    if (!spec) return spec.status();
    if (Status s = use_external_model(*spec, &set); !s) return s;
  }
  return set;
}

const char* pinned_cnn_detector_sha256() { return FACEDEX_CNN_DETECTOR_SHA256; }

Status use_external_model(const ExternalModelSpec& spec, ModelSet* set) {
  const bool tf = spec.format == ExternalFormat::kTensorFlow;
  std::string origin = std::string("external ") + (tf ? "TensorFlow GraphDef" : "ONNX") +
                       " descriptor model (--embedder " + (tf ? "tf:" : "onnx:") + "...), spec ";
  for (const auto& bundled : bundled_external_models())
    if (spec.format == bundled.format && spec.model_path == join(bundled_models_dir(), bundled.file))
      origin = std::string(bundled.origin) + "; spec ";
  auto f = describe(spec.model_path, origin + spec.canonical);
  if (!f) return f.status();
  if (spec.crop == ChipCrop::kArcFace && set->landmark_points != 68 && set->landmark_points != 5)
    return Status::invalid_input(spec.model_path + ".json: the arcface crop needs 68 or 5 landmarks; " +
                                 set->landmarks.path + " gives " + std::to_string(set->landmark_points));
  set->descriptor = *f;
  set->external = spec;
  set->same_person_distance = spec.same_person_distance;
  set->descriptor_dims = spec.output_dims;
  // "onnx:" for every format: the canonical spec tells them apart, and ONNX
  // models keep the fingerprints they had.
  set->fingerprint = sha256_hex("onnx:" + f->sha256 + ":" + spec.canonical + ":" + set->landmarks.sha256 +
                                (kFlipAveragedDescriptors ? ":flip-average" : ""))
                         .substr(0, 16);
  return Status::ok();
}

}  // namespace facedex::models
