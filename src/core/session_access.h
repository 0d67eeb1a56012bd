// SessionAccess: core-internal entry points into Session (the engine's cold
// start and snapshot loading) that the public API does not offer.
#pragma once

#include <memory>

#include "pycell/session.h"

namespace pycell {

struct EngineState;
struct SessionState;
namespace wasi {
struct Context;
}

struct SessionAccess {
  /// Starts an interpreter from scratch (CPython start-up), ignoring any base snapshot.
  static Result<Session> create_cold(std::shared_ptr<const EngineState> engine, SessionConfig config);
  /// The function table of a started session (to build an Engine's template).
  static std::shared_ptr<const rt::TableTemplate> table(const Session& s);
  /// Makes every object of a started session immortal (see pycell_freeze).
  static Result<void> freeze(Session& s);
  /// Zeroes the dead part of the guest's stack (below its stack pointer, between
  /// calls): it holds leftovers of start-up that differ from process to
  /// process, and the engine's base must be the same bytes in every process
  /// for delta snapshots to apply across them.
  static Result<void> clear_dead_stack(Session& s);
  /// Which guest pages the session has touched / copied (see GuestMemory::residency).
  static Result<rt::HotPages> residency(const Session& s);
  /// The session's WASI context, for calling WASI handlers on its live memory
  /// directly (tests/fuzz).
  static wasi::Context& wasi_context(Session& s);
};

}  // namespace pycell
