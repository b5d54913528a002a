// Answers "who is this?" and "where else is this face?" against a gallery.
//
// Thread-safety: const methods may run concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "search/identity_rule.h"
#include "storage/gallery.h"

namespace facedex::search {

struct GalleryMatch {
  uint64_t face_id = 0;
  std::string photo;  // path of the photo the face is in
  float distance = 0;
  std::string person;       // empty when nobody named the face
  bool automatic = false;   // the name was given automatically, not by a user
  uint64_t cluster_id = 0;  // 0 = none
  bool missing = false;     // the photo's file was gone at the last index run
  // Byte copies of the same photo (same content, same face) folded into this match.
  std::vector<std::string> copies;
};

struct NamedCandidate {
  std::string name;
  float distance = 0;
  int votes = 0;  // how many of the k nearest named faces are this person's
};

struct FaceAnswer {
  std::optional<std::string> identity;  // nullopt = unknown
  std::optional<float> distance;        // to the nearest named face, if any
  // What the crowding rule weighed for the nearest person (with its score), if it ran.
  std::optional<IdentityEvidence> evidence;
  float score = 0;
  std::vector<NamedCandidate> candidates;
  std::vector<GalleryMatch> matches;  // nearest gallery faces, named or not
};

class Identifier {
 public:
  // Loads the descriptors of every named face (a small index of its own, so
  // that unnamed faces never crowd named ones out of the k nearest). With the
  // crowding rule, an unnamed face in a cluster where a user named one person
  // only also speaks for that person.
  static Expected<std::unique_ptr<Identifier>> create(const storage::Gallery& gallery);

  // All faces of one probe photo together: two faces never get one identity.
  std::vector<FaceAnswer> identify(const std::vector<Descriptor>& faces, const IdentityRule& rule, int matches) const;

  // The k nearest gallery faces; a face of a byte copy of a photo already
  // listed is folded into that match (GalleryMatch::copies).
  std::vector<GalleryMatch> nearest(const Descriptor& face, int k) const;

  size_t named_faces() const { return named_->size(); }

 private:
  Identifier(const storage::Gallery& gallery) : gallery_(gallery) {}
  std::string person_name(uint64_t person_id) const;
  // The nearest named faces of `face` and, from its nearest gallery faces,
  // those of clusters a user named; `around` gets those gallery faces.
  struct NearFace {
    storage::Face face;  // without its thumbnail
    float distance = 0;
  };
  std::vector<NamedNeighbor> references(const Descriptor& face, int k, std::vector<NearFace>* around) const;
  IdentityEvidence evidence(const std::vector<Candidate>& candidates, const std::vector<NearFace>& around,
                            float no_runner_up) const;
  float reference_crowding(uint64_t face_id) const;

  const storage::Gallery& gallery_;
  std::unique_ptr<storage::VectorIndex> named_;
  std::map<uint64_t, uint64_t> person_of_face_;   // named face id -> person id
  std::map<uint64_t, std::string> person_names_;  // person id -> name
  // Cluster id -> the one person users named in it (clusters of two persons left out).
  std::map<uint64_t, uint64_t> cluster_person_;
  // Reference face id -> its crowding, computed once.
  mutable std::mutex crowding_mu_;
  mutable std::map<uint64_t, float> crowding_cache_;
};

}  // namespace facedex::search
