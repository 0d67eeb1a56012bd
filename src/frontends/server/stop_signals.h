// StopSignals: how both servers learn of SIGINT and SIGTERM (a waiter thread,
// not a handler, so stopping may lock, log and cancel sessions).
#pragma once

#include <signal.h>

#include <functional>
#include <mutex>
#include <thread>

namespace pycell::server {

/// Blocks SIGINT and SIGTERM on construction: create it before any other
/// thread starts, so every thread inherits the mask and only the waiter
/// receives them. Restores the old mask on destruction.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// Starts the waiter: on the first signal it logs "<who>: stopping" and
  /// calls `on_stop` once, on the waiter thread. Call once.
  void watch(const char* who, std::function<void()> on_stop);

  /// Ends the waiter (without calling on_stop if no signal came) and joins it.
  /// Call before what on_stop uses is destroyed; idempotent.
  void stop();

 private:
  sigset_t signals_, old_mask_;
  std::mutex mu_;
  bool done_ = false;
  std::thread waiter_;
};

}  // namespace pycell::server
