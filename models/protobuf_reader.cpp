#include "models/protobuf_reader.h"

#include <cstring>

namespace facedex::models::protobuf {

bool read_varint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = uint8_t(in->front());
    in->remove_prefix(1);
    *v |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

bool read_fields(std::string_view message, std::vector<Field>* fields) {
  fields->clear();
  while (!message.empty()) {
    const char* start = message.data();
    uint64_t key = 0;
    if (!read_varint(&message, &key)) return false;
    Field f;
    f.number = int(key >> 3);
    f.wire_type = int(key & 7);
    switch (f.wire_type) {
      case kVarintWire:
        if (!read_varint(&message, &f.scalar)) return false;
        break;
      case kFixed64Wire:
      case kFixed32Wire: {
        const size_t width = f.wire_type == kFixed64Wire ? 8 : 4;
        if (message.size() < width) return false;
        std::memcpy(&f.scalar, message.data(), width);  // little-endian, as the wire is
        message.remove_prefix(width);
        break;
      }
      case kLengthDelimitedWire: {
        uint64_t n = 0;
        if (!read_varint(&message, &n) || n > message.size()) return false;
        f.value = message.substr(0, n);
        message.remove_prefix(n);
        break;
      }
      default:
        return false;
    }
    f.raw = std::string_view(start, size_t(message.data() - start));
    fields->push_back(f);
  }
  return true;
}

}  // namespace facedex::models::protobuf
