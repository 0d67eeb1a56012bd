// Import trampolines: the C entry points wasm2c's generated code calls for each
// WASI import. Each brackets its handler with enter_host/leave_host (stack check,
// fault attribution), turns host allocation failure into ENOMEM, and raises a
// trap only after every C++ object of the handler is gone.
#include <new>

#include "pycell_guest.h"
#include "rt/guest_call.h"
#include "rt/trap.h"
#include "wasi/handlers.h"

using pycell::wasi::Context;
using pycell::wasi::Errno;

// The generated code passes back the import-instance pointers the session gave
// at instantiation: the WASI Context, and the GuestMemory for "env".
extern "C" wasm_rt_memory_t* Z_envZ_memory(struct Z_env_instance_t* env) {
  return reinterpret_cast<pycell::rt::GuestMemory*>(env)->rt();
}

namespace {

Context& ctx(Z_wasi_snapshot_preview1_instance_t* p) { return *reinterpret_cast<Context*>(p); }

template <class F>
u32 call(F&& f) {
  pycell::rt::enter_host();
  Errno e;
  try {
    e = f();
  } catch (const std::bad_alloc&) {
    e = Errno::kNomem;
  }
  pycell::rt::leave_host();
  return static_cast<u32>(e);
}

}  // namespace

#define WASI_IMPORT(name, params, ...)                                                    \
  extern "C" u32 Z_wasi_snapshot_preview1Z_##name(Z_wasi_snapshot_preview1_instance_t* i \
                                                      params) {                           \
    return call([&] { return pycell::wasi::name(ctx(i) __VA_OPT__(, ) __VA_ARGS__); });   \
  }
#define P(...) , __VA_ARGS__

WASI_IMPORT(environ_get, P(u32 a, u32 b), a, b)
WASI_IMPORT(environ_sizes_get, P(u32 a, u32 b), a, b)
WASI_IMPORT(clock_res_get, P(u32 a, u32 b), a, b)
WASI_IMPORT(clock_time_get, P(u32 a, u64 b, u32 c), a, b, c)
WASI_IMPORT(random_get, P(u32 a, u32 b), a, b)
WASI_IMPORT(sched_yield, )
WASI_IMPORT(poll_oneoff, P(u32 a, u32 b, u32 c, u32 d), a, b, c, d)
WASI_IMPORT(fd_advise, P(u32 a, u64 b, u64 c, u32 d), a, b, c, d)
WASI_IMPORT(fd_close, P(u32 a), a)
WASI_IMPORT(fd_datasync, P(u32 a), a)
WASI_IMPORT(fd_fdstat_get, P(u32 a, u32 b), a, b)
WASI_IMPORT(fd_fdstat_set_flags, P(u32 a, u32 b), a, b)
WASI_IMPORT(fd_filestat_get, P(u32 a, u32 b), a, b)
WASI_IMPORT(fd_filestat_set_size, P(u32 a, u64 b), a, b)
WASI_IMPORT(fd_filestat_set_times, P(u32 a, u64 b, u64 c, u32 d), a, b, c, d)
WASI_IMPORT(fd_pread, P(u32 a, u32 b, u32 c, u64 d, u32 e), a, b, c, d, e)
WASI_IMPORT(fd_prestat_get, P(u32 a, u32 b), a, b)
WASI_IMPORT(fd_prestat_dir_name, P(u32 a, u32 b, u32 c), a, b, c)
WASI_IMPORT(fd_pwrite, P(u32 a, u32 b, u32 c, u64 d, u32 e), a, b, c, d, e)
WASI_IMPORT(fd_read, P(u32 a, u32 b, u32 c, u32 d), a, b, c, d)
WASI_IMPORT(fd_readdir, P(u32 a, u32 b, u32 c, u64 d, u32 e), a, b, c, d, e)
WASI_IMPORT(fd_seek, P(u32 a, u64 b, u32 c, u32 d), a, static_cast<int64_t>(b), c, d)
WASI_IMPORT(fd_sync, P(u32 a), a)
WASI_IMPORT(fd_tell, P(u32 a, u32 b), a, b)
WASI_IMPORT(fd_write, P(u32 a, u32 b, u32 c, u32 d), a, b, c, d)
WASI_IMPORT(path_create_directory, P(u32 a, u32 b, u32 c), a, b, c)
WASI_IMPORT(path_filestat_get, P(u32 a, u32 b, u32 c, u32 d, u32 e), a, b, c, d, e)
WASI_IMPORT(path_filestat_set_times, P(u32 a, u32 b, u32 c, u32 d, u64 e, u64 f, u32 g), a, b, c, d, e, f, g)
WASI_IMPORT(path_link, P(u32 a, u32 b, u32 c, u32 d, u32 e, u32 f, u32 g), a, b, c, d, e, f, g)
WASI_IMPORT(path_open, P(u32 a, u32 b, u32 c, u32 d, u32 e, u64 f, u64 g, u32 h, u32 j), a, b, c, d, e, f, g, h, j)
WASI_IMPORT(path_readlink, P(u32 a, u32 b, u32 c, u32 d, u32 e, u32 f), a, b, c, d, e, f)
WASI_IMPORT(path_remove_directory, P(u32 a, u32 b, u32 c), a, b, c)
WASI_IMPORT(path_rename, P(u32 a, u32 b, u32 c, u32 d, u32 e, u32 f), a, b, c, d, e, f)
WASI_IMPORT(path_symlink, P(u32 a, u32 b, u32 c, u32 d, u32 e), a, b, c, d, e)
WASI_IMPORT(path_unlink_file, P(u32 a, u32 b, u32 c), a, b, c)
WASI_IMPORT(sock_accept, P(u32 a, u32 b, u32 c), a, b, c)
WASI_IMPORT(sock_recv, P(u32 a, u32 b, u32 c, u32 d, u32 e, u32 f), a, b, c, d, e, f)
WASI_IMPORT(sock_send, P(u32 a, u32 b, u32 c, u32 d, u32 e), a, b, c, d, e)
WASI_IMPORT(sock_shutdown, P(u32 a, u32 b), a, b)

extern "C" void Z_wasi_snapshot_preview1Z_proc_exit(Z_wasi_snapshot_preview1_instance_t* i, u32 code) {
  call([&] { return pycell::wasi::proc_exit(ctx(i), code); });
  pycell::rt::raise_trap(pycell::rt::TrapCode::kHostExit);
}
