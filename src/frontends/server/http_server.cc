// run_http: one httplib server for the REST API, MCP at /mcp and the OpenAPI
// document; checks Host, Origin, token and body size before any body is
// read; stops cleanly on SIGINT/SIGTERM.
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <thread>

#include "common/echo.h"
#include "context.h"
#include "http_common.h"
#include "mcp.h"
#include "mcp_http.h"
#include "rest_api.h"
#include "server.h"

namespace pycell::server {
namespace {

/// The checks every request passes before routing, i.e. before its body is
/// read. Writes the refusal and returns Handled, or returns Unhandled.
httplib::Server::HandlerResponse guard(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  using HR = httplib::Server::HandlerResponse;
  const ServerConfig& cfg = ctx.config();
  bool is_mcp = req.path == "/mcp";
  auto refuse = [&](int status, const char* code, const std::string& message) {
    if (is_mcp) {
      send_json(res, status, jsonrpc_error(nullptr, kInvalidRequest, message));
    } else {
      send_error(res, status, code, message);
    }
    return HR::Handled;
  };
  if (ctx.stopping) {
    res.set_header("Connection", "close");
    return refuse(503, "shutting_down", "the server is shutting down");
  }
  if (!host_allowed(req.get_header_value("Host"), cfg)) {
    return refuse(403, "forbidden_host",
                  "Host header '" + policy::echo(req.get_header_value("Host")) + "' is not accepted");
  }
  std::string origin = req.get_header_value("Origin");
  if (!origin_allowed(origin, cfg)) {
    return refuse(403, "forbidden_origin", "Origin '" + policy::echo(origin) + "' is not allowed");
  }
  if (!origin.empty()) {
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers", "Mcp-Session-Id");
  }
  if (req.method == "OPTIONS") {  // CORS preflight from an allowed origin
    res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
    res.set_header("Access-Control-Allow-Headers",
                   "Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID");
    res.status = 204;
    return HR::Handled;
  }
  // Health answers without the token (for probes), but then says only its status.
  bool open_path = req.method == "GET" && req.path == "/v1/health";
  if (!open_path && !token_accepted(req.get_header_value("Authorization"), cfg)) {
    res.set_header("WWW-Authenticate", "Bearer");
    return refuse(401, "unauthorized", "missing or wrong bearer token");
  }
  // Body size, from the headers alone. POST and PUT bodies are read by
  // route_with_body, which discards a moderate excess so the client reads
  // the 413; any other method has no use for a body.
  bool takes_body = req.method == "POST" || req.method == "PUT";
  if (req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos && !takes_body) {
    res.set_header("Connection", "close");
    return refuse(400, "bad_request", req.method + " takes no request body");
  }
  if (req.has_header("Content-Length")) {
    const std::string len = req.get_header_value("Content-Length");
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    uint64_t allowed = takes_body ? cfg.max_body_bytes + kDrainBytes : cfg.max_body_bytes;
    if (ec != std::errc() || end != len.data() + len.size() || n > allowed) {
      // The body stays unread, so this connection cannot carry another request.
      res.set_header("Connection", "close");
      return refuse(413, "payload_too_large", body_too_large(cfg.max_body_bytes));
    }
  }
  return HR::Unhandled;
}

/// Errors httplib raises itself (no route, a chunked body over the cap, a
/// malformed request) get the same JSON form as ours.
httplib::Server::HandlerResponse error_body(const ServerContext& ctx, const httplib::Request& req,
                                            httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours already
  const char* code = res.status == 404   ? "not_found"
                     : res.status == 413 ? "payload_too_large"
                     : res.status == 405 ? "method_not_allowed"
                                         : "bad_request";
  std::string message = res.status == 404 ? "no such endpoint: " + req.method + " " + policy::echo(req.path)
                        : res.status == 413
                            ? body_too_large(ctx.config().max_body_bytes)
                            : "malformed request (HTTP status " + std::to_string(res.status) + ")";
  send_error(res, res.status, code, message);
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

int run_http(const ServerConfig& config) {
  // Block the stop signals before any thread starts, so every thread inherits
  // the mask and only the waiter below receives them.
  sigset_t stop_signals, old_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

  auto ctx_or = ServerContext::create(config);
  if (!ctx_or) {
    std::fprintf(stderr, "pycell serve: %s\n", ctx_or.error().message().c_str());
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return 1;
  }
  ServerContext& ctx = **ctx_or;

  httplib::Server server;
  size_t threads = std::max<size_t>(config.http_threads, 2);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Headers and body go out in separate writes; without this, Nagle's
  // algorithm meets the client's delayed ACK and small answers wait ~40 ms.
  server.set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which lets a second server bind
  // the same port and silently take half of the connections.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Bodies are capped by the guard and route_with_body; this only bounds
  // what httplib itself would read for a route it does not know.
  server.set_payload_max_length(config.max_body_bytes + kDrainBytes);
  server.set_pre_routing_handler(
      [&ctx](const httplib::Request& req, httplib::Response& res) { return guard(ctx, req, res); });
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [&ctx](const httplib::Request& req, httplib::Response& res) { return error_body(ctx, req, res); }));
  register_rest_routes(server, ctx);
  McpHttp mcp(ctx);
  mcp.register_routes(server);
  // Last: unknown POST/PUT paths still have their bodies capped (httplib
  // would read a chunked one whole) before the 404.
  for (const char* method : {"POST", "PUT"}) {
    route_with_body(server, method, ".*", config,
                    [](const httplib::Request& req, httplib::Response& res, std::string&) {
                      send_error(res, 404, "not_found",
                                 "no such endpoint: " + req.method + " " + policy::echo(req.path));
                    });
  }

  // Port 0 picks a free port; the log line below names it (tests rely on that).
  int port = config.port ? (server.bind_to_port(config.host, config.port) ? config.port : -1)
                         : server.bind_to_any_port(config.host);
  if (port <= 0) {
    std::fprintf(stderr, "pycell serve: cannot listen on %s:%u\n", config.host.c_str(), config.port);
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return 1;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread stopper([&] {
    timespec tick{0, 200'000'000};
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (done) return;
      }
      if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) break;
    }
    std::fprintf(stderr, "pycell serve: stopping\n");
    ctx.stopping = true;
    ctx.sessions().cancel_all();
    server.stop();
  });
  std::thread reaper([&] {
    auto period = std::chrono::milliseconds(std::clamp<uint64_t>(config.session_idle_ms / 4, 50, 10'000));
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, period, [&] { return done; })) {
      lock.unlock();
      ctx.sessions().expire_idle();
      mcp.expire_idle();
      lock.lock();
    }
  });

  std::string shown_host = config.host.find(':') == std::string::npos ? config.host : "[" + config.host + "]";
  std::fprintf(stderr, "pycell serve: listening on http://%s:%d (REST /v1, MCP /mcp, /openapi.json)\n",
               shown_host.c_str(), port);
  bool ok = server.listen_after_bind();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  stopper.join();
  reaper.join();
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return ok || ctx.stopping ? 0 : 1;
}

}  // namespace pycell::server
