// Face tags other photo tools keep in XMP: Metadata Working Group regions
// (mwg-rs:Regions: digiKam, Lightroom, Picasa, Apple Photos, Immich) and
// Microsoft's MP:RegionInfo, embedded in a photo or in its sidecar. Read and
// written through exiv2. Areas are given here in the upright photo's frame;
// the files keep them in the stored frame, before the EXIF orientation.
//
// Thread-safe: calls into exiv2 are serialised.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace facedex::models {

// A named face region: centre and size as fractions of the upright photo.
struct FaceTag {
  std::string name;
  double x = 0, y = 0, w = 0, h = 0;
};

struct FaceTagsRead {
  std::vector<FaceTag> tags;
  std::string from;                  // "embedded XMP" or the sidecar's path; empty when no tags
  std::vector<std::string> skipped;  // regions with a name that could not be used, and why
};

// The photo's sidecar: photo.jpg.xmp, else photo.xmp, whichever exists; empty if neither.
std::string find_sidecar(const std::string& photo_path);

// Where `export --xmp` writes: the existing sidecar, else photo.jpg.xmp.
std::string sidecar_for_writing(const std::string& photo_path);

// The named face regions of a photo: its sidecar's when the sidecar has any,
// else its embedded XMP's; MWG regions, else Microsoft's. `orientation` is the
// EXIF orientation the photo was turned upright by. A sidecar or photo that
// exiv2 cannot parse is kInvalidInput naming the file; a photo format exiv2
// does not know simply has no embedded tags.
Expected<FaceTagsRead> read_face_tags(const std::string& photo_path, int orientation);

struct FaceTagsWritten {
  std::string path;      // the file written (or that would have been)
  bool changed = false;  // false: the regions were there already, nothing written
  size_t kept = 0;       // regions of the file kept as they were (other names, pets, other tools' faces)
};

// Writes `tags` as MWG face regions, with AppliedToDimensions, into the photo's
// sidecar (created from the photo's embedded XMP if missing) or, with
// `in_place`, into the photo itself. Face regions that overlap one of `tags`
// are replaced; every other region and all other metadata are kept. Nothing
// is written when the file holds these regions already. The file is replaced
// atomically (a synced temporary copy renamed over it).
Expected<FaceTagsWritten> write_face_tags(const std::string& photo_path, const std::vector<FaceTag>& tags,
                                          int upright_width, int upright_height, int orientation, bool in_place);

// Whether a tag and a face box (both fractions of the upright photo) are the
// same face: they overlap by IoU >= 0.3, or each one's centre lies in the other
// (tools draw faces from tight to hair-and-chin).
bool same_face(const FaceTag& a, const FaceTag& b);

// Pairs each tag with at most one face and each face with at most one tag,
// among the pairs same_face accepts, best overlap first: the face index of
// each tag, or -1 for a tag over no face.
std::vector<int> match_face_tags(const std::vector<FaceTag>& tags, const std::vector<FaceTag>& faces);

// Area conversions between the stored frame and the upright one.
FaceTag upright_area(const FaceTag& stored, int orientation);
FaceTag stored_area(const FaceTag& upright, int orientation);

}  // namespace facedex::models
