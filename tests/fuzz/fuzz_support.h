// What the libFuzzer harnesses share: one Engine per process (built once at
// start-up: the slow part), and a live session whose WASI context a harness
// drives directly, as the guest's imports would.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "pycell/engine.h"
#include "pycell/session.h"
#include "rt/budget.h"
#include "rt/guest_memory.h"
#include "rt/instance.h"
#include "wasi/context.h"
// After rt/: it names rt types without including them.
#include "core/session_access.h"

namespace pycell::fuzz {

/// The snapshot key of engine(): known, so a harness can seal its inputs and
/// reach the parser behind the HMAC.
inline constexpr std::string_view kSnapshotKey = "pycell-fuzz-snapshot-key-0123456789abcdef";

/// The process's Engine; exits if it cannot be built (a broken build, not a finding).
inline const Engine& engine() {
  static const Engine e = [] {
    EngineConfig config;
    config.stdlib_image = PYCELL_FUZZ_STDLIB;
    config.snapshot_key = std::string(kSnapshotKey);
    auto made = Engine::create(config);
    if (!made) {
      std::fprintf(stderr, "fuzz: cannot build the engine: %s\n", made.error().message().c_str());
      std::exit(2);
    }
    return *made;
  }();
  return e;
}

/// A real session (memory of a started interpreter, its fd table, /tmp and
/// mounts), made anew every `every` inputs: inputs then see the state earlier
/// ones left, and the state stays small enough to keep the harness fast.
class LiveSession {
 public:
  LiveSession(std::function<SessionConfig()> make_config, int every)
      : make_config_(std::move(make_config)), every_(every) {}

  /// The context for the next input. `deadline_now`: the run's deadlines have
  /// passed, so anything that waits for the guest (a sleep) returns at once.
  wasi::Context& next(bool deadline_now) {
    if (!session_ || ++uses_ >= every_) {
      session_.reset();
      if (on_reset) on_reset();
      auto made = Session::create(engine(), make_config_());
      if (!made) {
        std::fprintf(stderr, "fuzz: cannot create a session: %s\n", made.error().message().c_str());
        std::exit(2);
      }
      session_.emplace(std::move(*made));
      uses_ = 0;
    }
    wasi::Context& c = SessionAccess::wasi_context(*session_);
    const auto when = deadline_now ? rt::Budget::Clock::now() : rt::Budget::Clock::time_point::max();
    c.budget->start(0, when, when);
    return c;
  }

  /// Runs between sessions (e.g. to check and empty a mounted directory).
  std::function<void()> on_reset;

 private:
  std::function<SessionConfig()> make_config_;
  int every_;
  int uses_ = 0;
  std::optional<Session> session_;
};

}  // namespace pycell::fuzz
