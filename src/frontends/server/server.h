// pycell's servers: MCP (stdio and streamable HTTP) and the JSON REST API.
// Front end: uses only the public API (include/pycell/), never src/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pycell/engine.h"
#include "pycell/session.h"

namespace pycell::server {

/// Everything a server needs. Read once by run_mcp_stdio / run_http.
struct ServerConfig {
  /// How to build the one Engine every session shares (keep preinit on:
  /// sessions then start in well under a millisecond).
  pycell::EngineConfig engine;
  /// Limits and capabilities of every session. A request may lower limits
  /// for its own session, never raise them.
  pycell::SessionConfig session;
  /// Address to bind. Loopback by default: anything else exposes code
  /// execution to the network, so run_http refuses it without bearer_token
  /// unless insecure_no_token is set.
  std::string host = "127.0.0.1";
  /// Allows a non-loopback `host` without bearer_token (then anyone who can
  /// reach the port can run code; the Host and Origin checks still apply).
  bool insecure_no_token = false;
  /// 0 picks a free port; the "listening on" line on stderr names it.
  uint16_t port = 8765;
  /// Required as "Authorization: Bearer <token>" when not empty (compared in
  /// constant time). Empty: no authentication, which is only sensible on loopback.
  std::string bearer_token;
  /// Live interpreter sessions (REST and MCP together); past it creating one
  /// fails with 429 (REST) or an isError tool result (MCP).
  size_t max_sessions = 64;
  /// Request bodies (and stdio lines) larger than this are refused with 413
  /// before they are read (from Content-Length), or as soon as a chunked body
  /// passes it.
  uint64_t max_body_bytes = 8ull << 20;
  /// Origins allowed in addition to loopback ones (http://localhost:*,
  /// http://127.0.0.1:*, http://[::1]:*), e.g. "https://app.example.com",
  /// whatever address is bound. A request without Origin (not a browser)
  /// passes; one with any other Origin gets 403: this is what stops a web
  /// page from driving the server through the user's browser.
  std::vector<std::string> allowed_origins;
  /// Sessions unused for this long are closed (and MCP client sessions forgotten).
  uint64_t session_idle_ms = 15 * 60 * 1000;
  /// Host header values accepted besides the defaults, as "name" (any port)
  /// or "name:port" (e.g. "sandbox.internal"). The defaults stop DNS
  /// rebinding, where a browser sends a name the attacker resolves to this
  /// server: loopback names (localhost, 127/8, [::1]) always; when bound
  /// beyond loopback also IP literals (no DNS involved) and `host` itself.
  /// Any other name gets 403.
  std::vector<std::string> allowed_hosts;
  /// MCP client sessions (Mcp-Session-Id) kept at once; each costs a few
  /// hundred bytes until it is deleted or idles out. Past it initialize gets 429.
  size_t max_mcp_clients = 256;
  /// Snapshots kept by POST /v1/sessions/{id}/snapshot; past it 429. Each
  /// holds the guest pages it does not share with the engine's base snapshot.
  size_t max_snapshots = 64;
  /// Total guest memory (Snapshot::memory_bytes) of the snapshots kept; a
  /// snapshot that would pass it gets 429. Snapshots outlive their sessions,
  /// so without this a client could pin max_snapshots x memory_bytes.
  uint64_t max_snapshot_bytes = 2ull << 30;
  /// Snapshots neither taken nor used (restore, new session) for this long
  /// are dropped, like idle sessions.
  uint64_t snapshot_idle_ms = 15 * 60 * 1000;
  /// HTTP worker threads: at most this many requests run at once.
  size_t http_threads = 16;
  /// Stateless executions (POST /v1/exec, run_python without session_id)
  /// running at once; past it 503 (REST) or an isError tool result (MCP).
  size_t max_stateless_execs = 16;
};

/// Serves MCP over stdin/stdout (newline-delimited JSON-RPC) until stdin ends.
/// Logs go to stderr. Returns 0, or 1 if the engine could not be built.
int run_mcp_stdio(const ServerConfig& config);

/// Serves the REST API under /v1, MCP (streamable HTTP) at /mcp and the
/// OpenAPI document at /openapi.json until SIGINT or SIGTERM. Returns 0 after
/// a clean stop, 1 if the engine could not be built or the port not bound.
int run_http(const ServerConfig& config);

}  // namespace pycell::server
