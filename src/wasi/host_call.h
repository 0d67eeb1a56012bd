// pycell_host.call / take: the guest's channel to the session's host functions.
// Not WASI, but the same boundary rules: every guest pointer and length is
// checked, and sizes are checked against the caps before anything is copied.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "wasi/context.h"

namespace pycell::wasi {

/// Runs the host function `name` with JSON `args`; the reply (see
/// HostCallStatus) waits in the context until host_take. Its length is stored
/// at `reply_len_out`. Returns the status, with kHostCallSoftStop or-ed in
/// when the run's soft deadline passed meanwhile.
uint32_t host_call(Context& c, uint32_t name, uint32_t name_len, uint32_t args, uint32_t args_len,
                         uint32_t reply_len_out);

/// Sets `reply` to `message` as a JSON string (invalid UTF-8 replaced) and
/// returns `status`: how every refusal reaches the guest.
HostCallStatus refuse(std::string& reply, HostCallStatus status, std::string_view message);

/// Copies the pending reply into [buf, buf+len) (len must be its exact size)
/// and forgets it. len 0 with a pending reply just drops it.
HostCallStatus host_take(Context& c, uint32_t buf, uint32_t len);

}  // namespace pycell::wasi
