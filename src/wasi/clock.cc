// WASI clock_*: wall time from the host clock; CPU-time clocks count from session start.
// In deterministic mode every clock reads the fuel-driven time instead.
#include <chrono>
#include <ctime>

#include "wasi/handlers.h"

namespace pycell::wasi {
namespace {
constexpr uint32_t kRealtime = 0, kMonotonic = 1, kProcessCpu = 2, kThreadCpu = 3;
}

Errno clock_res_get(Context& c, uint32_t id, uint32_t res_out) {
  if (id > kThreadCpu) return Errno::kInval;
  return c.memory->store_u64(res_out, 1000) ? Errno::kSuccess : Errno::kFault;  // 1 µs
}

Errno clock_time_get(Context& c, uint32_t id, uint64_t, uint32_t time_out) {
  using namespace std::chrono;
  uint64_t ns;
  if (c.deterministic && id <= kThreadCpu) {
    ns = c.deterministic->now_ns(*c.budget);
    return c.memory->store_u64(time_out, ns) ? Errno::kSuccess : Errno::kFault;
  }
  switch (id) {
    case kRealtime:
      ns = static_cast<uint64_t>(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
      break;
    case kMonotonic:
      ns = static_cast<uint64_t>(duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count());
      break;
    case kProcessCpu:
    case kThreadCpu:
      // The guest's own CPU time is not separable from the host thread's: report
      // time since the session started, which bounds it from above.
      ns = static_cast<uint64_t>(duration_cast<nanoseconds>(steady_clock::now() - c.started).count());
      break;
    default:
      return Errno::kInval;
  }
  return c.memory->store_u64(time_out, ns) ? Errno::kSuccess : Errno::kFault;
}

}  // namespace pycell::wasi
