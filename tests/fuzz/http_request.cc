// libFuzzer target: the HTTP server's request handling without sockets — the
// pre-routing checks (Host, Origin, token, body size), the router, every REST
// route and MCP's streamable-HTTP routes — through handle(), the function the
// Beast transport calls for each parsed request. A 500 (an exception escaped
// a handler) or a crash is a finding; 503 (overloaded) is an answer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "context.h"
#include "http_common.h"
#include "mcp_http.h"
#include "rest_api.h"
#include "router.h"
#include "server.h"

namespace {

using namespace pycell::server;

/// One server (context, routes) for the process, plus a live REST session and
/// an initialized MCP client whose ids the inputs can name as $S and $M.
struct Server {
  ServerConfig config;
  std::unique_ptr<ServerContext> ctx;
  std::unique_ptr<McpHttp> mcp;
  Router router;
  std::string session_id, mcp_id;

  Server() {
    config.engine.stdlib_image = PYCELL_FUZZ_STDLIB;
    // Code the fuzzer composes runs too: keep each run short and small.
    config.session.limits.timeout_ms = 200;
    config.session.limits.grace_ms = 50;
    config.session.limits.memory_bytes = 64ull << 20;
    config.max_sessions = 8;
    config.max_snapshots = 4;
    config.max_stateless_execs = 2;
    config.session_idle_ms = 2000;  // expire_idle() below reclaims what the fuzzer made
    config.max_body_bytes = 1 << 20;
    auto made = ServerContext::create(config);
    if (!made) {
      std::fprintf(stderr, "fuzz: cannot build the server context: %s\n", made.error().message().c_str());
      std::exit(2);
    }
    ctx = std::move(*made);
    register_rest_routes(router, *ctx);
    mcp = std::make_unique<McpHttp>(*ctx);
    mcp->register_routes(router);
  }

  Response send(std::string method, std::string target, std::string body, std::string mcp_session = "") {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    split_target(req.target, req.path, req.query);
    req.headers.add("Host", "127.0.0.1");
    req.headers.add("Content-Type", "application/json");
    if (!mcp_session.empty()) req.headers.add("Mcp-Session-Id", mcp_session);
    req.body = std::move(body);
    return handle(*ctx, router, std::move(req));
  }

  /// Makes the session and MCP client the inputs refer to, if they idled out.
  void refresh() {
    ctx->sessions().expire_idle();
    if (session_id.empty() || send("GET", "/v1/sessions/" + session_id, "").status == 404) {
      auto res = send("POST", "/v1/sessions", "{}");
      auto id = nlohmann::json::parse(res.body, nullptr, false);
      session_id = id.is_object() && id.contains("session_id") && id["session_id"].is_string()
                       ? id["session_id"].get<std::string>()
                       : "none";
    }
    if (mcp_id.empty() || send("POST", "/mcp", R"({"jsonrpc":"2.0","method":"ping","id":0})", mcp_id).status == 404) {
      auto res = send("POST", "/mcp",
                      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
                      R"("capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}})");
      mcp_id = res.get_header_value("Mcp-Session-Id");
    }
  }
};

Server& server() {
  static Server* s = new Server();  // never destroyed: sessions outlive main's return
  return *s;
}

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  server().refresh();
  return 0;
}

// Input: "METHOD TARGET\n", then "Name: value\n" header lines, an empty line,
// then the body. "$S" in the target and header values stands for the live
// REST session's id, "$M" for the MCP client's Mcp-Session-Id.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t eol = in.find('\n');
  if (eol == std::string_view::npos) return 0;
  std::string_view first = in.substr(0, eol);
  size_t sp = first.find(' ');
  if (sp == std::string_view::npos) return 0;

  Server& s = server();
  s.refresh();
  Request req;
  req.method = std::string(first.substr(0, sp));
  req.target = std::string(first.substr(sp + 1));
  replace_all(req.target, "$S", s.session_id);
  split_target(req.target, req.path, req.query);
  in.remove_prefix(eol + 1);
  while (!in.empty()) {
    eol = in.find('\n');
    std::string_view line = in.substr(0, eol);
    in.remove_prefix(eol == std::string_view::npos ? in.size() : eol + 1);
    if (line.empty()) break;
    size_t colon = line.find(':');
    std::string value(colon == std::string_view::npos ? "" : line.substr(colon + 1));
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    replace_all(value, "$S", s.session_id);
    replace_all(value, "$M", s.mcp_id);
    req.headers.add(std::string(line.substr(0, colon)), std::move(value));
  }
  req.body = std::string(in);
  // As the transport does: it has refused bodies over the cap before handle().
  if (req.body.size() > s.config.max_body_bytes) return 0;

  Response res = handle(*s.ctx, s.router, std::move(req));
  if (res.status == 500 || res.status > 503 || res.status < 100) {
    std::fprintf(stderr, "fuzz: HTTP %d: %.300s\n", res.status, res.body.c_str());
    __builtin_trap();
  }
  return 0;
}
