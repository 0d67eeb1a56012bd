// Guest calls: run guest code on a dedicated native stack and catch its traps.
#pragma once

#include <cstdint>

namespace pycell::rt {

class GuestMemory;

/// Runs fn(arg) on a guest stack of `stack_bytes` (plus a guard page) on the
/// calling thread. Returns 0 when fn returned, or the TrapCode value of the trap
/// that unwound it: a wasm trap, a fault in `memory`'s reservation, a fault on the
/// guest stack's guard page, or a host-raised trap. Faults anywhere else are not
/// ours and reach the previously installed handler.
int call_guest(void (*fn)(void*), void* arg, uint64_t stack_bytes, const GuestMemory& memory);

/// Brackets a host function called from the guest. enter_host() traps (stack
/// exhausted) if less than kHostStackReserve of native stack is left, so host
/// code never overflows; between the two calls a fault is a host bug and is
/// never turned into a trap. Call enter_host() before any object with a
/// destructor is live, and raise a trap only after leave_host().
void enter_host();
void leave_host();

/// From host code called by the guest (between enter_host and leave_host):
/// runs fn(arg) on the stack of the thread that made the guest call, then
/// returns here. For work whose stack use pycell does not control (embedder
/// callbacks, libcurl): the guest stack's reserve is only kHostStackReserve.
/// fn must not throw and must not raise a trap.
void run_on_host_stack(void (*fn)(void*), void* arg);

/// Native stack a host function may use below the guest's deepest frame.
inline constexpr uint64_t kHostStackReserve = 256 * 1024;

}  // namespace pycell::rt
