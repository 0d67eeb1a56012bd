// Snapshot serialization: a versioned, build-bound byte format sealed with an
// HMAC-SHA256 under the engine's snapshot key.
//
//   magic "PYCELLSNAP02" | build id (64 hex chars) |
//   u64 memory size | memory bytes | u64 globals size | globals |
//   u64 entry count | entries of /tmp (kind, times, link, path, data) |
//   u32 fd count | fds | HMAC-SHA256(key, all the above)
//
// Format 03 (serialize_delta) stores the memory as the pages that differ from
// the engine's pre-initialized snapshot, and compresses everything behind the
// header with zstd:
//
//   magic "PYCELLSNAP03" | build id | base id (SHA-256 of the base memory) |
//   u64 inner size | zstd(inner) | HMAC-SHA256(key, all the above)
//   inner: u64 memory size | u32 run count | runs (u32 first page, u32 pages) |
//          the runs' pages XOR the base's | globals, /tmp and fds as in 02
#include "pycell/snapshot.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <zstd.h>

#include <cstring>
#include <mutex>

#include "core/engine_state.h"
#include "core/snapshot_state.h"
#include "pycell/engine.h"
#include "pycell_guest_info.h"
#include "vfs/mem_fs.h"

namespace pycell {
namespace {

constexpr char kMagic[] = "PYCELLSNAP02";
constexpr char kDeltaMagic[] = "PYCELLSNAP03";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;
constexpr size_t kFormatAt = kMagicSize - 2;  // "PYCELLSNAP" then a two-digit format
constexpr size_t kBuildIdSize = 64;
constexpr size_t kMacSize = 32;
constexpr size_t kBaseIdSize = 32;
constexpr uint64_t kDeltaPage = 4096;
// Fast compression: the delta is written after every exec of a durable
// session (docs/deploy.md), where latency matters more than a few bytes.
constexpr int kZstdLevel = 1;
// The largest inner section a format-03 snapshot may declare: a whole memory
// plus as much again of /tmp. The size is sealed, so only a key holder picks it.
constexpr uint64_t kMaxInnerBytes = 2 * rt::kMaxGuestBytes;
// The fewest bytes one /tmp entry (kind, two times, link, path and data
// lengths) and one fd slot (its presence byte) take: a count that the bytes
// left cannot hold is refused before anything is allocated for it.
constexpr uint64_t kMinEntryBytes = 1 + 8 + 8 + 8 + 8 + 8;
constexpr uint64_t kMinFdBytes = 1;
// More files than any session's /tmp holds in practice (tmp_files defaults to 4096).
constexpr uint64_t kMaxEntries = 1u << 24;

bool hmac_sha256(std::string_view key, std::string_view data, uint8_t out[kMacSize]) {
  unsigned int len = 0;
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const uint8_t*>(data.data()),
              data.size(), out, &len) != nullptr &&
         len == kMacSize;
}

class Writer {
 public:
  void bytes(const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
  template <class T>
  void num(T v) {
    bytes(&v, sizeof v);
  }
  void str(std::string_view s) {
    num<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  std::string out;
};

/// Bounds-checked reader over untrusted bytes.
class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool bytes(void* p, size_t n) {
    if (n > d_.size() - at_) return false;
    std::memcpy(p, d_.data() + at_, n);
    at_ += n;
    return true;
  }
  template <class T>
  bool num(T& v) {
    return bytes(&v, sizeof v);
  }
  bool view(size_t n, std::string_view& out) {
    if (n > d_.size() - at_) return false;
    out = d_.substr(at_, n);
    at_ += n;
    return true;
  }
  /// A length-prefixed string of at most `max` bytes.
  bool str(std::string& s, uint64_t max) {
    uint64_t n;
    std::string_view v;
    if (!num(n) || n > max || !view(n, v)) return false;
    s.assign(v);
    return true;
  }
  /// Whether the bytes left can hold `count` items of at least `min_bytes` each.
  bool holds(uint64_t count, uint64_t min_bytes) const { return count <= left() / min_bytes; }
  uint64_t left() const { return d_.size() - at_; }
  bool done() const { return at_ == d_.size(); }

 private:
  std::string_view d_;
  size_t at_ = 0;
};

Error corrupt(const std::string& why) { return Error(ErrorCode::kCorrupt, "snapshot is corrupt: " + why); }

/// Globals, /tmp and the fd table: the sections after the memory, the same in
/// both formats.
Result<void> write_rest(Writer& w, const SnapshotState& st) {
  w.str(std::string_view(reinterpret_cast<const char*>(st.globals.data()), st.globals.size()));
  std::vector<vfs::MemEntry> entries = vfs::list_mem_tree(*st.tmp);
  w.num<uint64_t>(entries.size());
  for (const auto& e : entries) {
    w.num<uint8_t>(static_cast<uint8_t>(e.kind));
    w.num(e.atime_ns);
    w.num(e.mtime_ns);
    w.num(e.link_of);
    w.str(e.path);
    w.str(e.data);
  }
  w.num<uint32_t>(static_cast<uint32_t>(st.fds.size()));
  for (size_t i = 0; i < st.fds.size(); ++i) {
    const auto& f = st.fds[i];
    w.num<uint8_t>(f ? 1 : 0);
    if (!f) continue;
    // Open files are named by their /tmp entry; the root is entry "root".
    int64_t entry = -2;  // stdio
    if (f->kind == wasi::FdEntry::Kind::kNode) {
      if (!f->node) {
        entry = -1;
      } else {
        for (size_t k = 0; k < entries.size(); ++k) {
          if (entries[k].node == f->node) entry = static_cast<int64_t>(k);
        }
        if (entry < 0) {
          return Error(ErrorCode::kInvalidArgument, "fd " + std::to_string(i) +
                                                        " is open on a file outside /tmp; close it before serializing");
        }
      }
    }
    w.num<uint8_t>(static_cast<uint8_t>(f->kind));
    w.num(entry);
    w.num(f->offset);
    w.num(f->fdflags);
    w.num<uint8_t>(f->readable);
    w.num<uint8_t>(f->writable);
    w.str(f->preopen);
  }
  return Ok();
}

/// write_rest's inverse, into `st`; every count checked against the bytes left.
Result<void> read_rest(Reader& r, SnapshotState& st) {
  std::string globals;
  if (!r.str(globals, rt::Instance::globals_size()) || globals.size() != rt::Instance::globals_size()) {
    return corrupt("globals section");
  }
  st.globals.assign(globals.begin(), globals.end());

  uint64_t count;
  if (!r.num(count) || count == 0 || count > kMaxEntries || !r.holds(count, kMinEntryBytes)) {
    return corrupt("file section");
  }
  std::vector<vfs::MemEntry> entries(count);
  for (auto& e : entries) {
    uint8_t kind;
    if (!r.num(kind) || !r.num(e.atime_ns) || !r.num(e.mtime_ns) || !r.num(e.link_of) ||
        !r.str(e.path, wasi::kMaxPathBytes) || !r.str(e.data, r.left())) {
      return corrupt("file entry");
    }
    if (kind != static_cast<uint8_t>(vfs::Kind::kFile) && kind != static_cast<uint8_t>(vfs::Kind::kDirectory)) {
      return corrupt("file kind");
    }
    e.kind = static_cast<vfs::Kind>(kind);
  }
  auto tmp = vfs::build_mem_tree(entries, vfs::unbounded_quota());
  if (!tmp) return corrupt("file tree");
  st.tmp = tmp.value;
  // Entries -> nodes of the rebuilt tree, for the fd table.
  std::vector<std::shared_ptr<vfs::Node>> nodes;
  for (const auto& e : vfs::list_mem_tree(*st.tmp)) nodes.push_back(e.node);

  uint32_t nfds;
  if (!r.num(nfds) || nfds > wasi::kMaxFds || !r.holds(nfds, kMinFdBytes)) return corrupt("fd section");
  st.fds.reserve(nfds);
  for (uint32_t i = 0; i < nfds; ++i) {
    uint8_t present;
    if (!r.num(present)) return corrupt("fd entry");
    if (!present) {
      st.fds.emplace_back();
      continue;
    }
    wasi::FdEntry f;
    uint8_t kind, readable, writable;
    int64_t entry;
    if (!r.num(kind) || !r.num(entry) || !r.num(f.offset) || !r.num(f.fdflags) || !r.num(readable) ||
        !r.num(writable) || !r.str(f.preopen, wasi::kMaxPathBytes) ||
        kind > static_cast<uint8_t>(wasi::FdEntry::Kind::kNode)) {
      return corrupt("fd entry");
    }
    f.kind = static_cast<wasi::FdEntry::Kind>(kind);
    f.readable = readable;
    f.writable = writable;
    if (f.kind == wasi::FdEntry::Kind::kNode) {
      if (entry >= 0 && static_cast<uint64_t>(entry) < nodes.size()) {
        f.node = nodes[static_cast<size_t>(entry)];
      } else if (entry != -1) {
        return corrupt("fd names no file");
      }
    }
    st.fds.push_back(std::move(f));
  }
  if (!r.done()) return corrupt("trailing bytes");
  return Ok();
}

/// The base a format-03 snapshot is a delta against: the engine's
/// pre-initialized memory (null without one), and its id, computed once.
struct Base {
  const rt::MemoryImage* memory = nullptr;
  std::array<uint8_t, kBaseIdSize> id{};  // all zeros: no base
};

Result<Base> delta_base(const EngineState& engine) {
  Base b;
  if (!engine.base) return b;
  b.memory = engine.base->state()->memory.get();
  std::call_once(engine.base_id_once, [&] {
    // SHA-256 over the memory's size and bytes, read in chunks.
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
    const uint64_t size = b.memory->size();
    ok = ok && EVP_DigestUpdate(ctx, &size, sizeof size) == 1;
    std::vector<uint8_t> buf(1 << 20);
    for (uint64_t at = 0; ok && at < size; at += buf.size()) {
      const uint64_t n = std::min<uint64_t>(buf.size(), size - at);
      ok = b.memory->read(at, buf.data(), n) && EVP_DigestUpdate(ctx, buf.data(), n) == 1;
    }
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, engine.base_id.data(), &len) == 1 && len == kBaseIdSize;
    EVP_MD_CTX_free(ctx);
    engine.base_id_ok = ok;
  });
  if (!engine.base_id_ok) return Error(ErrorCode::kResourceExhausted, "hashing the base snapshot failed");
  b.id = engine.base_id;
  return b;
}

std::string hex(const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

Result<Snapshot> deserialize_delta(const EngineState& engine, std::string_view body) {
  Reader r(body.substr(kMagicSize + kBuildIdSize));
  std::array<uint8_t, kBaseIdSize> id;
  uint64_t inner_size;
  if (!r.bytes(id.data(), id.size()) || !r.num(inner_size)) return corrupt("delta header");
  auto base = delta_base(engine);
  if (!base) return base.error();
  const bool no_base = id == std::array<uint8_t, kBaseIdSize>{};
  if (!no_base && id != base->id) {
    return Error(ErrorCode::kInvalidArgument,
                 "snapshot is a delta against another base snapshot (" + hex(id.data(), 6) + "…, this engine's is " +
                     hex(base->id.data(), 6) +
                     "…): engines load each other's deltas only with the same build, preload and hash_seed");
  }
  std::string_view frame;
  if (inner_size > kMaxInnerBytes || !r.view(r.left(), frame) ||
      ZSTD_getFrameContentSize(frame.data(), frame.size()) != inner_size) {
    return corrupt("delta size");
  }
  std::string inner(inner_size, '\0');
  const size_t got = ZSTD_decompress(inner.data(), inner.size(), frame.data(), frame.size());
  if (ZSTD_isError(got) || got != inner_size) return corrupt("delta compression");

  Reader in(inner);
  uint64_t mem_size;
  uint32_t nruns;
  if (!in.num(mem_size) || !in.num(nruns) || !in.holds(nruns, 2 * sizeof(uint32_t))) return corrupt("delta runs");
  std::vector<std::pair<uint32_t, uint32_t>> runs(nruns);
  uint64_t pages = 0;
  for (auto& [first, count] : runs) {
    if (!in.num(first) || !in.num(count)) return corrupt("delta runs");
    pages += count;
  }
  std::string_view xored;
  if (pages > in.left() / kDeltaPage || !in.view(pages * kDeltaPage, xored)) return corrupt("delta pages");
  auto image = rt::MemoryImage::patch(no_base ? nullptr : base->memory, mem_size, runs, xored);
  if (!image) return corrupt("delta memory: " + image.error().message());
  auto st = std::make_shared<SnapshotState>();
  st->memory = std::move(*image);
  if (!no_base) {
    st->changed.runs = std::move(runs);
    st->changed_against = engine.base->state();
  }
  if (auto rest = read_rest(in, *st); !rest) return rest.error();
  return Snapshot(std::move(st));
}

}  // namespace

uint64_t Snapshot::memory_bytes() const { return state_->memory->size(); }

Result<std::string> Snapshot::serialize(const Engine& engine) const {
  const SnapshotState& st = *state_;
  Writer w;
  w.bytes(kMagic, kMagicSize);
  w.bytes(PYCELL_GUEST_BUILD_ID, kBuildIdSize);
  w.num<uint64_t>(st.memory->size());
  const size_t mem_at = w.out.size();
  w.out.resize(mem_at + st.memory->size());
  if (auto r = st.memory->read(0, w.out.data() + mem_at, st.memory->size()); !r) return r.error();
  if (auto r = write_rest(w, st); !r) return r.error();
  uint8_t mac[kMacSize];
  if (!hmac_sha256(engine.state()->snapshot_key, w.out, mac)) {
    return Error(ErrorCode::kResourceExhausted, "HMAC-SHA256 failed");
  }
  w.bytes(mac, kMacSize);
  return std::move(w.out);
}

Result<std::string> Snapshot::serialize_delta(const Engine& engine) const {
  const SnapshotState& st = *state_;
  auto base = delta_base(*engine.state());
  if (!base) return base.error();
  std::vector<std::pair<uint32_t, uint32_t>> runs;
  std::string xored;
  const bool known = engine.state()->base && st.changed_against == engine.state()->base->state();
  if (auto r = st.memory->diff(base->memory, known ? &st.changed : nullptr, runs, xored); !r) return r.error();
  Writer in;
  in.num<uint64_t>(st.memory->size());
  in.num<uint32_t>(static_cast<uint32_t>(runs.size()));
  for (const auto& [first, count] : runs) {
    in.num(first);
    in.num(count);
  }
  in.bytes(xored.data(), xored.size());
  xored = {};
  if (auto r = write_rest(in, st); !r) return r.error();

  Writer w;
  w.bytes(kDeltaMagic, kMagicSize);
  w.bytes(PYCELL_GUEST_BUILD_ID, kBuildIdSize);
  w.bytes(base->id.data(), base->id.size());
  w.num<uint64_t>(in.out.size());
  const size_t frame_at = w.out.size();
  w.out.resize(frame_at + ZSTD_compressBound(in.out.size()));
  const size_t n = ZSTD_compress(w.out.data() + frame_at, w.out.size() - frame_at, in.out.data(), in.out.size(),
                                 kZstdLevel);
  if (ZSTD_isError(n)) return Error(ErrorCode::kResourceExhausted, std::string("zstd: ") + ZSTD_getErrorName(n));
  w.out.resize(frame_at + n);
  uint8_t mac[kMacSize];
  if (!hmac_sha256(engine.state()->snapshot_key, w.out, mac)) {
    return Error(ErrorCode::kResourceExhausted, "HMAC-SHA256 failed");
  }
  w.bytes(mac, kMacSize);
  return std::move(w.out);
}

Result<Snapshot> Snapshot::deserialize(const Engine& engine, std::string_view bytes) {
  auto digit = [&](size_t at) { return bytes[at] >= '0' && bytes[at] <= '9'; };
  if (bytes.size() < kMagicSize + kBuildIdSize + kMacSize ||
      bytes.substr(0, kFormatAt) != std::string_view(kMagic, kFormatAt) || !digit(kFormatAt) || !digit(kFormatAt + 1)) {
    return Error(ErrorCode::kCorrupt, "not a pycell snapshot");
  }
  const bool delta = bytes.substr(0, kMagicSize) == kDeltaMagic;
  if (bytes.substr(0, kMagicSize) != kMagic && !delta) {
    return Error(ErrorCode::kInvalidArgument, "snapshot is in format " + std::string(bytes.substr(kFormatAt, 2)) +
                                                  "; this pycell reads formats " + std::string(kMagic + kFormatAt) +
                                                  " and " + std::string(kDeltaMagic + kFormatAt));
  }
  // Authenticate before reading a single field: only a holder of the key can
  // make bytes that get past this, so nothing below parses a stranger's input.
  const std::string_view body = bytes.substr(0, bytes.size() - kMacSize);
  uint8_t mac[kMacSize];
  if (!hmac_sha256(engine.state()->snapshot_key, body, mac) ||
      CRYPTO_memcmp(mac, bytes.data() + body.size(), kMacSize) != 0) {
    return corrupt("seal mismatch (truncated, altered, or sealed with another snapshot key)");
  }
  const std::string_view id = body.substr(kMagicSize, kBuildIdSize);
  if (id != std::string_view(PYCELL_GUEST_BUILD_ID, kBuildIdSize)) {
    return Error(ErrorCode::kInvalidArgument, "snapshot was made by another pycell build (" + std::string(id.substr(0, 12)) +
                                                  "…, this build is " + std::string(PYCELL_GUEST_BUILD_ID, 12) + "…)");
  }
  if (delta) return deserialize_delta(*engine.state(), body);
  // Still checked like untrusted input: every count and length against the
  // bytes that are left, so what is allocated is bounded by what was given.
  Reader r(body.substr(kMagicSize + kBuildIdSize));
  auto st = std::make_shared<SnapshotState>();
  uint64_t mem_size;
  std::string_view mem;
  if (!r.num(mem_size) || mem_size % rt::kWasmPageBytes || mem_size > rt::kMaxGuestBytes || !r.view(mem_size, mem)) {
    return corrupt("memory section");
  }
  auto image = rt::MemoryImage::create(reinterpret_cast<const uint8_t*>(mem.data()), mem_size);
  if (!image) return image.error();
  st->memory = std::move(*image);
  if (auto rest = read_rest(r, *st); !rest) return rest.error();
  return Snapshot(std::move(st));
}

}  // namespace pycell
