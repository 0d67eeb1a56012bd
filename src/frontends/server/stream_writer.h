// StreamWriter: a response body sent while its handler is still running
// (Server-Sent Events, NDJSON), with backpressure toward the handler and a
// hook that tells it when the client has gone.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "http_message.h"

namespace pycell::server {

/// The body of a streamed response. A handler gets one from start_stream()
/// and writes to it from its own (worker) thread; the transport sends what it
/// queues from an I/O thread.
///
/// Bounds (ServerConfig::stream_buffer_bytes, stream_stall_ms): write() queues
/// a message only while less than stream_buffer_bytes are queued and unsent,
/// and otherwise blocks the handler (backpressure: a run printing faster than
/// its client reads is slowed to the client's pace; nothing is dropped), so a
/// stream holds at most that plus one message. A client that reads nothing for
/// stream_stall_ms is disconnected: a blocked write() then returns false, as
/// does every later one, so a handler is never held longer than that by a
/// client. A client that closes its connection (or sends EOF) is noticed at
/// once, even while the handler writes nothing, and fires the on_close hook.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;

  /// Queues `bytes` of the body as they are, waiting while the queue is full
  /// (see above). False, with nothing queued, once the stream is closed.
  virtual bool write(std::string_view bytes) = 0;

  /// True if write() would queue at once, without waiting: a producer that
  /// prefers dropping to waiting (output that must not slow a run) asks
  /// first. Only the one producer adds to the queue, so the answer holds
  /// until it writes.
  [[nodiscard]] virtual bool has_room() const = 0;

  /// True once the client went away, stalled past stream_stall_ms, or the
  /// connection failed; every write from then on returns false.
  [[nodiscard]] bool closed() const;

  /// Sends one Server-Sent Event: "event: <event>" (omitted if empty), "id:
  /// <id>" (omitted if empty), one "data: " line per line of `data` (split at
  /// CR, LF and CRLF, as the SSE parser joins them with LF), and a blank line.
  /// `event` and `id` must not contain CR or LF (they are dropped if so).
  bool send_event(std::string_view event, std::string_view data, std::string_view id = {});

  /// Sends an SSE comment (": <text>"), which clients ignore: a keep-alive.
  bool send_comment(std::string_view text);

  /// Sends `line` and a "\n" (one NDJSON record). A CR or LF inside `line`
  /// is sent as a space, so a record is always one line (JSON from dump()
  /// has none).
  bool send_line(std::string_view line);

  /// While the returned guard lives, `fn` runs once if the stream closes
  /// (client gone, stall, failure), e.g. `[&] { session.cancel(); }`; at once,
  /// on this thread, if it is already closed. It runs on an I/O thread, so it
  /// must be quick and must not block. Destroying the guard waits for a call
  /// of `fn` in progress, so nothing `fn` refers to is used after it. One
  /// guard at a time per writer.
  class CloseWatch {
   public:
    CloseWatch(CloseWatch&& o) noexcept : w_(o.w_) { o.w_ = nullptr; }
    CloseWatch(const CloseWatch&) = delete;
    CloseWatch& operator=(const CloseWatch&) = delete;
    CloseWatch& operator=(CloseWatch&&) = delete;
    ~CloseWatch();

   private:
    friend class StreamWriter;
    explicit CloseWatch(StreamWriter* w) : w_(w) {}
    StreamWriter* w_;
  };
  [[nodiscard]] CloseWatch on_close(std::function<void()> fn);

 protected:
  /// Marks the stream closed and runs the on_close hook (once). Implementations
  /// call it when the client goes away; safe from any thread, idempotent.
  void mark_closed();

 private:
  mutable std::mutex mu_;
  bool closed_ = false;
  std::function<void()> hook_;  // guarded by mu_; run under it
};

/// A writer that collects the body in memory, up to `cap` bytes (then it
/// closes): streamed answers without a network, for handle()'s direct callers.
class MemoryStreamWriter final : public StreamWriter {
 public:
  explicit MemoryStreamWriter(uint64_t cap) : cap_(cap) {}
  bool write(std::string_view bytes) override;
  bool has_room() const override { return !closed(); }
  /// The body so far; moved out.
  std::string take() { return std::move(body_); }

 private:
  const uint64_t cap_;
  std::string body_;  // written by the handler's thread only
};

/// Starts a streamed answer to `req`: res.status and res.headers are sent now
/// (res.body is ignored; Cache-Control: no-store is added), then the body in
/// chunks (HTTP/1.1; to HTTP/1.0 clients until the connection closes) through
/// the returned writer, until the handler returns, which ends the response.
/// Set Content-Type first (text/event-stream, application/x-ndjson). The
/// status cannot change afterwards: report later failures in the stream.
/// Call it from the handler (a second call returns the same writer and
/// changes nothing); the writer is valid until the handler returns. Without
/// a transport (handle() called directly, as fuzzers and unit tests do) the
/// body is collected into res.body, at most ServerConfig::max_body_bytes of
/// it, the writer closing past that.
StreamWriter& start_stream(const Request& req, Response& res);

}  // namespace pycell::server
