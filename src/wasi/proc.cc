// WASI proc_exit and sched_yield: exit ends the run.
#include "wasi/handlers.h"

namespace pycell::wasi {

Errno proc_exit(Context& c, uint32_t code) {
  c.exit_code = code;
  return Errno::kSuccess;
}

Errno sched_yield(Context&) { return Errno::kSuccess; }

}  // namespace pycell::wasi
