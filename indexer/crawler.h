// Walks photo folders: recursively, photos by extension (any case), hidden
// folders and the database's own folder skipped, symlinks followed only on
// request and never in a loop.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace facedex::indexer {

struct CrawlOptions {
  bool follow_symlinks = false;        // off: a symlink is neither entered nor indexed
  std::vector<std::string> excludes;   // fnmatch globs, tried on the full path and on the name
  std::vector<std::string> skip_dirs;  // absolute directories never entered (the database)
};

// Called for each photo file found: absolute path and its stat.
using FoundFn = std::function<void(const std::string& path, const struct stat& st)>;
// Called for what could not be walked (unreadable folder, missing root).
using CrawlProblemFn = std::function<void(const std::string& path, const std::string& reason)>;

struct CrawlStats {
  uint64_t skipped_symlinks = 0;  // links not followed (follow_symlinks off)
};

// Crawls each root (a folder or a single photo file) in order, depth first,
// entries sorted by name so runs are repeatable. With follow_symlinks, a photo
// reached through a link is reported under its real (canonical) path, so that
// one file is one photo however it is reached.
CrawlStats crawl(const std::vector<std::string>& roots, const CrawlOptions& options, const FoundFn& found,
                 const CrawlProblemFn& problem);

// True when the name ends in an extension facedex reads (jpg, jpeg, png, webp,
// bmp, tif, tiff, ppm, pgm, pnm, heic, heif, hif, avif), case-insensitively.
bool has_photo_extension(const std::string& name);

// Absolute, normalised form of a path (no symlink resolution).
std::string absolute_path(const std::string& path);

// True when `path` is `root` or lies below it (both absolute, normalised).
bool path_is_under(const std::string& path, const std::string& root);

}  // namespace facedex::indexer
