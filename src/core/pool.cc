// SessionPool: a slot counter, a queue of warm sessions and the thread that fills it.
#include "pycell/pool.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace pycell {

struct PoolState {
  Engine engine;
  PoolConfig config;
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::unique_ptr<Session>> warm;
  /// The session the warmer is running "0" in (the warmer thread's alone). Held
  /// here, not on the warmer's stack: the run switches the thread onto a guest
  /// stack, and LeakSanitizer then scans that stack instead of the thread's own
  /// and reported the session as leaked (found by the mcp_stdio and
  /// http_request fuzzers, whose servers keep pools).
  std::unique_ptr<Session> warming;
  size_t in_use = 0;
  bool stopping = false;
  std::thread warmer;

  PoolState(Engine e, PoolConfig c) : engine(std::move(e)), config(std::move(c)) {}

  Result<std::unique_ptr<Session>> make() {
    auto s = Session::create(engine, config.session);
    if (!s) return s.error();
    return std::make_unique<Session>(std::move(*s));
  }

  void run_warmer() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      if (warm.size() >= config.warm) {
        wake.wait(lock);
        continue;
      }
      lock.unlock();
      auto s = make();
      if (s) {
        warming = std::move(*s);
        // Fault in the pages a first exec touches (a value is reported, as for
        // most cells); a failure just leaves the session cold.
        (void)warming->exec("0");
      }
      lock.lock();
      if (!s) {
        wake.wait_for(lock, std::chrono::seconds(1));  // e.g. out of memory: retry later
        continue;
      }
      warm.push_back(std::move(warming));
    }
  }
};

SessionPool::Lease::Lease(std::shared_ptr<PoolState> pool, std::unique_ptr<Session> s)
    : pool_(std::move(pool)), session_(std::move(s)) {}
SessionPool::Lease::Lease(Lease&&) noexcept = default;
SessionPool::Lease& SessionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    this->~Lease();
    new (this) Lease(std::move(other));
  }
  return *this;
}
SessionPool::Lease::~Lease() {
  if (!pool_) return;
  session_.reset();  // never reused
  std::lock_guard<std::mutex> lock(pool_->mu);
  --pool_->in_use;
}

Result<std::unique_ptr<SessionPool>> SessionPool::create(const Engine& engine, PoolConfig config) {
  auto state = std::make_shared<PoolState>(engine, std::move(config));
  auto probe = state->make();  // fail early if sessions cannot be made at all
  if (!probe) return probe.error();
  if (state->config.warm > 0) state->warmer = std::thread([s = state.get()] { s->run_warmer(); });
  return std::unique_ptr<SessionPool>(new SessionPool(std::move(state)));
}

SessionPool::~SessionPool() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (state_->warmer.joinable()) state_->warmer.join();
}

Result<SessionPool::Lease> SessionPool::acquire() {
  std::unique_ptr<Session> session;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->in_use >= state_->config.max_sessions) {
      return Error(ErrorCode::kResourceExhausted,
                   "session pool is full (" + std::to_string(state_->config.max_sessions) + " in use)");
    }
    ++state_->in_use;
    if (!state_->warm.empty()) {
      session = std::move(state_->warm.front());
      state_->warm.pop_front();
    }
  }
  state_->wake.notify_one();
  if (!session) {
    auto made = state_->make();
    if (!made) {
      std::lock_guard<std::mutex> lock(state_->mu);
      --state_->in_use;
      return made.error();
    }
    session = std::move(*made);
  }
  return Lease(state_, std::move(session));
}

size_t SessionPool::in_use() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->in_use;
}

}  // namespace pycell
