// WASI sock_*: the guest is given no sockets, so every fd it names is not one.
#include "wasi/handlers.h"

namespace pycell::wasi {
namespace {
Errno not_a_socket(Context& c, uint32_t fd) { return c.fd(fd) ? Errno::kNotsock : Errno::kBadf; }
}  // namespace

Errno sock_accept(Context& c, uint32_t fd, uint32_t, uint32_t) { return not_a_socket(c, fd); }
Errno sock_recv(Context& c, uint32_t fd, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t) {
  return not_a_socket(c, fd);
}
Errno sock_send(Context& c, uint32_t fd, uint32_t, uint32_t, uint32_t, uint32_t) { return not_a_socket(c, fd); }
Errno sock_shutdown(Context& c, uint32_t fd, uint32_t) { return not_a_socket(c, fd); }

}  // namespace pycell::wasi
