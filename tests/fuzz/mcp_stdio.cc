// libFuzzer target: the MCP stdio transport. The input is what a client writes
// on stdin; each line goes through McpServer::handle_line, as in `pycell mcp`,
// against one ServerContext.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "context.h"
#include "mcp.h"
#include "server.h"

namespace {

pycell::server::ServerContext& context() {
  static const pycell::server::ServerConfig config = [] {
    pycell::server::ServerConfig c;
    c.engine.stdlib_image = PYCELL_FUZZ_STDLIB;
    // Code the fuzzer composes runs too: keep each run short and small.
    c.session.limits.timeout_ms = 200;
    c.session.limits.grace_ms = 50;
    c.session.limits.memory_bytes = 64ull << 20;
    c.max_sessions = 8;
    c.max_stateless_execs = 2;
    return c;
  }();
  static auto ctx = [] {
    auto made = pycell::server::ServerContext::create(config);
    if (!made) {
      std::fprintf(stderr, "fuzz: cannot build the server context: %s\n", made.error().message().c_str());
      std::exit(2);
    }
    return std::move(*made);
  }();
  return *ctx;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  context();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& ctx = context();
  pycell::server::McpServer mcp(ctx);
  // One input is one connection: a fresh client whose sessions close with it.
  pycell::server::McpClient client{"mcp:fuzz", {}, false};
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const size_t eol = input.find('\n');
    const std::string_view line = input.substr(0, eol);
    input.remove_prefix(eol == std::string_view::npos ? input.size() : eol + 1);
    if (line.size() > ctx.config().max_body_bytes) continue;  // refused unparsed
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    // With a progress token the run's output goes through ProgressReporter.
    pycell::server::RequestContext rc;
    rc.notify = [](const nlohmann::json& m) { (void)pycell::server::dump(m); };
    if (auto reply = mcp.handle_line(client, line, &rc)) (void)pycell::server::dump(*reply);
  }
  ctx.sessions().close_owner(client.owner);
  return 0;
}
