#include "indexer/crawler.h"

#include <dirent.h>
#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

namespace facedex::indexer {
namespace {

struct Walker {
  const CrawlOptions& options;
  const FoundFn& found;
  const CrawlProblemFn& problem;
  std::set<std::pair<dev_t, ino_t>> visited_dirs;   // loop guard
  std::set<std::pair<dev_t, ino_t>> visited_files;  // one file reached through two links is indexed once
  std::set<std::pair<dev_t, ino_t>> skipped_dirs;
  CrawlStats stats;

  bool excluded(const std::string& path, const std::string& name) const {
    for (const auto& glob : options.excludes)
      if (fnmatch(glob.c_str(), path.c_str(), 0) == 0 || fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
    return false;
  }

  void visit_file(const std::string& path, const struct stat& st) {
    if (!visited_files.insert({st.st_dev, st.st_ino}).second) return;
    if (options.follow_symlinks) {
      std::error_code ec;
      const std::string real = std::filesystem::canonical(path, ec).string();
      if (!ec && real != path) return found(real, st);
    }
    found(path, st);
  }

  void walk_dir(const std::string& dir, const struct stat& dir_st) {
    if (skipped_dirs.count({dir_st.st_dev, dir_st.st_ino})) return;
    if (!visited_dirs.insert({dir_st.st_dev, dir_st.st_ino}).second) return;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      problem(dir, std::string("cannot open folder (") + std::strerror(errno) + ")");
      return;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (name[0] == '.') continue;  // hidden files and folders (.git, .thumbnails, .facedex)
      const std::string path = dir == "/" ? "/" + name : dir + "/" + name;
      if (excluded(path, name)) continue;
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) continue;  // vanished between readdir and lstat
      if (S_ISLNK(st.st_mode)) {
        if (!options.follow_symlinks) {
          ++stats.skipped_symlinks;
          continue;
        }
        if (::stat(path.c_str(), &st) != 0) continue;  // dangling link
      }
      if (S_ISDIR(st.st_mode)) {
        walk_dir(path, st);
      } else if (S_ISREG(st.st_mode) && has_photo_extension(name)) {
        visit_file(path, st);
      }
    }
  }
};

}  // namespace

bool path_is_under(const std::string& path, const std::string& root) {
  if (root == "/") return !path.empty() && path[0] == '/';
  return path == root ||
         (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  std::string p = std::filesystem::absolute(path, ec).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

bool has_photo_extension(const std::string& name) {
  static const char* kExtensions[] = {"jpg", "jpeg", "jpe", "png",  "webp", "bmp", "tif", "tiff",
                                      "ppm", "pgm",  "pnm", "heic", "heif", "hif", "avif"};
  const auto dot = name.find_last_of('.');
  if (dot == std::string::npos || dot == 0) return false;
  std::string ext = name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

CrawlStats crawl(const std::vector<std::string>& roots, const CrawlOptions& options, const FoundFn& found,
                 const CrawlProblemFn& problem) {
  Walker walker{options, found, problem, {}, {}, {}, {}};
  for (const auto& skip : options.skip_dirs) {
    struct stat st {};
    if (::stat(skip.c_str(), &st) == 0) walker.skipped_dirs.insert({st.st_dev, st.st_ino});
  }
  for (const auto& root_arg : roots) {
    const std::string root = absolute_path(root_arg);
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) {
      problem(root, std::string("cannot read (") + std::strerror(errno) + ")");
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      walker.walk_dir(root, st);
    } else if (S_ISREG(st.st_mode)) {
      walker.visit_file(root, st);  // a photo named on the command line is indexed whatever its extension
    } else {
      problem(root, "not a file or folder");
    }
  }
  return walker.stats;
}

}  // namespace facedex::indexer
