#include "storage/index_choice.h"

#include <algorithm>
#include <cmath>
#include <regex>

#include "storage/ann/fast_search.h"

namespace facedex::storage {
namespace {

bool is_ivf(const std::string& type) { return type.rfind("IVF", 0) == 0; }

}  // namespace

Status check_index_type(const std::string& type, int descriptor_dims) {
  static const std::regex form(R"(auto|Flat|IVF([0-9]{1,7}),(Flat|SQ8|PQ([0-9]{1,3}))|HNSW([0-9]{1,3})(,Flat)?)");
  std::smatch m;
  bool ok = std::regex_match(type, m, form);
  if (ok && m[1].matched) ok = std::stoul(m[1]) >= 1 && std::stoul(m[1]) <= (1u << 20);
  if (ok && m[3].matched) ok = std::stoul(m[3]) >= 1;
  if (ok && m[4].matched) ok = std::stoul(m[4]) >= 2 && std::stoul(m[4]) <= 256;
  if (!ok)
    return Status::invalid_input("index type \"" + type +
                                 "\" is not one facedex runs: use auto, Flat, IVF<lists>,Flat (lists 1 to 1048576), "
                                 "IVF<lists>,SQ8, IVF<lists>,PQ<m> (m divides the descriptor length: 128 for dlib's "
                                 "ResNet) or HNSW<m> (m 2 to 256)");
  if (m[3].matched && descriptor_dims > 0 && descriptor_dims % int(std::stoul(m[3])) != 0)
    return Status::invalid_input("index type \"" + type + "\" does not fit this gallery's " +
                                 std::to_string(descriptor_dims) + "-value descriptors: PQ<m> needs m to divide " +
                                 std::to_string(descriptor_dims));
  return Status::ok();
}

size_t inverted_file_lists(size_t faces) {
  const double ideal = 4 * std::sqrt(double(faces));
  size_t lists = 1;
  while (double(lists) * std::sqrt(2.0) < ideal) lists *= 2;
  return lists;
}

std::string auto_index_type(size_t faces, size_t approximate_from) {
  if (faces < approximate_from) return "Flat";
  return "IVF" + std::to_string(inverted_file_lists(faces)) + ",Flat";
}

bool auto_index_should_switch(const std::string& current, size_t faces, size_t approximate_from) {
  if (!is_ivf(current)) return faces >= approximate_from;
  if (faces < approximate_from / 2) return true;
  // Lists cut for a gallery 4x smaller or larger than now (2x off in count)
  // are re-cut; closer than that the index is left alone.
  const size_t lists = std::stoul(current.substr(3));
  const std::string ideal = auto_index_type(std::max(faces, approximate_from), approximate_from);
  const size_t ideal_lists = std::stoul(ideal.substr(3));
  return ideal_lists >= 2 * lists || 2 * ideal_lists <= lists;
}

bool is_auto_index_choice(const std::string& concrete) {
  if (!check_index_type(concrete)) return false;  // a damaged file's header
  return concrete == "Flat" ||
         (is_ivf(concrete) && concrete.size() > 5 && concrete.substr(concrete.size() - 5) == ",Flat");
}

size_t auto_nprobe(size_t lists) { return std::max<size_t>(64, lists / (fast_scan_supported() ? 8 : 16)); }

std::string auto_search_parameters(const std::string& concrete) {
  if (!is_ivf(concrete)) return "";
  return "nprobe=" + std::to_string(auto_nprobe(std::stoul(concrete.substr(3))));
}

}  // namespace facedex::storage
