// Search at scale: galleries of 100,000 and 1,000,000 descriptors that look
// like real ones, for each index type: build time, memory, single-query
// p50/p99 latency, recall@10 against exact search.
//
//   search_at_scale --db DB [--sizes 100000,1000000] [--model two-covariance|mixed|both]
//                  [--indexes all|facedex]
//
// How the galleries are made: benchmarks/synthetic_gallery.h; first it prints
// how each model's gallery compares with the real one it was fitted to. Queries
// are fresh faces of the identity centres.
#include <faiss/IVFlib.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexRefine.h>
#include <faiss/index_factory.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "benchmarks/synthetic_gallery.h"
#include "storage/ann/fast_search.h"

using namespace facedex;
using Clock = std::chrono::steady_clock;

namespace {

double rss_mb() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f && std::fscanf(f, "%ld %ld", &pages, &resident) == 2) std::fclose(f);
  return resident * 4096.0 / 1048576.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  std::vector<size_t> sizes = {100000, 1000000};
  bool all_indexes = true;  // --indexes facedex: only exact search (the truth) and what facedex runs
  std::vector<benchmarks::SyntheticModel> models = {benchmarks::SyntheticModel::kTwoCovariance,
                                                    benchmarks::SyntheticModel::kMixedCentres};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--db") db = argv[i + 1];
    if (std::string(argv[i]) == "--sizes") {
      sizes.clear();
      std::string s = argv[i + 1];
      for (size_t p = 0; p < s.size();) {
        const size_t q = s.find(',', p);
        sizes.push_back(std::stoul(s.substr(p, q - p)));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    }
    if (std::string(argv[i]) == "--indexes") all_indexes = std::string(argv[i + 1]) != "facedex";
    if (std::string(argv[i]) == "--model" && std::string(argv[i + 1]) != "both")
      models = {std::string(argv[i + 1]) == "mixed" ? benchmarks::SyntheticModel::kMixedCentres
                                                    : benchmarks::SyntheticModel::kTwoCovariance};
  }
  auto source = benchmarks::load_synthetic_source(db);
  if (!source) {
    std::fprintf(stderr, "usage: %s --db DB [--sizes N,N]: %s\n", argv[0], source.status().message().c_str());
    return 2;
  }
  std::printf(
      "%zu real faces as identity seeds; within-person RMS distance to the mean %.3f -> noise sigma %.4f per "
      "dimension\n",
      source->real.size(), source->within_rms, source->sigma);

  std::mt19937 rng(42);
  std::printf(
      "\nthe real gallery and synthetic ones of its size and people (distances: Euclidean, same person < 0.6)\n");
  std::printf("%-34s %9s %9s %11s %11s %13s %13s\n", "gallery", "same p50", "same p90", "same < 0.6", "diff < 0.6",
              "stranger p10", "stranger p50");
  auto print_shape = [](const char* name, const benchmarks::GalleryShape& s) {
    std::printf("%-34s %9.3f %9.3f %11.3f %11.4f %13.3f %13.3f\n", name, s.same_p50, s.same_p90, s.same_within_06,
                s.different_within_06, s.nearest_stranger_p10, s.nearest_stranger_p50);
  };
  print_shape("real", benchmarks::measure_shape(source->real, source->real_person, rng));
  for (const auto model : {benchmarks::SyntheticModel::kTwoCovariance, benchmarks::SyntheticModel::kMixedCentres}) {
    const auto like = benchmarks::make_gallery_like_real(*source, model, rng);
    print_shape(benchmarks::synthetic_model_name(model), benchmarks::measure_shape(like.faces, like.identity, rng));
  }
  for (const size_t n : sizes)
    for (const auto model : models) {
      const benchmarks::SyntheticGallery synthetic = benchmarks::make_synthetic_gallery(*source, model, n, 5, rng);
      const size_t identities = synthetic.centres.size();
      std::vector<float> data(n * kDescriptorDims);
      for (size_t i = 0; i < n; ++i)
        std::copy(synthetic.faces[i].begin(), synthetic.faces[i].end(), data.begin() + long(i * kDescriptorDims));
      std::uniform_int_distribution<size_t> who(0, identities - 1);
      const size_t nq = 1000;
      std::vector<float> queries(nq * kDescriptorDims);
      std::vector<size_t> query_identity(nq);
      for (size_t q = 0; q < nq; ++q) {
        query_identity[q] = who(rng);
        const Descriptor f = benchmarks::synthetic_face(*source, model, synthetic.centres[query_identity[q]], rng);
        std::copy(f.begin(), f.end(), queries.begin() + long(q * kDescriptorDims));
      }
      std::printf("\n%zu faces (%zu identities, %s), %zu single queries each\n", n, identities,
                  benchmarks::synthetic_model_name(model), nq);
      // recall@10: of the exact 10 nearest, the share the index returns. same-person
      // recall: of those 10 that are the query's own identity (what `who` needs to
      // find), the share the index returns; the others are strangers at near-tied
      // distances, which make plain recall@10 hard on these galleries.
      std::printf("%-60s %10s %10s %10s %10s %10s %10s %12s\n", "index", "build s", "memory MB", "p50 ms", "best p50",
                  "p99 ms", "recall@10", "same-person");

      // The truth: exact search of all queries at once (BLAS); the Flat rows
      // below time single queries on the first kFlatQueries of them.
      std::vector<faiss::Index::idx_t> truth(nq * 10);
      {
        faiss::IndexFlatL2 exact(kDescriptorDims);
        exact.add(faiss::Index::idx_t(n), data.data());
        std::vector<float> unused(nq * 10);
        omp_set_num_threads(omp_get_num_procs());
        exact.search(faiss::Index::idx_t(nq), queries.data(), 10, unused.data(), truth.data());
      }
      constexpr size_t kFlatQueries = 100, kRounds = 3;
      struct Spec {
        std::string name;
        std::function<faiss::Index*()> make;
        // (label, setting) pairs measured on one build of the index.
        std::vector<std::pair<std::string, std::function<void(faiss::Index*)>>> tunings;
        bool fast_scan = false;  // facedex's AVX2 loops (storage/ann/fast_search.h), as facedex runs Flat and IVF
      };
      const size_t nlist = n >= 1000000 ? 4096 : 1024;
      // nprobe p: every vector of p lists compared exactly, on one thread.
      auto nprobe = [](size_t p) {
        return std::make_pair("nprobe " + std::to_string(p), std::function<void(faiss::Index*)>([p](faiss::Index* i) {
                                static_cast<faiss::IndexIVFFlat*>(i)->nprobe = p;
                                facedex::storage::set_fast_scan_rerank(*i, 0);
                                omp_set_num_threads(1);
                              }));
      };
      // Codes of p lists scored, a shortlist of r (auto: sized by the codes'
      // measured accuracy) re-scored by 8-bit copies, the best 16 of those
      // ranked exactly, on one thread or shared with the query helper
      // (storage/ann/query_helper.h): facedex runs r = auto on two.
      auto codes = [](size_t p, size_t r, int threads) {
        const std::string shortlist = r == storage::kAutoFastScanRerank ? "auto" : std::to_string(r);
        return std::make_pair(
            "codes nprobe " + std::to_string(p) + " shortlist " + shortlist + ", " + std::to_string(threads) + " thr",
            std::function<void(faiss::Index*)>([p, r, threads](faiss::Index* i) {
              static_cast<faiss::IndexIVFFlat*>(i)->nprobe = p;
              if (!facedex::storage::set_fast_scan_rerank(*i, r)) std::fprintf(stderr, "codes not in use\n");
              omp_set_num_threads(threads);
            }));
      };
      constexpr size_t kAuto = storage::kAutoFastScanRerank;
      std::vector<Spec> specs = {
          {"Flat (exact)", [] { return new faiss::IndexFlatL2(kDescriptorDims); }, {{"", [](faiss::Index*) {}}}},
          {"Flat (exact) avx2",
           [] {
             auto* map = new faiss::IndexIDMap(new faiss::IndexFlatL2(kDescriptorDims));
             map->own_fields = true;  // as index_factory("IDMap,Flat") makes it
             return map;
           },
           {{"", [](faiss::Index*) {}}},
           true},
          {"IVF" + std::to_string(nlist) + ",Flat",
           [&] {
             auto* ivf = new faiss::IndexIVFFlat(new faiss::IndexFlatL2(kDescriptorDims), kDescriptorDims, nlist);
             ivf->own_fields = true;  // owns its quantizer, as index_factory makes it
             return ivf;
           },
           {nprobe(8), nprobe(16), nprobe(64), nprobe(128)}},
          {"IVF" + std::to_string(nlist) + ",Flat avx2",
           [&] {
             auto* ivf = new faiss::IndexIVFFlat(new faiss::IndexFlatL2(kDescriptorDims), kDescriptorDims, nlist);
             ivf->own_fields = true;  // owns its quantizer, as index_factory makes it
             return ivf;
           },
           {nprobe(16), nprobe(64), nprobe(256), codes(nlist / 16, kAuto, 1), codes(nlist / 8, 256, 1),
            codes(nlist / 8, kAuto, 1), codes(3 * nlist / 16, kAuto, 1), codes(nlist / 16, kAuto, 2),
            codes(nlist / 8, 256, 2), codes(nlist / 8, kAuto, 2), codes(nlist / 8, 1024, 2),
            codes(3 * nlist / 16, kAuto, 2), codes(nlist / 4, kAuto, 2)},
           true},
      };
      // FAISS's own answers to what storage/ann does (16-byte 4-bit codes
      // scanned in registers, a balancing rotation, 8-bit copies, an exact
      // re-rank): IVF-PQ fast scan with an exact refine, the same after OPQ
      // (FAISS's learned rotation that balances the sub-vectors), and 8-bit
      // scalar quantization. p lists, refine: k_factor x 10 re-ranked exactly.
      auto faiss_probe = [](size_t p, float k_factor) {
        std::string label = "nprobe " + std::to_string(p);
        if (k_factor > 0) label += " refine " + std::to_string(int(k_factor * 10));
        return std::make_pair(label, std::function<void(faiss::Index*)>([p, k_factor](faiss::Index* i) {
                                if (auto* refine = dynamic_cast<faiss::IndexRefine*>(i)) {
                                  refine->k_factor = k_factor;
                                  i = refine->base_index;
                                }
                                faiss::ivflib::extract_index_ivf(i)->nprobe = p;
                                omp_set_num_threads(1);
                              }));
      };
      const std::string ivf = "IVF" + std::to_string(nlist);
      for (const std::string& factory : {ivf + ",PQ32x4fs,RFlat", "OPQ32," + ivf + ",PQ32x4fs,RFlat"})
        specs.push_back(
            {"FAISS " + factory,
             [factory] { return faiss::index_factory(kDescriptorDims, factory.c_str()); },
             {faiss_probe(nlist / 16, 25.6f), faiss_probe(nlist / 8, 25.6f), faiss_probe(nlist / 8, 102.4f)}});
      specs.push_back({"FAISS " + ivf + ",SQ8",
                       [ivf] { return faiss::index_factory(kDescriptorDims, (ivf + ",SQ8").c_str()); },
                       {faiss_probe(nlist / 16, 0), faiss_probe(nlist / 8, 0)}});
      if (!all_indexes) specs = {specs[0], specs[3]};
      if (n <= 200000 && all_indexes)
        specs.push_back(
            {"HNSW32",
             [] { return new faiss::IndexHNSWFlat(kDescriptorDims, 32); },
             {{"efSearch 64", [](faiss::Index* i) { static_cast<faiss::IndexHNSWFlat*>(i)->hnsw.efSearch = 64; }}}});
      for (const auto& spec : specs) {
        omp_set_num_threads(omp_get_num_procs());
        const double before = rss_mb();
        const auto t0 = Clock::now();
        std::unique_ptr<faiss::Index> index(spec.make());
        if (!index->is_trained) {
          const size_t train = std::min<size_t>(n, nlist * 40);
          index->train(faiss::Index::idx_t(train), data.data());
        }
        if (spec.fast_scan) {
          index = facedex::storage::with_fast_search(std::move(index));
          if (!facedex::storage::has_fast_search(*index)) std::fprintf(stderr, "fast IVF scan not applied\n");
        }
        std::vector<faiss::Index::idx_t> positions(n);
        for (size_t i = 0; i < n; ++i) positions[i] = faiss::Index::idx_t(i);
        if (dynamic_cast<faiss::IndexIDMap*>(index.get()))
          index->add_with_ids(faiss::Index::idx_t(n), data.data(), positions.data());
        else
          index->add(faiss::Index::idx_t(n), data.data());
        const double build = std::chrono::duration<double>(Clock::now() - t0).count();
        const double memory = rss_mb() - before;
        if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index.get()); ivf && spec.fast_scan) {
          ivf->nprobe = nlist / 8;
          std::printf("  (%s, nprobe %zu: %s)\n", spec.name.c_str(), ivf->nprobe,
                      storage::describe_search(*index).c_str());
        }
        // Every tuning's queries in rounds, the tunings taking turns, so that
        // each sees the machine's slow and fast minutes alike (a run's p50
        // moved by up to 40% between minutes here); p50 is over all rounds,
        // "best" the p50 of the best round.
        const bool exact = spec.name.rfind("Flat (exact)", 0) == 0;
        const size_t queries_here = exact ? kFlatQueries : nq, rounds = exact ? 1 : kRounds;
        struct Tally {
          std::vector<double> ms, round_p50;
          size_t hits = 0, same_wanted = 0, same_hits = 0;
        };
        std::vector<Tally> tallies(spec.tunings.size());
        omp_set_num_threads(1);  // a single query, as `who` asks them (the codes' rows set their own)
        for (size_t round = 0; round < rounds; ++round)
          for (size_t t = 0; t < spec.tunings.size(); ++t) {
            spec.tunings[t].second(index.get());
            Tally& tally = tallies[t];
            std::vector<double> this_round;
            std::vector<faiss::Index::idx_t> labels(10);
            std::vector<float> dist(10);
            for (size_t q = 0; q < queries_here; ++q) {
              const auto start = Clock::now();
              index->search(1, &queries[q * kDescriptorDims], 10, dist.data(), labels.data());
              this_round.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
              if (round > 0) continue;  // answers are the same every round
              const std::set<faiss::Index::idx_t> want(truth.begin() + long(q * 10), truth.begin() + long(q * 10 + 10));
              for (auto l : labels) tally.hits += want.count(l);
              const std::set<faiss::Index::idx_t> got(labels.begin(), labels.end());
              for (auto w : want)
                if (w >= 0 && synthetic.identity[size_t(w)] == query_identity[q]) {
                  ++tally.same_wanted;
                  tally.same_hits += got.count(w);
                }
            }
            tally.ms.insert(tally.ms.end(), this_round.begin(), this_round.end());
            std::sort(this_round.begin(), this_round.end());
            tally.round_p50.push_back(this_round[this_round.size() / 2]);
          }
        for (size_t t = 0; t < spec.tunings.size(); ++t) {
          Tally& tally = tallies[t];
          std::sort(tally.ms.begin(), tally.ms.end());
          const double recall = double(tally.hits) / double(queries_here * 10);
          const double same = tally.same_wanted == 0 ? 1.0 : double(tally.same_hits) / double(tally.same_wanted);
          const std::string& label = spec.tunings[t].first;
          const std::string name = label.empty() ? spec.name : spec.name + " " + label;
          std::printf("%-60s %10.1f %10.0f %10.3f %10.3f %10.3f %10.3f %12.3f\n", name.c_str(), build, memory,
                      tally.ms[tally.ms.size() / 2], *std::min_element(tally.round_p50.begin(), tally.round_p50.end()),
                      tally.ms[tally.ms.size() * 99 / 100], recall, same);
        }
      }
    }
  return 0;
}
