// `facedex check`: does the store agree with itself and with the vector index?
#pragma once

#include <string>
#include <vector>

#include "storage/gallery.h"

namespace facedex::storage {

struct CheckReport {
  uint64_t photos = 0, faces = 0, vectors = 0;
  std::vector<std::string> problems;  // one line each, empty when all is well
  std::vector<std::string> repairs;   // what --repair did
  std::vector<std::string> notes;     // what could not be checked, and why
  bool ok() const { return problems.empty(); }
};

// Checks: every column family reads whole (checksums, record shapes); every
// face listed by a photo exists and points back to it; every face belongs to
// a photo that lists it; every photo is found under its path; the vector index
// holds exactly the stored face ids, each with its record's vector, and its
// file was usable. With repair (needs a writable gallery): drops orphan faces,
// fixes face lists and path entries, rebuilds and saves the vector index.
// Damaged records are reported, not repaired: run check again after --repair
// to see what is left.
Expected<CheckReport> check_gallery(Gallery& gallery, bool repair);

}  // namespace facedex::storage
