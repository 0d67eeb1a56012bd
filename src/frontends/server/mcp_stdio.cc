// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, logs on stderr.
// Nothing else may reach stdout: guest output is captured by the sessions.
// SIGINT/SIGTERM cancel the run in progress and end the server (status 0).
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "context.h"
#include "mcp.h"
#include "pycell/json.h"
#include "server.h"
#include "stop_signals.h"

namespace pycell::server {
namespace {

void send(const json& message) {
  std::string line = dump(message);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

/// Lines from a file descriptor, waiting on a second one that says "stop".
class LineReader {
 public:
  LineReader(int fd, int wake_fd) : fd_(fd), wake_fd_(wake_fd) {}

  /// Reads one line of at most `cap` bytes into `line`. A longer line is
  /// consumed and dropped (`too_long` set) without being held in memory.
  /// False at end of input, on a read error, or when `wake_fd` is readable.
  bool next(std::string& line, uint64_t cap, bool& too_long) {
    line.clear();
    too_long = false;
    bool any = false;
    for (;;) {
      while (pos_ < len_) {
        char c = buf_[pos_++];
        any = true;
        if (c == '\n') return true;
        if (line.size() >= cap) {
          too_long = true;
          continue;
        }
        line += c;
      }
      if (!fill()) return any && !stopped_;
    }
  }

 private:
  bool fill() {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      if (fds[1].revents) {
        stopped_ = true;
        return false;
      }
      ssize_t n = read(fd_, buf_, sizeof buf_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      pos_ = 0;
      len_ = static_cast<size_t>(n);
      return true;
    }
  }

  int fd_, wake_fd_;
  char buf_[64 * 1024];
  size_t pos_ = 0, len_ = 0;
  bool stopped_ = false;
};

}  // namespace

std::optional<json> McpServer::handle_line(McpClient& client, std::string_view line) {
  std::string why;
  auto message = parse_json(line, &why);
  if (!message) return jsonrpc_error(nullptr, kParseError, "parse error: " + why);
  std::optional<json> invalid;
  Envelope envelope = check_envelope(*message, invalid);
  if (invalid) return invalid;
  return handle(client, envelope);
}

int run_mcp_stdio(const ServerConfig& config) {
  StopSignals signals;  // before any thread starts (the pool's warmer)
  int wake[2];
  if (pipe(wake) != 0) {
    std::perror("pycell mcp: pipe");
    return 1;
  }
  auto ctx = ServerContext::create(config);
  if (!ctx) {
    std::fprintf(stderr, "pycell mcp: %s\n", ctx.error().message().c_str());
    close(wake[0]);
    close(wake[1]);
    return 1;
  }
  // Runs happen on the main thread, which reads no input meanwhile: the
  // signal is what can stop a run with no time limit.
  signals.watch("pycell mcp", [&] {
    (*ctx)->stopping = true;
    (*ctx)->sessions().cancel_all();
    char b = 1;
    if (write(wake[1], &b, 1) != 1) std::perror("pycell mcp: write");
  });
  McpServer mcp(**ctx);
  McpClient client{"mcp:stdio", {}, false};
  LineReader reader(STDIN_FILENO, wake[0]);
  std::string line;
  bool too_long = false;
  while (!(*ctx)->stopping && reader.next(line, config.max_body_bytes, too_long)) {
    (*ctx)->sessions().expire_idle();
    if (too_long) {
      send(jsonrpc_error(nullptr, kInvalidRequest,
                         "message larger than " + std::to_string(config.max_body_bytes) + " bytes"));
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (auto reply = mcp.handle_line(client, line)) send(*reply);
  }
  signals.stop();
  close(wake[0]);
  close(wake[1]);
  return 0;
}

}  // namespace pycell::server
