// JSON responses and the pre-body request checks (Host, Origin, token).
#include "http_common.h"

#include <algorithm>

#include "common/loopback.h"

namespace pycell::server {

using policy::is_ip_literal;
using policy::is_loopback_name;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  send_json(res, status, {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}});
}

void send_host_error(httplib::Response& res, const Error& e, int exhausted_status, std::string_view exhausted_code) {
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
      return send_error(res, 400, "bad_request", e.message());
    case ErrorCode::kNotFound:
      return send_error(res, 404, "not_found", e.message());
    case ErrorCode::kResourceExhausted:
      return send_error(res, exhausted_status, exhausted_code, e.message());
    case ErrorCode::kUnavailable:
      return send_error(res, 409, "session_unavailable", e.message() + "; reset or close the session");
    default:
      return send_error(res, 500, "internal", e.message());
  }
}

void route_with_body(httplib::Server& server, const char* method, const std::string& pattern,
                     const ServerConfig& config, BodyHandler handler) {
  const uint64_t cap = config.max_body_bytes;
  auto with_reader = [cap, handler](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
    std::string body;
    // httplib treats every POST and PUT as having a body; one with neither
    // header has none (reading it would wait for the client to close).
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) return handler(req, res, body);
    uint64_t seen = 0;
    bool complete = reader([&](const char* data, size_t len) {
      seen += len;
      if (seen > cap) return seen <= cap + kDrainBytes;  // discard; give up past the drain allowance
      body.append(data, len);
      return true;
    });
    if (seen > cap) {
      if (!complete) res.set_header("Connection", "close");
      return send_error(res, 413, "payload_too_large",
                        body_too_large(cap));
    }
    if (!complete) {
      res.set_header("Connection", "close");
      return send_error(res, 400, "bad_request", "request body could not be read");
    }
    handler(req, res, body);
  };
  if (std::string_view(method) == "POST") {
    server.Post(pattern, httplib::Server::HandlerWithContentReader(with_reader));
  } else {
    server.Put(pattern, httplib::Server::HandlerWithContentReader(with_reader));
  }
}

std::string body_too_large(uint64_t cap) { return "request body over the limit of " + std::to_string(cap) + " bytes"; }

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the expected length whatever the input, so timing reveals nothing
  // about how many leading bytes matched.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff |= x ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

bool token_accepted(std::string_view authorization, const ServerConfig& config) {
  if (config.bearer_token.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  return authorization.starts_with(kBearer) &&
         constant_time_equal(authorization.substr(kBearer.size()), config.bearer_token);
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

/// "name[:port]" or "[v6]:port" → the name part, lower case.
std::string host_name(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    return lower(hostport.substr(0, close == std::string_view::npos ? hostport.size() : close + 1));
  }
  return lower(hostport.substr(0, hostport.find(':')));
}

}  // namespace

bool origin_allowed(std::string_view origin, const ServerConfig& config) {
  if (origin.empty()) return true;
  for (const auto& o : config.allowed_origins) {
    if (lower(o) == lower(origin)) return true;
  }
  std::string o = lower(origin);
  if (!o.starts_with("http://") && !o.starts_with("https://")) return false;  // "null" and the like
  std::string_view rest = std::string_view(o).substr(o.find("://") + 3);
  if (rest.find('/') != std::string_view::npos) return false;
  return is_loopback_name(host_name(rest));
}

bool host_allowed(std::string_view host, const ServerConfig& config) {
  if (host.empty()) return true;  // HTTP/1.0 clients; browsers always send Host
  const std::string name = host_name(host);
  for (const auto& h : config.allowed_hosts) {
    if (lower(h) == lower(host) || lower(h) == name) return true;
  }
  if (is_loopback_name(name)) return true;
  if (is_loopback_name(config.host)) return false;
  // Bound beyond loopback: DNS rebinding needs a name the attacker resolves,
  // so IP literals are safe, and so is the name the operator bound to.
  return is_ip_literal(name) || name == lower(config.host);
}

}  // namespace pycell::server
