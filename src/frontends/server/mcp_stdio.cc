// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, logs on stderr.
// Nothing else may reach stdout: guest output is captured by the sessions.
#include <cstdio>
#include <string>

#include "context.h"
#include "mcp.h"
#include "server.h"

namespace pycell::server {
namespace {

void send(const json& message) {
  std::string line = dump(message);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

/// Reads one line of at most `cap` bytes into `line`. A longer line is
/// consumed and dropped (`too_long` set) without being held in memory.
/// False at end of input.
bool read_line(std::string& line, uint64_t cap, bool& too_long) {
  line.clear();
  too_long = false;
  int c;
  bool any = false;
  while ((c = getc_unlocked(stdin)) != EOF) {
    any = true;
    if (c == '\n') return true;
    if (line.size() >= cap) {
      too_long = true;
      continue;
    }
    line += static_cast<char>(c);
  }
  return any;
}

}  // namespace

int run_mcp_stdio(const ServerConfig& config) {
  auto ctx = ServerContext::create(config);
  if (!ctx) {
    std::fprintf(stderr, "pycell mcp: %s\n", ctx.error().message().c_str());
    return 1;
  }
  McpServer mcp(**ctx);
  McpClient client{"mcp:stdio", {}, false};
  std::string line;
  bool too_long = false;
  while (read_line(line, config.max_body_bytes, too_long)) {
    (*ctx)->sessions().expire_idle();
    if (too_long) {
      send(jsonrpc_error(nullptr, kInvalidRequest,
                         "message larger than " + std::to_string(config.max_body_bytes) + " bytes"));
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded()) {
      send(jsonrpc_error(nullptr, kParseError, "parse error: not valid JSON"));
      continue;
    }
    if (auto reply = mcp.handle(client, message)) send(*reply);
  }
  return 0;
}

}  // namespace pycell::server
