// A process-wide budget of memory for decoded photos: each decode reserves
// what its pixels will cost before it allocates, and gives it back when the
// photo is dropped. Workers x huge photos then wait for each other instead of
// exhausting memory; a photo that could never fit is refused with a reason.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "util/status.h"

namespace facedex::models {

class DecodeBudget {
 public:
  // The process's budget; bytes() starts at default_bytes().
  static DecodeBudget& process();
  // Half the machine's physical memory.
  static int64_t default_bytes();

  // Changes the total (tests, --memory-budget). Reservations held keep theirs.
  void set_bytes(int64_t bytes);
  int64_t bytes() const;

  // Waits until `bytes` fit beside the other reservations; the reservation is
  // held while the returned handle lives. kUnsupported when `bytes` exceeds the
  // whole budget (it would wait forever).
  Expected<std::shared_ptr<void>> reserve(int64_t bytes);

 private:
  struct State;
  DecodeBudget();
  std::shared_ptr<State> state_;
};

// What decoding and analysing a photo of `pixels` pixels costs at its peak:
// the decoder's BGR, the RGB copy, its upright copy and the detector's copies.
inline int64_t decode_cost_bytes(int64_t pixels) { return pixels * 12; }

}  // namespace facedex::models
