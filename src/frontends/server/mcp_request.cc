// RequestContext: the cancel hand-off between a transport's reading thread
// and the thread running the request.
#include "mcp_request.h"

namespace pycell::server {

void RequestContext::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (stop_) {
    stop_();
    stopped_ = true;
  }
}

bool RequestContext::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void RequestContext::attach(std::function<void()> stop) {
  std::lock_guard lock(mu_);
  stop_ = std::move(stop);
  stopped_ = false;
  if (cancelled_) {
    stop_();
    stopped_ = true;
  }
}

bool RequestContext::detach() {
  std::lock_guard lock(mu_);
  stop_ = nullptr;
  return stopped_;
}

}  // namespace pycell::server
