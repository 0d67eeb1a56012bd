// WASI context: fd table setup, bounded output capture, shared layout helpers.
#include "wasi/context.h"

#include <algorithm>
#include <cstring>

namespace pycell::wasi {

void OutputSink::write(std::string_view bytes) {
  if (stream) stream(bytes);
  const uint64_t room = cap > captured.size() ? cap - captured.size() : 0;
  if (bytes.size() <= room) {
    captured.append(bytes);
  } else {
    captured.append(bytes.substr(0, room));
    dropped += bytes.size() - room;
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
  if (k == vfs::Kind::kDirectory) return layout::kFiletypeDirectory;
  return k == vfs::Kind::kCharDevice ? layout::kFiletypeCharDevice : layout::kFiletypeRegular;
}

Errno store_filestat(rt::GuestMemory& m, uint32_t addr, const vfs::Stat& st, uint8_t filetype) {
  uint8_t buf[layout::kFilestatSize] = {};
  const uint64_t dev = 1;
  std::memcpy(buf + 0, &dev, 8);
  std::memcpy(buf + 8, &st.ino, 8);
  buf[16] = filetype;
  std::memcpy(buf + 24, &st.nlink, 8);
  std::memcpy(buf + 32, &st.size, 8);
  std::memcpy(buf + 40, &st.atime_ns, 8);
  std::memcpy(buf + 48, &st.mtime_ns, 8);
  std::memcpy(buf + 56, &st.ctime_ns, 8);
  return m.store_bytes(addr, buf, sizeof buf) ? Errno::kSuccess : Errno::kFault;
}

namespace {
// WASI paths are UTF-8 strings: shortest forms only, no surrogates, <= U+10FFFF.
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}
}  // namespace

Errno read_path(const rt::GuestMemory& m, uint32_t ptr, uint32_t len, std::string& out) {
  if (len > kMaxPathBytes) return Errno::kNametoolong;
  auto span = m.span(ptr, len);
  if (!span) return Errno::kFault;
  out = m.read_string(*span);
  if (out.find('\0') != std::string::npos) return Errno::kInval;
  if (!valid_utf8(out)) return Errno::kIlseq;
  return Errno::kSuccess;
}

Errno set_times(vfs::Node& node, uint64_t atim, uint64_t mtim, uint32_t flags) {
  constexpr uint32_t kAtim = 1, kAtimNow = 2, kMtim = 4, kMtimNow = 8;
  if (flags & ~uint32_t{0xf}) return Errno::kInval;
  if (((flags & kAtim) && (flags & kAtimNow)) || ((flags & kMtim) && (flags & kMtimNow))) return Errno::kInval;
  const uint64_t now = vfs::now_ns();
  std::optional<uint64_t> a, m;
  if (flags & kAtim) a = atim;
  if (flags & kAtimNow) a = now;
  if (flags & kMtim) m = mtim;
  if (flags & kMtimNow) m = now;
  return node.set_times(a, m);
}

}  // namespace pycell::wasi

namespace pycell::wasi {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Deterministic::Deterministic(uint64_t seed, uint64_t start, uint64_t per_fuel)
    : start_ns(start), ns_per_fuel(per_fuel) {
  for (auto& word : rng) word = splitmix64(seed);
}

uint64_t Deterministic::now_ns(const rt::Budget& budget) const {
  return start_ns + (fuel_before + budget.used_now()) * ns_per_fuel + slept_ns;
}

void Deterministic::fill(uint8_t* out, size_t len) {
  while (len > 0) {
    const uint64_t result = rotl(rng[1] * 5, 7) * 9;
    const uint64_t t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    const size_t n = std::min<size_t>(len, sizeof result);
    std::memcpy(out, &result, n);
    out += n;
    len -= n;
  }
}

}  // namespace pycell::wasi
