// StoreEntry: a durable session or snapshot as it lies in the shared store,
// sealed with an HMAC-SHA256 under the cluster key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pycell/error.h"

namespace pycell::server {

/// What one store entry holds. The snapshot inside is itself sealed
/// (Snapshot::serialize_delta); the entry's seal binds it to its id, kind,
/// owner and version, so an entry cannot be moved to another id or passed
/// off as another version.
struct StoreEntry {
  enum class Kind : uint8_t { kSession = 1, kSnapshot = 2 };
  Kind kind = Kind::kSession;
  std::string id;
  /// The principal it belongs to (registry owner: "rest", "mcp:http").
  std::string owner;
  /// 1 for a new session, one more after every committed change.
  uint64_t version = 0;
  /// The session's configuration as a client could have set it (JSON).
  std::string config;
  std::string snapshot;
};

/// The entry's bytes:
///   "PYCELLSTORE1" | u8 kind | u64 version | u32 length + id | u32 length +
///   owner | u32 length + config | u64 length + snapshot | HMAC-SHA256(key, all before)
std::string encode_entry(const StoreEntry& entry, std::string_view key);

/// Checks the seal (in constant time) before reading any field, then every
/// length against the bytes left; and that the entry is of `kind` and named
/// `id` (what the store key said). Errors: kCorrupt with a message that
/// names the entry.
Result<StoreEntry> decode_entry(std::string_view bytes, std::string_view key, StoreEntry::Kind kind,
                                std::string_view id);

}  // namespace pycell::server
