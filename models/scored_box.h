// A face box as a CNN detector scores it, and the overlap arithmetic on such boxes.
#pragma once

#include <vector>

namespace facedex::models {

// A box in the photo's pixels (right and bottom exclusive, fractional) with
// the network's face probability, 0..1.
struct ScoredBox {
  float left = 0, top = 0, right = 0, bottom = 0;
  float score = 0;
  float width() const { return right - left; }
  float height() const { return bottom - top; }
};

// Intersection over union of two boxes.
float box_iou(const ScoredBox& a, const ScoredBox& b);

// Greedy non-maximum suppression: the best-scored box of each group that
// overlaps by more than `iou` survives. Sorted by score, best first.
std::vector<ScoredBox> suppress_overlaps(std::vector<ScoredBox> boxes, float iou);

}  // namespace facedex::models
