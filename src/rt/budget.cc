// Budget: fuel slices and the two-step (soft, then hard) deadline.
#include "rt/budget.h"

#include <algorithm>

namespace pycell::rt {

void Budget::start(uint64_t fuel_limit, Clock::time_point soft, Clock::time_point hard) {
  limit_ = fuel_limit;
  issued_ = 0;
  soft_ = soft;
  hard_ = hard;
  soft_sent_ = false;
  stop_ = Stop::kNone;
  requested_ = Stop::kNone;
}

int64_t Budget::refill() {
  if (requested_ != Stop::kNone) {
    stop_ = requested_;
    return 0;
  }
  if (cancelled()) {
    stop_ = Stop::kCancelled;
    return 0;
  }
  int64_t slice = kSlice;
  if (limit_) {
    if (issued_ >= limit_) {
      stop_ = Stop::kFuel;
      return 0;
    }
    slice = static_cast<int64_t>(std::min<uint64_t>(kSlice, limit_ - issued_));
  }
  const auto now = Clock::now();
  if (now >= hard_) {
    stop_ = Stop::kTimeout;
    return 0;
  }
  issued_ += static_cast<uint64_t>(slice);
  if (now >= soft_ && !soft_sent_) {
    soft_sent_ = true;
    return -slice;
  }
  return slice;
}

uint64_t Budget::used(int64_t remaining_in_slice) const {
  const uint64_t left = remaining_in_slice > 0 ? static_cast<uint64_t>(remaining_in_slice) : 0;
  return issued_ > left ? issued_ - left : 0;
}

}  // namespace pycell::rt
