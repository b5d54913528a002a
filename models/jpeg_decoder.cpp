#include "models/jpeg_decoder.h"

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>

namespace facedex::models {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf escape;
  char message[JMSG_LENGTH_MAX] = {0};
  bool truncated = false;
  char warning[JMSG_LENGTH_MAX] = {0};
};

void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->escape, 1);
}

// Warnings only (msg_level -1); trace messages are dropped.
void on_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level != -1) return;
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  const int code = cinfo->err->msg_code;
  if (code == JWRN_HIT_MARKER || code == JWRN_JPEG_EOF) err->truncated = true;
  if (!err->warning[0]) (*cinfo->err->format_message)(cinfo, err->warning);
}

}  // namespace

Expected<cv::Mat> decode_jpeg_rgb(const std::string& bytes) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  cv::Mat rgb;  // declared before setjmp: nothing the jump skips owns memory
  if (setjmp(err.escape)) {
    jpeg_destroy_decompress(&cinfo);
    return Status::invalid_input(std::string("corrupt JPEG (") + err.message + ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    return Status::unsupported("CMYK JPEG");
  }
  cinfo.out_color_space = JCS_EXT_RGB;
  jpeg_start_decompress(&cinfo);
  rgb.create(int(cinfo.output_height), int(cinfo.output_width), CV_8UC3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = rgb.ptr<JSAMPLE>(int(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.truncated)
    return Status::invalid_input(std::string("truncated JPEG (") + err.warning + "; part of the photo would be grey)")
        .because(Status::Reason::kTruncated);
  return rgb;
}

}  // namespace facedex::models
