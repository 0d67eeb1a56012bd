// SessionRegistry: the live sessions and stored snapshots of one server,
// bounded in number and idle time, each session used by one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "durable_store.h"
#include "pycell/engine.h"
#include "pycell/session.h"
#include "pycell/snapshot.h"

namespace pycell::server {

/// An unguessable identifier: `prefix` + 128 random bits in hex.
std::string random_id(std::string_view prefix);

/// Whether `tag` may name a worker in session ids: 1 to 32 of [a-z0-9-].
bool valid_worker_tag(std::string_view tag);

/// Milliseconds on the steady clock (for idle times).
int64_t now_ms();

/// One live session. Owned by the registry; a Use keeps it alive while in use.
struct SessionEntry {
  std::string id;
  /// The principal who may use it: "rest", "mcp:http" (the bearer token's
  /// holder) or "mcp:stdio" (the process that started `pycell mcp`).
  std::string owner;
  SessionConfig config;
  int64_t created_ms = 0;
  std::atomic<int64_t> last_used_ms{0};
  /// Requests holding or waiting for `mu`; the reaper skips busy sessions.
  std::atomic<int> users{0};
  std::atomic<bool> closed{false};
  std::atomic<uint64_t> execs{0};
  /// How many committed changes the session has seen (1 when created); with
  /// a durable store, the version the store had when `session` was loaded or
  /// last written. Guarded by `mu`.
  uint64_t version = 0;
  /// Held for the whole of any use of `session`.
  std::mutex mu;
  /// Held to replace `session` (with `mu`) and to cancel it (without `mu`).
  std::mutex cancel_mu;
  std::unique_ptr<Session> session;
};

/// What list() reports about a session.
struct SessionInfo {
  std::string id;
  int64_t age_ms = 0;
  int64_t idle_ms = 0;
  uint64_t execs = 0;
  bool busy = false;
};

/// Why use() found no session: what a client is told.
enum class Absence {
  kUnknown,  ///< never existed for this owner, or gone too long ago to remember
  kClosed,   ///< closed by its owner
  kExpired,  ///< closed after idle_ms without use
};

/// A snapshot kept for later restores and new sessions.
struct StoredSnapshot {
  std::string owner;
  Snapshot snapshot;
  /// The configuration of the session it was taken from.
  SessionConfig config;
  /// Last stored or found (steady clock ms): idle expiry counts from here.
  int64_t last_used_ms = 0;
};

/// The bounds of one registry (from ServerConfig).
struct RegistryLimits {
  size_t max_sessions = 64;
  /// Sessions one owner may have open at once (at most max_sessions).
  size_t max_per_owner = 64;
  /// Sessions unused this long are closed.
  uint64_t idle_ms = 60 * 60 * 1000;
  size_t max_snapshots = 64;
  /// Total Snapshot::memory_bytes() of the snapshots kept.
  uint64_t max_snapshot_bytes = 4ull << 30;
  /// Snapshots neither stored nor used this long are dropped.
  uint64_t snapshot_idle_ms = 15 * 60 * 1000;
  /// Written into the ids of new sessions ("ses_<tag>_<hex>") so that a
  /// router can send their requests back here; empty: "ses_<hex>".
  std::string worker_tag;
};

/// Thread-safe. Errors use kResourceExhausted at a cap, so front ends can map
/// them to 429.
class SessionRegistry {
 public:
  /// Exclusive use of one session; the session cannot be reaped while held.
  class Use {
   public:
    Session& operator*() { return *entry_->session; }
    Session* operator->() { return entry_->session.get(); }
    SessionEntry& entry() { return *entry_; }
    Use(Use&&) noexcept = default;
    ~Use();

   private:
    friend class SessionRegistry;
    Use(std::shared_ptr<SessionEntry> e, std::unique_lock<std::mutex> lock)
        : entry_(std::move(e)), lock_(std::move(lock)) {}
    std::shared_ptr<SessionEntry> entry_;
    std::unique_lock<std::mutex> lock_;
  };

  /// With `store`, sessions are durable: every change is written to it
  /// (commit), and a session this registry does not hold, or holds in an
  /// older version than the store's, is loaded from it on use.
  SessionRegistry(Engine engine, RegistryLimits limits, std::unique_ptr<DurableStore> store = nullptr);

  /// A new session, from `from` if given. Errors: kResourceExhausted at the
  /// cap; as Session::create.
  Result<std::string> create(const std::string& owner, SessionConfig config, const Snapshot* from = nullptr);
  /// Registers an existing session (a fork). Errors: kResourceExhausted.
  Result<std::string> adopt(const std::string& owner, Session session, SessionConfig config);
  /// Waits for exclusive use of session `id` of `owner`; nullopt if there is
  /// none (or it is closed while waiting). With a durable store, the session
  /// is brought up to the store's version first; if that fails (the store
  /// unreachable, its entry refused) nullopt with the error in `failure`.
  std::optional<Use> use(const std::string& id, const std::string& owner,
                         std::optional<Error>* failure = nullptr);
  /// Counts a change of the session as its next version; with a durable
  /// store, first writes its state there, before the change is acknowledged
  /// to anyone. If the write fails, this registry forgets its copy (the
  /// store's is the truth): kConflict if another worker wrote a newer
  /// version (this one was fenced out), kIo if the store cannot be reached.
  Result<void> commit(Use& use);
  bool durable() const { return store_ != nullptr; }
  /// Replaces the session's state with a fresh interpreter (same config).
  Result<void> reset(Use& use);
  /// Why `owner` has no session `id` (any more).
  Absence absence(const std::string& id, const std::string& owner) const;
  /// Stops the run in progress in the session held by `use` (from another
  /// thread than the one running it).
  static void cancel(SessionRegistry::Use& use) { cancel(*use.entry_); }
  /// Closes the session, cancelling a run in progress, and deletes it from
  /// the durable store. False if unknown. Errors: the store's (kIo).
  Result<bool> close(const std::string& id, const std::string& owner);
  /// Closes every session and snapshot of `owner`.
  void close_owner(const std::string& owner);
  std::vector<SessionInfo> list(const std::string& owner) const;
  size_t size() const;
  size_t max_sessions() const { return limits_.max_sessions; }
  const RegistryLimits& limits() const { return limits_; }

  /// Stores a snapshot; returns its id. With a durable store it is kept
  /// there only (and expires there). Errors: kResourceExhausted at the count
  /// cap or the byte cap; the store's.
  Result<std::string> store_snapshot(const std::string& owner, Snapshot snapshot, SessionConfig config);
  /// The snapshot, if `owner` has one called `id`; counts as a use. With a
  /// durable store, one this registry does not hold is read from it (errors
  /// in `failure`, as for use()).
  std::optional<StoredSnapshot> find_snapshot(const std::string& id, const std::string& owner,
                                              std::optional<Error>* failure = nullptr);
  /// Errors: the store's (kIo).
  Result<bool> drop_snapshot(const std::string& id, const std::string& owner);
  size_t snapshot_count() const;
  /// Total memory_bytes() of the stored snapshots.
  uint64_t snapshot_bytes() const;

  /// Closes sessions idle for longer than the idle time and drops snapshots
  /// unused for longer than theirs. Returns how many sessions it closed.
  size_t expire_idle();
  /// Server shutdown: cancels every running exec, in registry sessions and
  /// in tracked stateless runs, and makes use() and track_run() refuse from
  /// now on, so no run starts after it (a request waiting for a busy session
  /// would otherwise start a run nobody cancels).
  void cancel_all();

  /// Registers a session running outside the registry (a stateless exec),
  /// borrowed until untrack_run, so that cancel_all reaches it. False, and
  /// nothing registered, once cancel_all has run.
  bool track_run(Session* session);
  void untrack_run(Session* session);

  const Engine& engine() const { return engine_; }

 private:
  /// Takes a creation slot for `owner`, or says which cap is reached.
  Result<void> reserve(const std::string& owner);
  /// Gives back a slot taken by reserve; mu_ held.
  void unreserve(const std::string& owner);
  Result<std::string> insert(const std::string& owner, std::unique_ptr<Session> s, SessionConfig config);
  /// Loads session `id` from the store into a new entry, with a user
  /// counted; null if the store has none for `owner`.
  std::shared_ptr<SessionEntry> adopt_stored(const std::string& id, const std::string& owner,
                                             std::optional<Error>* failure);
  /// Replaces `e`'s session with the store's newer version; `e.mu` held.
  Result<bool> refresh(SessionEntry& e);
  /// Forgets a local copy that is no longer the truth (not buried: the
  /// store may still hold the session).
  void forget(SessionEntry& e);
  static void cancel(SessionEntry& e);
  /// Remembers why session `e` went away; mu_ held.
  void bury(const SessionEntry& e, Absence why);
  /// Erases one snapshot and its bytes from the total; mu_ held.
  std::map<std::string, StoredSnapshot>::iterator erase_snapshot(std::map<std::string, StoredSnapshot>::iterator it);

  Engine engine_;
  const RegistryLimits limits_;
  const std::unique_ptr<DurableStore> store_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<SessionEntry>> sessions_;
  /// Slots taken by creations still in progress (they run without mu_), in
  /// all and per owner.
  size_t reserved_ = 0;
  std::map<std::string, size_t> reserved_by_owner_;
  /// Ids of sessions closed or expired lately, with their owner and why,
  /// oldest first in `graves_order_`; at most kGraves are kept.
  struct Grave {
    std::string owner;
    Absence why;
  };
  static constexpr size_t kGraves = 4096;
  std::map<std::string, Grave> graves_;
  std::vector<std::string> graves_order_;
  size_t graves_next_ = 0;
  std::map<std::string, StoredSnapshot> snapshots_;
  /// Sum of memory_bytes() over snapshots_; guarded by mu_.
  uint64_t snapshot_bytes_ = 0;
  /// Stateless runs in progress (see track_run); guarded by mu_.
  std::set<Session*> runs_;
  /// Set by cancel_all.
  std::atomic<bool> stopping_{false};
};

}  // namespace pycell::server
