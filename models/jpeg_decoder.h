// JPEG through libjpeg-turbo directly (the library OpenCV uses, with the same
// settings, so the same pixels): libjpeg's warnings reach us instead of stderr.
// "Premature end of data segment" means the photo is partly grey, so it is
// refused as truncated, naming the file; the warnings of intact photos
// (extraneous bytes before a marker) are dropped, not printed unnamed.
//
// Thread-safe: no shared state.
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "util/status.h"

namespace facedex::models {

// RGB pixels as stored (no EXIF orientation applied). kInvalidInput for a
// truncated or corrupt file; kUnsupported for colour spaces libjpeg does not
// convert to RGB (CMYK), which the caller decodes another way.
Expected<cv::Mat> decode_jpeg_rgb(const std::string& bytes);

}  // namespace facedex::models
