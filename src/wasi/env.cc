// WASI environ_*: only the variables the embedder passed, never the host's.
#include <string>
#include <vector>

#include "wasi/handlers.h"

namespace pycell::wasi {

Errno environ_sizes_get(Context& c, uint32_t count_out, uint32_t size_out) {
  uint64_t bytes = 0;
  for (const auto& s : c.env) bytes += s.size() + 1;
  if (!c.memory->store_u32(count_out, static_cast<uint32_t>(c.env.size()))) return Errno::kFault;
  if (!c.memory->store_u32(size_out, static_cast<uint32_t>(bytes))) return Errno::kFault;
  return Errno::kSuccess;
}

Errno environ_get(Context& c, uint32_t ptrs, uint32_t buf) {
  uint64_t bytes = 0;
  for (const auto& s : c.env) bytes += s.size() + 1;
  // Check both whole ranges first so a bad pointer writes nothing.
  if (!c.memory->array(ptrs, c.env.size(), 4) || !c.memory->span(buf, bytes)) return Errno::kFault;
  uint32_t at = buf;
  for (size_t i = 0; i < c.env.size(); ++i) {
    if (!c.memory->store_u32(ptrs + static_cast<uint32_t>(i * 4), at)) return Errno::kFault;
    if (!c.memory->store_bytes(at, c.env[i].c_str(), c.env[i].size() + 1)) return Errno::kFault;
    at += static_cast<uint32_t>(c.env[i].size() + 1);
  }
  return Errno::kSuccess;
}

}  // namespace pycell::wasi
