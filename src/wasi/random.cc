// WASI random_get: the host's CSPRNG (getrandom), or the seeded generator of
// deterministic mode, copied in after the range is checked.
#include <sys/random.h>

#include <cerrno>
#include <vector>

#include "wasi/handlers.h"

namespace pycell::wasi {

Errno random_get(Context& c, uint32_t buf, uint32_t len) {
  auto span = c.memory->span(buf, len);
  if (!span) return Errno::kFault;
  std::vector<uint8_t> bytes(len);
  if (c.deterministic) {
    c.deterministic->fill(bytes.data(), len);
    c.memory->write(*span, bytes.data());
    return Errno::kSuccess;
  }
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom(bytes.data() + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno::kIo;
    }
    got += static_cast<size_t>(n);
  }
  c.memory->write(*span, bytes.data());
  return Errno::kSuccess;
}

}  // namespace pycell::wasi
