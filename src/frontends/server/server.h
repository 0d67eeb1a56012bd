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
  /// Sessions unused for this long are closed. A session belongs to its
  /// principal (the bearer token's holder over HTTP, the process over stdio),
  /// not to a connection: an agent may come back to it from any connection
  /// within this time. Default one hour, for human-paced agents.
  uint64_t session_idle_ms = 60 * 60 * 1000;
  /// Sessions one principal (REST, MCP over HTTP, MCP over stdio) may have
  /// open at once; past it creating one is refused. At most max_sessions.
  size_t max_sessions_per_principal = 64;
  /// Host header values accepted besides the defaults, as "name" (any port)
  /// or "name:port" (e.g. "sandbox.internal"). The defaults stop DNS
  /// rebinding, where a browser sends a name the attacker resolves to this
  /// server: loopback names (localhost, 127/8, [::1]) always; when bound
  /// beyond loopback also IP literals (no DNS involved) and `host` itself.
  /// Any other name gets 403.
  std::vector<std::string> allowed_hosts;
  /// MCP requests over stdio handled at once (tools/call runs on its own
  /// thread, so ping and cancellation are answered during a run); past it a
  /// request gets an error at once. Over HTTP, http_threads bounds this.
  size_t max_inflight_requests = 16;
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
  /// HTTP worker threads: at most this many requests are handled at once (a
  /// handler may run Python for the session's whole timeout). Network I/O
  /// never runs on them, so slow clients cannot hold one. A request finding
  /// every worker busy may wait behind at most http_threads others; past that
  /// it gets 503 overloaded at once rather than an unbounded queue. More:
  /// more concurrent runs, each with its guest memory.
  size_t http_threads = 16;

  // HTTP transport limits: what a hostile or broken client can hold.
  /// Open HTTP connections. Each costs a file descriptor and up to
  /// max_head_bytes + 64 KiB of buffer. At the cap, the connection idle
  /// longest between requests is closed to make room; with none idle, the new
  /// connection is closed unanswered. Higher: more simultaneous clients
  /// (keep RLIMIT_NOFILE above it); lower: less an attacker can pin.
  size_t max_connections = 512;
  /// Time from a request's first byte to the end of its head (request line
  /// and headers); a slower client is disconnected (slowloris). Lower frees
  /// slots sooner; higher tolerates very slow links.
  uint64_t head_timeout_ms = 10'000;
  /// Time from the end of the head to the end of the body; slower:
  /// disconnected. 30 s lets an 8 MiB body through at 280 KB/s.
  uint64_t body_timeout_ms = 30'000;
  /// A keep-alive connection without a new request for this long is closed;
  /// a new connection must send its first byte within it too.
  uint64_t keep_alive_ms = 5'000;
  /// Request line plus header fields, in bytes; past it 431. Bearer tokens,
  /// cookies and Mcp-Session-Id fit in a few KiB.
  size_t max_head_bytes = 64 << 10;
  /// Header fields in one request; past it 431 (each is a small allocation,
  /// so the count, not only the bytes, is capped).
  size_t max_header_fields = 100;
  /// Request bodies held in memory at once, over every connection (being
  /// read, waiting or being handled); a request whose body does not fit gets
  /// 503 overloaded. Bounds what slow uploads on many connections can pin,
  /// which max_connections × max_body_bytes (4 GiB by default) would not.
  uint64_t max_body_memory_bytes = 256ull << 20;
  /// Bytes of a streamed response (SSE, NDJSON) queued ahead of the client;
  /// a handler writing more waits (backpressure: its run goes at the client's
  /// pace). Each of the http_threads streams holds at most this plus one
  /// message. Higher: fewer pauses for bursty output; lower: less memory.
  uint64_t stream_buffer_bytes = 256 << 10;
  /// A streaming client that accepts no bytes for this long is disconnected
  /// and the run it asked for is cancelled, so a client that stops reading
  /// holds a worker at most this long.
  uint64_t stream_stall_ms = 30'000;
  /// Stateless executions (POST /v1/exec, run_python without session_id)
  /// running at once; past it 503 (REST) or an isError tool result (MCP).
  size_t max_stateless_execs = 16;

  // Scale-out (docs/deploy.md).
  /// Durable sessions: redis://HOST:PORT[/DB]. Every change of a session is
  /// written there before it is answered, and any worker with the same
  /// store and engine.snapshot_key (the cluster key, required) continues any
  /// session. Empty: sessions live only in this process.
  std::string store_url;
  /// Each round trip to the store waits at most this long (connect and every
  /// command); a request whose store call times out gets 503.
  uint64_t store_timeout_ms = 2000;
  /// Written into new session ids ("ses_<tag>_<hex>"), so that the router
  /// sends their requests back to this worker: 1 to 32 of [a-z0-9-], the
  /// worker's server name in deploy/haproxy.cfg. Empty: "ses_<hex>".
  std::string worker_tag;
};

/// Serves MCP over stdin/stdout (newline-delimited JSON-RPC) until stdin ends.
/// Logs go to stderr. Returns 0, or 1 if the engine could not be built.
int run_mcp_stdio(const ServerConfig& config);

/// Serves the REST API under /v1, MCP (streamable HTTP) at /mcp and the
/// OpenAPI document at /openapi.json until SIGINT or SIGTERM. Returns 0 after
/// a clean stop, 1 if the engine could not be built or the port not bound.
int run_http(const ServerConfig& config);

}  // namespace pycell::server
