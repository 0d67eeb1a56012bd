// WASI poll_oneoff: sleeps (clock subscriptions) and readiness of the guest's
// fds, all of which are always ready. A sleep ends early when the run is
// cancelled or reaches a deadline, so the next fuel check can stop it; in
// deterministic mode it takes no time and advances the guest's clock.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "wasi/handlers.h"

namespace pycell::wasi {
namespace {
constexpr uint8_t kEventClock = 0, kEventFdRead = 1, kEventFdWrite = 2;
constexpr uint16_t kSubclockAbstime = 1;
constexpr uint16_t kEventHangup = 1;
constexpr uint32_t kMaxSubscriptions = 4096;
}  // namespace

Errno poll_oneoff(Context& c, uint32_t in, uint32_t out, uint32_t nsubs, uint32_t nevents_out) {
  using namespace std::chrono;
  if (nsubs == 0 || nsubs > kMaxSubscriptions) return Errno::kInval;
  auto in_span = c.memory->array(in, nsubs, layout::kSubscriptionSize);
  auto out_span = c.memory->array(out, nsubs, layout::kEventSize);
  if (!in_span || !out_span) return Errno::kFault;
  std::vector<uint8_t> subs(size_t{nsubs} * layout::kSubscriptionSize);
  c.memory->read(*in_span, subs.data());

  std::vector<uint8_t> events;
  auto add_event = [&](const uint8_t* sub, uint8_t type, Errno err, uint16_t flags) {
    uint8_t ev[layout::kEventSize] = {};
    std::memcpy(ev, sub, 8);  // userdata
    const auto e = static_cast<uint16_t>(err);
    std::memcpy(ev + 8, &e, 2);
    ev[10] = type;
    std::memcpy(ev + 24, &flags, 2);
    events.insert(events.end(), ev, ev + sizeof ev);
  };

  const auto now_mono = steady_clock::now();
  auto earliest = steady_clock::time_point::max();
  std::vector<std::pair<const uint8_t*, steady_clock::time_point>> clocks;
  // Deterministic mode: each clock's wait in guest nanoseconds; nothing waits.
  std::vector<uint64_t> waits;
  const uint64_t det_now = c.deterministic ? c.deterministic->now_ns(*c.budget) : 0;
  for (uint32_t i = 0; i < nsubs; ++i) {
    const uint8_t* sub = subs.data() + size_t{i} * layout::kSubscriptionSize;
    const uint8_t tag = sub[8];
    if (tag == kEventClock) {
      uint32_t id;
      uint64_t timeout;
      uint16_t flags;
      std::memcpy(&id, sub + 16, 4);
      std::memcpy(&timeout, sub + 24, 8);
      std::memcpy(&flags, sub + 40, 2);
      if (id > 3) {
        add_event(sub, kEventClock, Errno::kInval, 0);
        continue;
      }
      if (c.deterministic) {
        waits.push_back((flags & kSubclockAbstime) ? (timeout > det_now ? timeout - det_now : 0) : timeout);
      }
      auto when = now_mono;
      if (flags & kSubclockAbstime) {
        // Absolute deadlines on the realtime clock become a relative wait.
        const auto now_ns = duration_cast<nanoseconds>(
            (id == 0 ? system_clock::now().time_since_epoch() : now_mono.time_since_epoch())).count();
        const auto t = static_cast<int64_t>(std::min<uint64_t>(timeout, INT64_MAX));
        when += nanoseconds(std::max<int64_t>(0, t - now_ns));
      } else {
        when += nanoseconds(static_cast<int64_t>(std::min<uint64_t>(timeout, INT64_MAX / 2)));
      }
      clocks.emplace_back(sub, when);
      earliest = std::min(earliest, when);
    } else if (tag == kEventFdRead || tag == kEventFdWrite) {
      uint32_t fd;
      std::memcpy(&fd, sub + 16, 4);
      FdEntry* f = c.fd(fd);
      const bool stdin_eof = f && f->kind == FdEntry::Kind::kStdin;
      add_event(sub, tag, f ? Errno::kSuccess : Errno::kBadf, stdin_eof ? kEventHangup : 0);
    } else {
      add_event(sub, tag, Errno::kInval, 0);
    }
  }

  if (events.empty() && !clocks.empty() && c.deterministic) {
    // The guest's clock jumps to the earliest deadline, so sleeps take no time
    // and a repeated run sees the same times.
    const uint64_t step = *std::min_element(waits.begin(), waits.end());
    c.deterministic->slept_ns += step;
    for (size_t i = 0; i < clocks.size(); ++i) {
      if (waits[i] <= step) add_event(clocks[i].first, kEventClock, Errno::kSuccess, 0);
    }
  } else if (events.empty() && !clocks.empty()) {
    const auto wake = c.budget ? std::min(earliest, c.budget->wake_by()) : earliest;
    bool interrupted = false;
    while (true) {
      if (c.budget && c.budget->cancelled()) {
        interrupted = true;
        break;
      }
      const auto now = steady_clock::now();
      if (now >= wake) {
        interrupted = now < earliest;
        break;
      }
      std::this_thread::sleep_for(std::min<steady_clock::duration>(wake - now, milliseconds(10)));
    }
    // An interrupted sleep reports its clock as fired, and the very next loop
    // header asks the budget, which delivers the stop (the shim also checks
    // for a pending soft stop when the code returns).
    if (interrupted && c.budget) c.budget->check_soon();
    const auto now = steady_clock::now();
    for (const auto& [sub, when] : clocks) {
      if (when <= now || interrupted) add_event(sub, kEventClock, Errno::kSuccess, 0);
    }
  }
  const auto count = static_cast<uint32_t>(events.size() / layout::kEventSize);
  if (count) c.memory->write(*c.memory->span(out, events.size()), events.data());
  return c.memory->store_u32(nevents_out, count) ? Errno::kSuccess : Errno::kFault;
}

}  // namespace pycell::wasi
