#include "cli/cli_common.h"

#include <cstdio>

namespace facedex::cli {

void on_run(CLI::App* command, CommandBody body, int* exit_code) {
  command->callback([body = std::move(body), exit_code]() { *exit_code = body(); });
}

void report_error(const std::string& message) { std::fprintf(stderr, "facedex: %s\n", message.c_str()); }

std::shared_ptr<const models::FaceModels> load_models_or_report(const GlobalOptions& g) {
  auto set = models::locate_models(g.models_dir);
  if (!set) {
    report_error(set.status().message());
    return nullptr;
  }
  auto loaded = models::FaceModels::load(*set);
  if (!loaded) {
    report_error(loaded.status().message());
    return nullptr;
  }
  return *loaded;
}

nlohmann::json path_json(const std::string& path) {
  // nlohmann::json throws on invalid UTF-8 when dumping: replace bad bytes so a
  // photo with a Latin-1 name still appears (the store keeps the exact bytes).
  std::string out;
  out.reserve(path.size());
  size_t i = 0;
  while (i < path.size()) {
    const unsigned char c = static_cast<unsigned char>(path[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && i + len <= path.size();
    for (size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(path[i + k]) >> 6) == 2;
    if (valid) {
      out.append(path, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

}  // namespace facedex::cli
