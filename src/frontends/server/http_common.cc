// JSON responses, the pre-body request checks (Host, Origin, token, size)
// and handle(), the transport's way into the routes.
#include "http_common.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "context.h"
#include "mcp.h"
#include "stream_writer.h"

#include "common/echo.h"
#include "common/loopback.h"

namespace pycell::server {

using policy::is_ip_literal;
using policy::is_loopback_name;

void send_json(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(Response& res, int status, std::string_view code, std::string_view message) {
  send_json(res, status, {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}});
}

void send_host_error(Response& res, const Error& e, int exhausted_status, std::string_view exhausted_code) {
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
      return send_error(res, 400, "bad_request", e.message());
    case ErrorCode::kNotFound:
      return send_error(res, 404, "not_found", e.message());
    case ErrorCode::kResourceExhausted:
      return send_error(res, exhausted_status, exhausted_code, e.message());
    case ErrorCode::kUnavailable:
      return send_error(res, 409, "session_unavailable", e.message() + "; reset or close the session");
    case ErrorCode::kConflict:
      return send_error(res, 409, "conflict", e.message());
    default:
      return send_error(res, 500, "internal", e.message());
  }
}

void route_with_body(Router& router, const char* method, const std::string& pattern, const ServerConfig& config,
                     BodyHandler handler) {
  auto with_body = [cap = config.max_body_bytes, handler = std::move(handler)](Request& req, Response& res) {
    if (req.body.size() > cap) return send_error(res, 413, "payload_too_large", body_too_large(cap));
    handler(req, res, req.body);
  };
  if (std::string_view(method) == "POST") {
    router.Post(pattern, std::move(with_body));
  } else {
    router.Put(pattern, std::move(with_body));
  }
}

bool admit(const ServerContext& ctx, const Request& req, Response& res) {
  const ServerConfig& cfg = ctx.config();
  bool is_mcp = req.path == "/mcp";
  auto refuse = [&](int status, const char* code, const std::string& message) {
    if (is_mcp) {
      send_json(res, status, jsonrpc_error(nullptr, kInvalidRequest, message));
    } else {
      send_error(res, status, code, message);
    }
    return false;
  };
  if (ctx.stopping) {
    res.set_header("Connection", "close");
    return refuse(503, "shutting_down", "the server is shutting down");
  }
  if (!host_allowed(req.get_header_value("Host"), cfg)) {
    return refuse(403, "forbidden_host",
                  "Host header '" + policy::echo(req.get_header_value("Host")) + "' is not accepted");
  }
  std::string origin = req.get_header_value("Origin");
  if (!origin_allowed(origin, cfg)) {
    return refuse(403, "forbidden_origin", "Origin '" + policy::echo(origin) + "' is not allowed");
  }
  if (!origin.empty()) {
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers", "Mcp-Session-Id");
  }
  if (req.method == "OPTIONS") {  // CORS preflight from an allowed origin
    res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
    res.set_header("Access-Control-Allow-Headers",
                   "Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID");
    res.status = 204;
    return false;
  }
  // Health answers without the token (for probes), but then says only its status.
  bool open_path = req.method == "GET" && req.path == "/v1/health";
  if (!open_path && !token_accepted(req.get_header_value("Authorization"), cfg)) {
    res.set_header("WWW-Authenticate", "Bearer");
    return refuse(401, "unauthorized", "missing or wrong bearer token");
  }
  // Body size, from the headers alone: a body declared too large is refused
  // unread (the transport caps a chunked one while reading it).
  bool takes_body = req.method == "POST" || req.method == "PUT";
  if (req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos && !takes_body) {
    res.set_header("Connection", "close");
    return refuse(400, "bad_request", req.method + " takes no request body");
  }
  if (req.has_header("Content-Length")) {
    const std::string len = req.get_header_value("Content-Length");
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (ec != std::errc() || end != len.data() + len.size() || n > cfg.max_body_bytes) {
      res.set_header("Connection", "close");
      return refuse(413, "payload_too_large", body_too_large(cfg.max_body_bytes));
    }
  }
  return true;
}

Response handle(const ServerContext& ctx, const Router& router, Request req) {
  Response res;
  // Without a transport, a streamed body is collected and returned whole.
  std::shared_ptr<MemoryStreamWriter> collected;
  if (!req.open_stream) {
    req.open_stream = [&collected, cap = ctx.config().max_body_bytes](Response&) {
      collected = std::make_shared<MemoryStreamWriter>(cap);
      return collected;
    };
  }
  try {
    if (admit(ctx, req, res)) router.dispatch(req, res);
  } catch (const std::exception& e) {
    // A bug, but one request's bug: answer it and keep serving. A streamed
    // answer's status is already out: its transport sees the stream gone
    // from the response and breaks the connection.
    std::fprintf(stderr, "pycell serve: %s %.200s: uncaught exception: %.200s\n", req.method.c_str(),
                 req.path.c_str(), e.what());
    res = Response();
    send_error(res, 500, "internal", "internal error while handling the request");
    return res;
  }
  if (collected && res.stream == collected) {
    res.body = collected->take();
    res.stream.reset();
  }
  return res;
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
