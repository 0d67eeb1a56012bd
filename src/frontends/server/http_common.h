// Helpers shared by the HTTP front ends: JSON responses, REST errors, and the
// request checks that run before any body is read.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>
#include <string_view>

#include "result_schema.h"
#include "server.h"

namespace pycell::server {

/// Writes `body` as the JSON response with `status`.
void send_json(httplib::Response& res, int status, const json& body);

/// A REST error: {"error": {"code": code, "message": message}}.
void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message);

/// Sends the status and code that fit a host Error: kInvalidArgument 400,
/// kNotFound 404, kUnavailable 409, kResourceExhausted as given (which cap was
/// hit depends on the call), else 500.
void send_host_error(httplib::Response& res, const Error& e, int exhausted_status = 429,
                     std::string_view exhausted_code = "too_many_sessions");

/// A route handler that receives the request body, already read and capped.
using BodyHandler = std::function<void(const httplib::Request&, httplib::Response&, std::string& body)>;

/// Bytes of an over-cap body the server reads and discards, so that the
/// client (which may still be sending) reads the 413 instead of a reset
/// connection. Bodies declared larger than cap + this are refused unread.
inline constexpr uint64_t kDrainBytes = 64ull << 20;

/// Registers `handler` for POST or PUT `pattern`. The body is read by
/// pycell, not httplib, so chunked bodies are capped too: past
/// max_body_bytes the rest is discarded and the answer is 413.
void route_with_body(httplib::Server& server, const char* method, const std::string& pattern,
                     const ServerConfig& config, BodyHandler handler);

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
