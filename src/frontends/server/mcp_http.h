// MCP's streamable HTTP transport at /mcp, both eras on one endpoint: POST
// carries one JSON-RPC message and gets one application/json answer, or an
// SSE stream for a tools/call.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "mcp.h"
#include "router.h"

namespace pycell::server {

class McpHttp {
 public:
  explicit McpHttp(ServerContext& ctx) : ctx_(ctx), mcp_(ctx) {}

  /// Adds POST/GET/DELETE /mcp. This object must outlive `server`.
  void register_routes(Router& server);

 private:
  void post(const Request& req, Response& res, const std::string& body);
  void post_modern(const Request& req, Response& res, const Envelope& envelope);
  /// The legacy client an Mcp-Session-Id names; on failure the 400/404 is written.
  std::optional<McpClient> client_for(const Request& req, Response& res);
  /// Handles a request that runs Python: cancellable (legacy: by a later
  /// notifications/cancelled; stateless: by closing the stream) and, when
  /// Accept allows it, answered as an SSE stream that carries the progress
  /// notifications before the response (legacy: only with a progressToken).
  void run_call(const Request& req, Response& res, McpClient& client, const Envelope& envelope, bool modern);

  ServerContext& ctx_;
  McpServer mcp_;
  /// Legacy requests in flight, by Mcp-Session-Id and request id; at most
  /// one per HTTP worker thread.
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<RequestContext>> calls_;
};

}  // namespace pycell::server
