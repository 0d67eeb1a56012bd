// pycell_server_dev: a minimal driver for the servers, for tests and
// benchmarks until (and besides) `pycell mcp` / `pycell serve`.
// Usage: pycell_server_dev (mcp|serve) [server options] [session options]
//   server options (named as `pycell mcp/serve` name them): --host H --port N
//                   --bearer-token T --max-sessions N --session-idle-ms N
//                   --max-body-bytes N --max-stateless-execs N --threads N
//                   --allowed-origin O --accept-host H --stdlib PATH
//   session options: every value flag of the policy table (--timeout-ms,
//                   --memory-bytes, --fuel, --env, ...), as the CLI takes them.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/policy.h"
#include "server.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s (mcp|serve) [options]\n", argv[0]);
    return 2;
  }
  std::string_view mode = argv[1];
  pycell::server::ServerConfig cfg;
  auto env = [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  for (int i = 2; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", argv[i]);
      return 2;
    }
    std::string value = argv[++i];
    auto num = [&] { return std::strtoull(value.c_str(), nullptr, 10); };
    if (flag == "--port")
      cfg.port = static_cast<uint16_t>(num());
    else if (flag == "--host")
      cfg.host = value;
    else if (flag == "--bearer-token")
      cfg.bearer_token = value;
    else if (flag == "--max-sessions")
      cfg.max_sessions = num();
    else if (flag == "--session-idle-ms")
      cfg.session_idle_ms = num();
    else if (flag == "--max-body-bytes")
      cfg.max_body_bytes = num();
    else if (flag == "--max-stateless-execs")
      cfg.max_stateless_execs = num();
    else if (flag == "--threads")
      cfg.http_threads = num();
    else if (flag == "--allowed-origin")
      cfg.allowed_origins.push_back(value);
    else if (flag == "--accept-host")
      cfg.allowed_hosts.push_back(value);
    else if (flag == "--stdlib")
      cfg.engine.stdlib_image = value;
    else {
      const pycell::policy::Field* field = nullptr;
      for (const auto& f : pycell::policy::fields()) {
        if (!f.flag.empty() && !f.value_name.empty() && f.flag == flag) field = &f;
      }
      if (!field) {
        std::fprintf(stderr, "unknown option %s\n", argv[i - 1]);
        return 2;
      }
      if (auto r = field->parse(cfg.session, value, env); !r) {
        std::fprintf(stderr, "%s: %s\n", argv[i - 1], r.error().message().c_str());
        return 2;
      }
    }
  }
  if (mode == "mcp") return pycell::server::run_mcp_stdio(cfg);
  if (mode == "serve") return pycell::server::run_http(cfg);
  std::fprintf(stderr, "unknown mode %s (mcp or serve)\n", argv[1]);
  return 2;
}
