// Just enough of the protocol-buffer wire format to read an ONNX model: the
// fields of one message as they are on the wire (protobuf_writer.h writes them).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace facedex::models::protobuf {

// One field of a message.
struct Field {
  int number = 0;
  int wire_type = 0;       // 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
  uint64_t scalar = 0;     // a varint's value, or a fixed field's bits
  std::string_view value;  // a length-delimited field's payload
  std::string_view raw;    // the whole field, key included, to copy it unchanged
};

inline constexpr int kVarintWire = 0, kFixed64Wire = 1, kLengthDelimitedWire = 2, kFixed32Wire = 5;

bool read_varint(std::string_view* in, uint64_t* v);

// The fields of one message, or false when the bytes are not a message.
bool read_fields(std::string_view message, std::vector<Field>* fields);

}  // namespace facedex::models::protobuf
