// Import trampolines of the "pycell_host" module: what the guest asks of pycell
// itself rather than of WASI (today: a new fuel slice).
#include "pycell_guest.h"
#include "rt/budget.h"
#include "rt/guest_call.h"
#include "rt/trap.h"

// The instance pointer the session passed at instantiation is its Budget.
extern "C" u64 Z_pycell_hostZ_fuel_refill(struct Z_pycell_host_instance_t* host) {
  pycell::rt::enter_host();
  const int64_t slice = reinterpret_cast<pycell::rt::Budget*>(host)->refill();
  pycell::rt::leave_host();
  if (slice == 0) pycell::rt::raise_trap(pycell::rt::TrapCode::kStopped);
  return static_cast<u64>(slice);
}
