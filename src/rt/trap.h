// Trap codes: how a guest run is cut short, carried by longjmp to the call boundary.
#pragma once

#include <wasm-rt.h>

#include "pycell/result.h"

namespace pycell::rt {

/// Values 1..15 are wasm_rt_trap_t; pycell's own reasons for stopping a run follow.
enum class TrapCode : int {
  kNone = 0,
  kHostExit = 64,  ///< WASI proc_exit: the guest asked to end the process
  kStopped = 65,   ///< the host ended the run (Budget::stop() says why)
};

inline TrapCode from_wasm(wasm_rt_trap_t t) { return static_cast<TrapCode>(static_cast<int>(t)); }

/// Maps a trap code to the public TrapKind.
TrapKind to_trap_kind(int code);

/// Unwinds to the innermost guest call boundary with `code`. Only for C-style
/// code with no live destructors: generated code and import trampolines.
[[noreturn]] void raise_trap(TrapCode code);

}  // namespace pycell::rt
