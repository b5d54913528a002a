// A raw copy of a dlib shape predictor, read ~10x faster than dlib's file.
//
// Why: dlib stores each of the 68-point model's 32 million floats as a
// mantissa and an exponent that deserialize() decodes one at a time: ~0.7 s,
// half of a `facedex search` of one photo. The copy holds the floats as they
// are in memory, in a file of the user's cache directory named after the
// model's sha256 and ending with the sha256 of its own bytes; any doubt about
// it (missing, short, another format version, a checksum that does not match)
// means the model is read from dlib's file again and the copy rewritten.
#pragma once

#include <dlib/image_processing/shape_predictor.h>

#include <string>

namespace facedex::models {

// Where the copy of the model with this sha256 lives ("" when there is no
// cache directory, or FACEDEX_NO_MODEL_CACHE is set).
std::string shape_predictor_cache_path(const std::string& model_sha256);

// Reads a copy written by write_shape_predictor_cache; false if `path` is
// missing or not exactly such a copy.
bool read_shape_predictor_cache(const std::string& path, dlib::shape_predictor* predictor);
// Writes it (to a temporary file renamed into place); false on any failure,
// which only costs the next start its time.
bool write_shape_predictor_cache(const dlib::shape_predictor& predictor, const std::string& path);

}  // namespace facedex::models
