// DurableStore: delta snapshots in sealed store entries, written with
// compare-and-set on the version.
#include "durable_store.h"

#include "common/policy.h"
#include "pycell/json.h"
#include "store_entry.h"

namespace pycell::server {
namespace {

std::string session_key(const std::string& id) { return "pycell:session:" + id; }
std::string snapshot_key(const std::string& id) { return "pycell:snapshot:" + id; }

/// What a client can have changed of the operator's config: its limits and
/// determinism, and whether it dropped the HTTP grant. Grants themselves
/// (mounts, secret headers, env) never leave the worker: every worker has
/// the operator's own.
std::string durable_config(const SessionConfig& config, const SessionConfig& server) {
  nlohmann::json all = policy::to_json(config);
  nlohmann::json out = {{"limits", all["limits"]}, {"determinism", all["determinism"]}};
  if (server.http && !config.http) out["http"] = nullptr;
  return out.dump();
}

}  // namespace

Result<void> DurableStore::save(const std::string& id, const std::string& owner, const SessionConfig& config,
                                Session& session, uint64_t& version) {
  auto snap = session.snapshot();
  if (!snap) return snap.error();
  auto bytes = snap->serialize_delta(engine_);
  if (!bytes) return bytes.error();
  StoreEntry e{StoreEntry::Kind::kSession, id, owner, version + 1, durable_config(config, server_), std::move(*bytes)};
  auto r = redis_->compare_and_set(session_key(id), version, version + 1, owner, encode_entry(e, key_), ttl_ms_);
  if (!r) return r.error();
  if (*r) {
    return Error(ErrorCode::kConflict, "session '" + id + "' was changed elsewhere (the store holds version " +
                                           std::to_string(**r) + ", this worker had " + std::to_string(version) +
                                           "): this run is not kept; retry it");
  }
  ++version;
  return Ok();
}

Result<std::optional<DurableState>> DurableStore::read(const std::string& store_key, const std::string& id,
                                                       const std::string& owner, bool session) {
  auto bytes = redis_->get(store_key, "e");
  if (!bytes) return bytes.error();
  if (!*bytes) return std::optional<DurableState>();
  const auto kind = session ? StoreEntry::Kind::kSession : StoreEntry::Kind::kSnapshot;
  auto e = decode_entry(**bytes, key_, kind, id);
  if (!e) return e.error();
  if (e->owner != owner) return std::optional<DurableState>();
  auto snap = Snapshot::deserialize(engine_, e->snapshot);
  if (!snap) {
    return Error(snap.error().code() == ErrorCode::kCorrupt ? ErrorCode::kCorrupt : ErrorCode::kInvalidArgument,
                 "stored state of '" + id + "' does not load here: " + snap.error().message());
  }
  SessionConfig config = server_;
  std::string why;
  auto stored = parse_json(e->config, &why);
  if (!stored) return Error(ErrorCode::kCorrupt, "stored config of '" + id + "' is " + why);
  if (auto r = policy::apply_json(config, *stored, policy::Trust::kClient); !r) {
    return Error(ErrorCode::kInvalidArgument,
                 "stored config of '" + id + "' does not fit this worker's: " + r.error().message());
  }
  return std::optional<DurableState>(DurableState{e->owner, std::move(config), e->version, std::move(*snap)});
}

Result<std::optional<DurableState>> DurableStore::load(const std::string& id, const std::string& owner) {
  return read(session_key(id), id, owner, true);
}

Result<std::optional<uint64_t>> DurableStore::version(const std::string& id) {
  return redis_->version(session_key(id), ttl_ms_);
}

Result<bool> DurableStore::remove(const std::string& id, const std::string& owner) {
  return redis_->remove(session_key(id), owner);
}

Result<void> DurableStore::save_snapshot(const std::string& id, const std::string& owner, const SessionConfig& config,
                                         const Snapshot& snapshot, uint64_t ttl_ms) {
  auto bytes = snapshot.serialize_delta(engine_);
  if (!bytes) return bytes.error();
  StoreEntry e{StoreEntry::Kind::kSnapshot, id, owner, 0, durable_config(config, server_), std::move(*bytes)};
  return redis_->put_new(snapshot_key(id), owner, encode_entry(e, key_), ttl_ms);
}

Result<std::optional<DurableState>> DurableStore::load_snapshot(const std::string& id, const std::string& owner) {
  return read(snapshot_key(id), id, owner, false);
}

Result<bool> DurableStore::remove_snapshot(const std::string& id, const std::string& owner) {
  return redis_->remove(snapshot_key(id), owner);
}

}  // namespace pycell::server
