// Files and processes for tests: a temporary directory, whole-file reads
// and writes, and running a shell command. Nothing here needs the models, so
// the storage tests (and their ThreadSanitizer build) link only this.
#pragma once

#include <string>

namespace facedex::testing {

// A fresh directory under the system temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

// Runs a shell command; returns its exit status and fills stdout/stderr.
int run_command(const std::string& command, std::string* out = nullptr, std::string* err = nullptr);

// Quotes an argument for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace facedex::testing
