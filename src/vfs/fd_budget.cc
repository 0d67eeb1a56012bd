// Host descriptor budgets (see fd_budget.h): a per-session counter and one
// atomic process-wide counter bounded by the soft RLIMIT_NOFILE.
#include "vfs/fd_budget.h"

#include <sys/resource.h>

#include <atomic>
#include <utility>

namespace pycell::vfs {
namespace {

std::atomic<uint64_t> g_held{0};

// What getrlimit answers if it cannot: Linux's default soft limit.
constexpr uint64_t kDefaultSoftLimit = 1024;

}  // namespace

uint64_t process_fd_budget() {
  rlimit l{};
  const uint64_t soft = getrlimit(RLIMIT_NOFILE, &l) == 0 ? static_cast<uint64_t>(l.rlim_cur) : kDefaultSoftLimit;
  return soft / 4 * 3 + soft % 4 * 3 / 4;  // 3/4, without overflow for RLIM_INFINITY
}

uint64_t process_fds_held() { return g_held.load(std::memory_order_relaxed); }

Res<FdLease> FdLease::take(std::shared_ptr<FdBudget> session, uint32_t n) {
  if (session->used > session->max || n > session->max - session->used) return Errno::kMfile;
  const uint64_t cap = process_fd_budget();
  uint64_t held = g_held.load(std::memory_order_relaxed);
  do {
    if (held > cap || n > cap - held) return Errno::kNfile;
  } while (!g_held.compare_exchange_weak(held, held + n, std::memory_order_relaxed));
  session->used += n;
  return FdLease(std::move(session), n);
}

FdLease::FdLease(FdLease&& o) noexcept : session_(std::move(o.session_)), n_(std::exchange(o.n_, 0)) {}

FdLease& FdLease::operator=(FdLease&& o) noexcept {
  if (this != &o) {
    release();
    session_ = std::move(o.session_);
    n_ = std::exchange(o.n_, 0);
  }
  return *this;
}

FdLease::~FdLease() { release(); }

void FdLease::release() {
  if (n_ == 0) return;
  session_->used -= n_;
  g_held.fetch_sub(n_, std::memory_order_relaxed);
  n_ = 0;
}

}  // namespace pycell::vfs
