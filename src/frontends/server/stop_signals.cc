// StopSignals: sigtimedwait in a loop, so the waiter also notices stop().
#include "stop_signals.h"

#include <cstdio>

namespace pycell::server {

StopSignals::StopSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
}

StopSignals::~StopSignals() {
  stop();
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void StopSignals::watch(const char* who, std::function<void()> on_stop) {
  waiter_ = std::thread([this, who, on_stop = std::move(on_stop)] {
    timespec tick{0, 200'000'000};
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (done_) return;
      }
      if (sigtimedwait(&signals_, nullptr, &tick) > 0) break;
    }
    std::fprintf(stderr, "%s: stopping\n", who);
    on_stop();
  });
}

void StopSignals::stop() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  if (waiter_.joinable()) waiter_.join();
}

}  // namespace pycell::server
