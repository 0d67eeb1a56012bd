// ProgressReporter: coalesced output chunks and heartbeats, from the run's
// thread and one ticker thread per reporting request (bounded by the
// transport's in-flight cap).
#include "mcp_progress.h"

#include "common/policy.h"
#include "registry.h"

namespace pycell::server {

ProgressReporter::ProgressReporter(RequestContext& rc, uint64_t output_cap)
    : rc_(rc), active_(rc.notify && !rc.progress_token.is_null()), cap_(output_cap) {
  if (!active_) return;
  started_ms_ = last_sent_ms_ = now_ms();
  ticker_ = std::thread([this] { tick(); });
}

ProgressReporter::~ProgressReporter() { finish(); }

void ProgressReporter::send_locked(std::string message) {
  // "progress" must grow with every notification: it counts them.
  json params = {{"progressToken", rc_.progress_token}, {"progress", ++sent_}, {"message", std::move(message)}};
  last_sent_ms_ = now_ms();
  if (!rc_.cancelled()) rc_.notify({{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", params}});
}

void ProgressReporter::flush_locked() {
  if (pending_.empty()) return;
  std::string text = std::move(pending_);
  pending_.clear();
  send_locked(pending_stream_ == Stream::kStderr ? "[stderr] " + text : std::move(text));
}

void ProgressReporter::output(Stream stream, std::string_view text) {
  if (!active_) return;
  std::lock_guard lock(mu_);
  if (done_ || capped_) return;
  if (stream != pending_stream_) flush_locked();
  pending_stream_ = stream;
  while (!text.empty()) {
    if (streamed_ >= cap_) {
      flush_locked();
      send_locked("[output past " + policy::format_bytes(cap_) + " is not streamed; the result has what was kept]");
      capped_ = true;
      return;
    }
    if (pending_.empty()) pending_since_ms_ = now_ms();
    size_t take = std::min<uint64_t>({text.size(), kChunkBytes - pending_.size(), cap_ - streamed_});
    pending_.append(text.substr(0, take));
    streamed_ += take;
    text.remove_prefix(take);
    if (pending_.size() >= kChunkBytes) flush_locked();
  }
  if (!pending_.empty() && pending_.back() == '\n' && now_ms() - last_sent_ms_ >= kFlushMs) flush_locked();
}

void ProgressReporter::tick() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(kFlushMs), [&] { return done_; })) {
    int64_t now = now_ms();
    if (!pending_.empty() && (pending_.back() == '\n' || now - pending_since_ms_ >= kLineWaitMs)) flush_locked();
    if (now - last_sent_ms_ >= kHeartbeatMs) {
      send_locked("running for " + std::to_string((now - started_ms_) / 1000) + " s");
    }
  }
}

void ProgressReporter::finish() {
  if (!active_) return;
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    flush_locked();
  }
  cv_.notify_all();
  ticker_.join();
}

}  // namespace pycell::server
