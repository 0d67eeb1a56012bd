// WASI fd_*: reads, writes, seeks and metadata on open descriptors.
#include <algorithm>
#include <cstring>
#include <vector>

#include "wasi/handlers.h"

namespace pycell::wasi {
namespace {

using layout::kIovecSize;

/// Copies the iovec array out first, then checks every buffer it names.
/// The sum must fit the u32 the result is reported in.
Errno gather(const rt::GuestMemory& m, uint32_t iovs, uint32_t count, std::vector<rt::GuestSpan>& out) {
  if (count > kMaxIovecs) return Errno::kInval;
  auto arr = m.array(iovs, count, kIovecSize);
  if (!arr) return Errno::kFault;
  std::vector<uint32_t> raw(size_t{count} * 2);
  m.read(*arr, raw.data());
  uint64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    auto s = m.span(raw[2 * i], raw[2 * i + 1]);
    if (!s) return Errno::kFault;
    total += s->size();
    out.push_back(*s);
  }
  return total > UINT32_MAX ? Errno::kInval : Errno::kSuccess;
}

// Host buffers stay this small whatever sizes the guest names.
constexpr uint64_t kChunk = 64 * 1024;

/// Reads from `f` (at `offset`) into the guest buffers; returns bytes read.
Errno read_into(Context& c, FdEntry& f, const std::vector<rt::GuestSpan>& bufs, uint64_t offset,
                uint64_t& nread) {
  nread = 0;
  if (f.kind == FdEntry::Kind::kStdin) return Errno::kSuccess;  // always at EOF
  if (f.kind != FdEntry::Kind::kNode || !f.readable) return Errno::kBadf;
  if (f.node->kind() == vfs::Kind::kDirectory) return Errno::kIsdir;
  std::vector<uint8_t> tmp;
  for (const auto& b : bufs) {
    for (uint64_t done = 0; done < b.size();) {
      tmp.resize(std::min(kChunk, b.size() - done));
      auto r = f.node->pread(offset + nread, tmp);
      if (!r) return nread ? Errno::kSuccess : r.err;
      c.memory->write(*c.memory->span(static_cast<uint32_t>(b.addr() + done), r.value), tmp.data());
      nread += r.value;
      done += r.value;
      if (r.value < tmp.size()) return Errno::kSuccess;  // end of file
    }
  }
  return Errno::kSuccess;
}

Errno write_from(Context& c, FdEntry& f, const std::vector<rt::GuestSpan>& bufs, uint64_t offset,
                 uint64_t& nwritten) {
  nwritten = 0;
  const bool stdio = f.kind == FdEntry::Kind::kStdout || f.kind == FdEntry::Kind::kStderr;
  if (!stdio && (f.kind != FdEntry::Kind::kNode || !f.writable)) return Errno::kBadf;
  std::string tmp;
  for (const auto& b : bufs) {
    for (uint64_t done = 0; done < b.size();) {
      tmp.resize(std::min(kChunk, b.size() - done));
      c.memory->read(*c.memory->span(static_cast<uint32_t>(b.addr() + done), tmp.size()), tmp.data());
      if (stdio) {
        OutputSink& sink = f.kind == FdEntry::Kind::kStdout ? c.out : c.err;
        sink.write(tmp);
        if (sink.dropped > kMaxDroppedOutput && c.budget) {
          c.budget->request_stop(rt::Budget::Stop::kOutput);
        }
      } else {
        auto r = f.node->pwrite(offset + nwritten,
                                std::span(reinterpret_cast<const uint8_t*>(tmp.data()), tmp.size()));
        if (!r) return nwritten ? Errno::kSuccess : r.err;
      }
      nwritten += tmp.size();
      done += tmp.size();
    }
  }
  return Errno::kSuccess;
}

Errno store_size(Context& c, uint32_t out, uint64_t n) {
  return c.memory->store_u32(out, static_cast<uint32_t>(n)) ? Errno::kSuccess : Errno::kFault;
}

}  // namespace

Errno fd_advise(Context& c, uint32_t fd, uint64_t, uint64_t, uint32_t advice) {
  if (!c.fd(fd)) return Errno::kBadf;
  return advice > 5 ? Errno::kInval : Errno::kSuccess;
}

Errno fd_close(Context& c, uint32_t fd) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (!f->preopen.empty()) return Errno::kNotsup;  // the root stays reachable
  // A host file opened for writing is published here (see vfs::Node::close).
  const Errno e = f->kind == FdEntry::Kind::kNode ? f->node->close() : Errno::kSuccess;
  c.fds[fd].reset();
  return e;
}

Errno fd_datasync(Context& c, uint32_t fd) { return c.fd(fd) ? Errno::kSuccess : Errno::kBadf; }
Errno fd_sync(Context& c, uint32_t fd) { return c.fd(fd) ? Errno::kSuccess : Errno::kBadf; }

Errno fd_fdstat_get(Context& c, uint32_t fd, uint32_t out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  uint8_t buf[layout::kFdstatSize] = {};
  uint64_t rights = layout::kAllRights;
  if (f->kind == FdEntry::Kind::kNode) {
    buf[0] = filetype_of(f->node->kind());
  } else {
    // Stdio is a character device that can seek: wasi-libc's isatty() then says
    // no, so Python uses plain (uncoloured, unprompted) output.
    buf[0] = layout::kFiletypeCharDevice;
  }
  std::memcpy(buf + 2, &f->fdflags, 2);
  std::memcpy(buf + 8, &rights, 8);
  std::memcpy(buf + 16, &rights, 8);
  return c.memory->store_bytes(out, buf, sizeof buf) ? Errno::kSuccess : Errno::kFault;
}

Errno fd_fdstat_set_flags(Context& c, uint32_t fd, uint32_t flags) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (flags & ~uint32_t{0x1f}) return Errno::kInval;
  f->fdflags = static_cast<uint16_t>(flags);
  return Errno::kSuccess;
}

Errno fd_filestat_get(Context& c, uint32_t fd, uint32_t out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode) return store_filestat(*c.memory, out, vfs::Stat{}, layout::kFiletypeCharDevice);
  vfs::Stat st = f->node->stat();
  return store_filestat(*c.memory, out, st, filetype_of(st.kind));
}

Errno fd_filestat_set_size(Context& c, uint32_t fd, uint64_t size) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode || !f->writable) return Errno::kBadf;
  return f->node->truncate(size);
}

Errno fd_filestat_set_times(Context& c, uint32_t fd, uint64_t atim, uint64_t mtim, uint32_t flags) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode) return Errno::kSuccess;  // stdio keeps no times
  return set_times(*f->node, atim, mtim, flags);
}

Errno fd_pread(Context& c, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint64_t offset, uint32_t nread_out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode) return Errno::kSpipe;
  std::vector<rt::GuestSpan> bufs;
  uint64_t n;
  if (Errno e = gather(*c.memory, iovs, iovs_len, bufs); e != Errno::kSuccess) return e;
  if (Errno e = read_into(c, *f, bufs, offset, n); e != Errno::kSuccess) return e;
  return store_size(c, nread_out, n);
}

Errno fd_pwrite(Context& c, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint64_t offset,
                uint32_t nwritten_out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode) return Errno::kSpipe;
  std::vector<rt::GuestSpan> bufs;
  uint64_t n;
  if (Errno e = gather(*c.memory, iovs, iovs_len, bufs); e != Errno::kSuccess) return e;
  if (Errno e = write_from(c, *f, bufs, offset, n); e != Errno::kSuccess) return e;
  return store_size(c, nwritten_out, n);
}

Errno fd_read(Context& c, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nread_out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  std::vector<rt::GuestSpan> bufs;
  uint64_t n;
  if (Errno e = gather(*c.memory, iovs, iovs_len, bufs); e != Errno::kSuccess) return e;
  if (Errno e = read_into(c, *f, bufs, f->offset, n); e != Errno::kSuccess) return e;
  f->offset += n;
  return store_size(c, nread_out, n);
}

Errno fd_write(Context& c, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nwritten_out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  std::vector<rt::GuestSpan> bufs;
  uint64_t n;
  if (Errno e = gather(*c.memory, iovs, iovs_len, bufs); e != Errno::kSuccess) return e;
  uint64_t offset = f->offset;
  if (f->kind == FdEntry::Kind::kNode && (f->fdflags & layout::kFdflagAppend)) offset = f->node->stat().size;
  if (Errno e = write_from(c, *f, bufs, offset, n); e != Errno::kSuccess) return e;
  if (f->kind == FdEntry::Kind::kNode) f->offset = offset + n;
  return store_size(c, nwritten_out, n);
}

Errno fd_prestat_get(Context& c, uint32_t fd, uint32_t out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->preopen.empty()) return Errno::kBadf;  // wasi-libc stops scanning here
  uint8_t buf[8] = {};
  const auto len = static_cast<uint32_t>(f->preopen.size());
  std::memcpy(buf + 4, &len, 4);
  return c.memory->store_bytes(out, buf, sizeof buf) ? Errno::kSuccess : Errno::kFault;
}

Errno fd_prestat_dir_name(Context& c, uint32_t fd, uint32_t path, uint32_t path_len) {
  FdEntry* f = c.fd(fd);
  if (!f || f->preopen.empty()) return Errno::kBadf;
  if (path_len < f->preopen.size()) return Errno::kNametoolong;
  return c.memory->store_bytes(path, f->preopen.data(), f->preopen.size()) ? Errno::kSuccess : Errno::kFault;
}

Errno fd_readdir(Context& c, uint32_t fd, uint32_t buf, uint32_t buf_len, uint64_t cookie, uint32_t used_out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode) return Errno::kNotdir;
  auto span = c.memory->span(buf, buf_len);
  if (!span) return Errno::kFault;
  auto entries = f->node->list();
  if (!entries) return entries.err;
  // Fill a host buffer exactly as large as the guest's, then copy it in once.
  std::vector<uint8_t> out;
  out.reserve(buf_len);
  for (uint64_t i = cookie; i < entries.value.size() && out.size() < buf_len; ++i) {
    const auto& e = entries.value[i];
    uint8_t head[layout::kDirentHeader] = {};
    const uint64_t next = i + 1;
    const auto namlen = static_cast<uint32_t>(e.name.size());
    std::memcpy(head + 0, &next, 8);
    std::memcpy(head + 8, &e.ino, 8);
    std::memcpy(head + 16, &namlen, 4);
    head[20] = filetype_of(e.kind);
    out.insert(out.end(), head, head + sizeof head);
    out.insert(out.end(), e.name.begin(), e.name.end());
  }
  // A full buffer tells wasi-libc to call again with a larger one or the next cookie.
  const auto used = static_cast<uint32_t>(std::min<size_t>(out.size(), buf_len));
  c.memory->write(*c.memory->span(buf, used), out.data());
  return store_size(c, used_out, used);
}

Errno fd_seek(Context& c, uint32_t fd, int64_t offset, uint32_t whence, uint32_t newoffset_out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode) return Errno::kSpipe;
  if (f->node->kind() == vfs::Kind::kDirectory) return Errno::kIsdir;
  int64_t base;
  switch (whence) {
    case 0: base = 0; break;
    case 1: base = static_cast<int64_t>(f->offset); break;
    case 2: base = static_cast<int64_t>(f->node->stat().size); break;
    default: return Errno::kInval;
  }
  int64_t pos;
  if (__builtin_add_overflow(base, offset, &pos) || pos < 0) return Errno::kInval;
  f->offset = static_cast<uint64_t>(pos);
  return c.memory->store_u64(newoffset_out, f->offset) ? Errno::kSuccess : Errno::kFault;
}

Errno fd_tell(Context& c, uint32_t fd, uint32_t out) {
  FdEntry* f = c.fd(fd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode) return Errno::kSpipe;
  return c.memory->store_u64(out, f->offset) ? Errno::kSuccess : Errno::kFault;
}

}  // namespace pycell::wasi
