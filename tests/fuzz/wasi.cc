// libFuzzer target: the WASI handlers called with arbitrary arguments against
// a live session's memory, fd table, /tmp, stdlib image and a read-write host
// mount, as a fully compromised guest could call them. A call may not crash,
// hang, or touch the host filesystem outside the mounted directory.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fuzz_support.h"
#include "wasi/handlers.h"

namespace {

namespace fs = std::filesystem;
using namespace pycell::wasi;

/// A private directory holding the mount ("mnt") and a sentinel file beside
/// it, which the guest must never be able to reach.
struct HostDir {
  fs::path root, mount, sentinel;
  static constexpr const char* kSentinel = "outside the mount";
  HostDir() {
    std::string tmpl = (fs::temp_directory_path() / "pycell-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) std::exit(2);
    root = tmpl;
    mount = root / "mnt";
    sentinel = root / "sentinel";
    fs::create_directory(mount);
    std::ofstream(sentinel) << kSentinel;
  }
  /// Between sessions: nothing appeared beside the mount, the sentinel is
  /// intact, and the mount is emptied for the next session.
  void check_and_clear() const {
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(root)) ++entries;
    std::ifstream in(sentinel);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (entries != 2 || text != kSentinel) {
      std::fprintf(stderr, "fuzz: the guest changed the host directory outside its mount\n");
      __builtin_trap();
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(mount)) {
      fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
      fs::remove_all(e.path(), ec);
    }
  }
};

HostDir& host_dir() {
  static HostDir d;
  return d;
}

pycell::SessionConfig config() {
  pycell::SessionConfig c;
  c.limits.memory_bytes = 64ull << 20;
  c.limits.tmp_bytes = 1ull << 20;
  c.limits.tmp_files = 64;
  c.limits.mount_write_bytes = 1ull << 20;
  c.limits.output_bytes = 4096;
  c.env = {"HOME=/tmp", "PYCELL_FUZZ=1"};
  c.mounts.push_back({host_dir().mount.string(), "/data", pycell::Mount::Access::kReadWrite, false});
  return c;
}

pycell::fuzz::LiveSession& live() {
  static pycell::fuzz::LiveSession* s = [] {
    auto* l = new pycell::fuzz::LiveSession(config, 500);
    l->on_reset = [] { host_dir().check_and_clear(); };
    return l;
  }();
  return *s;
}

// The scratch region the input is copied to: pointers mostly land here, so
// the fuzzer controls what the handlers read (iovecs, paths, subscriptions).
constexpr uint32_t kScratch = 0x100000, kScratchBytes = 0x2000;

/// One call's arguments: eight 32-bit and three 64-bit raw values, read in a
/// fixed order, decoded as mostly plausible values and sometimes anything.
struct Args {
  uint32_t w[8];
  uint64_t q[3];
  uint64_t memory_size;
  Args(FuzzedDataProvider& in, uint64_t memory) : memory_size(memory) {
    for (auto& v : w) v = in.ConsumeIntegral<uint32_t>();
    for (auto& v : q) v = in.ConsumeIntegral<uint64_t>();
  }
  /// A guest pointer: into the scratch region, at the end of memory, or any.
  uint32_t ptr(int i) const {
    const uint32_t v = w[i];
    switch (v & 3) {
      case 0:
      case 1: return kScratch + (v >> 2) % kScratchBytes;
      case 2: return static_cast<uint32_t>(memory_size - (v >> 2) % 64);
      default: return v;
    }
  }
  uint32_t len(int i) const {
    const uint32_t v = w[i];
    switch (v & 3) {
      case 0:
      case 1: return (v >> 2) % 64;
      case 2: return (v >> 2) % 8192;
      default: return v;
    }
  }
  /// An fd: mostly one of the first 16, sometimes near UINT32_MAX.
  uint32_t fd(int i) const {
    const uint32_t v = w[i] & 0xff;
    return v < 250 ? v % 16 : 0xffffffffu - (v - 250);
  }
  uint32_t u32(int i) const { return w[i]; }
  uint64_t u64(int i) const { return (q[i] & 1) ? q[i] : (q[i] >> 1) % 100000; }
};

Errno call(Context& c, const Args& a, uint8_t which) {
  switch (which % 44) {
    case 0: return environ_get(c, a.ptr(0), a.ptr(1));
    case 1: return environ_sizes_get(c, a.ptr(0), a.ptr(1));
    case 2: return clock_res_get(c, a.u32(0) % 5, a.ptr(1));
    case 3: return clock_time_get(c, a.u32(0) % 5, a.u64(0), a.ptr(1));
    case 4: return random_get(c, a.ptr(0), a.len(1));
    case 5: return proc_exit(c, a.u32(0));
    case 6: return sched_yield(c);
    case 7: return poll_oneoff(c, a.ptr(0), a.ptr(1), a.len(2), a.ptr(3));
    case 8: return fd_advise(c, a.fd(0), a.u64(0), a.u64(1), a.u32(1) % 7);
    case 9: return fd_close(c, a.fd(0));
    case 10: return fd_datasync(c, a.fd(0));
    case 11: return fd_fdstat_get(c, a.fd(0), a.ptr(1));
    case 12: return fd_fdstat_set_flags(c, a.fd(0), a.u32(1) % 32);
    case 13: return fd_filestat_get(c, a.fd(0), a.ptr(1));
    case 14: return fd_filestat_set_size(c, a.fd(0), a.u64(0));
    case 15: return fd_filestat_set_times(c, a.fd(0), a.u64(0), a.u64(1), a.u32(1) % 16);
    case 16: return fd_pread(c, a.fd(0), a.ptr(1), a.len(2), a.u64(0), a.ptr(3));
    case 17: return fd_prestat_get(c, a.fd(0), a.ptr(1));
    case 18: return fd_prestat_dir_name(c, a.fd(0), a.ptr(1), a.len(2));
    case 19: return fd_pwrite(c, a.fd(0), a.ptr(1), a.len(2), a.u64(0), a.ptr(3));
    case 20: return fd_read(c, a.fd(0), a.ptr(1), a.len(2), a.ptr(3));
    case 21: return fd_readdir(c, a.fd(0), a.ptr(1), a.len(2), a.u64(0), a.ptr(3));
    case 22: return fd_seek(c, a.fd(0), static_cast<int64_t>(a.u64(0)), a.u32(1) % 4, a.ptr(2));
    case 23: return fd_sync(c, a.fd(0));
    case 24: return fd_tell(c, a.fd(0), a.ptr(1));
    case 25: return fd_write(c, a.fd(0), a.ptr(1), a.len(2), a.ptr(3));
    case 26: return path_create_directory(c, a.fd(0), a.ptr(1), a.len(2));
    case 27: return path_filestat_get(c, a.fd(0), a.u32(1) % 2, a.ptr(2), a.len(3), a.ptr(4));
    case 28:
      return path_filestat_set_times(c, a.fd(0), a.u32(1) % 2, a.ptr(2), a.len(3), a.u64(0), a.u64(1),
                                     a.u32(4) % 16);
    case 29: return path_link(c, a.fd(0), a.u32(1) % 2, a.ptr(2), a.len(3), a.fd(4), a.ptr(5), a.len(6));
    case 30:
      return path_open(c, a.fd(0), a.u32(1) % 2, a.ptr(2), a.len(3), a.u32(4) % 16, a.u64(0), a.u64(1),
                       a.u32(5) % 32, a.ptr(6));
    case 31: return path_readlink(c, a.fd(0), a.ptr(1), a.len(2), a.ptr(3), a.len(4), a.ptr(5));
    case 32: return path_remove_directory(c, a.fd(0), a.ptr(1), a.len(2));
    case 33: return path_rename(c, a.fd(0), a.ptr(1), a.len(2), a.fd(3), a.ptr(4), a.len(5));
    case 34: return path_symlink(c, a.ptr(0), a.len(1), a.fd(2), a.ptr(3), a.len(4));
    case 35: return path_unlink_file(c, a.fd(0), a.ptr(1), a.len(2));
    case 36: return sock_accept(c, a.fd(0), a.u32(1), a.ptr(2));
    case 37: return sock_recv(c, a.fd(0), a.ptr(1), a.len(2), a.u32(3), a.ptr(4), a.ptr(5));
    case 38: return sock_send(c, a.fd(0), a.ptr(1), a.len(2), a.u32(3), a.ptr(4));
    case 39: return sock_shutdown(c, a.fd(0), a.u32(1));
    // Calls that build up state get a second chance: opening with all
    // rights from a preopen, writing, reading.
    case 40: return path_open(c, 3 + a.fd(0) % 3, 0, a.ptr(1), a.len(2), a.u32(3) % 16, ~0ull, ~0ull, 0, a.ptr(4));
    case 41: return fd_write(c, a.fd(0), a.ptr(1), a.len(2), a.ptr(3));
    case 42: return fd_read(c, a.fd(0), a.ptr(1), a.len(2), a.ptr(3));
    default: return fd_readdir(c, a.fd(0), a.ptr(1), a.len(2), a.u64(0), a.ptr(3));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  live().next(true);
  return 0;
}

// Input (FuzzedDataProvider: integers are taken from the end, bytes from the
// front): the scratch length, the scratch bytes, then per call a selector
// byte and its Args.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Context& c = live().next(true);
  const std::string scratch = in.ConsumeBytesAsString(in.ConsumeIntegral<uint16_t>() % (kScratchBytes + 1));
  if (!c.memory->store_bytes(kScratch, scratch.data(), scratch.size())) return 0;
  for (int calls = 0; calls < 64 && in.remaining_bytes() > 0; ++calls) {
    const uint8_t which = in.ConsumeIntegral<uint8_t>();
    const Args a(in, c.memory->size());
    const Errno e = call(c, a, which);
    if (static_cast<uint32_t>(e) > 76) __builtin_trap();  // not a WASI errno
  }
  return 0;
}
