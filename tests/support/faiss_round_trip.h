// A FAISS index written to memory and read back by FAISS alone: what a saved
// index becomes when a gallery is opened again.
#pragma once

#include <faiss/Index.h>

#include <memory>

namespace facedex::testing {

std::unique_ptr<faiss::Index> faiss_round_trip(const faiss::Index& index);

}  // namespace facedex::testing
