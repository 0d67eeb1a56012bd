// Accept negotiation for exec, and a run's output as SSE events or NDJSON.
#include "exec_stream.h"

#include <algorithm>

namespace pycell::server {
namespace {

/// One event's text at most: big chunks are split, so that each event fits
/// in the queue beside others and a slow client loses pieces, not all.
constexpr size_t kMaxEventText = 16 << 10;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

/// Length of the prefix of `s` that does not end inside a UTF-8 sequence
/// (a sequence cut short is kept for the next chunk; invalid bytes are not
/// held back, the JSON encoder replaces them).
size_t complete_utf8(std::string_view s) {
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t len = c >= 0xF0 && c < 0xF8 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return len > back ? n - back : n;
  }
  return n;
}

/// Where to cut `s` at most `max` bytes in, not inside a UTF-8 sequence.
size_t cut_point(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t at = max;
  while (at > max - 3 && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
  return at;
}

}  // namespace

ExecFormat exec_format(std::string_view accept) {
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept.remove_prefix(comma == std::string_view::npos ? accept.size() : comma + 1);
    std::string_view type = trim(item.substr(0, item.find(';')));
    if (iequals(type, "text/event-stream")) return ExecFormat::kSse;
    if (iequals(type, "application/x-ndjson")) return ExecFormat::kNdjson;
    if (iequals(type, "application/json") || type == "*/*" || iequals(type, "application/*")) return ExecFormat::kJson;
  }
  return ExecFormat::kJson;
}

const char* content_type(ExecFormat format) {
  switch (format) {
    case ExecFormat::kSse: return "text/event-stream";
    case ExecFormat::kNdjson: return "application/x-ndjson";
    case ExecFormat::kJson: break;
  }
  return "application/json";
}

void ExecStream::send(std::string_view type, json data) {
  if (format_ == ExecFormat::kSse) {
    w_.send_event(type, dump(data));
    return;
  }
  if (type == "result" || type == "error") {
    w_.send_line(dump({{"type", type}, {std::string(type), std::move(data)}}));
    return;
  }
  data["type"] = type;
  w_.send_line(dump(data));
}

bool ExecStream::flush_dropped(Stream stream, bool wait) {
  PerStream& s = stream == Stream::kStdout ? out_ : err_;
  if (s.dropped == 0) return true;
  if (!wait && !w_.has_room()) return false;
  send("dropped", {{"stream", stream == Stream::kStdout ? "stdout" : "stderr"}, {"bytes", s.dropped}});
  s.dropped = 0;
  return true;
}

void ExecStream::output(Stream stream, std::string_view bytes) {
  PerStream& s = stream == Stream::kStdout ? out_ : err_;
  if (w_.closed() || s.sent >= cap_) return;
  bytes = bytes.substr(0, cap_ - s.sent);
  s.sent += bytes.size();
  std::string text = std::move(s.carry);
  text.append(bytes);
  size_t whole = complete_utf8(text);
  s.carry = text.substr(whole);
  std::string_view rest(text.data(), whole);
  const char* name = stream == Stream::kStdout ? "stdout" : "stderr";
  while (!rest.empty()) {
    size_t n = cut_point(rest, kMaxEventText);
    if (flush_dropped(stream, /*wait=*/false) && w_.has_room()) {
      send(name, {{"text", std::string(rest.substr(0, n))}});
    } else {
      s.dropped += n;
    }
    rest.remove_prefix(n);
  }
}

void ExecStream::result(const json& result) {
  flush_dropped(Stream::kStdout, /*wait=*/true);
  flush_dropped(Stream::kStderr, /*wait=*/true);
  send("result", result);
}

void ExecStream::error(std::string_view code, std::string_view message) {
  json e = {{"code", std::string(code)}, {"message", std::string(message)}};
  if (format_ == ExecFormat::kSse) {
    w_.send_event("error", dump({{"error", std::move(e)}}));
  } else {
    send("error", std::move(e));
  }
}

}  // namespace pycell::server
