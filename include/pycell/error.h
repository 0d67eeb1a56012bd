// Host errors and Result<T>: how the core reports expected failures without exceptions.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace pycell {

/// Broad class of a host-side failure. Guest failures (Python exceptions, traps,
/// exits) are not Errors: they are outcomes reported in an ExecResult.
enum class ErrorCode {
  kInvalidArgument,  ///< the caller passed something malformed
  kNotFound,         ///< a named file, image or object does not exist
  kIo,               ///< the host OS refused an operation
  kCorrupt,          ///< an image or snapshot failed its integrity check
  kGuest,            ///< the guest broke the host/guest protocol
  kResourceExhausted,///< a host resource (memory map, thread, pool slot) ran out
  kUnavailable,      ///< the session cannot run (e.g. it was closed after a trap)
  kConflict,         ///< valid, but at odds with what exists (a file where a directory is needed)
};

/// A host error: a code plus a message that names the operation and its arguments.
class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  [[nodiscard]] ErrorCode code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }

 private:
  ErrorCode code_;
  std::string message_;
};

/// Either a T or an Error; shaped like std::expected so C++23 is a rename.
/// Accessing the wrong alternative is a host bug and aborts.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit like expected
  Result(Error error) : v_(std::move(error)) {}      // NOLINT
  [[nodiscard]] bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { check(true); return std::get<0>(v_); }
  const T& value() const& { check(true); return std::get<0>(v_); }
  T&& value() && { check(true); return std::get<0>(std::move(v_)); }
  const Error& error() const { check(false); return std::get<1>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check(bool want_value) const {
    if (has_value() != want_value) std::abort();
  }
  std::variant<T, Error> v_;
};

/// Result of an operation with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  [[nodiscard]] bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    if (ok_) std::abort();
    return error_;
  }

 private:
  Error error_{ErrorCode::kInvalidArgument, {}};
  bool ok_ = true;
};

inline Result<void> Ok() { return {}; }

}  // namespace pycell
