// RequestContext: one MCP request in flight, as its transport and its
// handler share it: cancellation from another thread, and notifications
// (progress) sent about it before its result.
#pragma once

#include <functional>
#include <mutex>

#include "pycell/json.h"

namespace pycell::server {

using json = nlohmann::json;

class RequestContext {
 public:
  /// Sends one notification about this request; thread-safe. Empty: the
  /// transport cannot send any (then no progress is reported).
  std::function<void(const json&)> notify;
  /// params._meta.progressToken (a string or an integer); null when the
  /// client asked for no progress.
  json progress_token;

  /// Any thread: the request is cancelled; a run in progress (or starting
  /// later) is stopped. Its result must not be sent.
  void cancel();
  bool cancelled() const;

  /// The handler's thread, before a run: `stop` stops it from another thread
  /// (Session::cancel). Called at once if the request is cancelled already.
  void attach(std::function<void()> stop);
  /// The handler's thread, after the run. True if cancel() called `stop`
  /// while attached: a cancel that came after the run's last check is then
  /// still pending in the session, and the caller must clear it.
  bool detach();

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  bool stopped_ = false;
  std::function<void()> stop_;
};

}  // namespace pycell::server
