// SessionPool: bounded, pre-warmed fresh sessions for front ends.
#pragma once

#include <cstddef>
#include <memory>

#include "pycell/engine.h"
#include "pycell/error.h"
#include "pycell/session.h"

namespace pycell {

/// How a pool behaves. Consumed by SessionPool::create.
struct PoolConfig {
  /// Sessions checked out at once; past it acquire() fails (kResourceExhausted)
  /// instead of queueing, so a front end can answer "busy" (HTTP 429).
  size_t max_sessions = 64;
  /// Fresh sessions kept ready by a background thread. Each has already run a
  /// trivial exec (`0`), so its first pages are faulted in off the request path; each
  /// costs about 1 MiB of private memory while it waits.
  size_t warm = 2;
  /// Configuration of every session.
  SessionConfig session;
};

struct PoolState;

/// Hands out fresh sessions; a session is never reused after its lease ends
/// (it is destroyed), so a trapped or dirtied session cannot leak into another
/// user's. Thread-safe.
class SessionPool {
 public:
  /// A checked-out session; returning it (destruction) frees the slot.
  class Lease {
   public:
    Session& operator*() { return *session_; }
    Session* operator->() { return session_.get(); }
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) noexcept;
    ~Lease();

   private:
    friend class SessionPool;
    Lease(std::shared_ptr<PoolState> pool, std::unique_ptr<Session> s);
    std::shared_ptr<PoolState> pool_;
    std::unique_ptr<Session> session_;
  };

  /// Starts the pool and its warming thread. Errors: as Session::create.
  static Result<std::unique_ptr<SessionPool>> create(const Engine& engine, PoolConfig config);
  ~SessionPool();

  /// A fresh session (warm if one is ready). Errors: kResourceExhausted at
  /// max_sessions; as Session::create otherwise.
  Result<Lease> acquire();
  /// Sessions currently checked out.
  [[nodiscard]] size_t in_use() const;

 private:
  explicit SessionPool(std::shared_ptr<PoolState> s) : state_(std::move(s)) {}
  std::shared_ptr<PoolState> state_;
};

}  // namespace pycell
