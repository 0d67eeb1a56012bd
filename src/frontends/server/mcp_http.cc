// Streamable HTTP at /mcp, both eras on one endpoint.
//
// Legacy (2025-06-18 and 2025-11-25 basic/transports): initialize mints an
// Mcp-Session-Id, later requests must send it (400 without, 404 for one this
// server never minted) and may send MCP-Protocol-Version (400 for one it does
// not speak); 202 for notifications; GET has no stream (405). The session id
// holds all the state of a legacy client -- the negotiated revision -- so it
// is never forgotten: idle or not, a client keeps working, and the sandbox
// sessions it made belong to the principal, not to it. Ending one with
// DELETE is therefore refused with 405, which the spec allows.
//
// Stateless (2026-07-28 basic/transports/streamable-http): a request whose
// _meta declares the revision needs MCP-Protocol-Version equal to it,
// Mcp-Method equal to its method, and for tools/call Mcp-Name equal to
// params.name (plain or "=?base64?...?="); a missing or differing one is 400
// HeaderMismatch (-32020). Errors map to 400, an unknown method to 404;
// Mcp-Session-Id is ignored.
//
// A tools/call is answered as an SSE stream (when Accept allows it) carrying
// notifications/progress, then the response, in the stateless era always and
// in the legacy one with a progressToken; closing that stream cancels the run.
#include "mcp_http.h"

#include "base64.h"
#include "common/echo.h"
#include "http_common.h"
#include "pycell/json.h"
#include "registry.h"
#include "stream_writer.h"

namespace pycell::server {
namespace {

constexpr const char* kSessionHeader = "Mcp-Session-Id";
constexpr const char* kVersionHeader = "MCP-Protocol-Version";
/// The principal of MCP over HTTP: whoever holds the bearer token.
constexpr const char* kHttpOwner = "mcp:http";
/// Session ids are "mcp-<revision>-<32 hex digits>".
constexpr std::string_view kSessionPrefix = "mcp-";

std::string session_id_for(const std::string& version) {
  return random_id(std::string(kSessionPrefix) + version + "-");
}

/// The revision an Mcp-Session-Id of this server carries, if it is one.
std::optional<std::string> version_of_session(std::string_view id) {
  if (!id.starts_with(kSessionPrefix)) return std::nullopt;
  id.remove_prefix(kSessionPrefix.size());
  constexpr size_t kDate = 10, kHex = 32;
  if (id.size() != kDate + 1 + kHex || id[kDate] != '-') return std::nullopt;
  std::string version(id.substr(0, kDate));
  if (!supported_protocol_version(version)) return std::nullopt;
  for (char c : id.substr(kDate + 1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return version;
}

/// A header value in the 2026-07-28 "Value Encoding": plain, or
/// "=?base64?<standard base64 of UTF-8>?=". nullopt if the encoding is broken.
std::optional<std::string> decode_header_value(std::string_view v) {
  constexpr std::string_view kOpen = "=?base64?", kClose = "?=";
  if (!(v.size() >= kOpen.size() + kClose.size() && v.starts_with(kOpen) && v.ends_with(kClose))) {
    return std::string(v);
  }
  return base64_decode(v.substr(kOpen.size(), v.size() - kOpen.size() - kClose.size()));
}

json supported_error(const json& id, std::string_view requested) {
  json e = jsonrpc_error(id, kUnsupportedProtocolVersion, "Unsupported protocol version");
  json supported = json::array({kMcpModernVersion});
  for (const char* v : {"2025-11-25", "2025-06-18", "2024-11-05"}) supported.push_back(v);
  e["error"]["data"] = {{"supported", supported}, {"requested", policy::echo(requested)}};
  return e;
}

/// The HTTP status of a 2026-07-28 answer: errors are 400, an unknown
/// method 404 (basic/transports/streamable-http "Protocol Version Header").
int modern_status(const json& reply) {
  auto e = reply.find("error");
  if (e == reply.end()) return 200;
  int code = (*e)["code"].get<int>();
  return code == kMethodNotFound ? 404 : code == kInternalError ? 500 : 400;
}

}  // namespace

void McpHttp::register_routes(Router& server) {
  route_with_body(
      server, "POST", "/mcp", ctx_.config(),
      [this](const Request& req, Response& res, std::string& body) { post(req, res, body); });
  server.Get("/mcp", [](const Request&, Response& res) {
    res.set_header("Allow", "POST");
    send_json(res, 405, jsonrpc_error(nullptr, kInvalidRequest, "this server offers no GET event stream"));
  });
  server.Delete("/mcp", [](const Request&, Response& res) {
    res.set_header("Allow", "POST");
    send_json(res, 405,
              jsonrpc_error(nullptr, kInvalidRequest,
                            "MCP sessions of this server hold no state to end; sandbox sessions are closed with "
                            "the close_session tool"));
  });
}

std::optional<McpClient> McpHttp::client_for(const Request& req, Response& res) {
  std::string id = req.get_header_value(kSessionHeader);
  if (id.empty()) {
    send_json(res, 400,
              jsonrpc_error(nullptr, kInvalidRequest,
                            "missing Mcp-Session-Id header: initialize first, or declare revision 2026-07-28 in "
                            "params._meta"));
    return std::nullopt;
  }
  auto version = version_of_session(id);
  if (!version) {
    send_json(res, 404, jsonrpc_error(nullptr, kInvalidRequest, "unknown Mcp-Session-Id: initialize again"));
    return std::nullopt;
  }
  return McpClient{kHttpOwner, *version, true};
}

void McpHttp::post(const Request& req, Response& res, const std::string& body) {
  std::string why;
  auto message = parse_json(body, &why);
  if (!message) return send_json(res, 400, jsonrpc_error(nullptr, kParseError, "parse error: " + why));
  // A message that is not a JSON-RPC request at all gets 400; a request's
  // own error is an ordinary JSON-RPC response (200).
  std::optional<json> invalid;
  Envelope envelope = check_envelope(*message, invalid);
  if (invalid) return send_json(res, 400, *invalid);
  const std::string version = req.get_header_value(kVersionHeader);
  if (envelope.modern_version() || modern_protocol_version(version)) return post_modern(req, res, envelope);
  if (!version.empty() && !supported_protocol_version(version)) {
    return send_json(res, 400, supported_error(envelope.id, version));
  }

  if (envelope.kind == Envelope::Kind::kRequest && envelope.method == "initialize") {
    McpClient client{kHttpOwner, {}, false};
    json reply = *mcp_.handle(client, envelope);
    if (!reply.contains("error")) res.set_header(kSessionHeader, session_id_for(client.protocol_version));
    return send_json(res, 200, reply);
  }
  auto client = client_for(req, res);
  if (!client) return;
  if (envelope.kind == Envelope::Kind::kNotification && envelope.method == "notifications/cancelled") {
    json id = envelope.cancelled_id();
    if (!id.is_null()) {
      std::lock_guard lock(mu_);
      auto it = calls_.find(req.get_header_value(kSessionHeader) + " " + dump(id));
      if (it != calls_.end()) it->second->cancel();
    }
    res.status = 202;
    return;
  }
  if (envelope.kind == Envelope::Kind::kRequest && slow_method(envelope.method)) {
    return run_call(req, res, *client, envelope, false);
  }
  auto reply = mcp_.handle(*client, envelope);
  if (!reply) {
    res.status = 202;  // a notification or a response: accepted, nothing to say
    return;
  }
  send_json(res, 200, *reply);
}

void McpHttp::run_call(const Request& req, Response& res, McpClient& client, const Envelope& envelope, bool modern) {
  auto rc = std::make_shared<RequestContext>();
  rc->progress_token = envelope.progress_token();
  // Legacy clients cancel with notifications/cancelled on another POST of
  // the same Mcp-Session-Id; stateless ones by closing the response stream.
  const std::string key = modern ? std::string() : req.get_header_value(kSessionHeader) + " " + dump(envelope.id);
  if (!modern) {
    std::lock_guard lock(mu_);
    if (!calls_.emplace(key, rc).second) {
      return send_json(res, 200,
                       jsonrpc_error(envelope.id, kInvalidRequest, "a request with this id is already in progress"));
    }
  }
  auto forget = [&] {
    if (modern) return;
    std::lock_guard lock(mu_);
    calls_.erase(key);
  };
  // Stateless clients cancel by closing the stream, which only a stream
  // lets the server notice during the run: they always get one.
  const bool stream = (modern || !rc->progress_token.is_null()) &&
                      req.get_header_value("Accept").find("text/event-stream") != std::string::npos;
  if (!stream) {
    auto reply = mcp_.handle(client, envelope, rc.get());
    forget();
    if (rc->cancelled()) {
      res.status = 204;  // cancelled: no response for the request (basic/utilities/cancellation)
      return;
    }
    return send_json(res, modern ? modern_status(*reply) : 200, *reply);
  }
  // Progress asked for: an SSE response stream carries the notifications
  // and then the response (basic/transports "Sending Messages").
  res.status = 200;
  res.set_header("Content-Type", "text/event-stream");
  res.set_header("X-Accel-Buffering", "no");
  StreamWriter& writer = start_stream(req, res);
  std::mutex writer_mu;  // the run's thread and the progress ticker both send
  rc->notify = [&](const json& message) {
    std::lock_guard lock(writer_mu);
    writer.send_event("message", dump(message));
  };
  auto watch = writer.on_close([rc] { rc->cancel(); });
  auto reply = mcp_.handle(client, envelope, rc.get());
  forget();
  if (!rc->cancelled()) {
    std::lock_guard lock(writer_mu);
    writer.send_event("message", dump(*reply));
  }
}

void McpHttp::post_modern(const Request& req, Response& res, const Envelope& envelope) {
  auto mismatch = [&](std::string why) {
    send_json(res, 400, jsonrpc_error(envelope.id, kHeaderMismatch, "Header mismatch: " + why));
  };
  if (envelope.kind == Envelope::Kind::kResponse) {
    // This server sends no requests, and 2026-07-28 forbids clients to POST
    // responses (basic/transports/streamable-http "Sending Messages").
    return send_json(res, 400, jsonrpc_error(nullptr, kInvalidRequest, "a client must not send JSON-RPC responses"));
  }
  if (envelope.kind == Envelope::Kind::kNotification) {
    res.status = 202;  // 2026-07-28 defines none over HTTP; accepted and ignored
    return;
  }
  const json* body_version = envelope.modern_version();
  if (!body_version) {
    return send_json(res, 400,
                     jsonrpc_error(envelope.id, kInvalidParams,
                                   std::string("params._meta[\"") + kMetaProtocolVersion + "\"] is required"));
  }
  const std::string version = req.get_header_value(kVersionHeader);
  if (!body_version->is_string() || version != body_version->get<std::string>()) {
    return mismatch(std::string(version.empty() ? "MCP-Protocol-Version is missing" : "MCP-Protocol-Version '" +
                                                                                            policy::echo(version) +
                                                                                            "' does not match") +
                    " the body's _meta protocol version");
  }
  if (!req.has_header("Mcp-Method")) return mismatch("the Mcp-Method header is required");
  if (req.get_header_value("Mcp-Method") != envelope.method) {
    return mismatch("Mcp-Method '" + policy::echo(req.get_header_value("Mcp-Method")) +
                    "' does not match the body's method");
  }
  for (auto [method, field] : {std::pair{"tools/call", "name"}, {"resources/read", "uri"}, {"prompts/get", "name"}}) {
    if (envelope.method != method) continue;
    if (!req.has_header("Mcp-Name")) return mismatch(std::string("the Mcp-Name header is required for ") + method);
    auto name = decode_header_value(req.get_header_value("Mcp-Name"));
    const json* params = envelope.params;
    auto it = params && params->is_object() ? params->find(field) : json::const_iterator();
    if (!name || !params || !params->is_object() || it == params->end() || !it->is_string() || *it != *name) {
      return mismatch(std::string("Mcp-Name does not match params.") + field);
    }
  }
  McpClient client{kHttpOwner, kMcpModernVersion, false};
  if (slow_method(envelope.method)) return run_call(req, res, client, envelope, true);
  json reply = *mcp_.handle(client, envelope);
  send_json(res, modern_status(reply), reply);
}

}  // namespace pycell::server
