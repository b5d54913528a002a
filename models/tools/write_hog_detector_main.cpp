// Writes dlib's frontal face detector, decoded, as a plain dlib .dat.
//
// Why: get_frontal_face_detector() decodes a compressed copy built into dlib's
// headers, which takes ~0.8 s, a third of a one-photo `facedex who`. Reading
// the decoded detector back is a few milliseconds. The file is an exact copy:
// FaceDetector falls back to decoding when it is missing.
#include <dlib/image_processing/frontal_face_detector.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.dat\n", argv[0]);
    return 2;
  }
  try {
    dlib::serialize(argv[1]) << dlib::get_frontal_face_detector();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[1], e.what());
    return 1;
  }
  return 0;
}
