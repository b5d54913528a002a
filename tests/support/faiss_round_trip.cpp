#include "tests/support/faiss_round_trip.h"

#include <faiss/impl/io.h>
#include <faiss/index_io.h>

namespace facedex::testing {

std::unique_ptr<faiss::Index> faiss_round_trip(const faiss::Index& index) {
  faiss::VectorIOWriter writer;
  faiss::write_index(&index, &writer);
  faiss::VectorIOReader reader;
  reader.data = writer.data;
  return std::unique_ptr<faiss::Index>(faiss::read_index(&reader));
}

}  // namespace facedex::testing
