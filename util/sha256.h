// SHA-256 of files and buffers, as lowercase hex. Used for model fingerprints and
// photo content hashes (move detection).
#pragma once

#include <cstddef>
#include <string>

#include "util/status.h"

namespace facedex {

std::string sha256_hex(const void* data, size_t size);
inline std::string sha256_hex(const std::string& bytes) { return sha256_hex(bytes.data(), bytes.size()); }
// Streams the file; fails with kIoError / kNotFound naming the file.
Expected<std::string> sha256_file_hex(const std::string& path);

}  // namespace facedex
