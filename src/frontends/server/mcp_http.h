// MCP's streamable HTTP transport at /mcp: POST carries one JSON-RPC message
// and gets one application/json answer; DELETE ends a client session.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "mcp.h"
#include "router.h"

namespace pycell::server {

class McpHttp {
 public:
  explicit McpHttp(ServerContext& ctx) : ctx_(ctx), mcp_(ctx) {}

  /// Adds POST/GET/DELETE /mcp. This object must outlive `server`.
  void register_routes(Router& server);

  /// Forgets clients idle longer than the session idle time, closing their
  /// sandbox sessions.
  void expire_idle();

 private:
  struct Client {
    McpClient mcp;  // not changed after initialize
    std::atomic<int64_t> last_used_ms{0};
  };

  void post(const Request& req, Response& res, const std::string& body);
  void remove(const Request& req, Response& res);
  /// The client named by Mcp-Session-Id; on failure the 400/404 is written.
  std::shared_ptr<Client> client_for(const Request& req, Response& res);

  ServerContext& ctx_;
  McpServer mcp_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Client>> clients_;
};

}  // namespace pycell::server
