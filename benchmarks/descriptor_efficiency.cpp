// Descriptor cost: ms per face of each embedder backend at batch 1, 16 and 64,
// on one thread and on every core (one single-threaded network per core, as
// the indexer runs them), next to this machine's single-precision peak: a
// measured sgemm rate (OpenBLAS, same process), the FMA peak from the nominal
// clock and vector width, and a measured FMA peak (a loop of independent AVX2
// FMAs: the clock the cores really run at). The network costs ~0.54 GFLOP per
// face. Backends: dlib, onednn, and onnx (the bundled network exported to
// ONNX and run by OpenCV's dnn module, the external-model path); then the
// bundled external models, each by OpenCV's dnn and, where it can, oneDNN.
#include <dlfcn.h>
#include <dlib/image_transforms.h>
#include <immintrin.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <string>
#include <thread>
#include <vector>

#include "models/external_model_spec.h"
#include "models/face_pipeline.h"
#include "models/onnx_export.h"
#include "models/photo_decoder.h"

using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// cblas_sgemm through whatever libblas.so.3 is (OpenBLAS here).
double sgemm_gflops(int threads) {
  using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
  auto sgemm = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
  if (!sgemm) return 0;
  facedex::models::set_blas_threads(threads);
  const int n = 1024;
  std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n);
  sgemm(101, 111, 111, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);  // warm up
  const auto t = Clock::now();
  const int reps = 10;
  for (int r = 0; r < reps; ++r) sgemm(101, 111, 111, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  return 2.0 * n * n * n * reps / seconds_since(t) / 1e9;
}

double cpu_mhz() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("cpu MHz", 0) == 0) return std::stod(line.substr(line.find(':') + 1));
  return 0;
}

// 12 independent chains of 8-wide FMAs: enough to fill both FMA pipes
// through their latency. GFLOP/s of one thread.
__attribute__((target("avx2,fma"))) double fma_loop_gflops() {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(1.0f + 0.01f * float(i));
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
  const long iterations = 100000000;
  const auto t = Clock::now();
  for (long k = 0; k < iterations; ++k)
    for (auto& a : acc) a = _mm256_fmadd_ps(a, mul, add);
  const double s = seconds_since(t);
  float sink = 0, lane[8];
  for (auto& a : acc) {
    _mm256_storeu_ps(lane, a);
    sink += lane[0];
  }
  if (sink == 12345.f) std::printf(" ");  // keeps the chains alive
  return double(iterations) * 12 * 8 * 2 / s / 1e9;
}

// The loop above on `threads` threads at once: GFLOP/s in all.
double fma_loop_gflops_all(unsigned threads) {
  std::vector<double> each(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back([&each, t] { each[t] = fma_loop_gflops(); });
  for (auto& p : pool) p.join();
  double sum = 0;
  for (double v : each) sum += v;
  return sum;
}

bool cpu_has(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) return line.find(" " + flag + " ") != std::string::npos;
  return false;
}

}  // namespace

// Usage: descriptor_efficiency [dlib|onednn|onnx|mobilefacenet|faceplugin]  (default: all)
int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  auto set = facedex::models::locate_models("");
  if (!set) {
    std::fprintf(stderr, "%s\n", set.status().message().c_str());
    return 1;
  }
  auto models = facedex::models::FaceModels::load(*set);
  auto pipeline = facedex::models::FacePipeline::create(*models);
  // Real chips: the faces of the demo photos.
  std::vector<facedex::models::FaceChip> chips;
  for (int i = 1; i <= 6; ++i) {
    auto photo =
        facedex::models::load_photo(std::string(FACEDEX_DEMO_DIR) + "/sample" + std::to_string(i) + ".jpg", {});
    for (auto& f : (*pipeline)->detect(photo->rgb, {})) chips.push_back(f.chip);
  }
  std::vector<facedex::models::FaceChip> batch64;
  while (batch64.size() < 64) batch64.push_back(chips[batch64.size() % chips.size()]);

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const double gflop_per_face = 0.54;
  const int lanes = cpu_has("avx512f") ? 16 : cpu_has("avx2") ? 8 : 4;
  const double nominal_peak = cpu_mhz() / 1000 * lanes * 2 /*flops per FMA*/ * 2 /*FMA units*/;
  const double sgemm1 = sgemm_gflops(1), sgemm_all = sgemm_gflops(int(cores));
  const bool avx2 = cpu_has("avx2") && cpu_has("fma");
  const double fma1 = avx2 ? fma_loop_gflops() : 0, fma_all = avx2 ? fma_loop_gflops_all(cores) : 0;
  std::printf("machine: %u cores, %.0f MHz nominal, %d-float vectors: FMA peak %.0f GFLOP/s per core, %.0f in all\n",
              cores, cpu_mhz(), lanes, nominal_peak, nominal_peak * cores);
  std::printf("measured FMA loop (AVX2): %.0f GFLOP/s on 1 thread, %.0f on %u (the clock runs %.0f%% above nominal)\n",
              fma1, fma_all, cores, avx2 ? 100 * (fma1 / nominal_peak - 1) : 0.0);
  std::printf("measured sgemm (OpenBLAS, 1024^3): %.0f GFLOP/s on 1 thread, %.0f on %u\n", sgemm1, sgemm_all, cores);
  const double fma_peak = avx2 ? fma1 : nominal_peak;  // the per-core peak the %% column divides by
  std::printf("the network's floor at that peak: %.2f ms/face on 1 core, %.2f on %u\n",
              gflop_per_face / fma_peak * 1000, gflop_per_face / (avx2 ? fma_all : fma_peak * cores) * 1000, cores);

  // The onnx backend runs the bundled network exported to ONNX (a temp file).
  char onnx_dir[] = "/tmp/facedex-bench-XXXXXX";
  std::string onnx_model;
  if (mkdtemp(onnx_dir)) {
    auto weights = facedex::models::read_resnet_weights(set->descriptor.path);
    onnx_model = std::string(onnx_dir) + "/resnet.onnx";
    if (!weights || !facedex::models::write_resnet_onnx(*weights, onnx_model)) onnx_model.clear();
  }

  facedex::models::set_blas_threads(1);
  // GFLOP/s and the % columns count the direct convolution's 0.54 GFLOP per
  // face for every backend, so Winograd (less arithmetic) can pass 100%.
  std::printf("\n%-14s %6s %16s %10s %10s %12s %12s\n", "backend", "batch", "networks x thr", "ms/face", "GFLOP/s",
              "% of sgemm", "% of FMA pk");
  using facedex::models::EmbedderBackend;
  for (EmbedderBackend backend : {EmbedderBackend::kDlib, EmbedderBackend::kOneDnn, EmbedderBackend::kExternal}) {
    // kExternal: the bundled network exported to ONNX.
    const char* name = backend == EmbedderBackend::kExternal ? "onnx" : facedex::models::embedder_backend_name(backend);
    if (!only.empty() && only != name) continue;
    auto backend_set =
        facedex::models::locate_models("", backend == EmbedderBackend::kExternal ? "onnx:" + onnx_model : "");
    if (!backend_set) {
      std::fprintf(stderr, "%s: %s\n", name, backend_set.status().message().c_str());
      continue;
    }
    auto backend_models = facedex::models::FaceModels::load(*backend_set, backend);
    if (!backend_models) {
      std::fprintf(stderr, "%s\n", backend_models.status().message().c_str());
      return 1;
    }
    // (networks, threads each): one network on one thread; one single-threaded
    // network per core (how the indexer runs them); one network on every core
    // (a single query). dlib's extra threads only reach its sgemm calls.
    const std::vector<std::pair<int, int>> layouts = {{1, 1}, {int(cores), 1}, {1, int(cores)}};
    // oneDNN twice, measured back to back: its default (Winograd 3x3
    // convolutions, models/kernels/winograd_conv.h) and oneDNN's direct convolutions.
    const std::vector<const char*> conv_variants = backend == EmbedderBackend::kOneDnn
                                                       ? std::vector<const char*>{"winograd", "direct"}
                                                       : std::vector<const char*>{""};
    for (const auto& [networks, threads] : layouts) {
      for (size_t batch : {size_t(1), size_t(16), size_t(64)}) {
        const std::vector<facedex::models::FaceChip> input(batch64.begin(), batch64.begin() + long(batch));
        const bool slow = backend != EmbedderBackend::kOneDnn;
        const size_t rounds = std::max<size_t>(slow ? 2 : 8, (slow ? 64 : 256) / batch);
        std::vector<std::vector<std::unique_ptr<facedex::models::Embedder>>> workers(conv_variants.size());
        for (size_t v = 0; v < conv_variants.size(); ++v) {
          setenv("FACEDEX_ONEDNN_CONV", conv_variants[v], 1);
          for (int t = 0; t < networks; ++t)
            workers[v].push_back(std::move(*(*backend_models)->make_embedder(threads)));
          unsetenv("FACEDEX_ONEDNN_CONV");
          for (auto& w : workers[v]) w->embed(input).value();  // warm up (oneDNN builds its primitives here)
        }
        // The variants take turns, best of three turns each: this machine's
        // speed drifts within a minute.
        std::vector<double> best(conv_variants.size(), 1e30);
        for (int turn = 0; turn < (slow ? 1 : 3); ++turn)
          for (size_t v = 0; v < conv_variants.size(); ++v) {
            const auto t0 = Clock::now();
            std::vector<std::thread> pool;
            for (auto& w : workers[v])
              pool.emplace_back([&, wp = w.get()] {
                for (size_t r = 0; r < rounds; ++r) wp->embed(input).value();
              });
            for (auto& p : pool) p.join();
            best[v] = std::min(best[v], seconds_since(t0));
          }
        for (size_t v = 0; v < conv_variants.size(); ++v) {
          const double faces = double(rounds * batch * size_t(networks));
          const double ms = best[v] * 1000 / faces, gflops = faces * gflop_per_face / best[v];
          const int used = networks * threads;
          char layout[32];
          std::snprintf(layout, sizeof layout, "%d x %d", networks, threads);
          std::printf("%-14s %6zu %16s %10.2f %10.1f %11.1f%% %11.1f%%\n", workers[v][0]->backend_name().c_str(), batch,
                      layout, ms, gflops, 100 * gflops / (used == 1 ? sgemm1 : sgemm_all),
                      100 * gflops / (fma_peak * used));
        }
      }
    }
  }
  // The bundled external models on the same chips: ms per face only (their
  // arithmetic is not the ResNet's). An ONNX graph of operations facedex's
  // oneDNN runner knows (Faceplugin's) runs there; OpenCV's dnn, the runner it
  // replaces, is measured beside it, the two taking turns.
  std::printf("\n%-14s %-12s %6s %16s %10s\n", "model", "runner", "batch", "networks x thr", "ms/face");
  for (const auto& bundled : facedex::models::bundled_external_models()) {
    if (!only.empty() && only != bundled.embedder) continue;
    auto bundled_set = facedex::models::locate_models("", bundled.embedder);
    auto loaded = bundled_set
                      ? facedex::models::FaceModels::load(*bundled_set, EmbedderBackend::kExternal)
                      : facedex::Expected<std::shared_ptr<const facedex::models::FaceModels>>(bundled_set.status());
    if (!loaded) {
      std::fprintf(stderr, "%s: %s\n", bundled.embedder, loaded.status().message().c_str());
      continue;
    }
    for (int threads : {1, int(cores)})
      for (size_t batch : {size_t(1), size_t(16), size_t(64)}) {
        const std::vector<facedex::models::FaceChip> input(batch64.begin(), batch64.begin() + long(batch));
        std::vector<std::unique_ptr<facedex::models::Embedder>> runners;
        for (const char* runner : {"opencv", ""}) {
          setenv("FACEDEX_EXTERNAL_BACKEND", runner, 1);
          runners.push_back(std::move(*(*loaded)->make_embedder(threads)));
          unsetenv("FACEDEX_EXTERNAL_BACKEND");
          runners.back()->embed(input).value();  // warm up
        }
        std::vector<std::string> labels{runners[0]->backend_name(), runners[1]->backend_name()};
        if (labels[1] == labels[0]) {
          runners.pop_back();  // both OpenCV's
        } else {
          // The oneDNN runner again with facedex's PReLU loop, which it takes
          // where oneDNN's PReLU is not JIT: the row against the primitive.
          setenv("FACEDEX_ONEDNN_PRELU", "own", 1);
          runners.push_back(std::move(*(*loaded)->make_embedder(threads)));
          unsetenv("FACEDEX_ONEDNN_PRELU");
          runners.back()->embed(input).value();
          labels.push_back("(own PReLU)");
        }
        const size_t rounds = std::max<size_t>(4, 256 / batch);
        std::vector<double> best(runners.size(), 1e30);
        for (int turn = 0; turn < 3; ++turn)
          for (size_t k = 0; k < runners.size(); ++k) {
            const auto t0 = Clock::now();
            for (size_t r = 0; r < rounds; ++r) runners[k]->embed(input).value();
            best[k] = std::min(best[k], seconds_since(t0));
          }
        for (size_t k = 0; k < runners.size(); ++k)
          std::printf("%-14s %-12s %6zu %12d x %d %10.2f%s\n", bundled.embedder, labels[k].c_str(), batch, 1, threads,
                      best[k] * 1000 / double(rounds * batch),
                      k >= 1 ? ("  (" + std::to_string(best[0] / best[k]).substr(0, 4) + "x OpenCV's)").c_str() : "");
      }
  }
  if (!onnx_model.empty()) {
    std::remove(onnx_model.c_str());
    std::remove((onnx_model + ".json").c_str());
    rmdir(onnx_dir);
  }
  return 0;
}
