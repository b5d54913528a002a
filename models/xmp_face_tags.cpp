#include "models/xmp_face_tags.h"

// exiv2 0.27's API hands out std::auto_ptr.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exiv2/exiv2.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include "models/scored_box.h"

namespace facedex::models {
namespace {

namespace fs = std::filesystem;

const std::string kRegions = "Xmp.mwg-rs.Regions";
const std::string kRegionList = kRegions + "/mwg-rs:RegionList";
const std::string kDimensions = kRegions + "/mwg-rs:AppliedToDimensions";
const std::string kMsRegions = "Xmp.MP.RegionInfo/MPRI:Regions";

// exiv2's XMP toolkit is not thread-safe, and it prints warnings on stderr.
std::mutex& exiv2_mutex() {
  static std::mutex m;
  static std::once_flag once;
  std::call_once(once, [] {
    Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);
    Exiv2::XmpParser::initialize();
    Exiv2::enableBMFF(true);  // XMP inside HEIC and AVIF
  });
  return m;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string text_of(const Exiv2::XmpData& xmp, const std::string& key) {
  auto it = xmp.findKey(Exiv2::XmpKey(key));
  return it == xmp.end() ? "" : it->toString();
}

bool has_key(const Exiv2::XmpData& xmp, const std::string& key) { return xmp.findKey(Exiv2::XmpKey(key)) != xmp.end(); }

// A number as XMP writes it ("0.25"); false for anything else, NaN included.
bool parse_number(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  while (end && (*end == ' ')) ++end;
  return end && *end == '\0' && std::isfinite(*out);
}

bool sane_area(const FaceTag& t) {
  return t.w > 0 && t.h > 0 && t.w <= 1.0001 && t.h <= 1.0001 && t.x >= -0.0001 && t.x <= 1.0001 && t.y >= -0.0001 &&
         t.y <= 1.0001;
}

std::string trimmed(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// MWG regions of type Face (or no type) with a name; areas in the stored frame.
void mwg_tags(const Exiv2::XmpData& xmp, FaceTagsRead* out) {
  for (int i = 1;; ++i) {
    const std::string item = kRegionList + "[" + std::to_string(i) + "]";
    if (!has_key(xmp, item) && !has_key(xmp, item + "/mwg-rs:Name") && !has_key(xmp, item + "/mwg-rs:Area/stArea:x"))
      break;
    const std::string type = text_of(xmp, item + "/mwg-rs:Type");
    FaceTag t;
    t.name = trimmed(text_of(xmp, item + "/mwg-rs:Name"));
    if (t.name.empty() || (!type.empty() && type != "Face")) continue;
    const std::string area = item + "/mwg-rs:Area/stArea:";
    const std::string unit = text_of(xmp, area + "unit");
    const std::string where = "region " + std::to_string(i) + " (\"" + t.name + "\")";
    if (!unit.empty() && unit != "normalized") {
      out->skipped.push_back(where + ": area unit \"" + unit + "\", not \"normalized\"");
      continue;
    }
    if (!parse_number(text_of(xmp, area + "x"), &t.x) || !parse_number(text_of(xmp, area + "y"), &t.y) ||
        !parse_number(text_of(xmp, area + "w"), &t.w) || !parse_number(text_of(xmp, area + "h"), &t.h) ||
        !sane_area(t)) {
      out->skipped.push_back(where + ": no usable area");
      continue;
    }
    out->tags.push_back(std::move(t));
  }
}

// Microsoft Photo regions: "x, y, w, h" from the top left corner.
void microsoft_tags(const Exiv2::XmpData& xmp, FaceTagsRead* out) {
  for (int i = 1;; ++i) {
    const std::string item = kMsRegions + "[" + std::to_string(i) + "]";
    if (!has_key(xmp, item) && !has_key(xmp, item + "/MPReg:Rectangle")) break;
    FaceTag t;
    t.name = trimmed(text_of(xmp, item + "/MPReg:PersonDisplayName"));
    if (t.name.empty()) continue;
    std::string rect = text_of(xmp, item + "/MPReg:Rectangle");
    std::replace(rect.begin(), rect.end(), ',', ' ');
    double left, top;
    if (std::sscanf(rect.c_str(), "%lf %lf %lf %lf", &left, &top, &t.w, &t.h) != 4) {
      out->skipped.push_back("Microsoft region " + std::to_string(i) + " (\"" + t.name + "\"): no usable rectangle");
      continue;
    }
    t.x = left + t.w / 2;
    t.y = top + t.h / 2;
    if (!sane_area(t)) {
      out->skipped.push_back("Microsoft region " + std::to_string(i) + " (\"" + t.name + "\"): no usable rectangle");
      continue;
    }
    out->tags.push_back(std::move(t));
  }
}

FaceTagsRead tags_of(const Exiv2::XmpData& xmp, int orientation) {
  FaceTagsRead r;
  mwg_tags(xmp, &r);
  if (r.tags.empty() && r.skipped.empty()) microsoft_tags(xmp, &r);
  for (auto& t : r.tags) t = upright_area(t, orientation);
  return r;
}

std::string exiv2_reason(const Exiv2::AnyError& e) {
  std::string s = e.what();
  return s.empty() ? "exiv2 error " + std::to_string(e.code()) : s;
}

// The XMP of a sidecar (must_parse) or a photo. A photo exiv2 cannot read
// has no embedded tags as far as facedex can tell; `why` says why.
Expected<Exiv2::XmpData> read_xmp(const std::string& path, bool must_parse, std::string* why = nullptr) {
  std::string reason;
  try {
    auto image = Exiv2::ImageFactory::open(path, false);
    image->readMetadata();
    // exiv2 logs a packet that does not parse and reads it as empty: parse it again to know.
    Exiv2::XmpData xmp;
    if (image->xmpPacket().empty() || Exiv2::XmpParser::decode(xmp, image->xmpPacket()) == 0) return image->xmpData();
    reason = "its XMP packet does not parse";
  } catch (const Exiv2::AnyError& e) {
    if (!must_parse && e.code() == Exiv2::kerFileContainsUnknownImageType) return Exiv2::XmpData();
    reason = exiv2_reason(e);
  } catch (const std::exception& e) {
    reason = e.what();
  }
  if (must_parse) return Status::invalid_input(path + ": unreadable XMP (" + reason + ")");
  if (why) *why = "its metadata is unreadable (" + reason + "): embedded tags not read";
  return Exiv2::XmpData();
}

// A region item's keys (after "RegionList[i]") with their values, in order.
using ValuePtr = std::shared_ptr<const Exiv2::Value>;
using Item = std::vector<std::pair<std::string, ValuePtr>>;

struct RegionsBlock {
  std::vector<std::pair<std::string, ValuePtr>> other;  // keys under Regions kept as they are
  std::map<int, Item> items;                            // RegionList items by index
};

RegionsBlock take_regions(Exiv2::XmpData& xmp) {
  RegionsBlock b;
  for (auto it = xmp.begin(); it != xmp.end();) {
    const std::string key = it->key();
    if (key.compare(0, kRegions.size(), kRegions) != 0 ||
        (key.size() > kRegions.size() && key[kRegions.size()] != '/')) {
      ++it;
      continue;
    }
    const std::string list_item = kRegionList + "[";
    if (key.compare(0, list_item.size(), list_item) == 0) {
      const size_t close = key.find(']', list_item.size());
      const int index = std::atoi(key.c_str() + list_item.size());
      if (close != std::string::npos && index > 0)
        b.items[index].emplace_back(key.substr(close + 1), ValuePtr(it->value().clone().release()));
    } else if (key != kRegions && key != kRegionList && key.compare(0, kDimensions.size(), kDimensions) != 0) {
      b.other.emplace_back(key, ValuePtr(it->value().clone().release()));
    }
    it = xmp.erase(it);
  }
  return b;
}

// The item's area as a FaceTag in the stored frame, if it is a face with one.
bool item_face_area(const Item& item, FaceTag* t) {
  std::map<std::string, std::string> v;
  for (const auto& [k, value] : item) v[k] = value->toString();
  if (!v["/mwg-rs:Type"].empty() && v["/mwg-rs:Type"] != "Face") return false;
  const std::string unit = v["/mwg-rs:Area/stArea:unit"];
  if (!unit.empty() && unit != "normalized") return false;
  return parse_number(v["/mwg-rs:Area/stArea:x"], &t->x) && parse_number(v["/mwg-rs:Area/stArea:y"], &t->y) &&
         parse_number(v["/mwg-rs:Area/stArea:w"], &t->w) && parse_number(v["/mwg-rs:Area/stArea:h"], &t->h) &&
         sane_area(*t);
}

double area_iou(const FaceTag& a, const FaceTag& b) {
  auto corners = [](const FaceTag& t) {
    return ScoredBox{float(t.x - t.w / 2), float(t.y - t.h / 2), float(t.x + t.w / 2), float(t.y + t.h / 2), 0.f};
  };
  return box_iou(corners(a), corners(b));
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

void add_text(Exiv2::XmpData& xmp, const std::string& key, const std::string& text) {
  Exiv2::XmpTextValue v(text);
  xmp.add(Exiv2::XmpKey(key), &v);
}

void add_container(Exiv2::XmpData& xmp, const std::string& key, Exiv2::XmpValue::XmpArrayType array) {
  Exiv2::XmpTextValue v;
  if (array == Exiv2::XmpValue::xaNone)
    v.setXmpStruct();
  else
    v.setXmpArrayType(array);
  xmp.add(Exiv2::XmpKey(key), &v);
}

// The regions block as (key, type, text) triples, to tell whether a write would change anything.
std::multiset<std::tuple<std::string, std::string, std::string>> regions_signature(const Exiv2::XmpData& xmp) {
  std::multiset<std::tuple<std::string, std::string, std::string>> s;
  for (const auto& d : xmp)
    if (d.key().compare(0, kRegions.size(), kRegions) == 0)
      s.emplace(d.key(), d.typeName() ? d.typeName() : "", d.toString());
  return s;
}

Status sync_and_rename(const std::string& tmp, const std::string& target) {
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    return Status::io_error(tmp + ": could not sync");
  }
  ::close(fd);
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) return Status::io_error(target + ": could not replace (" + ec.message() + ")");
  const int dir = ::open(fs::path(target).parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return Status::ok();
}

}  // namespace

std::string find_sidecar(const std::string& photo_path) {
  if (exists(photo_path + ".xmp")) return photo_path + ".xmp";
  const fs::path p(photo_path);
  if (p.has_extension()) {
    const std::string stem = fs::path(p).replace_extension(".xmp").string();
    if (stem != photo_path && exists(stem)) return stem;
  }
  return "";
}

std::string sidecar_for_writing(const std::string& photo_path) {
  const std::string found = find_sidecar(photo_path);
  return found.empty() ? photo_path + ".xmp" : found;
}

Expected<FaceTagsRead> read_face_tags(const std::string& photo_path, int orientation) {
  std::lock_guard<std::mutex> lock(exiv2_mutex());
  const std::string sidecar = find_sidecar(photo_path);
  if (!sidecar.empty()) {
    auto xmp = read_xmp(sidecar, true);
    if (!xmp) return xmp.status();
    FaceTagsRead r = tags_of(*xmp, orientation);
    if (!r.tags.empty() || !r.skipped.empty()) {
      r.from = sidecar;
      return r;
    }
  }
  std::string why;
  auto xmp = read_xmp(photo_path, false, &why);
  if (!xmp) return xmp.status();
  FaceTagsRead r = tags_of(*xmp, orientation);
  if (!why.empty()) r.skipped.push_back(why);
  if (!r.tags.empty() || !r.skipped.empty()) r.from = "embedded XMP";
  return r;
}

Expected<FaceTagsWritten> write_face_tags(const std::string& photo_path, const std::vector<FaceTag>& tags,
                                          int upright_width, int upright_height, int orientation, bool in_place) {
  std::lock_guard<std::mutex> lock(exiv2_mutex());
  FaceTagsWritten out;
  out.path = in_place ? photo_path : sidecar_for_writing(photo_path);
  const bool creating = !in_place && !exists(out.path);
  Exiv2::XmpData xmp;
  {
    // A new sidecar starts from the photo's embedded XMP, as digiKam's do, so
    // the regions there are not hidden behind it.
    auto existing = read_xmp(creating ? photo_path : out.path, !creating);
    if (!existing) return existing.status();
    xmp = *existing;
  }
  const auto before = regions_signature(xmp);
  RegionsBlock block = take_regions(xmp);

  std::vector<FaceTag> stored;
  for (const auto& t : tags) stored.push_back(stored_area(t, orientation));
  const bool sideways = orientation >= 5 && orientation <= 8;
  add_container(xmp, kRegions, Exiv2::XmpValue::xaNone);
  for (auto& [key, value] : block.other) xmp.add(Exiv2::XmpKey(key), value.get());
  add_container(xmp, kDimensions, Exiv2::XmpValue::xaNone);
  add_text(xmp, kDimensions + "/stDim:w", std::to_string(sideways ? upright_height : upright_width));
  add_text(xmp, kDimensions + "/stDim:h", std::to_string(sideways ? upright_width : upright_height));
  add_text(xmp, kDimensions + "/stDim:unit", "pixel");
  add_container(xmp, kRegionList, Exiv2::XmpValue::xaBag);
  int n = 0;
  for (auto& [index, item] : block.items) {
    FaceTag area;
    if (item_face_area(item, &area) &&
        std::any_of(stored.begin(), stored.end(), [&](const FaceTag& t) { return same_face(t, area); }))
      continue;  // facedex's region for that face replaces it
    const std::string prefix = kRegionList + "[" + std::to_string(++n) + "]";
    for (auto& [suffix, value] : item) xmp.add(Exiv2::XmpKey(prefix + suffix), value.get());
    ++out.kept;
  }
  for (const auto& t : stored) {
    const std::string prefix = kRegionList + "[" + std::to_string(++n) + "]";
    add_container(xmp, prefix, Exiv2::XmpValue::xaNone);
    add_text(xmp, prefix + "/mwg-rs:Name", t.name);
    add_text(xmp, prefix + "/mwg-rs:Type", "Face");
    add_container(xmp, prefix + "/mwg-rs:Area", Exiv2::XmpValue::xaNone);
    add_text(xmp, prefix + "/mwg-rs:Area/stArea:x", number(t.x));
    add_text(xmp, prefix + "/mwg-rs:Area/stArea:y", number(t.y));
    add_text(xmp, prefix + "/mwg-rs:Area/stArea:w", number(t.w));
    add_text(xmp, prefix + "/mwg-rs:Area/stArea:h", number(t.h));
    add_text(xmp, prefix + "/mwg-rs:Area/stArea:unit", "normalized");
  }
  if (!creating && regions_signature(xmp) == before) return out;

  // Write a copy next to the target, then rename it over: a crash leaves the old file or the new one.
  const std::string tmp =
      fs::path(out.path).parent_path() / ("." + fs::path(out.path).filename().string() + ".facedex-tmp");
  try {
    Exiv2::Image::AutoPtr image;
    if (creating) {
      image = Exiv2::ImageFactory::create(Exiv2::ImageType::xmp, tmp);
    } else {
      std::error_code ec;
      fs::copy_file(out.path, tmp, fs::copy_options::overwrite_existing, ec);
      if (ec) return Status::io_error(tmp + ": could not write (" + ec.message() + ")");
      image = Exiv2::ImageFactory::open(tmp, false);
      image->readMetadata();
    }
    image->setXmpData(xmp);
    image->writeMetadata();
  } catch (const Exiv2::AnyError& e) {
    std::remove(tmp.c_str());
    return Status::io_error(out.path + ": could not write XMP (" + exiv2_reason(e) + ")");
  }
  if (Status s = sync_and_rename(tmp, out.path); !s) {
    std::remove(tmp.c_str());
    return s;
  }
  out.changed = true;
  return out;
}

bool same_face(const FaceTag& a, const FaceTag& b) {
  if (area_iou(a, b) >= 0.3) return true;
  auto centre_in = [](const FaceTag& p, const FaceTag& box) {
    return std::abs(p.x - box.x) <= box.w / 2 && std::abs(p.y - box.y) <= box.h / 2;
  };
  return centre_in(a, b) && centre_in(b, a);
}

std::vector<int> match_face_tags(const std::vector<FaceTag>& tags, const std::vector<FaceTag>& faces) {
  std::vector<std::tuple<double, size_t, size_t>> pairs;
  for (size_t t = 0; t < tags.size(); ++t)
    for (size_t f = 0; f < faces.size(); ++f)
      if (same_face(tags[t], faces[f])) pairs.emplace_back(area_iou(tags[t], faces[f]), t, f);
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  std::vector<int> face_of(tags.size(), -1);
  std::vector<bool> taken(faces.size(), false);
  for (const auto& [v, t, f] : pairs)
    if (face_of[t] < 0 && !taken[f]) face_of[t] = int(f), taken[f] = true;
  return face_of;
}

FaceTag upright_area(const FaceTag& s, int orientation) {
  FaceTag u = s;
  switch (orientation) {
    case 2:
      u.x = 1 - s.x;
      break;
    case 3:
      u.x = 1 - s.x, u.y = 1 - s.y;
      break;
    case 4:
      u.y = 1 - s.y;
      break;
    case 5:
      u.x = s.y, u.y = s.x;
      break;
    case 6:
      u.x = 1 - s.y, u.y = s.x;
      break;
    case 7:
      u.x = 1 - s.y, u.y = 1 - s.x;
      break;
    case 8:
      u.x = s.y, u.y = 1 - s.x;
      break;
    default:
      break;
  }
  if (orientation >= 5 && orientation <= 8) std::swap(u.w, u.h);
  return u;
}

FaceTag stored_area(const FaceTag& u, int orientation) {
  // 6 and 8 undo each other; every other orientation undoes itself.
  return upright_area(u, orientation == 6 ? 8 : orientation == 8 ? 6 : orientation);
}

}  // namespace facedex::models

#pragma GCC diagnostic pop
