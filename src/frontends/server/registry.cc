// SessionRegistry: bounded maps of sessions and snapshots, idle expiry, and
// per-session exclusive use.
#include "registry.h"

#include <sys/random.h>

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace pycell::server {

std::string random_id(std::string_view prefix) {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      // Without randomness ids would be guessable; no server should run then.
      std::perror("pycell server: getrandom(16)");
      std::abort();
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(prefix);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool valid_worker_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 32) return false;
  for (char c : tag) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SessionRegistry::Use::~Use() {
  if (!entry_) return;  // moved from
  entry_->last_used_ms = now_ms();
  entry_->users--;
}

SessionRegistry::SessionRegistry(Engine engine, RegistryLimits limits, std::unique_ptr<DurableStore> store)
    : engine_(std::move(engine)), limits_(std::move(limits)), store_(std::move(store)) {}

namespace {
Error session_cap(size_t max) {
  return Error(ErrorCode::kResourceExhausted, "session limit reached: " + std::to_string(max) +
                                                  " sessions are open; close one, or wait for idle ones to expire");
}
Error owner_cap(size_t max) {
  return Error(ErrorCode::kResourceExhausted,
               "session limit reached: you have " + std::to_string(max) +
                   " sessions open, the most one client may have; close one, or wait for idle ones to expire");
}
}  // namespace

Result<void> SessionRegistry::reserve(const std::string& owner) {
  std::lock_guard lock(mu_);
  if (sessions_.size() + reserved_ >= limits_.max_sessions) return session_cap(limits_.max_sessions);
  size_t mine = reserved_by_owner_[owner];
  for (const auto& [id, e] : sessions_) mine += e->owner == owner;
  if (mine >= limits_.max_per_owner) {
    if (reserved_by_owner_[owner] == 0) reserved_by_owner_.erase(owner);
    return owner_cap(limits_.max_per_owner);
  }
  reserved_++;
  reserved_by_owner_[owner]++;
  return Ok();
}

void SessionRegistry::unreserve(const std::string& owner) {
  reserved_--;
  if (--reserved_by_owner_[owner] == 0) reserved_by_owner_.erase(owner);
}

Result<std::string> SessionRegistry::create(const std::string& owner, SessionConfig config, const Snapshot* from) {
  if (auto r = reserve(owner); !r) return r.error();
  // Creating takes about a millisecond: not under mu_.
  auto s = from ? Session::create(engine_, *from, config) : Session::create(engine_, config);
  if (!s) {
    std::lock_guard lock(mu_);
    unreserve(owner);
    return s.error();
  }
  return insert(owner, std::make_unique<Session>(std::move(*s)), std::move(config));
}

Result<std::string> SessionRegistry::adopt(const std::string& owner, Session session, SessionConfig config) {
  if (auto r = reserve(owner); !r) return r.error();
  return insert(owner, std::make_unique<Session>(std::move(session)), std::move(config));
}

Result<std::string> SessionRegistry::insert(const std::string& owner, std::unique_ptr<Session> s,
                                            SessionConfig config) {
  auto e = std::make_shared<SessionEntry>();
  e->id = random_id(limits_.worker_tag.empty() ? "ses_" : "ses_" + limits_.worker_tag + "_");
  e->owner = owner;
  e->config = std::move(config);
  e->created_ms = now_ms();
  e->last_used_ms = e->created_ms;
  e->session = std::move(s);
  if (store_) {
    // Durable from the start: any worker can continue it once it is answered.
    if (auto r = store_->save(e->id, owner, e->config, *e->session, e->version); !r) {
      std::lock_guard lock(mu_);
      unreserve(owner);
      return r.error();
    }
  } else {
    e->version = 1;
  }
  std::lock_guard lock(mu_);
  unreserve(owner);
  sessions_[e->id] = e;
  return e->id;
}

std::optional<SessionRegistry::Use> SessionRegistry::use(const std::string& id, const std::string& owner,
                                                        std::optional<Error>* failure) {
  std::shared_ptr<SessionEntry> e;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) {
      if (it->second->owner != owner) return std::nullopt;
      e = it->second;
      e->users++;  // under mu_, so the reaper cannot take it from here on
    }
  }
  if (!e) {
    if (!store_ || stopping_) return std::nullopt;
    e = adopt_stored(id, owner, failure);
    if (!e) return std::nullopt;
  }
  std::unique_lock lock(e->mu);
  if (e->closed || stopping_) {
    e->users--;
    return std::nullopt;
  }
  if (store_) {
    // The local copy is a cache: another worker may have moved the session
    // on (after a failover, or while this one was drained).
    auto fresh = refresh(*e);
    if (!fresh || !*fresh) {
      if (!fresh && failure) *failure = fresh.error();
      forget(*e);
      e->users--;
      return std::nullopt;
    }
  }
  e->last_used_ms = now_ms();
  return Use(std::move(e), std::move(lock));
}

std::shared_ptr<SessionEntry> SessionRegistry::adopt_stored(const std::string& id, const std::string& owner,
                                                            std::optional<Error>* failure) {
  auto fail = [&](Error err) -> std::shared_ptr<SessionEntry> {
    if (failure) *failure = std::move(err);
    return nullptr;
  };
  if (auto r = reserve(owner); !r) return fail(r.error());
  auto stored = store_->load(id, owner);
  std::unique_ptr<Session> session;
  if (stored && *stored) {
    auto s = Session::create(engine_, (*stored)->snapshot, (*stored)->config);
    if (s) {
      session = std::make_unique<Session>(std::move(*s));
    } else {
      stored = s.error();
    }
  }
  std::lock_guard lock(mu_);
  unreserve(owner);
  if (!stored) return fail(stored.error());
  if (!*stored) return nullptr;
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    // Another request adopted it meanwhile: share that copy.
    it->second->users++;
    return it->second;
  }
  if (sessions_.size() >= limits_.max_sessions) return fail(session_cap(limits_.max_sessions));
  auto e = std::make_shared<SessionEntry>();
  e->id = id;
  e->owner = owner;
  e->config = std::move((*stored)->config);
  e->version = (*stored)->version;
  e->created_ms = now_ms();
  e->last_used_ms = e->created_ms;
  e->session = std::move(session);
  e->users++;
  sessions_[id] = e;
  return e;
}

Result<bool> SessionRegistry::refresh(SessionEntry& e) {
  auto v = store_->version(e.id);
  if (!v) return v.error();
  if (!*v) return false;  // closed through another worker, or expired
  if (**v == e.version) return true;
  auto stored = store_->load(e.id, e.owner);
  if (!stored) return stored.error();
  if (!*stored) return false;
  auto s = Session::create(engine_, (*stored)->snapshot, (*stored)->config);
  if (!s) return s.error();
  auto old = std::make_unique<Session>(std::move(*s));
  {
    std::lock_guard lock(e.cancel_mu);
    e.session.swap(old);
  }
  e.config = std::move((*stored)->config);
  e.version = (*stored)->version;
  return true;
}

void SessionRegistry::forget(SessionEntry& e) {
  e.closed = true;
  std::lock_guard lock(mu_);
  if (auto it = sessions_.find(e.id); it != sessions_.end() && it->second.get() == &e) sessions_.erase(it);
}

Result<void> SessionRegistry::commit(Use& use) {
  SessionEntry& e = use.entry();
  if (!store_) {
    ++e.version;
    return Ok();
  }
  auto r = store_->save(e.id, e.owner, e.config, *e.session, e.version);
  if (!r) forget(e);  // the store's state is the truth; this copy went past it
  return r;
}

Result<void> SessionRegistry::reset(Use& use) {
  SessionEntry& e = use.entry();
  auto fresh = Session::create(engine_, e.config);
  if (!fresh) return fresh.error();
  auto old = std::make_unique<Session>(std::move(*fresh));
  {
    std::lock_guard lock(e.cancel_mu);
    e.session.swap(old);
  }
  return Ok();  // `old` is destroyed here, outside cancel_mu
}

void SessionRegistry::cancel(SessionEntry& e) {
  std::lock_guard lock(e.cancel_mu);
  if (e.session) e.session->cancel();
}

Result<bool> SessionRegistry::close(const std::string& id, const std::string& owner) {
  std::shared_ptr<SessionEntry> e;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end() && it->second->owner == owner) {
      e = std::move(it->second);
      sessions_.erase(it);
      bury(*e, Absence::kClosed);
    }
  }
  if (e) {
    e->closed = true;
    if (e->users > 0) cancel(*e);
  }
  if (!store_) return e != nullptr;  // the session is destroyed when its last user lets go
  auto removed = store_->remove(id, owner);
  if (!removed) return removed.error();
  return e != nullptr || *removed;
}

void SessionRegistry::close_owner(const std::string& owner) {
  std::vector<std::shared_ptr<SessionEntry>> gone;
  {
    std::lock_guard lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->owner == owner) {
        bury(*it->second, Absence::kClosed);
        gone.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = snapshots_.begin(); it != snapshots_.end();) {
      it = it->second.owner == owner ? erase_snapshot(it) : std::next(it);
    }
  }
  for (auto& e : gone) {
    e->closed = true;
    if (e->users > 0) cancel(*e);
  }
}

void SessionRegistry::bury(const SessionEntry& e, Absence why) {
  // A ring of ids: the oldest grave is reused, so the memory is bounded
  // however many sessions come and go.
  if (graves_order_.size() < kGraves) {
    graves_order_.push_back(e.id);
  } else {
    graves_.erase(graves_order_[graves_next_]);
    graves_order_[graves_next_] = e.id;
    graves_next_ = (graves_next_ + 1) % kGraves;
  }
  graves_[e.id] = Grave{e.owner, why};
}

Absence SessionRegistry::absence(const std::string& id, const std::string& owner) const {
  std::lock_guard lock(mu_);
  auto it = graves_.find(id);
  // Another owner's session is reported as unknown: its fate is not this
  // client's business.
  if (it == graves_.end() || it->second.owner != owner) return Absence::kUnknown;
  return it->second.why;
}

std::vector<SessionInfo> SessionRegistry::list(const std::string& owner) const {
  std::vector<SessionInfo> out;
  int64_t now = now_ms();
  std::lock_guard lock(mu_);
  for (const auto& [id, e] : sessions_) {
    if (e->owner != owner) continue;
    out.push_back({id, now - e->created_ms, now - e->last_used_ms.load(), e->execs.load(), e->users.load() > 0});
  }
  return out;
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

Result<std::string> SessionRegistry::store_snapshot(const std::string& owner, Snapshot snapshot, SessionConfig config) {
  std::string id = random_id("snap_");
  const uint64_t bytes = snapshot.memory_bytes();
  if (store_) {
    // The store's copy is the only one: any worker reads it, and a delete
    // through any worker is seen by all.
    if (auto r = store_->save_snapshot(id, owner, config, snapshot, limits_.snapshot_idle_ms); !r) return r.error();
    return id;
  }
  std::lock_guard lock(mu_);
  if (snapshots_.size() >= limits_.max_snapshots) {
    return Error(ErrorCode::kResourceExhausted, "snapshot limit reached: " + std::to_string(limits_.max_snapshots) +
                                                    " snapshots are stored; delete one");
  }
  if (bytes > limits_.max_snapshot_bytes - std::min(snapshot_bytes_, limits_.max_snapshot_bytes)) {
    return Error(ErrorCode::kResourceExhausted,
                 "snapshot byte limit reached: this one holds " + std::to_string(bytes) + " bytes, " +
                     std::to_string(snapshot_bytes_) + " of the " + std::to_string(limits_.max_snapshot_bytes) +
                     " allowed are held already; delete one");
  }
  snapshots_.emplace(id, StoredSnapshot{owner, std::move(snapshot), std::move(config), now_ms()});
  snapshot_bytes_ += bytes;
  return id;
}

std::map<std::string, StoredSnapshot>::iterator SessionRegistry::erase_snapshot(
    std::map<std::string, StoredSnapshot>::iterator it) {
  snapshot_bytes_ -= it->second.snapshot.memory_bytes();
  return snapshots_.erase(it);
}

std::optional<StoredSnapshot> SessionRegistry::find_snapshot(const std::string& id, const std::string& owner,
                                                             std::optional<Error>* failure) {
  {
    std::lock_guard lock(mu_);
    auto it = snapshots_.find(id);
    if (it != snapshots_.end()) {
      if (it->second.owner != owner) return std::nullopt;
      it->second.last_used_ms = now_ms();
      return it->second;
    }
  }
  if (!store_) return std::nullopt;
  auto stored = store_->load_snapshot(id, owner);
  if (!stored) {
    if (failure) *failure = stored.error();
    return std::nullopt;
  }
  if (!*stored) return std::nullopt;
  return StoredSnapshot{owner, std::move((*stored)->snapshot), std::move((*stored)->config), now_ms()};
}

Result<bool> SessionRegistry::drop_snapshot(const std::string& id, const std::string& owner) {
  bool dropped = false;
  {
    std::lock_guard lock(mu_);
    auto it = snapshots_.find(id);
    if (it != snapshots_.end() && it->second.owner == owner) {
      erase_snapshot(it);
      dropped = true;
    }
  }
  if (!store_) return dropped;
  auto removed = store_->remove_snapshot(id, owner);
  if (!removed) return removed.error();
  return dropped || *removed;
}

size_t SessionRegistry::snapshot_count() const {
  std::lock_guard lock(mu_);
  return snapshots_.size();
}

uint64_t SessionRegistry::snapshot_bytes() const {
  std::lock_guard lock(mu_);
  return snapshot_bytes_;
}

size_t SessionRegistry::expire_idle() {
  std::vector<std::shared_ptr<SessionEntry>> gone;
  int64_t now = now_ms();
  {
    std::lock_guard lock(mu_);
    // A snapshot outlives its session, so it needs an expiry of its own:
    // otherwise a client pins its pages after every session is gone.
    for (auto it = snapshots_.begin(); it != snapshots_.end();) {
      bool idle = now - it->second.last_used_ms >= static_cast<int64_t>(limits_.snapshot_idle_ms);
      it = idle ? erase_snapshot(it) : std::next(it);
    }
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      const auto& e = it->second;
      if (e->users == 0 && now - e->last_used_ms >= static_cast<int64_t>(limits_.idle_ms)) {
        e->closed = true;
        bury(*e, Absence::kExpired);
        gone.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return gone.size();  // destroyed here, outside mu_
}

void SessionRegistry::cancel_all() {
  std::vector<std::shared_ptr<SessionEntry>> all;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, e] : sessions_) all.push_back(e);
    // Under mu_: untrack_run cannot return (and the session be destroyed)
    // while it is being cancelled.
    for (Session* s : runs_) s->cancel();
  }
  for (auto& e : all) {
    if (e->users > 0) cancel(*e);
  }
}

bool SessionRegistry::track_run(Session* session) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  runs_.insert(session);
  return true;
}

void SessionRegistry::untrack_run(Session* session) {
  std::lock_guard lock(mu_);
  runs_.erase(session);
}

}  // namespace pycell::server
