// WASI preview 1 handlers, named exactly as the spec names them. Each takes the
// guest's raw arguments, validates every pointer and length against guest memory,
// and returns a WASI errno. Pointers are guest addresses (uint32_t) only here,
// at the boundary; they become GuestSpans before any use.
#pragma once

#include <cstdint>

#include "wasi/context.h"

namespace pycell::wasi {

// The guest's sys.argv travels with each exec, so the guest imports no args_*.
// env (env.cc)
Errno environ_get(Context& c, uint32_t environ, uint32_t environ_buf);
Errno environ_sizes_get(Context& c, uint32_t count_out, uint32_t buf_size_out);
// clocks (clock.cc)
Errno clock_res_get(Context& c, uint32_t id, uint32_t res_out);
Errno clock_time_get(Context& c, uint32_t id, uint64_t precision, uint32_t time_out);
// random (random.cc)
Errno random_get(Context& c, uint32_t buf, uint32_t len);
// proc (proc.cc)
Errno proc_exit(Context& c, uint32_t code);  // records the code; the caller traps
Errno sched_yield(Context& c);
// poll (poll.cc)
Errno poll_oneoff(Context& c, uint32_t in, uint32_t out, uint32_t nsubs, uint32_t nevents_out);
// fd (fd.cc)
Errno fd_advise(Context& c, uint32_t fd, uint64_t offset, uint64_t len, uint32_t advice);
Errno fd_close(Context& c, uint32_t fd);
Errno fd_datasync(Context& c, uint32_t fd);
Errno fd_fdstat_get(Context& c, uint32_t fd, uint32_t out);
Errno fd_fdstat_set_flags(Context& c, uint32_t fd, uint32_t flags);
Errno fd_filestat_get(Context& c, uint32_t fd, uint32_t out);
Errno fd_filestat_set_size(Context& c, uint32_t fd, uint64_t size);
Errno fd_filestat_set_times(Context& c, uint32_t fd, uint64_t atim, uint64_t mtim, uint32_t flags);
Errno fd_pread(Context& c, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint64_t offset, uint32_t nread_out);
Errno fd_prestat_get(Context& c, uint32_t fd, uint32_t out);
Errno fd_prestat_dir_name(Context& c, uint32_t fd, uint32_t path, uint32_t path_len);
Errno fd_pwrite(Context& c, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint64_t offset, uint32_t nwritten_out);
Errno fd_read(Context& c, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nread_out);
Errno fd_readdir(Context& c, uint32_t fd, uint32_t buf, uint32_t buf_len, uint64_t cookie, uint32_t used_out);
Errno fd_seek(Context& c, uint32_t fd, int64_t offset, uint32_t whence, uint32_t newoffset_out);
Errno fd_sync(Context& c, uint32_t fd);
Errno fd_tell(Context& c, uint32_t fd, uint32_t out);
Errno fd_write(Context& c, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nwritten_out);
// path (path.cc)
Errno path_create_directory(Context& c, uint32_t fd, uint32_t path, uint32_t path_len);
Errno path_filestat_get(Context& c, uint32_t fd, uint32_t flags, uint32_t path, uint32_t path_len, uint32_t out);
Errno path_filestat_set_times(Context& c, uint32_t fd, uint32_t flags, uint32_t path, uint32_t path_len,
                              uint64_t atim, uint64_t mtim, uint32_t fst_flags);
Errno path_link(Context& c, uint32_t old_fd, uint32_t old_flags, uint32_t old_path, uint32_t old_len,
                uint32_t new_fd, uint32_t new_path, uint32_t new_len);
Errno path_open(Context& c, uint32_t fd, uint32_t dirflags, uint32_t path, uint32_t path_len, uint32_t oflags,
                uint64_t rights_base, uint64_t rights_inheriting, uint32_t fdflags, uint32_t fd_out);
Errno path_readlink(Context& c, uint32_t fd, uint32_t path, uint32_t path_len, uint32_t buf, uint32_t buf_len,
                    uint32_t used_out);
Errno path_remove_directory(Context& c, uint32_t fd, uint32_t path, uint32_t path_len);
Errno path_rename(Context& c, uint32_t fd, uint32_t old_path, uint32_t old_len, uint32_t new_fd,
                  uint32_t new_path, uint32_t new_len);
Errno path_symlink(Context& c, uint32_t old_path, uint32_t old_len, uint32_t fd, uint32_t new_path,
                   uint32_t new_len);
Errno path_unlink_file(Context& c, uint32_t fd, uint32_t path, uint32_t path_len);
// sockets (sock.cc): the guest has none
Errno sock_accept(Context& c, uint32_t fd, uint32_t flags, uint32_t fd_out);
Errno sock_recv(Context& c, uint32_t fd, uint32_t ri_data, uint32_t ri_len, uint32_t ri_flags,
                uint32_t datalen_out, uint32_t flags_out);
Errno sock_send(Context& c, uint32_t fd, uint32_t si_data, uint32_t si_len, uint32_t si_flags,
                uint32_t datalen_out);
Errno sock_shutdown(Context& c, uint32_t fd, uint32_t how);

}  // namespace pycell::wasi
