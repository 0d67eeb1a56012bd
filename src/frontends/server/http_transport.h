// HttpTransport: HTTP/1.1 over TCP with Boost.Beast. A few I/O threads do
// every read and write asynchronously under per-connection deadlines; route
// handlers run on a bounded WorkerPool, so slow or idle clients hold no worker
// and busy workers do not stop I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "http_message.h"
#include "result_schema.h"
#include "server.h"

namespace pycell::server {

class HttpTransport {
 public:
  struct Handlers {
    /// Judges a request from its head alone, before the body is read: true
    /// to read the body and go on; false with the refusal in the Response.
    /// Runs on an I/O thread, so it must not block.
    std::function<bool(const Request&, Response&)> admit;
    /// Answers a whole request. Runs on a worker thread.
    std::function<Response(Request)> handle;
  };

  /// Binds config.host:config.port (port 0: a free one) and starts
  /// http_threads workers. `config` must outlive the transport. Errors:
  /// kUnavailable if the address cannot be resolved or bound.
  static Result<std::unique_ptr<HttpTransport>> bind(const ServerConfig& config, Handlers handlers);
  ~HttpTransport();

  /// The bound port.
  uint16_t port() const;

  /// Serves on the calling thread plus one more I/O thread until stop() and
  /// until every request already being handled is answered.
  void run();

  /// Thread-safe: stops accepting and closes every connection not waiting
  /// for a handler; those are answered (Connection: close) and closed.
  void stop();

  struct Impl;

 private:
  explicit HttpTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pycell::server
