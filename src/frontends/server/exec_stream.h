// ExecStream: one run's output and result as Server-Sent Events or NDJSON
// records (POST /v1/exec and /v1/sessions/{id}/exec with a streaming Accept).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pycell/session.h"
#include "result_schema.h"
#include "stream_writer.h"

namespace pycell::server {

/// How a client asked for an exec's answer.
enum class ExecFormat { kJson, kSse, kNdjson };

/// The format an Accept header asks for: the first of text/event-stream,
/// application/x-ndjson and application/json (or */*, application/*) in the
/// order listed (parameters and q-values are ignored); kJson if none.
ExecFormat exec_format(std::string_view accept);

/// The Content-Type of a streaming format.
const char* content_type(ExecFormat format);

/// Sends one run's events. SSE: events `stdout` and `stderr` with data
/// {"text": ...}, `dropped` with {"stream", "bytes"}, then `result` with the
/// ExecResult JSON or `error` with a REST error body. NDJSON: one object per
/// line, {"type": "stdout"|"stderr"|"dropped"|"result"|"error", ...}, the
/// result under "result" and the error under "error".
///
/// Output never slows the run: when the client has fallen stream_buffer_bytes
/// behind, output is left out and a `dropped` event says how much of which
/// stream once there is room again; output past the session's output_bytes
/// (per stream, as captured) is not sent either. The result carries the
/// captured output whole, so nothing is lost for good.
class ExecStream {
 public:
  /// `writer` is borrowed for the object's life.
  ExecStream(StreamWriter& writer, ExecFormat format, uint64_t output_cap)
      : w_(writer), format_(format), cap_(output_cap) {}

  /// For ExecOptions::on_output (the run's own thread). Never blocks.
  void output(Stream stream, std::string_view bytes);

  /// Sends the final result (waits for room, at most stream_stall_ms).
  void result(const json& result);

  /// Sends an error in place of a result.
  void error(std::string_view code, std::string_view message);

 private:
  struct PerStream {
    uint64_t sent = 0;     // bytes accepted toward the cap
    uint64_t dropped = 0;  // left out for lack of room, not yet reported
    std::string carry;     // a UTF-8 sequence cut at the end of a chunk
  };
  void send(std::string_view type, json data);
  /// Reports dropped output; `wait`: even if that means waiting for room.
  bool flush_dropped(Stream stream, bool wait);

  StreamWriter& w_;
  const ExecFormat format_;
  const uint64_t cap_;
  PerStream out_, err_;
};

}  // namespace pycell::server
