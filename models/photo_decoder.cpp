#include "models/photo_decoder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "models/decode_budget.h"
#include "models/exif_fields.h"
#include "models/heif_decoder.h"
#include "models/jpeg_decoder.h"
#include "models/png_decoder.h"

namespace facedex::models {
namespace {

uint32_t be16(const std::string& b, size_t i) { return (uint32_t(uint8_t(b[i])) << 8) | uint8_t(b[i + 1]); }
uint32_t be32(const std::string& b, size_t i) { return (be16(b, i) << 16) | be16(b, i + 2); }
uint32_t le16(const std::string& b, size_t i) { return uint8_t(b[i]) | (uint32_t(uint8_t(b[i + 1])) << 8); }
uint32_t le32(const std::string& b, size_t i) { return le16(b, i) | (le16(b, i + 2) << 16); }

bool starts_with(const std::string& b, size_t at, const char* magic, size_t n) {
  return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
}

// Walks JPEG segments up to the frame header. Returns false if the stream ends
// before one is found.
bool jpeg_dimensions(const std::string& b, int* w, int* h, size_t* scan_start) {
  size_t i = 2;
  bool have_size = false;
  while (i + 4 <= b.size()) {
    if (uint8_t(b[i]) != 0xFF) return false;
    const uint8_t marker = uint8_t(b[i + 1]);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    const size_t len = be16(b, i + 2);
    const bool is_sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (is_sof && i + 9 <= b.size()) {
      *h = int(be16(b, i + 5));
      *w = int(be16(b, i + 7));
      have_size = true;
    }
    if (marker == 0xDA) {  // start of scan: entropy-coded data follows
      *scan_start = i + 2 + len;
      return have_size;
    }
    i += 2 + len;
  }
  return false;
}

bool tiff_dimensions(const std::string& b, int* w, int* h) {
  const bool little = b[0] == 'I';
  auto u16 = [&](size_t i) { return little ? le16(b, i) : be16(b, i); };
  auto u32 = [&](size_t i) { return little ? le32(b, i) : be32(b, i); };
  if (b.size() < 8) return false;
  const size_t ifd = u32(4);
  if (ifd + 2 > b.size()) return false;
  const size_t count = u16(ifd);
  for (size_t k = 0; k < count; ++k) {
    const size_t e = ifd + 2 + 12 * k;
    if (e + 12 > b.size()) return false;
    const uint32_t tag = u16(e), type = u16(e + 2);
    const uint32_t value = type == 3 ? u16(e + 8) : u32(e + 8);
    if (tag == 256) *w = int(value);
    if (tag == 257) *h = int(value);
  }
  return *w > 0 && *h > 0;
}

// Pages (IFDs) in a TIFF, following the chain of next-IFD offsets; a loop or an
// offset outside the file ends it.
int tiff_pages(const std::string& b) {
  if (b.size() < 8) return 0;
  const bool little = b[0] == 'I';
  auto u16 = [&](size_t i) { return little ? le16(b, i) : be16(b, i); };
  auto u32 = [&](size_t i) { return little ? le32(b, i) : be32(b, i); };
  int pages = 0;
  size_t ifd = u32(4);
  std::set<size_t> seen;
  while (ifd != 0 && ifd + 2 <= b.size() && seen.insert(ifd).second && pages < 10000) {
    ++pages;
    const size_t next = ifd + 2 + 12 * size_t(u16(ifd));
    if (next + 4 > b.size()) break;
    ifd = u32(next);
  }
  return pages;
}

bool pnm_dimensions(const std::string& b, int* w, int* h) {
  // "P6\n# comment\n640 480\n255\n"
  size_t i = 2;
  int values[2] = {0, 0};
  for (int v = 0; v < 2; ++v) {
    while (i < b.size() && (std::isspace(uint8_t(b[i])) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < b.size() && b[i] != '\n') ++i;
      else
        ++i;
    }
    if (i >= b.size() || !std::isdigit(uint8_t(b[i]))) return false;
    long long x = 0;
    while (i < b.size() && std::isdigit(uint8_t(b[i])) && x < (1LL << 31)) x = x * 10 + (b[i++] - '0');
    values[v] = int(std::min<long long>(x, 1LL << 30));
  }
  *w = values[0];
  *h = values[1];
  return true;
}

std::string hex_prefix(const std::string& b) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < std::min<size_t>(8, b.size()); ++i) {
    out += kHex[uint8_t(b[i]) >> 4];
    out += kHex[uint8_t(b[i]) & 15];
    out += ' ';
  }
  if (!out.empty()) out.pop_back();
  return out;
}

bool looks_like_text(const std::string& b) {
  const size_t n = std::min<size_t>(b.size(), 512);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = uint8_t(b[i]);
    if (c < 9 || (c > 13 && c < 32 && c != 27)) return false;
  }
  return true;
}

}  // namespace

Expected<std::string> read_file_bytes(const std::string& path, int64_t max_bytes) {
  // O_NONBLOCK: a FIFO named like a photo must not hang the run.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::not_found(path + ": file vanished or does not exist");
    return Status::io_error(path + ": cannot open (" + std::strerror(err) + ")");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::invalid_input(path + ": not a regular file").because(Status::Reason::kNotAnImage);
  }
  if (st.st_size == 0) {
    ::close(fd);
    return Status::invalid_input(path + ": empty file (0 bytes)").because(Status::Reason::kEmpty);
  }
  if (st.st_size > max_bytes) {
    ::close(fd);
    return Status::unsupported(path + ": file is " + std::to_string(st.st_size >> 20) + " MiB, over the limit of " +
                               std::to_string(max_bytes >> 20) + " MiB")
        .because(Status::Reason::kTooLarge);
  }
  std::string bytes(size_t(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::io_error(path + ": read error (" + std::strerror(err) + ")");
    }
    if (n == 0) break;  // the file shrank while we read it
    done += size_t(n);
  }
  ::close(fd);
  bytes.resize(done);
  if (bytes.empty()) return Status::invalid_input(path + ": empty file (0 bytes)").because(Status::Reason::kEmpty);
  return bytes;
}

Expected<ImageHeader> sniff_image(const std::string& b) {
  ImageHeader h;
  if (b.empty()) return Status::invalid_input("empty file (0 bytes)").because(Status::Reason::kEmpty);
  bool sized = false;
  if (starts_with(b, 0, "\xFF\xD8\xFF", 3)) {
    h.format = "jpeg";
    size_t scan = 0;
    sized = jpeg_dimensions(b, &h.width, &h.height, &scan);
    if (!sized)
      return Status::invalid_input("truncated or corrupt JPEG (no frame header before the data ends; " +
                                   std::to_string(b.size()) + " bytes)")
          .because(Status::Reason::kTruncated);
    // A complete JPEG ends its entropy-coded data with an EOI marker; a cut-off
    // download does not, and decoders silently fill the missing part with grey.
    if (b.find("\xFF\xD9", scan) == std::string::npos)
      return Status::invalid_input("truncated JPEG (no end-of-image marker; file has " + std::to_string(b.size()) +
                                   " bytes)")
          .because(Status::Reason::kTruncated);
  } else if (starts_with(b, 0, "\x89PNG\r\n\x1a\n", 8)) {
    h.format = "png";
    if (b.size() < 24)
      return Status::invalid_input("truncated PNG (" + std::to_string(b.size()) + " bytes)")
          .because(Status::Reason::kTruncated);
    h.width = int(std::min<uint32_t>(be32(b, 16), 1u << 30));
    h.height = int(std::min<uint32_t>(be32(b, 20), 1u << 30));
    sized = true;
    if (b.find("IEND", b.size() > 64 ? b.size() - 64 : 0) == std::string::npos)
      return Status::invalid_input("truncated PNG (no IEND chunk; file has " + std::to_string(b.size()) + " bytes)")
          .because(Status::Reason::kTruncated);
  } else if (starts_with(b, 0, "RIFF", 4) && starts_with(b, 8, "WEBP", 4)) {
    h.format = "webp";
    if (starts_with(b, 12, "VP8 ", 4) && b.size() >= 30) {
      h.width = int(le16(b, 26) & 0x3FFF);
      h.height = int(le16(b, 28) & 0x3FFF);
      sized = true;
    } else if (starts_with(b, 12, "VP8L", 4) && b.size() >= 25) {
      const uint32_t bits = le32(b, 21);
      h.width = int((bits & 0x3FFF) + 1);
      h.height = int(((bits >> 14) & 0x3FFF) + 1);
      sized = true;
    } else if (starts_with(b, 12, "VP8X", 4) && b.size() >= 30) {
      h.width = int((le32(b, 24) & 0xFFFFFF) + 1);
      h.height = int((le32(b, 27) & 0xFFFFFF) + 1);
      sized = true;
    }
  } else if (starts_with(b, 0, "BM", 2) && b.size() >= 26) {
    h.format = "bmp";
    h.width = std::abs(int32_t(le32(b, 18)));
    h.height = std::abs(int32_t(le32(b, 22)));
    sized = true;
  } else if (starts_with(b, 0, "II*\0", 4) || starts_with(b, 0, "MM\0*", 4)) {
    h.format = "tiff";
    sized = tiff_dimensions(b, &h.width, &h.height);
  } else if (b.size() > 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') {
    h.format = "pnm";
    sized = pnm_dimensions(b, &h.width, &h.height);
  } else if (is_heif(b)) {
    auto heif = read_heif_header(b);
    if (!heif) return heif.status();
    h.format = heif->format;
    h.width = heif->width;
    h.height = heif->height;
    sized = true;
  } else if (starts_with(b, 0, "GIF8", 4)) {
    return Status::unsupported("GIF image: not supported (OpenCV 4.6 has no GIF decoder)");
  } else {
    if (looks_like_text(b))
      return Status::invalid_input("not an image: the file holds text").because(Status::Reason::kNotAnImage);
    return Status::invalid_input("not an image: unknown format (first bytes " + hex_prefix(b) + ")")
        .because(Status::Reason::kNotAnImage);
  }
  if (!sized || h.width <= 0 || h.height <= 0)
    return Status::invalid_input("corrupt " + h.format + " header (no valid width and height)");
  return h;
}

cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(image, out, 1);
      break;
    case 3:
      cv::rotate(image, out, cv::ROTATE_180);
      break;
    case 4:
      cv::flip(image, out, 0);
      break;
    case 5:
      cv::transpose(image, out);
      break;
    case 6:
      cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7:
      cv::transpose(image, out);
      cv::rotate(out, out, cv::ROTATE_180);
      break;
    case 8:
      cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      out = image;
      break;
  }
  return out;
}

Expected<DecodedPhoto> decode_photo(const std::string& name, const std::string& bytes, const DecodeOptions& options) {
  auto header = sniff_image(bytes);
  if (!header) return header.status().prefixed(name + ": ");
  const int64_t pixels = int64_t(header->width) * header->height;
  if (pixels > options.max_pixels)
    return Status::unsupported(name + ": " + header->format + " declares " + std::to_string(header->width) + "x" +
                               std::to_string(header->height) + " pixels, over the limit of " +
                               std::to_string(options.max_pixels / 1'000'000) + " MP; not decoded")
        .because(Status::Reason::kTooLarge);
  // Every 8x8 block of a JPEG costs bits, even a flat one: a header declaring
  // far more pixels than the bytes can describe is truncated or forged, and
  // decoding it would allocate the whole declared image for nothing.
  constexpr int64_t kMaxJpegPixelsPerByte = 1024;
  if (header->format == "jpeg" && int64_t(bytes.size()) * kMaxJpegPixelsPerByte < pixels)
    return Status::invalid_input(name + ": truncated JPEG (its header declares " + std::to_string(header->width) + "x" +
                                 std::to_string(header->height) + " pixels, far more than its " +
                                 std::to_string(bytes.size()) + " bytes can hold); not decoded")
        .because(Status::Reason::kTruncated);

  DecodedPhoto photo;
  auto reserved = DecodeBudget::process().reserve(decode_cost_bytes(pixels));
  if (!reserved) return reserved.status().prefixed(name + ": ");
  photo.budget = std::move(*reserved);
  photo.format = header->format;
  if (photo.format == "heic" || photo.format == "avif") {
    auto heif = decode_heif(bytes);
    if (!heif) return heif.status().prefixed(name + ": ");
    photo.rgb = std::move(heif->rgb);  // upright (models/heif_decoder.h)
    photo.orientation = heif->orientation;
    photo.taken_at = std::move(heif->taken_at);
    return photo;
  }
  cv::Mat rgb;
  if (header->format == "jpeg") {
    auto jpeg = decode_jpeg_rgb(bytes);
    if (jpeg)
      rgb = std::move(*jpeg);
    else if (jpeg.status().code() != Status::Code::kUnsupported)  // CMYK goes to OpenCV below
      return jpeg.status().prefixed(name + ": ");
  } else if (header->format == "png") {
    auto png = decode_png_rgb(bytes);
    if (!png) return png.status().prefixed(name + ": ");
    rgb = std::move(*png);
  }
  if (rgb.empty()) {
    cv::Mat bgr;
    try {
      // Orientation is applied by us, from the tag we also record, so that the
      // stored orientation and the pixels always agree.
      bgr = cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                         cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    } catch (const cv::Exception& e) {
      return Status::invalid_input(name + ": corrupt " + header->format + " (" + e.what() + ")");
    }
    if (bgr.empty()) return Status::invalid_input(name + ": corrupt " + header->format + " (decoder gave no image)");
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  }
  if (rgb.cols != header->width || rgb.rows != header->height)
    return Status::invalid_input(name + ": corrupt " + header->format + " (header says " +
                                 std::to_string(header->width) + "x" + std::to_string(header->height) +
                                 ", decoder gave " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + ")");
  if (header->format == "tiff")
    if (const int pages = tiff_pages(bytes); pages > 1)
      photo.note = "multi-page TIFF: only its first page of " + std::to_string(pages) + " is indexed";
  // Only JPEG carries EXIF in practice among the formats decoded here; libexif
  // finds the APP1 segment itself.
  if (header->format == "jpeg") {
    const ExifFields exif = read_exif_fields(bytes.data(), bytes.size());
    photo.orientation = exif.orientation;
    photo.taken_at = exif.taken_at;
  }
  photo.rgb = apply_exif_orientation(rgb, photo.orientation);
  return photo;
}

Expected<DecodedPhoto> load_photo(const std::string& path, const DecodeOptions& options) {
  auto bytes = read_file_bytes(path, options.max_file_bytes);
  if (!bytes) return bytes.status();
  return decode_photo(path, *bytes, options);
}

}  // namespace facedex::models
