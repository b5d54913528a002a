#include "models/heif_decoder.h"

#include <libheif/heif.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "models/exif_fields.h"
#include "models/photo_decoder.h"

namespace facedex::models {
namespace {

bool brand_at(const std::string& b, size_t at, const char* brand) { return b.compare(at, 4, brand) == 0; }

std::string heif_message(const heif_error& e) { return e.message ? e.message : "unknown libheif error"; }

struct Context {
  std::unique_ptr<heif_context, void (*)(heif_context*)> ctx{heif_context_alloc(), heif_context_free};
  std::unique_ptr<heif_image_handle, void (*)(const heif_image_handle*)> primary{nullptr, heif_image_handle_release};
};

// Reads the boxes and finds the primary image. The context keeps no copy of
// `bytes`: they must outlive it.
Expected<std::unique_ptr<Context>> open_context(const std::string& bytes) {
  auto c = std::make_unique<Context>();
  if (!c->ctx) return Status::unsupported("libheif could not start");
  heif_error e = heif_context_read_from_memory_without_copy(c->ctx.get(), bytes.data(), bytes.size(), nullptr);
  if (e.code != heif_error_Ok)
    return Status::invalid_input("corrupt or truncated HEIF (" + heif_message(e) + ")")
        .because(Status::Reason::kTruncated);
  heif_image_handle* handle = nullptr;
  e = heif_context_get_primary_image_handle(c->ctx.get(), &handle);
  if (e.code != heif_error_Ok)
    return Status::unsupported("HEIF file without a primary image (" + heif_message(e) + ")");
  c->primary.reset(handle);
  return c;
}

// Whether the file has rotation or mirroring properties. libheif 1.15 does not
// say, so the boxes before the image data are searched for their types.
bool has_transform_properties(const std::string& bytes) {
  const size_t mdat = bytes.find("mdat");
  const std::string head = bytes.substr(0, std::min(mdat, std::min<size_t>(bytes.size(), 1 << 20)));
  return head.find("irot") != std::string::npos || head.find("imir") != std::string::npos;
}

// DateTimeOriginal and the orientation tag from the primary image's EXIF block, if any.
void read_exif_block(const heif_image_handle* handle, HeifImage* out) {
  heif_item_id id;
  if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &id, 1) < 1) return;
  const size_t size = heif_image_handle_get_metadata_size(handle, id);
  if (size < 4 || size > (16u << 20)) return;
  std::vector<uint8_t> block(size);
  if (heif_image_handle_get_metadata(handle, id, block.data()).code != heif_error_Ok) return;
  // The block starts with the offset of the TIFF header after its first 4 bytes.
  const size_t offset = 4 + ((size_t(block[0]) << 24) | (size_t(block[1]) << 16) | (size_t(block[2]) << 8) | block[3]);
  if (offset >= size) return;
  std::vector<uint8_t> exif = {'E', 'x', 'i', 'f', 0, 0};
  exif.insert(exif.end(), block.begin() + long(offset), block.end());
  const ExifFields fields = read_exif_fields(exif.data(), exif.size());
  out->orientation = fields.orientation;
  out->taken_at = fields.taken_at;
}

}  // namespace

bool is_heif(const std::string& b) {
  if (b.size() < 12 || !brand_at(b, 4, "ftyp")) return false;
  for (const char* brand : {"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis"})
    if (brand_at(b, 8, brand)) return true;
  return false;
}

Expected<HeifHeader> read_heif_header(const std::string& bytes) {
  auto c = open_context(bytes);
  if (!c) return c.status();
  HeifHeader h;
  h.format = brand_at(bytes, 8, "avif") || brand_at(bytes, 8, "avis") ? "avif" : "heic";
  h.width = heif_image_handle_get_width((*c)->primary.get());
  h.height = heif_image_handle_get_height((*c)->primary.get());
  if (h.width <= 0 || h.height <= 0) return Status::invalid_input("corrupt HEIF header (no valid width and height)");
  return h;
}

Expected<HeifImage> decode_heif(const std::string& bytes) {
  auto c = open_context(bytes);
  if (!c) return c.status();
  std::unique_ptr<heif_decoding_options, void (*)(heif_decoding_options*)> options(heif_decoding_options_alloc(),
                                                                                   heif_decoding_options_free);
  options->ignore_transformations = 0;  // rotation and mirroring from the file: the photo as its owner sees it
  options->convert_hdr_to_8bit = 1;     // 10-bit HDR photos too
  heif_image* raw = nullptr;
  heif_error e =
      heif_decode_image((*c)->primary.get(), &raw, heif_colorspace_RGB, heif_chroma_interleaved_RGB, options.get());
  if (e.code != heif_error_Ok) {
    if (e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype)
      return Status::unsupported("HEIF image libheif cannot decode here (" + heif_message(e) + ")");
    return Status::invalid_input("corrupt HEIF image data (" + heif_message(e) + ")");
  }
  std::unique_ptr<heif_image, void (*)(const heif_image*)> image(raw, heif_image_release);
  const int w = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int h = heif_image_get_height(image.get(), heif_channel_interleaved);
  int stride = 0;
  const uint8_t* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  if (!plane || w <= 0 || h <= 0) return Status::invalid_input("corrupt HEIF image data (no pixels decoded)");
  HeifImage out;
  out.rgb.create(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) std::memcpy(out.rgb.ptr(y), plane + size_t(y) * size_t(stride), size_t(w) * 3);
  read_exif_block((*c)->primary.get(), &out);
  if (has_transform_properties(bytes))
    out.orientation = 1;  // libheif turned it already
  else if (out.orientation != 1)
    out.rgb = apply_exif_orientation(out.rgb, out.orientation);
  return out;
}

}  // namespace facedex::models
