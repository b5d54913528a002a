// Face detection quality, both detectors side by side on labelled photos:
//   - wider-dev (WIDER FACE val, WIDER's tight boxes): recall and precision at
//     the default score, and AP, for faces of at least 16/24/32/48 px; recall
//     on faces WIDER flags as atypical pose;
//   - groups/dlib (hand-drawn boxes, 43 faces; dogs.jpg must give none);
//   - the face-api demo photos (no boxes: faces found per photo);
//   - --lfw DIR: photos of LFW with no face found.
// A detection matches a labelled face at IoU >= 0.5 (the best-scored first).
// Faces below the size floor, or flagged invalid, are "don't care": matching
// one is neither a hit nor a false detection.
//
//   detection_quality [--data DIR] [--lfw] [--calibrate] [--sweep] [--tags]
// --sweep prints recall and precision at other score thresholds.
// --tags shows how face tags people drew (the labelled boxes of 20 px and up,
// as drawn and drawn loose like Apple Photos or Picasa: 1.4x, centred higher)
// name the faces the CNN finds at its defaults, through the matcher `index`
// uses (models::match_face_tags), against a plain IoU >= 0.5 match.
// --calibrate fits the map from CNN boxes to the boxes dlib's HOG gives the
// same faces (what the shape predictor was trained on) on groups/dlib, and
// prints how far the 68 landmarks from each land from the annotated ones.
#include <dlib/image_processing.h>
#include <dlib/opencv/cv_image.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "models/face_pipeline.h"
#include "models/model_files.h"
#include "models/photo_decoder.h"
#include "models/xmp_face_tags.h"

namespace {

using facedex::models::DetectedFace;
using facedex::models::DetectOptions;
using facedex::models::FaceBox;
using facedex::models::FaceDetector;

struct Truth {
  double left, top, right, bottom;
  bool ignore = false;  // WIDER's invalid flag
  bool pose = false;    // WIDER's atypical pose flag
  double short_side() const { return std::min(right - left, bottom - top); }
};

struct LabelledPhoto {
  std::string path;
  std::vector<Truth> faces;
  std::vector<std::vector<std::array<double, 2>>> landmarks;  // groups/dlib: 68 per face, when annotated
};

struct Found {
  double left, top, right, bottom, score;
  double short_side() const { return std::min(right - left, bottom - top); }
};

double iou(double al, double at, double ar, double ab, double bl, double bt, double br, double bb) {
  const double w = std::min(ar, br) - std::max(al, bl), h = std::min(ab, bb) - std::max(at, bt);
  if (w <= 0 || h <= 0) return 0;
  return w * h / ((ar - al) * (ab - at) + (br - bl) * (bb - bt) - w * h);
}

std::vector<LabelledPhoto> read_wider(const std::string& dir) {
  std::vector<LabelledPhoto> photos;
  std::ifstream in(dir + "/faces.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    LabelledPhoto p{dir + "/" + j["image"].get<std::string>(), {}, {}};
    for (const auto& f : j["faces"]) {
      const auto& b = f["box"];
      Truth t{b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>()};
      t.ignore = f["invalid"].get<int>() != 0;
      t.pose = f["pose"].get<int>() != 0;
      p.faces.push_back(t);
    }
    photos.push_back(std::move(p));
  }
  return photos;
}

// dlib's imglab XML: <image file=...><box top left width height><part name x y/>...
std::vector<LabelledPhoto> read_imglab(const std::string& dir, const std::string& file) {
  std::ifstream in(dir + "/" + file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string xml = ss.str();
  std::vector<LabelledPhoto> photos;
  const std::regex image_re("<image file='([^']+)'"),
      box_re("<box top='(-?\\d+)' left='(-?\\d+)' width='(\\d+)' height='(\\d+)'"),
      part_re("<part name='\\d+' x='(-?\\d+)' y='(-?\\d+)'");
  std::istringstream lines(xml);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, image_re)) {
      photos.push_back({dir + "/" + m[1].str(), {}, {}});
    } else if (std::regex_search(line, m, box_re) && !photos.empty()) {
      const double top = std::stod(m[1]), left = std::stod(m[2]), w = std::stod(m[3]), h = std::stod(m[4]);
      photos.back().faces.push_back({left, top, left + w, top + h});
      photos.back().landmarks.emplace_back();
    } else if (std::regex_search(line, m, part_re) && !photos.empty() && !photos.back().landmarks.empty()) {
      photos.back().landmarks.back().push_back({std::stod(m[1]), std::stod(m[2])});
    }
  }
  return photos;
}

cv::Mat load_rgb(const std::string& path) {
  auto photo = facedex::models::load_photo(path, {});
  if (!photo) {
    std::fprintf(stderr, "skipped %s: %s\n", path.c_str(), photo.status().message().c_str());
    return {};
  }
  return photo->rgb;
}

std::vector<Found> run(FaceDetector& detector, const cv::Mat& rgb, const DetectOptions& options) {
  std::vector<Found> out;
  for (const auto& f : detector.detect(rgb, options))
    out.push_back({double(f.box.left), double(f.box.top), double(f.box.right), double(f.box.bottom), f.score});
  return out;
}

struct Scores {
  size_t positives = 0, pose_positives = 0, pose_found = 0;
  // (score, is a hit) of every detection that counts.
  std::vector<std::pair<double, bool>> ranked;
};

// Greedy matching, best score first, for faces of at least `floor` px.
void score_photo(const LabelledPhoto& photo, const std::vector<Found>& found, double floor, double default_score,
                 Scores* s, double min_iou = 0.5) {
  std::vector<size_t> order(found.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return found[a].score > found[b].score; });
  std::vector<bool> taken(photo.faces.size(), false);
  auto counts = [&](const Truth& t) { return !t.ignore && t.short_side() >= floor; };
  for (const auto& t : photo.faces)
    if (counts(t)) {
      ++s->positives;
      s->pose_positives += t.pose;
    }
  for (size_t i : order) {
    const Found& d = found[i];
    double best = min_iou;
    long match = -1;
    for (size_t k = 0; k < photo.faces.size(); ++k) {
      if (taken[k]) continue;
      const Truth& t = photo.faces[k];
      const double o = iou(d.left, d.top, d.right, d.bottom, t.left, t.top, t.right, t.bottom);
      // A face that counts wins over a don't-care one of similar overlap.
      if (o >= best + (counts(t) ? -0.05 : 0.0)) {
        best = o;
        match = long(k);
      }
    }
    if (match >= 0) {
      taken[size_t(match)] = true;
      const Truth& t = photo.faces[size_t(match)];
      if (!counts(t)) continue;  // a don't-care face: neither
      s->ranked.push_back({d.score, true});
      if (t.pose && d.score >= default_score) ++s->pose_found;
    } else if (d.short_side() >= 0.8 * floor) {
      s->ranked.push_back({d.score, false});
    }
  }
}

struct Figures {
  double recall, precision, ap, pose_recall;
};

Figures summarise(Scores s, double default_score) {
  std::sort(s.ranked.begin(), s.ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t hits = 0, seen = 0, hits_at_default = 0, seen_at_default = 0;
  // AP: precision at each hit, averaged over every labelled face (all-point).
  double ap = 0;
  for (const auto& [score, hit] : s.ranked) {
    ++seen;
    if (hit) {
      ++hits;
      ap += double(hits) / double(seen);
    }
    if (score >= default_score) {
      ++seen_at_default;
      hits_at_default += hit;
    }
  }
  Figures f{};
  f.recall = s.positives ? double(hits_at_default) / double(s.positives) : 0;
  f.precision = seen_at_default ? double(hits_at_default) / double(seen_at_default) : 1;
  f.ap = s.positives ? ap / double(s.positives) : 0;
  f.pose_recall = s.pose_positives ? double(s.pose_found) / double(s.pose_positives) : 0;
  return f;
}

struct Contender {
  std::string name;
  std::unique_ptr<facedex::models::FacePipeline> pipeline;
  DetectOptions scan;    // low thresholds: every detection, for AP
  double default_score;  // what a user gets by default
};

void calibrate(Contender& cnn, Contender& hog, const std::vector<LabelledPhoto>& photos,
               const facedex::models::LandmarkModel& landmarks) {
  // Pairs of (CNN box, HOG box) on the same annotated face.
  std::vector<double> dx, dy, sw, sh;
  struct Pair {
    size_t photo, face;
    Found cnn, hog;
  };
  std::vector<Pair> pairs;
  for (size_t p = 0; p < photos.size(); ++p) {
    const cv::Mat rgb = load_rgb(photos[p].path);
    if (rgb.empty()) continue;
    DetectOptions cnn_options;
    cnn_options.min_face = 12;
    const auto c = run(cnn.pipeline->detector(), rgb, cnn_options);
    const auto h = run(hog.pipeline->detector(), rgb, {});
    for (size_t k = 0; k < photos[p].faces.size(); ++k) {
      const Truth& t = photos[p].faces[k];
      auto best = [&](const std::vector<Found>& v) -> const Found* {
        const Found* out = nullptr;
        double o = 0.3;
        for (const auto& f : v)
          if (double x = iou(f.left, f.top, f.right, f.bottom, t.left, t.top, t.right, t.bottom); x > o)
            o = x, out = &f;
        return out;
      };
      const Found *a = best(c), *b = best(h);
      if (!a || !b) continue;
      pairs.push_back({p, k, *a, *b});
      const double w = a->right - a->left, hh = a->bottom - a->top;
      dx.push_back(((b->left + b->right) - (a->left + a->right)) / 2 / w);
      dy.push_back(((b->top + b->bottom) - (a->top + a->bottom)) / 2 / hh);
      sw.push_back((b->right - b->left) / w);
      sh.push_back((b->bottom - b->top) / hh);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  const double mx = median(dx), my = median(dy), mw = median(sw), mh = median(sh);
  std::printf(
      "calibration on %zu faces both detectors found: HOG box = CNN box with centre x %+.3f w, centre y %+.3f h, "
      "width x%.3f, height x%.3f\n",
      pairs.size(), mx, my, mw, mh);
  // A CNN box moved and resized to where HOG's box would be, by the fitted map.
  auto map_cnn_box = [&](const Found& c, double* l, double* t, double* r, double* b) {
    const double w = c.right - c.left, h = c.bottom - c.top;
    const double cx = (c.left + c.right) / 2 + mx * w, cy = (c.top + c.bottom) / 2 + my * h;
    *l = cx - mw * w / 2, *t = cy - mh * h / 2, *r = cx + mw * w / 2, *b = cy + mh * h / 2;
  };
  // Landmark error against the annotation, as a share of the inter-ocular distance.
  auto landmark_error = [&](const dlib::cv_image<dlib::rgb_pixel>& img, const std::vector<std::array<double, 2>>& truth,
                            double l, double t, double r, double b) {
    const auto shape = landmarks.predictor()(
        img, dlib::rectangle(std::lround(l), std::lround(t), std::lround(r) - 1, std::lround(b) - 1));
    double ex = 0, ey = 0, tx = 0, ty = 0;  // eye centres: points 36-41 and 42-47
    for (int i = 36; i < 42; ++i) ex += truth[size_t(i)][0] / 6, ey += truth[size_t(i)][1] / 6;
    for (int i = 42; i < 48; ++i) tx += truth[size_t(i)][0] / 6, ty += truth[size_t(i)][1] / 6;
    const double iod = std::hypot(tx - ex, ty - ey);
    double sum = 0;
    for (int i = 0; i < 68; ++i)
      sum += std::hypot(shape.part(i).x() - truth[size_t(i)][0], shape.part(i).y() - truth[size_t(i)][1]);
    return sum / 68 / iod;
  };
  double err_hog = 0, err_mapped = 0, err_raw = 0, worst_mapped = 0;
  size_t n = 0;
  for (const auto& pr : pairs) {
    const auto& truth = photos[pr.photo].landmarks[pr.face];
    if (truth.size() != 68) continue;
    const cv::Mat rgb = load_rgb(photos[pr.photo].path);
    const dlib::cv_image<dlib::rgb_pixel> img(rgb);
    auto err = [&](double l, double t, double r, double b) { return landmark_error(img, truth, l, t, r, b); };
    err_hog += err(pr.hog.left, pr.hog.top, pr.hog.right, pr.hog.bottom);
    err_raw += err(pr.cnn.left, pr.cnn.top, pr.cnn.right, pr.cnn.bottom);
    double l, t, r, b;
    map_cnn_box(pr.cnn, &l, &t, &r, &b);
    const double e = err(l, t, r, b);
    err_mapped += e;
    worst_mapped = std::max(worst_mapped, e);
    ++n;
  }
  // The box dlib's HOG gives, as a function of the landmarks the predictor
  // places from it: centre offset and side, in units of the shape's spread.
  std::vector<double> kx, ky, ks;
  auto spread = [](const dlib::full_object_detection& shape, double* mx, double* my) {
    *mx = *my = 0;
    for (unsigned long i = 0; i < shape.num_parts(); ++i) *mx += shape.part(i).x(), *my += shape.part(i).y();
    *mx /= double(shape.num_parts());
    *my /= double(shape.num_parts());
    double s2 = 0;
    for (unsigned long i = 0; i < shape.num_parts(); ++i)
      s2 += std::pow(shape.part(i).x() - *mx, 2) + std::pow(shape.part(i).y() - *my, 2);
    return std::sqrt(s2 / double(shape.num_parts()));
  };
  for (const auto& pr : pairs) {
    const cv::Mat rgb = load_rgb(photos[pr.photo].path);
    const dlib::cv_image<dlib::rgb_pixel> img(rgb);
    const auto shape =
        landmarks.predictor()(img, dlib::rectangle(std::lround(pr.hog.left), std::lround(pr.hog.top),
                                                   std::lround(pr.hog.right) - 1, std::lround(pr.hog.bottom) - 1));
    double mx, my;
    const double sp = spread(shape, &mx, &my);
    kx.push_back(((pr.hog.left + pr.hog.right) / 2 - mx) / sp);
    ky.push_back(((pr.hog.top + pr.hog.bottom) / 2 - my) / sp);
    ks.push_back((pr.hog.right - pr.hog.left) / sp);
  }
  const double rx = median(kx), ry = median(ky), rs = median(ks);
  std::printf(
      "HOG box from its own landmarks: centre = mean %+.3f s, %+.3f s; side %.3f s (s: the points' RMS spread)\n", rx,
      ry, rs);
  for (int rounds = 1; rounds <= 3; ++rounds) {
    double total = 0, worst = 0;
    size_t m = 0;
    for (const auto& pr : pairs) {
      const auto& truth = photos[pr.photo].landmarks[pr.face];
      if (truth.size() != 68) continue;
      const cv::Mat rgb = load_rgb(photos[pr.photo].path);
      const dlib::cv_image<dlib::rgb_pixel> img(rgb);
      double l, t, r, b;
      map_cnn_box(pr.cnn, &l, &t, &r, &b);
      for (int k = 0; k < rounds; ++k) {
        const auto shape = landmarks.predictor()(
            img, dlib::rectangle(std::lround(l), std::lround(t), std::lround(r) - 1, std::lround(b) - 1));
        double sx, sy;
        const double sp = spread(shape, &sx, &sy);
        l = sx + rx * sp - rs * sp / 2, r = sx + rx * sp + rs * sp / 2, t = sy + ry * sp - rs * sp / 2,
        b = sy + ry * sp + rs * sp / 2;
      }
      const double e = landmark_error(img, truth, l, t, r, b);
      total += e, worst = std::max(worst, e), ++m;
    }
    std::printf("  refined %d times: mean error %.4f worst %.4f\n", rounds, total / double(m), worst);
  }
  // What the detectors give: landmarks of each detection matched to an annotated face.
  for (Contender* c : {&cnn, &hog}) {
    double total = 0, worst = 0;
    size_t m = 0, over_10 = 0;
    for (const auto& photo : photos) {
      const cv::Mat rgb = load_rgb(photo.path);
      DetectOptions options;
      options.min_face = 12;
      for (const auto& f : c->pipeline->detector().detect(rgb, options)) {
        for (size_t k = 0; k < photo.faces.size(); ++k) {
          const Truth& t = photo.faces[k];
          if (iou(f.box.left, f.box.top, f.box.right, f.box.bottom, t.left, t.top, t.right, t.bottom) < 0.3 ||
              photo.landmarks[k].size() != 68 || f.landmarks.size() != 68)
            continue;
          const auto& truth = photo.landmarks[k];
          double ex = 0, ey = 0, tx = 0, ty = 0;
          for (int i = 36; i < 42; ++i) ex += truth[size_t(i)][0] / 6, ey += truth[size_t(i)][1] / 6;
          for (int i = 42; i < 48; ++i) tx += truth[size_t(i)][0] / 6, ty += truth[size_t(i)][1] / 6;
          double sum = 0;
          for (int i = 0; i < 68; ++i)
            sum += std::hypot(f.landmarks[size_t(i)][0] - truth[size_t(i)][0],
                              f.landmarks[size_t(i)][1] - truth[size_t(i)][1]);
          const double e = sum / 68 / std::hypot(tx - ex, ty - ey);
          total += e, worst = std::max(worst, e), ++m, over_10 += e > 0.1;
          break;
        }
      }
    }
    std::printf(
        "landmarks from the %s detector on %zu annotated faces: mean error %.4f of the inter-ocular distance, "
        "worst %.4f, %zu above 0.1\n",
        c->name.c_str(), m, total / double(m), worst, over_10);
  }
  if (n)
    std::printf(
        "mean landmark error / inter-ocular distance on %zu annotated faces: from HOG boxes %.4f, from CNN boxes "
        "as found %.4f, mapped %.4f (worst %.4f)\n",
        n, err_hog / n, err_raw / n, err_mapped / n, worst_mapped);
}

}  // namespace

// Tags per style: [0] as drawn, [1] loose.
struct TagCounts {
  size_t tags = 0, detectable = 0, right[2] = {}, wrong[2] = {}, lost[2] = {};  // [0] index's matcher, [1] IoU 0.5
};

void tag_matching(FaceDetector& detector, const std::vector<LabelledPhoto>& photos, const char* name) {
  TagCounts counts[2];
  for (const auto& photo : photos) {
    const cv::Mat rgb = load_rgb(photo.path);
    if (rgb.empty()) continue;
    const auto found = run(detector, rgb, {});
    const double W = rgb.cols, H = rgb.rows;
    std::vector<facedex::models::FaceTag> faces;
    for (const auto& f : found)
      faces.push_back(
          {"", (f.left + f.right) / 2 / W, (f.top + f.bottom) / 2 / H, (f.right - f.left) / W, (f.bottom - f.top) / H});
    std::vector<size_t> truth;  // the labelled faces that are tags
    for (size_t k = 0; k < photo.faces.size(); ++k)
      if (!photo.faces[k].ignore && photo.faces[k].short_side() >= 20) truth.push_back(k);
    // The labelled face each detection overlaps most: a tag naming another detection names the wrong face.
    std::vector<long> owner(found.size(), -1);
    for (size_t f = 0; f < found.size(); ++f) {
      double best = 0.3;
      for (size_t k = 0; k < photo.faces.size(); ++k) {
        const Truth& t = photo.faces[k];
        const double o =
            iou(found[f].left, found[f].top, found[f].right, found[f].bottom, t.left, t.top, t.right, t.bottom);
        if (o > best) best = o, owner[f] = long(k);
      }
    }
    for (int style = 0; style < 2; ++style) {
      std::vector<facedex::models::FaceTag> tags;
      for (size_t k : truth) {
        const Truth& t = photo.faces[k];
        const double w = (t.right - t.left) / W, h = (t.bottom - t.top) / H;
        const double grow = style ? 1.4 : 1.0;
        tags.push_back(
            {"", (t.left + t.right) / 2 / W, (t.top + t.bottom) / 2 / H - (style ? 0.1 * h : 0), w * grow, h * grow});
      }
      const std::vector<int> ours = facedex::models::match_face_tags(tags, faces);
      // Plain IoU >= 0.5, best first.
      std::vector<std::tuple<double, size_t, size_t>> pairs;
      for (size_t t = 0; t < tags.size(); ++t)
        for (size_t f = 0; f < found.size(); ++f) {
          const auto& a = tags[t];
          const double o = iou(a.x - a.w / 2, a.y - a.h / 2, a.x + a.w / 2, a.y + a.h / 2, faces[f].x - faces[f].w / 2,
                               faces[f].y - faces[f].h / 2, faces[f].x + faces[f].w / 2, faces[f].y + faces[f].h / 2);
          if (o >= 0.5) pairs.emplace_back(o, t, f);
        }
      std::sort(pairs.begin(), pairs.end(),
                [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
      std::vector<int> plain(tags.size(), -1);
      std::vector<bool> taken(found.size(), false);
      for (const auto& [o, t, f] : pairs)
        if (plain[t] < 0 && !taken[f]) plain[t] = int(f), taken[f] = true;
      TagCounts& c = counts[style];
      for (size_t t = 0; t < tags.size(); ++t) {
        ++c.tags;
        bool detectable = false;
        for (size_t f = 0; f < found.size(); ++f) detectable |= owner[f] == long(truth[t]);
        c.detectable += detectable;
        const int matched[2] = {ours[t], plain[t]};
        for (int m = 0; m < 2; ++m) {
          if (matched[m] >= 0 && owner[size_t(matched[m])] == long(truth[t]))
            ++c.right[m];
          else if (matched[m] >= 0)
            ++c.wrong[m];
          else if (detectable)
            ++c.lost[m];
        }
      }
    }
  }
  for (int style = 0; style < 2; ++style) {
    const TagCounts& c = counts[style];
    std::printf(
        "tags %-10s %-8s %4zu tags, %4zu over a face found: named right %4zu / %4zu (IoU 0.5 alone), "
        "wrong %zu / %zu, lost %zu / %zu\n",
        name, style ? "loose" : "as drawn", c.tags, c.detectable, c.right[0], c.right[1], c.wrong[0], c.wrong[1],
        c.lost[0], c.lost[1]);
  }
}

int main(int argc, char** argv) {
  using namespace facedex;
  std::string data = "../shared/data";
  bool with_lfw = false, with_calibration = false, sweep = false, tags = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--data") == 0 && i + 1 < argc)
      data = argv[++i];
    else if (std::strcmp(argv[i], "--lfw") == 0)
      with_lfw = true;
    else if (std::strcmp(argv[i], "--calibrate") == 0)
      with_calibration = true;
    else if (std::strcmp(argv[i], "--sweep") == 0)
      sweep = true;
    else if (std::strcmp(argv[i], "--tags") == 0)
      tags = true;
    else
      return std::fprintf(stderr, "usage: %s [--data DIR] [--lfw] [--calibrate] [--sweep] [--tags]\n", argv[0]), 2;
  }
  auto set = models::locate_models("");
  if (!set) return std::fprintf(stderr, "%s\n", set.status().message().c_str()), 1;
  std::vector<Contender> contenders;
  for (auto kind : {models::DetectorKind::kCnn, models::DetectorKind::kHog}) {
    auto loaded = models::FaceModels::load(*set, models::EmbedderBackend::kAuto, kind);
    if (!loaded) return std::fprintf(stderr, "%s\n", loaded.status().message().c_str()), 1;
    auto pipeline = models::FacePipeline::create(*loaded);
    if (!pipeline) return std::fprintf(stderr, "%s\n", pipeline.status().message().c_str()), 1;
    Contender c{models::detector_kind_name(kind), std::move(*pipeline), {}, 0};
    if (kind == models::DetectorKind::kCnn) {
      c.scan.min_face = 12;
      c.scan.min_score = 0.3f;
      c.default_score = models::kDefaultCnnMinScore;
    } else {
      c.scan.adjust_threshold = -0.6;  // HOG's own threshold is 0
      c.default_score = 0;
    }
    contenders.push_back(std::move(c));
  }
  const auto landmarks = contenders[0].pipeline->detector().kind() == models::DetectorKind::kCnn
                             ? models::LandmarkModel::load(set->landmarks.path, set->landmarks.sha256)
                             : Expected<std::shared_ptr<const models::LandmarkModel>>(nullptr);

  auto dlib_photos = read_imglab(data + "/groups/dlib", "training_with_face_landmarks.xml");
  for (auto& p : read_imglab(data + "/groups/dlib", "testing_with_face_landmarks.xml"))
    dlib_photos.push_back(std::move(p));
  if (with_calibration && landmarks && *landmarks) calibrate(contenders[0], contenders[1], dlib_photos, **landmarks);

  const auto wider = read_wider(data + "/wider-dev");
  if (tags) {
    tag_matching(contenders[0].pipeline->detector(), wider, "wider-dev");
    tag_matching(contenders[0].pipeline->detector(), dlib_photos, "groups/dlib");
    return 0;
  }
  std::printf("wider-dev: %zu photos; groups/dlib: %zu photos\n", wider.size(), dlib_photos.size());
  const double floors[] = {16, 24, 32, 48};
  for (auto& c : contenders) {
    // AP and the sweep rank what the scan keeps; recall and precision are what
    // the default options keep (for the CNN that includes low-scored faces HOG
    // confirms, and leaves out faces below --min-face).
    std::vector<Scores> per_floor(std::size(floors)), per_floor_default(std::size(floors));
    const DetectOptions defaults;
    double seconds = 0;
    for (const auto& photo : wider) {
      const cv::Mat rgb = load_rgb(photo.path);
      if (rgb.empty()) continue;
      const auto start = std::chrono::steady_clock::now();
      const auto found = run(c.pipeline->detector(), rgb, c.scan);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const auto kept = run(c.pipeline->detector(), rgb, defaults);
      for (size_t f = 0; f < std::size(floors); ++f) {
        score_photo(photo, found, floors[f], c.default_score, &per_floor[f]);
        score_photo(photo, kept, floors[f], -1e9, &per_floor_default[f]);
      }
    }
    if (sweep && c.name == "cnn")
      for (double t : {0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99}) {
        const Figures a = summarise(per_floor[0], t), b = summarise(per_floor[2], t);
        std::printf("  score >= %.2f: >=16 px recall %.3f precision %.3f; >=32 px recall %.3f precision %.3f\n", t,
                    a.recall, a.precision, b.recall, b.precision);
      }
    for (size_t f = 0; f < std::size(floors); ++f) {
      Figures fig = summarise(per_floor_default[f], -1e9);
      fig.ap = summarise(per_floor[f], c.default_score).ap;
      std::printf(
          "wider-dev  %-3s >= %2.0f px: %4zu faces  recall %.3f  precision %.3f  AP %.3f  pose-flagged recall %.3f "
          "(%zu)\n",
          c.name.c_str(), floors[f], per_floor[f].positives, fig.recall, fig.precision, fig.ap, fig.pose_recall,
          per_floor[f].pose_positives);
    }
    std::printf("wider-dev  %-3s %.1f ms per photo with landmarks and chips (one thread)\n", c.name.c_str(),
                1000 * seconds / double(wider.size()));

    Scores dlib_scores;
    size_t dogs = 0;
    for (const auto& photo : dlib_photos) {
      const cv::Mat rgb = load_rgb(photo.path);
      // dlib's boxes are square and HOG-like, the CNN's tall: matched at IoU 0.4.
      if (!rgb.empty()) score_photo(photo, run(c.pipeline->detector(), rgb, {}), 0, c.default_score, &dlib_scores, 0.4);
    }
    for (const char* negative : {"dogs.jpg"}) {
      const cv::Mat rgb = load_rgb(data + "/groups/dlib/" + negative);
      if (!rgb.empty()) dogs += run(c.pipeline->detector(), rgb, {}).size();
    }
    const Figures d = summarise(dlib_scores, c.default_score);
    std::printf(
        "groups/dlib %-3s default options: found %.0f of %zu boxed faces (IoU >= 0.4), precision %.3f; dogs.jpg: %zu "
        "faces\n",
        c.name.c_str(), d.recall * double(dlib_scores.positives), dlib_scores.positives, d.precision, dogs);

    std::printf("demo photos %-3s faces per photo:", c.name.c_str());
    for (int n = 1; n <= 6; ++n) {
      const cv::Mat rgb = load_rgb(std::string(FACEDEX_DEMO_DIR) + "/sample" + std::to_string(n) + ".jpg");
      std::printf(" %zu", rgb.empty() ? size_t(0) : run(c.pipeline->detector(), rgb, {}).size());
    }
    std::printf("\n");

    if (with_lfw) {
      size_t photos = 0, none = 0;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(data + "/lfw-dev")) {
        if (entry.path().extension() != ".jpg") continue;
        const cv::Mat rgb = load_rgb(entry.path().string());
        if (rgb.empty()) continue;
        ++photos;
        none += run(c.pipeline->detector(), rgb, {}).empty();
      }
      std::printf("lfw-dev    %-3s photos with no face found: %zu of %zu\n", c.name.c_str(), none, photos);
    }
    std::fflush(stdout);
  }
  return 0;
}
