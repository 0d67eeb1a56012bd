// mcp and serve (see servers.h).
#include "servers.h"

#include <sys/resource.h>

#include <cstdio>

#include "common/loopback.h"
#include "options.h"
#include "run.h"

namespace pycell::cli {

ServerCommands::ServerCommands(CLI::App& app) {
  mcp_ = app.add_subcommand("mcp", "Serve MCP over stdin/stdout (for agents: Claude Desktop, IDEs, ...)");
  serve_ = app.add_subcommand("serve", "Serve the HTTP API (/v1), MCP over streamable HTTP (/mcp) and /openapi.json");
  server::ServerConfig& c = config_;
  for (CLI::App* sub : {mcp_, serve_}) {
    sub->add_option("--max-sessions", c.max_sessions, "Live sessions at once; past it creating one is refused (429)")
        ->capture_default_str();
    sub->add_option("--session-idle-ms", c.session_idle_ms,
                    "Sessions unused this long are closed (they outlive connections until then)")
        ->capture_default_str();
    sub->add_option("--max-sessions-per-client", c.max_sessions_per_principal,
                    "Live sessions one client (bearer token holder, stdio process) may have; past it refused")
        ->capture_default_str();
    sub->add_option("--max-body-bytes", c.max_body_bytes, "Largest request (HTTP body, stdio line) accepted (413)")
        ->capture_default_str();
    sub->add_option("--max-stateless-execs", c.max_stateless_execs,
                    "Executions without a session running at once; past it 503")
        ->capture_default_str();
  }
  mcp_->add_option("--max-inflight", c.max_inflight_requests,
                   "Requests handled at once (runs in parallel; ping and cancel are always answered)")
      ->capture_default_str();
  serve_->add_option("--host", c.host,
                     "Address to bind; anything but loopback needs --bearer-token (or --insecure-no-token)")
      ->capture_default_str();
  serve_->add_flag("--insecure-no-token", c.insecure_no_token,
                   "Serve a non-loopback --host without --bearer-token: anyone who can reach the port runs code");
  serve_->add_option("--port", c.port, "TCP port")->capture_default_str();
  serve_->add_option("--bearer-token", token_,
                     "Require 'Authorization: Bearer TOKEN'; @VAR reads it from host variable VAR (keeps it out of argv)")
      ->type_name("TOKEN|@VAR");
  serve_->add_option("--allowed-origin", c.allowed_origins,
                     "Browser Origin allowed besides loopback ones (repeatable); others get 403")
      ->allow_extra_args(false);
  serve_->add_option("--accept-host", c.allowed_hosts,
                     "Host header name (or name:port) accepted besides loopback names, and, when bound beyond "
                     "loopback, IP literals and --host (repeatable); others get 403")
      ->allow_extra_args(false);
  serve_->add_option("--threads", c.http_threads, "HTTP worker threads (requests handled at once)")
      ->capture_default_str();
  serve_->add_option("--max-connections", c.max_connections,
                     "Open HTTP connections; at the cap the longest-idle one is closed for a new one")
      ->capture_default_str();
  serve_->add_option("--head-timeout-ms", c.head_timeout_ms, "Time to receive a request's head; slower: closed")
      ->capture_default_str();
  serve_->add_option("--body-timeout-ms", c.body_timeout_ms, "Time to receive a request's body; slower: closed")
      ->capture_default_str();
  serve_->add_option("--stream-buffer-bytes", c.stream_buffer_bytes,
                     "Bytes of a streamed response (SSE, NDJSON) queued ahead of a client; past it the run waits")
      ->capture_default_str();
  serve_->add_option("--stream-stall-ms", c.stream_stall_ms,
                     "A streaming client that reads nothing this long is closed and its run cancelled")
      ->capture_default_str();
  serve_->add_option("--keep-alive-ms", c.keep_alive_ms, "Idle time before a keep-alive connection is closed")
      ->capture_default_str();
  serve_->add_option("--max-snapshots", c.max_snapshots, "Snapshots kept at once; past it 429")->capture_default_str();
  serve_->add_option("--max-snapshot-bytes", c.max_snapshot_bytes,
                     "Total guest memory of the snapshots kept; past it 429")
      ->capture_default_str();
  serve_->add_option("--snapshot-idle-ms", c.snapshot_idle_ms, "Snapshots unused this long are dropped")
      ->capture_default_str();
  serve_->add_option("--store", c.store_url,
                     "Durable sessions in Redis: every change is stored before it is answered, and any worker "
                     "sharing the store and --cluster-key continues any session (docs/deploy.md)")
      ->type_name("redis://HOST:PORT[/DB]");
  serve_->add_option("--cluster-key", cluster_key_,
                     "Secret shared by the workers of one --store (32+ bytes): seals what they store; @VAR reads it "
                     "from host variable VAR")
      ->type_name("@VAR");
  serve_->add_option("--store-timeout-ms", c.store_timeout_ms,
                     "Longest wait for one round trip to the store; then the request gets 503")
      ->capture_default_str();
  serve_->add_option("--worker-tag", c.worker_tag,
                     "Name of this worker, written into session ids for the router (deploy/haproxy.cfg)")
      ->type_name("TAG");
  mcp_->footer(
      "Sessions get the limits and grants of the global options (see pycell --help); a client\n"
      "may lower limits, never raise them or add grants.\n"
      "Examples:\n"
      "  pycell mcp\n"
      "  pycell --timeout-ms 10000 --memory-bytes 256M mcp\n"
      "  claude mcp add pycell -- pycell mcp     # register with an MCP client");
  serve_->footer(
      "Loopback only by default; Origin and Host headers are checked against DNS rebinding.\n"
      "Sessions get the limits and grants of the global options (see pycell --help); a client\n"
      "may lower limits, never raise them or add grants.\n"
      "Examples:\n"
      "  pycell serve --port 8765\n"
      "  curl -s localhost:8765/v1/exec -H 'Content-Type: application/json' -d '{\"code\": \"1 + 1\"}'\n"
      "  PYCELL_TOKEN=s3cret pycell serve --host 0.0.0.0 --bearer-token @PYCELL_TOKEN\n"
      "  PYCELL_CLUSTER_KEY=$(openssl rand -hex 32) pycell serve --store redis://127.0.0.1:6379 \\\n"
      "      --cluster-key @PYCELL_CLUSTER_KEY --worker-tag w1");
}

int ServerCommands::run(EngineConfig engine, SessionConfig session) {
  config_.engine = std::move(engine);
  config_.session = std::move(session);
  if (token_.starts_with("@")) {
    auto v = ambient_env(std::string_view(token_).substr(1));
    if (!v || v->empty()) return fail("--bearer-token: '" + token_.substr(1) + "' is not set in the host environment");
    config_.bearer_token = std::move(*v);
  } else {
    config_.bearer_token = token_;
  }
  if (!cluster_key_.empty()) {
    // Only from the environment: argv is visible to every user of the host.
    if (!cluster_key_.starts_with("@")) return fail("--cluster-key: give it as @VAR, the name of a host variable");
    auto v = ambient_env(std::string_view(cluster_key_).substr(1));
    if (!v || v->empty()) return fail("--cluster-key: '" + cluster_key_.substr(1) + "' is not set in the host environment");
    config_.engine.snapshot_key = std::move(*v);
  }
  // Open mount files are budgeted from the soft fd limit (docs/filesystem.md): a server gets what the host allows.
  if (rlimit l{}; getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
    l.rlim_cur = l.rlim_max;
    setrlimit(RLIMIT_NOFILE, &l);
  }
  if (serve_->parsed() && config_.insecure_no_token && config_.bearer_token.empty() &&
      !policy::is_loopback_name(config_.host)) {
    std::fprintf(stderr,
                 "pycell serve: WARNING: --insecure-no-token: no authentication; anyone who can reach %s:%u "
                 "can run code here\n",
                 config_.host.c_str(), config_.port);
  }
  return mcp_->parsed() ? server::run_mcp_stdio(config_) : server::run_http(config_);
}

}  // namespace pycell::cli
