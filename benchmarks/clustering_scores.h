// Clustering quality against the truth, as the LFW benchmarks score it:
// pairwise precision, recall and F1 over the face pairs of one label, and
// BCubed F1 (Amigó et al. 2009: each face's precision and recall over the
// faces sharing its label, averaged).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace facedex::benchmarks {

struct ClusteringScores {
  double pair_precision = 0, pair_recall = 0, pair_f1 = 0, bcubed_f1 = 0;
};

// items: (predicted label, true label) of the scored faces; a face left alone
// needs a label of its own.
inline ClusteringScores score_clustering(const std::vector<std::pair<unsigned long, std::string>>& items) {
  std::map<unsigned long, std::map<std::string, size_t>> pred;
  std::map<std::string, size_t> truth_size;
  std::map<unsigned long, size_t> pred_size;
  for (const auto& [p, t] : items) {
    ++pred[p][t];
    ++truth_size[t];
    ++pred_size[p];
  }
  auto pairs = [](double n) { return n * (n - 1) / 2; };
  double tp = 0, pred_pairs = 0, true_pairs = 0, bp = 0, br = 0;
  for (const auto& [p, by_truth] : pred)
    for (const auto& [t, n] : by_truth) {
      tp += pairs(double(n));
      bp += double(n) * n / double(pred_size[p]);
      br += double(n) * n / double(truth_size[t]);
    }
  for (const auto& [p, n] : pred_size) pred_pairs += pairs(double(n));
  for (const auto& [t, n] : truth_size) true_pairs += pairs(double(n));
  ClusteringScores s;
  s.pair_precision = pred_pairs ? tp / pred_pairs : 1;
  s.pair_recall = true_pairs ? tp / true_pairs : 1;
  s.pair_f1 = 2 * s.pair_precision * s.pair_recall / (s.pair_precision + s.pair_recall);
  const double P = bp / double(items.size()), R = br / double(items.size());
  s.bcubed_f1 = 2 * P * R / (P + R);
  return s;
}

}  // namespace facedex::benchmarks
