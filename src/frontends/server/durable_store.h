// DurableStore: sessions and snapshots kept in a shared Redis, so that any
// worker can continue any session (docs/deploy.md).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pycell/engine.h"
#include "pycell/session.h"
#include "pycell/snapshot.h"
#include "redis_store.h"

namespace pycell::server {

/// A session or snapshot read back from the store.
struct DurableState {
  std::string owner;
  SessionConfig config;
  /// Sessions: the version read; snapshots: 0.
  uint64_t version = 0;
  Snapshot snapshot;
};

/// Thread-safe. Every state is a delta snapshot (Snapshot::serialize_delta:
/// zstd, sealed with the cluster key) inside a store entry (store_entry.h,
/// sealed again with its id, owner and version). Errors: kIo when the store
/// cannot be reached or does not answer in time; kCorrupt for an entry that
/// fails its seal or does not parse; kConflict when a write lost the race
/// (another worker wrote a newer version).
class DurableStore {
 public:
  /// `cluster_key` seals entries (the engine's snapshot_key); `server` is the
  /// operator's session config, which stored configs are applied to.
  DurableStore(std::unique_ptr<RedisStore> redis, Engine engine, std::string cluster_key, SessionConfig server,
               uint64_t ttl_ms)
      : redis_(std::move(redis)),
        engine_(std::move(engine)),
        key_(std::move(cluster_key)),
        server_(std::move(server)),
        ttl_ms_(ttl_ms) {}

  /// Writes `session`'s state as version `version` + 1, if the store still
  /// holds `version` (0: a new session); then `version` is the new one.
  /// Takes a snapshot (Session::snapshot), which becomes the session's
  /// rollback target: what is stored is what a trap returns to.
  Result<void> save(const std::string& id, const std::string& owner, const SessionConfig& config, Session& session,
                    uint64_t& version);
  /// The session `id` of `owner`; nullopt if the store has none (or another owner's).
  Result<std::optional<DurableState>> load(const std::string& id, const std::string& owner);
  /// The version stored for `id` (nullopt: none), and its life extended.
  Result<std::optional<uint64_t>> version(const std::string& id);
  /// Deletes session `id` of `owner`; false if there was none.
  Result<bool> remove(const std::string& id, const std::string& owner);

  Result<void> save_snapshot(const std::string& id, const std::string& owner, const SessionConfig& config,
                             const Snapshot& snapshot, uint64_t ttl_ms);
  Result<std::optional<DurableState>> load_snapshot(const std::string& id, const std::string& owner);
  Result<bool> remove_snapshot(const std::string& id, const std::string& owner);

 private:
  Result<std::optional<DurableState>> read(const std::string& store_key, const std::string& id,
                                           const std::string& owner, bool session);

  std::unique_ptr<RedisStore> redis_;
  Engine engine_;
  const std::string key_;
  const SessionConfig server_;
  const uint64_t ttl_ms_;
};

}  // namespace pycell::server
