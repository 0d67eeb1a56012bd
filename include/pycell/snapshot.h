// Snapshot: a frozen session state that sessions start from or return to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pycell/error.h"

namespace pycell {

class Engine;
struct SnapshotState;  // opaque

/// A session's complete state at one moment: guest memory, interpreter
/// globals, the contents of /tmp and the open files. Immutable; copies share
/// it, and sessions made from it share its memory pages copy-on-write until
/// they write them. Thread-safe.
class Snapshot {
 public:
  /// Bytes that deserialize() loads in `engine`, or in any Engine of the same
  /// pycell build holding the same EngineConfig::snapshot_key (in any process):
  /// a header naming the build, the state, and an HMAC-SHA256 of it all under
  /// that key. Without a configured key the Engine's key is random, so only
  /// `engine` itself loads them. The bytes are authenticated, not encrypted:
  /// they hold whatever the guest held (variables, /tmp), so store them as
  /// you would that data.
  /// Errors: kInvalidArgument if a file is open outside /tmp.
  [[nodiscard]] Result<std::string> serialize(const Engine& engine) const;

  /// Like serialize(), but the memory is stored as the 4 KiB pages that differ
  /// from `engine`'s pre-initialized snapshot, and the whole compressed with
  /// zstd: kilobytes for a session that ran a few cells, where serialize()
  /// writes its whole memory. The result names that base by its SHA-256 and
  /// loads only in Engines whose base is byte-identical: the same build,
  /// preload and EngineConfig::hash_seed (without a hash_seed each Engine
  /// draws its own secret, so only `engine` itself loads it), and the same
  /// snapshot_key. Errors: as serialize().
  [[nodiscard]] Result<std::string> serialize_delta(const Engine& engine) const;

  /// Loads serialize()'s or serialize_delta()'s output, sealed with `engine`'s key. The seal is
  /// checked (in constant time) before anything else is read, so bytes from a
  /// party without the key are refused unparsed; behind it, every count and
  /// length is still checked against the bytes given before anything is
  /// allocated (a delta's inner size, sealed too, is checked against the
  /// decompressed bytes).
  /// A serialized snapshot may cross a trust boundary only between parties
  /// that share the key. Errors: kCorrupt if it is truncated, altered, sealed
  /// with another key or not a snapshot; kInvalidArgument if another pycell
  /// build (or snapshot format) made it, or if it is a delta against another
  /// base.
  static Result<Snapshot> deserialize(const Engine& engine, std::string_view bytes);

  /// Size of the guest memory it holds, in bytes.
  [[nodiscard]] uint64_t memory_bytes() const;

  const std::shared_ptr<const SnapshotState>& state() const { return state_; }
  explicit Snapshot(std::shared_ptr<const SnapshotState> s) : state_(std::move(s)) {}

 private:
  std::shared_ptr<const SnapshotState> state_;
};

}  // namespace pycell
