#include "search/person_names.h"

#include <locale.h>
#include <wctype.h>

#include <vector>

namespace facedex::search {
namespace {

// UTF-8 to code points; an invalid byte stands for itself (names are bytes).
std::vector<char32_t> decode_utf8(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + size_t(len) > s.size()) {
      out.push_back(c);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + size_t(k)]);
      if ((cc >> 6) != 2) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      out.push_back(c);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += size_t(len);
  }
  return out;
}

std::string encode_utf8(const std::vector<char32_t>& cps) {
  std::string out;
  for (char32_t cp : cps) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// White_Space (Unicode), plus the zero-width space and byte-order mark that
// pasted names carry.
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 ||
         c == 0xFEFF;
}

locale_t utf8_locale() {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(0));
  return loc;
}

}  // namespace

Expected<std::string> clean_person_name(const std::string& name) {
  std::vector<char32_t> cps = decode_utf8(name);
  size_t b = 0, e = cps.size();
  while (b < e && is_space(cps[b])) ++b;
  while (e > b && is_space(cps[e - 1])) --e;
  if (b == e) return Status::invalid_input("a person's name cannot be empty");
  for (size_t i = b; i < e; ++i)
    if (cps[i] < 0x20 || cps[i] == 0x7F)
      return Status::invalid_input("a person's name cannot hold control characters (tab, newline...)");
  return encode_utf8(std::vector<char32_t>(cps.begin() + long(b), cps.begin() + long(e)));
}

std::string fold_case(const std::string& name) {
  std::vector<char32_t> cps = decode_utf8(name);
  const locale_t loc = utf8_locale();
  for (char32_t& c : cps) {
    if (c < 0x80)
      c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    else if (loc)
      c = char32_t(towlower_l(wint_t(c), loc));
  }
  return encode_utf8(cps);
}

Expected<std::optional<storage::Person>> person_differing_in_case(const storage::GalleryStore& store,
                                                                  const std::string& name) {
  const std::string folded = fold_case(name);
  std::optional<storage::Person> found;
  Status s = store.for_each_person([&](const storage::Person& p) {
    if (p.name == name) {
      found.reset();
      return false;
    }
    if (!found && fold_case(p.name) == folded) found = p;
    return true;
  });
  if (!s) return s;
  return found;
}

}  // namespace facedex::search
