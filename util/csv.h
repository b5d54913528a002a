// One CSV cell (RFC 4180) that a spreadsheet shows as text: a cell starting
// with = + - @ (or a tab or carriage return) would run as a formula, so it
// gets a leading ' inside quotes. Names and folder names are user text.
#pragma once

#include <string>

namespace facedex {

inline std::string csv_cell(const std::string& s) {
  const bool formula = !s.empty() && std::string("=+-@\t\r").find(s[0]) != std::string::npos;
  if (!formula && s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = formula ? "\"'" : "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace facedex
