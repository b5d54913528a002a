// Just enough of the protocol-buffer wire format to write an ONNX model
// (onnx.proto) or a TensorFlow GraphDef: varints, length-delimited strings and nested messages, packed
// integers and floats. Writing these few fields by hand keeps facedex free of
// a protobuf/onnx build dependency for one exporter.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace facedex::models::protobuf {

class Message {
 public:
  void add_int(int field, int64_t value) {
    key(field, kVarint);
    varint(uint64_t(value));
  }
  void add_float(int field, float value) {
    key(field, kFixed32);
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 4; ++i) bytes_.push_back(char((bits >> (8 * i)) & 0xff));
  }
  void add_bytes(int field, const std::string& value) {
    key(field, kLengthDelimited);
    varint(value.size());
    bytes_ += value;
  }
  void add_message(int field, const Message& m) { add_bytes(field, m.bytes_); }
  // A field as read (protobuf_reader.h's Field::raw), key included.
  void add_raw(std::string_view field) { bytes_.append(field); }
  void add_packed_ints(int field, const std::vector<int64_t>& values) {
    Message packed;
    for (int64_t v : values) packed.varint(uint64_t(v));
    add_bytes(field, packed.bytes_);
  }
  // Little-endian IEEE floats, as ONNX's TensorProto.raw_data holds them (x86 order).
  void add_raw_floats(int field, const std::vector<float>& values) {
    std::string raw(values.size() * sizeof(float), '\0');
    if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
    add_bytes(field, raw);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  enum WireType { kVarint = 0, kLengthDelimited = 2, kFixed32 = 5 };
  void key(int field, WireType type) { varint((uint64_t(field) << 3) | type); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(char((v & 0x7f) | 0x80));
      v >>= 7;
    }
    bytes_.push_back(char(v));
  }
  std::string bytes_;
};

}  // namespace facedex::models::protobuf
