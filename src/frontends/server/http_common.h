// Helpers shared by the HTTP front ends: JSON responses, REST errors, the
// request checks that run before any body is read, and handle(), the one
// socket-free entry point from a parsed request to its response.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "http_message.h"
#include "result_schema.h"
#include "router.h"
#include "server.h"

namespace pycell::server {

class ServerContext;

/// Writes `body` as the JSON response with `status`.
void send_json(Response& res, int status, const json& body);

/// A REST error: {"error": {"code": code, "message": message}}.
void send_error(Response& res, int status, std::string_view code, std::string_view message);

/// Sends the status and code that fit a host Error: kInvalidArgument 400,
/// kNotFound 404, kUnavailable 409, kResourceExhausted as given (which cap was
/// hit depends on the call), else 500.
void send_host_error(Response& res, const Error& e, int exhausted_status = 429,
                     std::string_view exhausted_code = "too_many_sessions");

/// A route handler that receives the request body, already read and capped.
using BodyHandler = std::function<void(const Request&, Response&, std::string& body)>;

/// Registers `handler` for POST or PUT `pattern`. The transport has read the
/// body and refused it past max_body_bytes; a body over the cap that arrives
/// another way (handle() called directly) gets the same 413.
void route_with_body(Router& router, const char* method, const std::string& pattern, const ServerConfig& config,
                     BodyHandler handler);

/// The checks every request passes before its body is read and before
/// routing: shutdown, Host, Origin (and CORS, OPTIONS preflight), bearer
/// token, declared body size. Returns true to go on; false with the refusal
/// written to `res`. Reads only the request line and headers.
bool admit(const ServerContext& ctx, const Request& req, Response& res);

/// A whole request to its response: admit(), then the route. Never throws: a
/// handler's exception becomes 500 internal (without Response::stream, even
/// if the handler had started one). The transport calls this on a worker
/// thread, with Request::open_stream set; fuzzers call it directly, and a
/// streamed body then comes back in Response::body.
Response handle(const ServerContext& ctx, const Router& router, Request req);

/// Equal strings, in time that depends only on their lengths (bearer tokens).
bool constant_time_equal(std::string_view a, std::string_view b);

/// True if no bearer token is configured, or `authorization` (the header's
/// value) is "Bearer <the token>", compared in constant time.
bool token_accepted(std::string_view authorization, const ServerConfig& config);

/// The 413 message, wherever the cap is found exceeded.
std::string body_too_large(uint64_t cap);

/// The Origin check against DNS rebinding and cross-site requests: an absent
/// Origin (not a browser) passes; loopback origins and configured ones pass.
bool origin_allowed(std::string_view origin, const ServerConfig& config);

/// The Host check against DNS rebinding: see ServerConfig::allowed_hosts.
bool host_allowed(std::string_view host, const ServerConfig& config);

}  // namespace pycell::server
