#include "models/shape_predictor_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "models/kernels/shape_predictor_members.h"
#include "util/sha256.h"

namespace facedex::models {
namespace {

// Version 2 ends with the sha256 (hex) of everything before it: a copy whose
// floats changed would move every landmark under the same model fingerprint.
constexpr char kMagic[] = "facedex shape predictor copy 2\n";
constexpr size_t kDigestChars = 64;

class Writer {
 public:
  void u64(uint64_t v) { bytes(&v, sizeof v); }
  void floats(const float* v, size_t n) { bytes(v, n * sizeof(float)); }
  void bytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  const std::string& data() const { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const char* data, size_t size) : data_(data), size_(size) {}
  bool u64(uint64_t* v) { return bytes(v, sizeof *v); }
  bool floats(float* v, size_t n) { return bytes(v, n * sizeof(float)); }
  bool bytes(void* p, size_t n) {
    if (n > size_ - at_) return false;
    std::memcpy(p, data_ + at_, n);
    at_ += n;
    return true;
  }
  // A count that the rest of the file could hold at `each` bytes an item.
  bool count(uint64_t* n, size_t each) { return u64(n) && *n <= (size_ - at_) / each; }
  bool at_end() const { return at_ == size_; }

 private:
  const char* data_;
  size_t size_;
  size_t at_ = 0;
};

bool read_column(Reader& in, dlib::matrix<float, 0, 1>* m) {
  uint64_t n;
  if (!in.count(&n, sizeof(float))) return false;
  m->set_size(long(n));
  return n == 0 || in.floats(&(*m)(0), n);
}

void write_column(Writer& out, const dlib::matrix<float, 0, 1>& m) {
  out.u64(uint64_t(m.size()));
  if (m.size() > 0) out.floats(&m(0), size_t(m.size()));
}

// The predictor's three arrays of arrays (trees, anchors, deltas per cascade
// level), each length-prefixed, items written and read by `one`.
template <typename T, typename WriteOne>
void write_levels(Writer& out, const std::vector<std::vector<T>>& levels, WriteOne one) {
  out.u64(levels.size());
  for (const auto& level : levels) {
    out.u64(level.size());
    for (const auto& item : level) one(item);
  }
}

// `item_bytes`: the fewest bytes an item takes, bounding the counts read.
template <typename T, typename ReadOne>
bool read_levels(Reader& in, size_t item_bytes, std::vector<std::vector<T>>* levels, ReadOne one) {
  uint64_t n;
  if (!in.count(&n, 8)) return false;
  levels->resize(n);
  for (auto& level : *levels) {
    if (!in.count(&n, item_bytes)) return false;
    level.resize(n);
    for (auto& item : level)
      if (!one(&item)) return false;
  }
  return true;
}

}  // namespace

std::string shape_predictor_cache_path(const std::string& model_sha256) {
  if (std::getenv("FACEDEX_NO_MODEL_CACHE") || model_sha256.size() < 16) return "";
  const std::string name = "facedex-landmarks-" + model_sha256.substr(0, 16) + ".raw";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/" + name;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/" + name;
  return "";
}

bool write_shape_predictor_cache(const dlib::shape_predictor& predictor, const std::string& path) {
  Writer out;
  out.bytes(kMagic, sizeof kMagic - 1);
  write_column(out, predictor.*pointer_to(InitialShape{}));
  write_levels(out, predictor.*pointer_to(Forests{}), [&](const dlib::impl::regression_tree& tree) {
    out.u64(tree.splits.size());
    for (const auto& split : tree.splits) {
      out.u64(split.idx1);
      out.u64(split.idx2);
      out.floats(&split.thresh, 1);
    }
    out.u64(tree.leaf_values.size());
    for (const auto& leaf : tree.leaf_values) write_column(out, leaf);
  });
  write_levels(out, predictor.*pointer_to(AnchorIdx{}), [&](unsigned long anchor) { out.u64(anchor); });
  write_levels(out, predictor.*pointer_to(Deltas{}), [&](const dlib::vector<float, 2>& d) {
    const float xy[2] = {d.x(), d.y()};
    out.floats(xy, 2);
  });
  const std::string digest = sha256_hex(out.data().data(), out.data().size());
  out.bytes(digest.data(), digest.size());
  std::error_code ignored;  // a directory that cannot be made fails the write below
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file.write(out.data().data(), std::streamsize(out.data().size()));
    if (!file) {
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

bool read_shape_predictor_cache(const std::string& path, dlib::shape_predictor* predictor) {
  // Mapped, not read: the copy is tens of megabytes, read once into the
  // predictor's own arrays, and a zeroed buffer to read it into would be
  // written and faulted in for nothing. Copies are replaced by rename, never
  // rewritten in place, so the mapping cannot shrink under the reader.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  const bool sized = ::fstat(fd, &st) == 0 && st.st_size >= off_t(sizeof kMagic + kDigestChars);
  void* map = sized ? ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (map == MAP_FAILED) return false;
  const size_t size = size_t(st.st_size);
  struct Unmap {
    void* at;
    size_t size;
    ~Unmap() { ::munmap(at, size); }
  } unmap{map, size};
  const char* bytes = static_cast<const char*>(map);
  const size_t body = size - kDigestChars;
  if (sha256_hex(bytes, body) != std::string(bytes + body, kDigestChars)) return false;
  Reader in(bytes, body);
  char magic[sizeof kMagic - 1];
  if (!in.bytes(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0) return false;

  dlib::shape_predictor loaded;
  if (!read_column(in, &(loaded.*pointer_to(InitialShape{})))) return false;
  auto& forests = loaded.*pointer_to(Forests{});
  auto& anchors = loaded.*pointer_to(AnchorIdx{});
  auto& deltas = loaded.*pointer_to(Deltas{});
  const bool complete = read_levels(in, 16, &forests,
                                    [&](dlib::impl::regression_tree* tree) {
                                      uint64_t n;
                                      if (!in.count(&n, 20)) return false;
                                      tree->splits.resize(n);
                                      for (auto& split : tree->splits) {
                                        uint64_t idx1, idx2;
                                        if (!in.u64(&idx1) || !in.u64(&idx2) || !in.floats(&split.thresh, 1))
                                          return false;
                                        split.idx1 = idx1;
                                        split.idx2 = idx2;
                                      }
                                      if (!in.count(&n, 8)) return false;
                                      tree->leaf_values.resize(n);
                                      for (auto& leaf : tree->leaf_values)
                                        if (!read_column(in, &leaf)) return false;
                                      return true;
                                    }) &&
                        read_levels(in, 8, &anchors,
                                    [&](unsigned long* anchor) {
                                      uint64_t v;
                                      if (!in.u64(&v)) return false;
                                      *anchor = v;
                                      return true;
                                    }) &&
                        read_levels(in, 8, &deltas, [&](dlib::vector<float, 2>* d) {
                          float xy[2];
                          if (!in.floats(xy, 2)) return false;
                          *d = dlib::vector<float, 2>(xy[0], xy[1]);
                          return true;
                        });
  if (!complete) return false;
  if (!in.at_end()) return false;
  // The same invariants dlib's own reader relies on: one anchor and delta per
  // feature pixel of each cascade level, as many levels as forests.
  if (anchors.size() != forests.size() || deltas.size() != forests.size()) return false;
  // Every index in range, every leaf a whole shape: a damaged copy must not
  // read outside the model when faces are measured.
  const auto& initial = loaded.*pointer_to(InitialShape{});
  for (size_t i = 0; i < forests.size(); ++i) {
    if (anchors[i].size() != deltas[i].size()) return false;
    for (unsigned long a : anchors[i])
      if (a >= static_cast<unsigned long>(initial.size() / 2)) return false;
    for (const auto& tree : forests[i]) {
      for (const auto& split : tree.splits)
        if (split.idx1 >= anchors[i].size() || split.idx2 >= anchors[i].size()) return false;
      if (tree.leaf_values.size() != tree.splits.size() + 1) return false;
      for (const auto& leaf : tree.leaf_values)
        if (leaf.size() != initial.size()) return false;
    }
  }
  *predictor = std::move(loaded);
  return true;
}

}  // namespace facedex::models
