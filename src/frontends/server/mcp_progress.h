// ProgressReporter: a run's output as notifications/progress while it runs,
// and a sign of life while it is silent. SDK clients give up on a request
// after 60 s without a response unless progress resets their timer, so a
// long run needs these to finish at all.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "mcp_request.h"
#include "pycell/session.h"

namespace pycell::server {

class ProgressReporter {
 public:
  /// Output is sent in notifications of at most kChunkBytes, at most every
  /// kFlushMs (coalesced; a partial line waits up to kLineWaitMs for its end),
  /// up to `output_cap` bytes in all (then only the heartbeat); a run silent
  /// for kHeartbeatMs gets a "still running" one.
  static constexpr size_t kChunkBytes = 16 << 10;
  static constexpr int64_t kFlushMs = 100;
  static constexpr int64_t kLineWaitMs = 500;
  static constexpr int64_t kHeartbeatMs = 5000;

  /// Does nothing unless `rc` has a progress token and a notify function.
  ProgressReporter(RequestContext& rc, uint64_t output_cap);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  bool active() const { return active_; }
  /// ExecOptions::on_output (the run's thread).
  void output(Stream stream, std::string_view text);
  /// Sends what is buffered and stops the heartbeat: before the result.
  void finish();

 private:
  void flush_locked();
  void send_locked(std::string message);
  void tick();

  RequestContext& rc_;
  const bool active_;
  const uint64_t cap_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string pending_;
  uint64_t streamed_ = 0;
  bool capped_ = false;
  Stream pending_stream_ = Stream::kStdout;
  uint64_t sent_ = 0;
  int64_t started_ms_ = 0;
  int64_t last_sent_ms_ = 0;
  /// When the oldest byte of pending_ arrived.
  int64_t pending_since_ms_ = 0;
  std::thread ticker_;
};

}  // namespace pycell::server
