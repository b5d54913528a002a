#include "search/probe.h"

#include <sys/stat.h>

#include "indexer/crawler.h"

namespace facedex::search {

std::vector<std::string> expand_probe_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      indexer::crawl(
          {p}, {}, [&](const std::string& path, const struct stat&) { out.push_back(path); },
          [](const std::string&, const std::string&) {});
    } else {
      out.push_back(p);  // a file, or a missing path that load_photo will name
    }
  }
  return out;
}

std::vector<ProbePhoto> analyze_probes(const std::vector<std::string>& paths, models::FacePipeline& pipeline,
                                       const models::DetectOptions& detect) {
  std::vector<ProbePhoto> out(paths.size());
  std::vector<models::FaceChip> chips;
  std::vector<std::pair<size_t, size_t>> owners;  // (photo, face) of each chip
  auto embed_pending = [&]() {
    const auto descriptors = pipeline.describe(chips);
    for (size_t i = 0; i < owners.size(); ++i) {
      ProbePhoto& p = out[owners[i].first];
      if (descriptors) {
        p.faces[owners[i].second].descriptor = (*descriptors)[i];
      } else if (p.error) {  // a bug, not the probe's fault: its faces are not used
        p.error = descriptors.status().prefixed(p.path + ": ");
        p.faces.clear();
      }
    }
    chips.clear();
    owners.clear();
  };
  for (size_t i = 0; i < paths.size(); ++i) {
    out[i].path = paths[i];
    auto photo = models::load_photo(paths[i], {});
    if (!photo) {
      out[i].error = photo.status();
      continue;
    }
    for (auto& f : pipeline.detect(photo->rgb, detect)) {
      owners.emplace_back(i, out[i].faces.size());
      out[i].faces.push_back({f.box, float(f.score), {}});
      chips.push_back(std::move(f.chip));
    }
    if (chips.size() >= 256) embed_pending();
  }
  embed_pending();
  return out;
}

}  // namespace facedex::search
