#include "tests/support/temp_files.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace facedex::testing {

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "facedex-test-XXXXXX").string();
  if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests make unreadable files and directories: give them back before removing.
  run_command("chmod -R u+rwx " + shell_quote(path_) + " 2>/dev/null");
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int run_command(const std::string& command, std::string* out, std::string* err) {
  TempDir* scratch = nullptr;
  std::string out_file, err_file;
  if (out || err) {
    scratch = new TempDir();
    out_file = scratch->file("out");
    err_file = scratch->file("err");
  }
  std::string full = command;
  if (out) full += " >" + shell_quote(out_file);
  if (err) full += " 2>" + shell_quote(err_file);
  const int status = std::system(full.c_str());
  if (out) *out = read_file(out_file);
  if (err) *err = read_file(err_file);
  delete scratch;
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace facedex::testing
