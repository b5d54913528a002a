// Clustering at scale: time and peak memory of cluster_faces (what `facedex
// cluster` runs) on synthetic galleries of real-looking descriptors
// (benchmarks/synthetic_gallery.h), five faces per identity, each face its own
// photo. Also scores the result against the synthetic identities.
//
//   clustering_at_scale --db DB --size N
// One size per process, so that peak RSS belongs to that size.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "benchmarks/synthetic_gallery.h"
#include "search/face_clustering.h"

using namespace facedex;

namespace {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

// Pairwise precision / recall / F1 against the synthetic identities.
void print_scores(const std::vector<unsigned long>& labels, const std::vector<uint32_t>& truth) {
  std::map<std::pair<unsigned long, uint32_t>, double> both;
  std::map<unsigned long, double> pred;
  std::map<uint32_t, double> real;
  for (size_t i = 0; i < labels.size(); ++i) {
    ++both[{labels[i], truth[i]}];
    ++pred[labels[i]];
    ++real[truth[i]];
  }
  auto pairs = [](double n) { return n * (n - 1) / 2; };
  double tp = 0, pp = 0, tt = 0;
  for (const auto& [k, n] : both) tp += pairs(n);
  for (const auto& [k, n] : pred) pp += pairs(n);
  for (const auto& [k, n] : real) tt += pairs(n);
  const double p = pp ? tp / pp : 1, r = tt ? tp / tt : 1;
  std::printf("  %zu clusters for %zu identities; pairwise P %.3f R %.3f F1 %.3f\n", pred.size(), real.size(), p, r,
              2 * p * r / (p + r));
}

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  size_t size = 100000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--db" && i + 1 < argc)
      db = argv[++i];
    else if (a == "--size" && i + 1 < argc)
      size = std::stoul(argv[++i]);
  }
  auto source = benchmarks::load_synthetic_source(db);
  if (!source) {
    std::fprintf(stderr, "usage: %s --db DB --size N: %s\n", argv[0], source.status().message().c_str());
    return 2;
  }
  std::mt19937 rng(7);
  const benchmarks::SyntheticGallery g =
      benchmarks::make_synthetic_gallery(*source, benchmarks::SyntheticModel::kMixedCentres, size, 5, rng);
  search::ClusterInput in;
  in.descriptors = g.faces;
  in.photo_ids.resize(size);
  for (size_t i = 0; i < size; ++i) in.photo_ids[i] = i + 1;
  in.person_ids.assign(size, 0);
  std::printf("%zu faces, %zu identities (sigma %.4f); peak RSS before clustering %.0f MB\n", size, g.centres.size(),
              source->sigma, peak_rss_mb());

  const auto t0 = std::chrono::steady_clock::now();
  const auto labels = search::cluster_faces(in, search::ClusterParams{});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("facedex cluster_faces (defaults%s): %.1f s, peak RSS %.0f MB\n",
              size > 50000 ? ", IVF neighbour graph" : ", exact neighbour graph", s, peak_rss_mb());
  print_scores(labels, g.identity);
  return 0;
}
