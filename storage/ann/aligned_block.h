// One large allocation for a search structure's codes, in 2 MB huge pages
// when it is large enough to be worth them.
//
// Why: at a million faces a query reads hundreds of scattered spots of the
// 4-bit codes (16 MB) and of the 8-bit copies (160 MB); in 4 KB pages nearly
// each read began with a TLB miss (storage/ann/pq_fast_scan.h, sq8_vectors.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace facedex::storage {

struct FreeAlignedBlock {
  void operator()(uint8_t* p) const;
};
using AlignedBlock = std::unique_ptr<uint8_t[], FreeAlignedBlock>;

// At least `bytes` bytes, not cleared: from 4 MB on, 2 MB-aligned and advised
// to the kernel as huge pages (a hint; without it, 4 KB pages); below, 64-byte
// aligned. Throws std::bad_alloc when memory runs out.
AlignedBlock allocate_block(size_t bytes);

}  // namespace facedex::storage
