// Streamable HTTP (MCP 2025-06-18, basic/transports): session ids from
// initialize, MCP-Protocol-Version checks, 202 for notifications, 405 for
// the optional GET stream, which this server does not offer (it never sends
// requests or notifications of its own).
#include "mcp_http.h"

#include "common/echo.h"
#include "http_common.h"
#include "pycell/json.h"

namespace pycell::server {
namespace {

constexpr const char* kSessionHeader = "Mcp-Session-Id";

}  // namespace

void McpHttp::register_routes(Router& server) {
  route_with_body(
      server, "POST", "/mcp", ctx_.config(),
      [this](const Request& req, Response& res, std::string& body) { post(req, res, body); });
  server.Get("/mcp", [](const Request&, Response& res) {
    res.set_header("Allow", "POST, DELETE");
    send_json(res, 405, jsonrpc_error(nullptr, kInvalidRequest, "this server offers no GET event stream"));
  });
  server.Delete("/mcp", [this](const Request& req, Response& res) { remove(req, res); });
}

std::shared_ptr<McpHttp::Client> McpHttp::client_for(const Request& req, Response& res) {
  std::string id = req.get_header_value(kSessionHeader);
  if (id.empty()) {
    send_json(res, 400, jsonrpc_error(nullptr, kInvalidRequest, "missing Mcp-Session-Id header: initialize first"));
    return nullptr;
  }
  std::lock_guard lock(mu_);
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    send_json(res, 404, jsonrpc_error(nullptr, kInvalidRequest, "unknown or expired Mcp-Session-Id: initialize again"));
    return nullptr;
  }
  it->second->last_used_ms = now_ms();
  return it->second;
}

void McpHttp::post(const Request& req, Response& res, const std::string& body) {
  std::string why;
  auto message = parse_json(body, &why);
  if (!message) return send_json(res, 400, jsonrpc_error(nullptr, kParseError, "parse error: " + why));
  std::string version = req.get_header_value("MCP-Protocol-Version");
  if (!version.empty() && !supported_protocol_version(version)) {
    return send_json(res, 400, jsonrpc_error(nullptr, kInvalidRequest,
                                             "unsupported MCP-Protocol-Version: " + policy::echo(version)));
  }
  // A message that is not a JSON-RPC request at all gets 400; a request's
  // own error is an ordinary JSON-RPC response (200).
  std::optional<json> invalid;
  Envelope envelope = check_envelope(*message, invalid);
  if (invalid) return send_json(res, 400, *invalid);

  if (envelope.kind == Envelope::Kind::kRequest && envelope.method == "initialize") {
    auto client = std::make_shared<Client>();
    std::string id = random_id("mcp_");
    client->mcp.owner = "mcp:" + id;
    client->last_used_ms = now_ms();
    json reply = *mcp_.handle(client->mcp, envelope);
    if (reply.contains("error")) return send_json(res, 200, reply);
    {
      std::lock_guard lock(mu_);
      if (clients_.size() >= ctx_.config().max_mcp_clients) {
        return send_json(res, 429,
                        jsonrpc_error(envelope.id, kInternalError,
                                      "too many MCP sessions (" + std::to_string(ctx_.config().max_mcp_clients) +
                                          "); end one with DELETE /mcp or wait for idle ones to expire"));
      }
      clients_[id] = client;
    }
    res.set_header(kSessionHeader, id);
    return send_json(res, 200, reply);
  }

  auto client = client_for(req, res);
  if (!client) return;
  auto reply = mcp_.handle(client->mcp, envelope);
  client->last_used_ms = now_ms();
  if (!reply) {
    res.status = 202;  // a notification or a response: accepted, nothing to say
    return;
  }
  send_json(res, 200, *reply);
}

void McpHttp::remove(const Request& req, Response& res) {
  auto client = client_for(req, res);
  if (!client) return;
  {
    std::lock_guard lock(mu_);
    clients_.erase(req.get_header_value(kSessionHeader));
  }
  ctx_.sessions().close_owner(client->mcp.owner);
  res.status = 204;
}

void McpHttp::expire_idle() {
  std::vector<std::shared_ptr<Client>> gone;
  int64_t cutoff = now_ms() - static_cast<int64_t>(ctx_.config().session_idle_ms);
  {
    std::lock_guard lock(mu_);
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (it->second->last_used_ms < cutoff) {
        gone.push_back(std::move(it->second));
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& c : gone) ctx_.sessions().close_owner(c->mcp.owner);
}

}  // namespace pycell::server
