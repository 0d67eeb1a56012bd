// Snapshot: a frozen session state that sessions start from or return to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pycell/error.h"

namespace pycell {

struct SnapshotState;  // opaque

/// A session's complete state at one moment: guest memory, interpreter
/// globals, the contents of /tmp and the open files. Immutable; copies share
/// it, and sessions made from it share its memory pages copy-on-write until
/// they write them. Thread-safe.
class Snapshot {
 public:
  /// Bytes that another process running the same pycell build can load with
  /// deserialize(): a header naming the build, the state, and a SHA-256 of it all.
  [[nodiscard]] Result<std::string> serialize() const;

  /// Loads serialize()'s output. Errors: kCorrupt if it is truncated, altered
  /// or not a snapshot; kInvalidArgument if another pycell build made it.
  static Result<Snapshot> deserialize(std::string_view bytes);

  /// Size of the guest memory it holds, in bytes.
  [[nodiscard]] uint64_t memory_bytes() const;

  const std::shared_ptr<const SnapshotState>& state() const { return state_; }
  explicit Snapshot(std::shared_ptr<const SnapshotState> s) : state_(std::move(s)) {}

 private:
  std::shared_ptr<const SnapshotState> state_;
};

}  // namespace pycell
