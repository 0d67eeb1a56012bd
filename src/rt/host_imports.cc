// Import trampolines of the "pycell_host" module: what the guest asks of pycell
// itself rather than of WASI: a new fuel slice, and host function calls.
#include <new>

#include "pycell_guest.h"
#include "rt/budget.h"
#include "rt/guest_call.h"
#include "rt/trap.h"
#include "wasi/host_call.h"

namespace {

// The instance pointer the session passed at instantiation is its WASI Context.
pycell::wasi::Context& ctx(Z_pycell_host_instance_t* host) { return *reinterpret_cast<pycell::wasi::Context*>(host); }

template <class F>
u32 call(F&& f) {
  pycell::rt::enter_host();
  u32 status;
  try {
    status = static_cast<u32>(f());  // a HostCallStatus, maybe with flags
  } catch (const std::bad_alloc&) {
    status = static_cast<u32>(pycell::wasi::HostCallStatus::kError);
  }
  pycell::rt::leave_host();
  return status;
}

}  // namespace

extern "C" u64 Z_pycell_hostZ_fuel_refill(Z_pycell_host_instance_t* host) {
  pycell::rt::enter_host();
  const int64_t slice = ctx(host).budget->refill();
  pycell::rt::leave_host();
  if (slice == 0) pycell::rt::raise_trap(pycell::rt::TrapCode::kStopped);
  return static_cast<u64>(slice);
}

extern "C" u32 Z_pycell_hostZ_call(Z_pycell_host_instance_t* host, u32 name, u32 name_len, u32 args, u32 args_len,
                                   u32 reply_len_out) {
  return call([&] { return pycell::wasi::host_call(ctx(host), name, name_len, args, args_len, reply_len_out); });
}

extern "C" u32 Z_pycell_hostZ_take(Z_pycell_host_instance_t* host, u32 buf, u32 len) {
  return call([&] { return pycell::wasi::host_take(ctx(host), buf, len); });
}
