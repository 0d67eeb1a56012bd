// pycell_host.call / take (see host_call.h).
#include "wasi/host_call.h"

#include <nlohmann/json.hpp>

#include "rt/guest_call.h"

namespace pycell::wasi {
namespace {

constexpr uint32_t kMaxNameBytes = 256;

/// What runs on the host's stack: the embedder's code may use any amount.
struct Dispatch {
  Context* c;
  std::string_view name, args;
  HostCallStatus status = HostCallStatus::kError;
  static void run(void* p) noexcept {
    auto* d = static_cast<Dispatch*>(p);
    try {
      d->status = d->c->host.dispatch(d->name, d->args, d->c->host.pending);
    } catch (...) {
      d->status = refuse(d->c->host.pending, HostCallStatus::kError, "the host function failed");
    }
  }
};

}  // namespace

HostCallStatus refuse(std::string& reply, HostCallStatus status, std::string_view message) {
  reply = nlohmann::json(message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return status;
}

uint32_t host_call(Context& c, uint32_t name_ptr, uint32_t name_len, uint32_t args_ptr, uint32_t args_len,
                         uint32_t reply_len_out) {
  c.host.pending.clear();
  auto out = c.memory->span(reply_len_out, 4);
  if (!out) return static_cast<uint32_t>(HostCallStatus::kFault);
  HostCallStatus status;
  auto name_span = c.memory->span(name_ptr, name_len);
  auto args_span = c.memory->span(args_ptr, args_len);
  if (!name_span || !args_span || name_len > kMaxNameBytes) {
    status = HostCallStatus::kFault;
  } else {
    const std::string name = c.memory->read_string(*name_span);
    if (!c.host.dispatch) {
      status = refuse(c.host.pending, HostCallStatus::kNotGranted, "host function '" + name + "' is not granted");
    } else if (args_len > c.host.max_args) {
      status = refuse(c.host.pending, HostCallStatus::kArgsTooLarge,
                      "arguments of " + name + "() are " + std::to_string(args_len) + " bytes; the limit is " +
                          std::to_string(c.host.max_args));
    } else {
      const std::string args = c.memory->read_string(*args_span);
      Dispatch d{&c, name, args};
      rt::run_on_host_stack(&Dispatch::run, &d);
      status = d.status;
    }
  }
  if (status == HostCallStatus::kFault) c.host.pending.clear();
  const uint32_t len = static_cast<uint32_t>(c.host.pending.size());
  c.memory->write(*out, &len);
  // Time spent in the host counts toward the deadline.
  uint32_t result = static_cast<uint32_t>(status);
  if (c.budget) {
    if (c.budget->take_soft_stop()) result |= kHostCallSoftStop;
    c.budget->check_soon();  // a cancel or the hard deadline: at the next loop header
  }
  return result;
}

HostCallStatus host_take(Context& c, uint32_t buf, uint32_t len) {
  if (len == 0) {
    const bool empty = c.host.pending.empty();
    c.host.pending.clear();
    return empty ? HostCallStatus::kOk : HostCallStatus::kFault;
  }
  if (len != c.host.pending.size()) return HostCallStatus::kFault;
  auto span = c.memory->span(buf, len);
  if (!span) return HostCallStatus::kFault;
  c.memory->write(*span, c.host.pending.data());
  c.host.pending.clear();
  return HostCallStatus::kOk;
}

}  // namespace pycell::wasi
