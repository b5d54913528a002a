#include "storage/ann/aligned_block.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace facedex::storage {

void FreeAlignedBlock::operator()(uint8_t* p) const { std::free(p); }

AlignedBlock allocate_block(size_t bytes) {
  constexpr size_t kHugePage = size_t(2) << 20;
  bytes = std::max<size_t>(bytes, 64);
  const bool huge = bytes >= 2 * kHugePage;
  const size_t alignment = huge ? kHugePage : 64;
  const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  auto* memory = static_cast<uint8_t*>(std::aligned_alloc(alignment, rounded));
  if (!memory) throw std::bad_alloc();
  if (huge) madvise(memory, rounded, MADV_HUGEPAGE);
  return AlignedBlock(memory);
}

}  // namespace facedex::storage
