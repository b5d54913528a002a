#include "models/scored_box.h"

#include <algorithm>

namespace facedex::models {

float box_iou(const ScoredBox& a, const ScoredBox& b) {
  const float w = std::min(a.right, b.right) - std::max(a.left, b.left);
  const float h = std::min(a.bottom, b.bottom) - std::max(a.top, b.top);
  if (w <= 0 || h <= 0) return 0;
  const float inter = w * h;
  return inter / (a.width() * a.height() + b.width() * b.height() - inter);
}

std::vector<ScoredBox> suppress_overlaps(std::vector<ScoredBox> boxes, float iou) {
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const ScoredBox& a, const ScoredBox& b) { return a.score > b.score; });
  std::vector<ScoredBox> kept;
  for (const auto& b : boxes) {
    bool overlaps = false;
    for (const auto& k : kept)
      if (box_iou(b, k) > iou) {
        overlaps = true;
        break;
      }
    if (!overlaps) kept.push_back(b);
  }
  return kept;
}

}  // namespace facedex::models
