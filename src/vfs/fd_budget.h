// Host descriptor budgets: how many host fds open mount files may hold, per
// session and per process, so that no session can starve another (or the
// embedder) of descriptors.
#pragma once

#include <cstdint>
#include <memory>

#include "vfs/vfs.h"

namespace pycell::vfs {

/// Host descriptors one session's open mount files may hold
/// (Limits::host_fds), shared by all of its mounts. Used by one thread at a
/// time, like the session.
struct FdBudget {
  uint64_t max = 0;
  uint64_t used = 0;
};

/// Host descriptors every session of the process together may hold: three
/// quarters of the soft RLIMIT_NOFILE, read at each call (so raising the limit
/// takes effect at once). The last quarter stays free for the embedder,
/// sockets, snapshot memfds and the descriptors each file operation opens for
/// a moment.
uint64_t process_fd_budget();

/// Host descriptors held now by open mount files, all sessions together.
uint64_t process_fds_held();

/// `n` descriptors taken from a session's budget and from the process's,
/// given back when the lease is destroyed. Move-only.
class FdLease {
 public:
  FdLease() = default;
  /// Errors: EMFILE if the session's budget cannot cover `n`, ENFILE if the
  /// process's cannot (then nothing is taken).
  static Res<FdLease> take(std::shared_ptr<FdBudget> session, uint32_t n);
  FdLease(FdLease&& o) noexcept;
  FdLease& operator=(FdLease&& o) noexcept;
  FdLease(const FdLease&) = delete;
  FdLease& operator=(const FdLease&) = delete;
  ~FdLease();

 private:
  FdLease(std::shared_ptr<FdBudget> session, uint32_t n) : session_(std::move(session)), n_(n) {}
  void release();
  std::shared_ptr<FdBudget> session_;
  uint32_t n_ = 0;
};

}  // namespace pycell::vfs
