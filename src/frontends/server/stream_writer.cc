// StreamWriter's framing (SSE, NDJSON), its close hook, and start_stream().
#include "stream_writer.h"

#include "server.h"

namespace pycell::server {
namespace {

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

bool StreamWriter::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void StreamWriter::mark_closed() {
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  // Run under the lock, so that ~CloseWatch can wait for it.
  if (hook_) std::exchange(hook_, nullptr)();
}

StreamWriter::CloseWatch StreamWriter::on_close(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (closed_) {
    fn();
  } else {
    hook_ = std::move(fn);
  }
  return CloseWatch(this);
}

StreamWriter::CloseWatch::~CloseWatch() {
  if (!w_) return;
  std::lock_guard lock(w_->mu_);
  w_->hook_ = nullptr;
}

bool StreamWriter::send_event(std::string_view event, std::string_view data, std::string_view id) {
  std::string out;
  out.reserve(data.size() + 32);
  if (!event.empty() && !has_line_break(event)) out.append("event: ").append(event).append("\n");
  if (!id.empty() && !has_line_break(id)) out.append("id: ").append(id).append("\n");
  // Each of CR, LF and CRLF ends an SSE line; the client joins data lines with LF.
  size_t start = 0;
  for (;;) {
    size_t end = data.find_first_of("\r\n", start);
    out.append("data: ").append(data.substr(start, end - start)).append("\n");
    if (end == std::string_view::npos) break;
    start = end + (data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n' ? 2 : 1);
  }
  out.append("\n");
  return write(out);
}

bool StreamWriter::send_comment(std::string_view text) {
  std::string out(": ");
  for (char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\n\n");
  return write(out);
}

bool StreamWriter::send_line(std::string_view line) {
  std::string out;
  out.reserve(line.size() + 1);
  for (char c : line) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.push_back('\n');
  return write(out);
}

bool MemoryStreamWriter::write(std::string_view bytes) {
  if (closed()) return false;
  if (bytes.size() > cap_ - body_.size()) {
    mark_closed();
    return false;
  }
  body_.append(bytes);
  return true;
}

StreamWriter& start_stream(const Request& req, Response& res) {
  if (res.stream) return *res.stream;  // the head is out already
  res.body.clear();
  res.headers.remove("Content-Length");
  res.headers.remove("Cache-Control");
  // Proxies and browsers must neither cache nor hold back a live stream.
  res.set_header("Cache-Control", "no-store");
  if (req.open_stream) {
    res.stream = req.open_stream(res);
  } else {
    res.stream = std::make_shared<MemoryStreamWriter>(ServerConfig().max_body_bytes);
  }
  return *res.stream;
}

}  // namespace pycell::server
