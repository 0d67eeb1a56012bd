// The HTTP request and response the route handlers see, free of any socket or
// HTTP library, so handlers can be driven (and fuzzed) without a network.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pycell::server {

class StreamWriter;
struct Response;

/// Header fields in arrival order; names compare case-insensitively.
class Headers {
 public:
  /// The first value of `name`, or "" if absent.
  std::string get(std::string_view name) const;
  /// True if a field `name` is present (even with an empty value).
  bool has(std::string_view name) const;
  /// Appends a field; duplicates are kept (get returns the first).
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  /// Removes every field `name`.
  void remove(std::string_view name);
  /// Number of fields, duplicates included.
  size_t size() const { return fields_.size(); }
  /// Every (name, value), in arrival order; borrowed.
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// One request, as the transport parsed it. Every field is client data.
struct Request {
  /// As sent, e.g. "GET"; HEAD is routed as GET.
  std::string method;
  /// The request target as sent, e.g. "/v1/sessions/x/files/a%20b?q=1".
  std::string target;
  /// The target's path, percent-decoded ("/v1/sessions/x/files/a b").
  std::string path;
  /// The target's query without the '?', not decoded ("q=1").
  std::string query;
  Headers headers;
  /// The whole body, at most ServerConfig::max_body_bytes when it came from the transport.
  std::string body;
  /// Set by the router: [0] the path, [1..] the pattern's captured groups.
  std::vector<std::string> matches;
  /// Set by whoever serves the request (the transport, handle()), never from
  /// client data: sends `res`'s head and returns the writer for its body.
  /// Handlers use start_stream() (stream_writer.h) instead.
  std::function<std::shared_ptr<StreamWriter>(Response& res)> open_stream;

  /// The first value of header `name`, or "".
  std::string get_header_value(std::string_view name) const { return headers.get(name); }
  /// True if header `name` was sent.
  bool has_header(std::string_view name) const { return headers.has(name); }
};

/// One response: status, header fields and the whole body, or, once the
/// handler called start_stream(), the writer its body went through.
struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  /// Set by start_stream(): the head is sent and `body` is unused.
  std::shared_ptr<StreamWriter> stream;

  /// Adds a header field; a name or value with CR, LF or NUL (which would
  /// let a value echoed from a request inject fields) is dropped.
  void set_header(std::string_view name, std::string_view value);
  /// Sets the body and its Content-Type.
  void set_content(std::string content, std::string_view content_type);
  /// Copies `size` bytes at `data` as the body.
  void set_content(const char* data, size_t size, std::string_view content_type) {
    set_content(std::string(data, size), content_type);
  }
  std::string get_header_value(std::string_view name) const { return headers.get(name); }
  bool has_header(std::string_view name) const { return headers.has(name); }
};

/// Splits a request target into its percent-decoded path and raw query.
/// "%2F" decodes to '/' and an invalid escape is kept as sent.
void split_target(std::string_view target, std::string& path, std::string& query);

}  // namespace pycell::server
