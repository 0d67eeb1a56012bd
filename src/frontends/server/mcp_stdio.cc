// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, logs on stderr.
// Nothing else may reach stdout: guest output is captured by the sessions.
// tools/call runs on a thread of its own (at most max_inflight_requests at
// once), so the reading thread answers ping, lists and notifications/cancelled
// during a run. A cancelled request gets no response (2025-11-25
// basic/utilities/cancellation). At end of input the requests in flight are
// finished and answered; SIGINT/SIGTERM stop them (their results say
// "cancelled") and end the server (status 0).
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "context.h"
#include "mcp.h"
#include "pycell/json.h"
#include "server.h"
#include "stop_signals.h"

namespace pycell::server {
namespace {

std::mutex stdout_mu;

void send(const json& message) {
  std::string line = dump(message);
  line += '\n';
  std::lock_guard lock(stdout_mu);  // one whole line at a time, from any thread
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

/// The requests in flight: their threads, and cancellation by id.
class InFlight {
 public:
  InFlight(McpServer& mcp, size_t max) : mcp_(mcp), max_(max) {}

  /// Starts `message` (a request, its envelope checked) on a thread of its
  /// own. Returns an error to send instead when it cannot. Reading thread only.
  std::optional<json> start(const McpClient& client, std::shared_ptr<const json> message, const Envelope& envelope) {
    reap();
    const std::string key = dump(envelope.id);
    auto rc = std::make_shared<RequestContext>();
    rc->notify = [](const json& m) { send(m); };
    rc->progress_token = envelope.progress_token();
    std::list<Worker>::iterator worker;
    {
      std::lock_guard lock(mu_);
      if (calls_.size() >= max_) {
        return jsonrpc_error(envelope.id, kInternalError,
                             "busy: " + std::to_string(max_) + " requests are in progress; retry when one ends");
      }
      if (!calls_.emplace(key, rc).second) {
        return jsonrpc_error(envelope.id, kInvalidRequest, "a request with this id is already in progress");
      }
      worker = workers_.emplace(workers_.end());
    }
    // Only this thread reaps, so the entry is not joined before `thread` is set.
    worker->thread = std::thread([this, client, message = std::move(message), key, rc, worker] {
      std::optional<json> invalid;
      const Envelope env = check_envelope(*message, invalid);
      McpClient mine = client;
      auto reply = mcp_.handle(mine, env, rc.get());
      bool cancelled;
      {
        std::lock_guard lock(mu_);
        calls_.erase(key);
        cancelled = rc->cancelled();
      }
      if (reply && !cancelled) send(*reply);
      std::lock_guard lock(mu_);
      worker->done = true;
      cv_.notify_all();
    });
    return std::nullopt;
  }

  /// notifications/cancelled: stops the request if it is still running.
  /// Unknown ids are ignored, as the spec asks.
  void cancel(const json& id) {
    if (id.is_null()) return;
    std::lock_guard lock(mu_);
    if (auto it = calls_.find(dump(id)); it != calls_.end()) it->second->cancel();
  }

  /// Waits for every request's thread to finish, and joins them.
  void drain() {
    {
      std::unique_lock lock(mu_);
      auto done = [](const Worker& w) { return w.done; };
      cv_.wait(lock, [&] { return std::all_of(workers_.begin(), workers_.end(), done); });
    }
    reap();
  }

 private:
  struct Worker {
    std::thread thread;
    bool done = false;  // guarded by mu_
  };

  /// Joins the threads that are done (outside mu_, which they release last).
  void reap() {
    std::list<Worker> finished;
    {
      std::lock_guard lock(mu_);
      for (auto it = workers_.begin(); it != workers_.end();) {
        auto next = std::next(it);
        if (it->done) finished.splice(finished.end(), workers_, it);
        it = next;
      }
    }
    for (auto& w : finished) w.thread.join();
  }

  McpServer& mcp_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<RequestContext>> calls_;
  std::list<Worker> workers_;
};

}  // namespace

std::optional<json> McpServer::handle_line(McpClient& client, std::string_view line, RequestContext* rc) {
  std::string why;
  auto message = parse_json(line, &why);
  if (!message) return jsonrpc_error(nullptr, kParseError, "parse error: " + why);
  std::optional<json> invalid;
  Envelope envelope = check_envelope(*message, invalid);
  if (invalid) return invalid;
  if (rc) rc->progress_token = envelope.progress_token();
  return handle(client, envelope, rc);
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
  signals.watch("pycell mcp", [&] {
    (*ctx)->stopping = true;
    (*ctx)->sessions().cancel_all();
    char b = 1;
    if (write(wake[1], &b, 1) != 1) std::perror("pycell mcp: write");
  });
  McpServer mcp(**ctx);
  McpClient client{"mcp:stdio", {}, false};
  InFlight inflight(mcp, std::max<size_t>(config.max_inflight_requests, 1));
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
    std::string why;
    auto message = parse_json(line, &why);
    if (!message) {
      send(jsonrpc_error(nullptr, kParseError, "parse error: " + why));
      continue;
    }
    std::optional<json> invalid;
    auto owned = std::make_shared<const json>(std::move(*message));
    Envelope envelope = check_envelope(*owned, invalid);
    if (invalid) {
      send(*invalid);
    } else if (envelope.kind == Envelope::Kind::kNotification && envelope.method == "notifications/cancelled") {
      inflight.cancel(envelope.cancelled_id());
    } else if (envelope.kind == Envelope::Kind::kRequest && slow_method(envelope.method)) {
      if (auto refused = inflight.start(client, owned, envelope)) send(*refused);
    } else if (auto reply = mcp.handle(client, envelope)) {
      send(*reply);
    }
  }
  // After a signal the runs were cancelled through the registry: they end
  // at once and their results (exit_reason "cancelled") are still sent.
  inflight.drain();
  signals.stop();
  close(wake[0]);
  close(wake[1]);
  return 0;
}

}  // namespace pycell::server
