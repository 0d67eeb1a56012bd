// libFuzzer target: MCP's streamable HTTP transport. Each input is one POST
// /mcp body sent over loopback to McpHttp's routes (body reading, parsing,
// session lookup, McpServer::handle). Any 5xx is a finding: a client must
// never be able to make the server fail.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#include "context.h"
#include "mcp.h"
#include "mcp_http.h"
#include "server.h"

namespace {

using pycell::server::ServerConfig;
using pycell::server::ServerContext;

/// A server on a free loopback port, for the life of the process.
struct Loopback {
  ServerConfig config;
  std::unique_ptr<ServerContext> ctx;
  std::unique_ptr<pycell::server::McpHttp> mcp;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::unique_ptr<httplib::Client> client;
  std::string session_id;  // of a client that has completed initialize

  Loopback() {
    config.engine.stdlib_image = PYCELL_FUZZ_STDLIB;
    // Code the fuzzer composes runs too: keep each run short and small.
    config.session.limits.timeout_ms = 200;
    config.session.limits.grace_ms = 50;
    config.session.limits.memory_bytes = 64ull << 20;
    config.max_sessions = 8;
    config.max_stateless_execs = 2;
    config.max_mcp_clients = 16;
    config.session_idle_ms = 2000;  // expire_idle() below reclaims what the fuzzer made
    auto made = ServerContext::create(config);
    if (!made) {
      std::fprintf(stderr, "fuzz: cannot build the server context: %s\n", made.error().message().c_str());
      std::exit(2);
    }
    ctx = std::move(*made);
    mcp = std::make_unique<pycell::server::McpHttp>(*ctx);
    mcp->register_routes(server);
    // As run_http does: without it, Nagle's algorithm meets delayed ACKs and
    // each request waits ~40 ms.
    server.set_tcp_nodelay(true);
    port = server.bind_to_any_port("127.0.0.1");
    if (port <= 0) {
      std::fprintf(stderr, "fuzz: cannot bind a loopback port\n");
      std::exit(2);
    }
    thread = std::thread([this] { server.listen_after_bind(); });
    client = std::make_unique<httplib::Client>("127.0.0.1", port);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    if (!initialize()) {
      std::fprintf(stderr, "fuzz: initialize failed\n");
      std::exit(2);
    }
  }

  /// Starts a client session; false if the server refused one (all taken).
  bool initialize() {
    const std::string body =
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
        R"("capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}})";
    auto res = client->Post("/mcp", body, "application/json");
    if (!res || res->status != 200 || !res->has_header("Mcp-Session-Id")) return false;
    session_id = res->get_header_value("Mcp-Session-Id");
    return true;
  }
};

Loopback& loopback() {
  static Loopback* l = new Loopback();  // never destroyed: the server thread outlives main
  return *l;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  loopback();
  return 0;
}

// Input: one flags byte (bit 0: send the initialized client's Mcp-Session-Id,
// bit 1: send MCP-Protocol-Version), then the body.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Loopback& l = loopback();
  l.mcp->expire_idle();
  l.ctx->sessions().expire_idle();
  httplib::Headers headers;
  if (data[0] & 1) headers.emplace("Mcp-Session-Id", l.session_id);
  if (data[0] & 2) headers.emplace("MCP-Protocol-Version", pycell::server::kMcpProtocolVersion);
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto res = l.client->Post("/mcp", headers, body, "application/json");
  if (!res) {
    std::fprintf(stderr, "fuzz: no answer from the server (%s)\n", httplib::to_string(res.error()).c_str());
    __builtin_trap();
  }
  if (res->status >= 500) {
    std::fprintf(stderr, "fuzz: HTTP %d: %s\n", res->status, res->body.c_str());
    __builtin_trap();
  }
  if (res->status == 404 && (data[0] & 1)) (void)l.initialize();  // our client idled out
  return 0;
}
