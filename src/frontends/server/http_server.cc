// run_http: the REST API, MCP at /mcp and the OpenAPI document on one
// HttpTransport (Boost.Beast); stops cleanly on SIGINT/SIGTERM.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <thread>

#include "context.h"
#include "http_common.h"
#include "http_transport.h"
#include "mcp_http.h"
#include "rest_api.h"
#include "router.h"
#include "server.h"
#include "stop_signals.h"

namespace pycell::server {

int run_http(const ServerConfig& config) {
  StopSignals signals;  // before any thread starts
  auto ctx_or = ServerContext::create(config);
  if (!ctx_or) {
    std::fprintf(stderr, "pycell serve: %s\n", ctx_or.error().message().c_str());
    return 1;
  }
  ServerContext& ctx = **ctx_or;

  Router router;
  register_rest_routes(router, ctx);
  McpHttp mcp(ctx);
  mcp.register_routes(router);
  auto transport = HttpTransport::bind(
      config, {.admit = [&ctx](const Request& req, Response& res) { return admit(ctx, req, res); },
               .handle = [&ctx, &router](Request req) { return handle(ctx, router, std::move(req)); }});
  if (!transport) {
    std::fprintf(stderr, "pycell serve: %s\n", transport.error().message().c_str());
    return 1;
  }
  HttpTransport& server = **transport;
  int port = server.port();

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  signals.watch("pycell serve", [&] {
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
      lock.lock();
    }
  });

  std::string shown_host = config.host.find(':') == std::string::npos ? config.host : "[" + config.host + "]";
  std::fprintf(stderr, "pycell serve: listening on http://%s:%d (REST /v1, MCP /mcp, /openapi.json)\n",
               shown_host.c_str(), port);
  server.run();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  signals.stop();
  reaper.join();
  return 0;
}

}  // namespace pycell::server
