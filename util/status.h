// Errors as values at module edges (see STYLE.md section 2).
//
// Status carries a code a caller can branch on and a message a user can act on:
// "photo.jpg: truncated JPEG (read 812 of 40960 bytes)". Libraries we call
// (dlib, FAISS, OpenCV, RocksDB) throw or return their own codes; the module that
// calls them translates at its edge.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace facedex {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,       // a file, record or model that should exist does not
    kInvalidInput,   // the input is not what it claims (corrupt, truncated, not an image)
    kUnsupported,    // a valid input we do not handle (format, size)
    kIoError,        // the OS refused (permission, disk full, vanished file)
    kCorruption,     // our own store is damaged
    kBusy,           // another process holds the database
    kModelMismatch,  // descriptors from two different models
    kInternal,       // a bug in facedex or a library it calls, never the input's fault
  };

  // What was wrong with an input, for summaries that group failures; set by
  // the code that found it, kept when the message gets a prefix.
  enum class Reason : uint8_t {
    kNone = 0,
    kEmpty,              // a file of 0 bytes
    kTruncated,          // the data ends too early
    kNotAnImage,         // text, unknown bytes, not a regular file
    kTooLarge,           // over a size, pixel or memory limit
    kCorrupt,            // an image whose data does not decode
    kUnsupportedFormat,  // an image format facedex does not read
  };

  Status() = default;
  static Status ok() { return Status(); }
  static Status not_found(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status invalid_input(std::string m) { return Status(Code::kInvalidInput, std::move(m)); }
  static Status unsupported(std::string m) { return Status(Code::kUnsupported, std::move(m)); }
  static Status io_error(std::string m) { return Status(Code::kIoError, std::move(m)); }
  static Status corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status busy(std::string m) { return Status(Code::kBusy, std::move(m)); }
  static Status model_mismatch(std::string m) { return Status(Code::kModelMismatch, std::move(m)); }
  static Status internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  Reason reason() const { return reason_; }

  // The same status with a reason.
  Status because(Reason reason) const {
    Status s = *this;
    s.reason_ = reason;
    return s;
  }
  // The same status (code and reason) with `prefix` before its message ("photo.jpg: ").
  Status prefixed(const std::string& prefix) const {
    Status s = *this;
    s.message_ = prefix + message_;
    return s;
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
  Reason reason_ = Reason::kNone;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Expected(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool has_value() const { return value_.has_value(); }
  explicit operator bool() const { return has_value(); }
  // A failed result's value is a bug: it stops the program, saying why.
  T& value() & {
    check_has_value();
    return *value_;
  }
  const T& value() const& {
    check_has_value();
    return *value_;
  }
  // Of a temporary, by value: `for (auto& x : f().value())` must not dangle.
  T value() && {
    check_has_value();
    return std::move(*value_);
  }
  // REQUIRES: has_value()
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  // REQUIRES: !has_value()
  const Status& status() const { return status_; }

 private:
  void check_has_value() const {
    if (value_) return;
    std::fprintf(stderr, "facedex: internal error: the value of a failed result was used (%s)\n",
                 status_.message().c_str());
    std::abort();
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace facedex
