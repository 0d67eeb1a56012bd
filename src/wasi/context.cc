// WASI context: fd table setup, bounded output capture, shared layout helpers.
#include "wasi/context.h"

#include <cstring>

namespace pycell::wasi {

void OutputSink::write(std::string_view bytes) {
  if (stream) stream(bytes);
  if (truncated) return;
  const uint64_t room = cap > captured.size() ? cap - captured.size() : 0;
  if (bytes.size() <= room) {
    captured.append(bytes);
  } else {
    captured.append(bytes.substr(0, room));
    truncated = true;
  }
}

void Context::init_fds(std::shared_ptr<vfs::Node> root) {
  fds.clear();
  FdEntry in, out_e, err_e, dir;
  in.kind = FdEntry::Kind::kStdin;
  out_e.kind = FdEntry::Kind::kStdout;
  out_e.readable = false;
  out_e.writable = true;
  err_e.kind = FdEntry::Kind::kStderr;
  err_e.readable = false;
  err_e.writable = true;
  dir.node = std::move(root);
  dir.preopen = "/";
  fds.emplace_back(std::move(in));
  fds.emplace_back(std::move(out_e));
  fds.emplace_back(std::move(err_e));
  fds.emplace_back(std::move(dir));
}

FdEntry* Context::fd(uint32_t n) {
  if (n >= fds.size() || !fds[n]) return nullptr;
  return &*fds[n];
}

uint8_t filetype_of(vfs::Kind k) {
  return k == vfs::Kind::kDirectory ? layout::kFiletypeDirectory : layout::kFiletypeRegular;
}

Errno store_filestat(rt::GuestMemory& m, uint32_t addr, const vfs::Stat& st, uint8_t filetype) {
  uint8_t buf[layout::kFilestatSize] = {};
  const uint64_t dev = 1;
  std::memcpy(buf + 0, &dev, 8);
  std::memcpy(buf + 8, &st.ino, 8);
  buf[16] = filetype;
  std::memcpy(buf + 24, &st.nlink, 8);
  std::memcpy(buf + 32, &st.size, 8);
  std::memcpy(buf + 40, &st.mtime_ns, 8);
  std::memcpy(buf + 48, &st.mtime_ns, 8);
  std::memcpy(buf + 56, &st.mtime_ns, 8);
  return m.store_bytes(addr, buf, sizeof buf) ? Errno::kSuccess : Errno::kFault;
}

Errno read_path(const rt::GuestMemory& m, uint32_t ptr, uint32_t len, std::string& out) {
  if (len > kMaxPathBytes) return Errno::kNametoolong;
  auto span = m.span(ptr, len);
  if (!span) return Errno::kFault;
  out = m.read_string(*span);
  if (out.find('\0') != std::string::npos) return Errno::kInval;
  return Errno::kSuccess;
}

}  // namespace pycell::wasi
