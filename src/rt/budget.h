// Budget: the CPU (fuel) and wall-clock allowance of one guest run, consulted
// every time a fuel slice runs out, and the reason a run was stopped.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace pycell::rt {

class Budget {
 public:
  using Clock = std::chrono::steady_clock;

  /// Fuel per slice: the most loop iterations between two checks of the
  /// clock. ~10k bytecodes is a fraction of a millisecond, which bounds how far
  /// a deadline can be overshot; larger slices would save only clock reads.
  static constexpr int64_t kSlice = 10000;

  /// Why the host stopped a run.
  enum class Stop { kNone, kFuel, kTimeout, kCancelled, kOutput };

  /// Starts a run: `fuel_limit` 0 means unlimited; deadlines may be max().
  /// A cancel() that arrived since the last finish() stays: the run stops at
  /// its first check (a cancel racing with the start of a run is not lost).
  void start(uint64_t fuel_limit, Clock::time_point soft, Clock::time_point hard);

  /// Ends a run: a cancel() that arrived during it was honoured or came too
  /// late to matter, and must not stop the next run.
  void finish() { cancel_.store(false, std::memory_order_relaxed); }

  /// The next slice, its negation to request a soft stop, or 0 with stop()
  /// set when the run must end now (the caller traps).
  int64_t refill();

  /// Fuel consumed in the run, given what is left of the current slice.
  [[nodiscard]] uint64_t used(int64_t remaining_in_slice) const;
  /// Fuel consumed so far in the run, from host code called by the guest.
  [[nodiscard]] uint64_t used_now() const { return used(counter_ ? *counter_ : 0); }

  [[nodiscard]] Stop stop() const { return stop_; }
  /// The run's soft (wall-clock) deadline; max() if it has none.
  [[nodiscard]] Clock::time_point deadline() const { return soft_; }
  [[nodiscard]] bool soft_stop_sent() const { return soft_sent_; }

  /// From host code on the guest's thread: end the run at its next check.
  void request_stop(Stop why) {
    requested_ = why;
    check_soon();
  }

  /// From host code that kept the guest waiting (a host function call):
  /// true, once, if the soft deadline has passed, so the caller delivers the
  /// soft stop itself; the hard stop then follows as after refill().
  bool take_soft_stop() {
    if (soft_sent_ || Clock::now() < soft_) return false;
    soft_sent_ = true;
    return true;
  }

  /// Makes the guest's next loop header consult refill() (e.g. after a sleep
  /// was cut short at the soft deadline), instead of the end of the slice.
  void check_soon() {
    if (counter_) *counter_ = 0;
  }
  /// Where the instance keeps the fuel left in the current slice.
  void bind_counter(int64_t* counter) { counter_ = counter; }

  /// From any thread: end the current run at its next check, or the next
  /// run at its first check if none is in progress (see start, finish).
  void cancel() { cancel_.store(true, std::memory_order_relaxed); }
  [[nodiscard]] bool cancelled() const { return cancel_.load(std::memory_order_relaxed); }
  /// Between runs: forget a cancel() that arrived after the last run's last
  /// check, which would otherwise stop the next run.
  void discard_cancel() { cancel_.store(false, std::memory_order_relaxed); }

  /// When a wait outside guest code (a sleep) must end so the next check can
  /// act: the soft deadline until the soft stop is sent, then the hard one.
  [[nodiscard]] Clock::time_point wake_by() const {
    return requested_ != Stop::kNone ? Clock::time_point::min() : soft_sent_ ? hard_ : std::min(soft_, hard_);
  }

 private:
  uint64_t limit_ = 0;
  uint64_t issued_ = 0;
  Clock::time_point soft_ = Clock::time_point::max();
  Clock::time_point hard_ = Clock::time_point::max();
  bool soft_sent_ = false;
  Stop stop_ = Stop::kNone;
  Stop requested_ = Stop::kNone;
  int64_t* counter_ = nullptr;
  std::atomic<bool> cancel_{false};
};

}  // namespace pycell::rt
