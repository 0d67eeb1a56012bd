// libFuzzer target: Snapshot::deserialize, then a session started from what
// it accepted. The harness writes the header (magic, this build's id) and the
// HMAC-SHA256 seal under the engine's (known) key itself, so the fuzzer reaches
// the parser behind the seal, as a holder of the key could.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "pycell/session.h"
#include "pycell/snapshot.h"
#include "pycell_guest_info.h"

namespace {

std::string sealed(std::string_view body, const char* magic = "PYCELLSNAP02") {
  std::string out = magic;
  out.append(PYCELL_GUEST_BUILD_ID, 64);
  out.append(body);
  const std::string_view key = pycell::fuzz::kSnapshotKey;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(out.data()),
            out.size(), mac, &len)) {
    __builtin_trap();
  }
  out.append(reinterpret_cast<const char*>(mac), len);
  return out;
}

/// The body of a real snapshot: a session with a file and a directory in /tmp,
/// taken once. A body's sections follow the guest (its globals, its memory), so
/// hand-made seeds go stale with every guest build; edits of this one do not.
const std::string& real_body() {
  static const std::string body = [] {
    auto session = pycell::Session::create(pycell::fuzz::engine(), pycell::SessionConfig{});
    if (!session || !session->put_file("/tmp/b.txt", "fuzz") ||
        !session->exec("import os\nos.makedirs('/tmp/a')\nx = [1, 'two', 3.0]")) {
      __builtin_trap();  // a broken build, not a finding
    }
    auto snap = session->snapshot();
    auto bytes = snap ? snap->serialize(pycell::fuzz::engine()) : pycell::Result<std::string>(snap.error());
    if (!bytes) __builtin_trap();
    // Magic and format (12), build id (64) before; the seal (32) after.
    return bytes->substr(76, bytes->size() - 76 - 32);
  }();
  return body;
}

/// A real delta snapshot (format 03) of the same session: its base id and
/// its inner section, decompressed (the part behind the seal and zstd).
struct RealDelta {
  std::string base_id, inner;
};
const RealDelta& real_delta() {
  static const RealDelta delta = [] {
    auto session = pycell::Session::create(pycell::fuzz::engine(), pycell::SessionConfig{});
    if (!session || !session->put_file("/tmp/b.txt", "fuzz") || !session->exec("y = {'k': list(range(50))}")) {
      __builtin_trap();
    }
    auto snap = session->snapshot();
    auto bytes = snap ? snap->serialize_delta(pycell::fuzz::engine()) : pycell::Result<std::string>(snap.error());
    if (!bytes) __builtin_trap();
    // Magic (12), build id (64), base id (32), inner size (8), then the frame; the seal (32) after.
    RealDelta d{bytes->substr(76, 32), {}};
    const std::string frame = bytes->substr(116, bytes->size() - 116 - 32);
    d.inner.resize(ZSTD_getFrameContentSize(frame.data(), frame.size()));
    if (ZSTD_isError(ZSTD_decompress(d.inner.data(), d.inner.size(), frame.data(), frame.size()))) __builtin_trap();
    return d;
  }();
  return delta;
}

/// A delta snapshot with `inner` as its inner section: compressed and sealed.
std::string delta_of(const std::string& inner) {
  std::string body = real_delta().base_id;
  const uint64_t n = inner.size();
  body.append(reinterpret_cast<const char*>(&n), sizeof n);
  std::string frame(ZSTD_compressBound(inner.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), inner.data(), inner.size(), 1));
  return sealed(body + frame, "PYCELLSNAP03");
}

/// `body` with each 5-byte edit of `edits` applied: a little-endian offset
/// (modulo the size) and a byte XOR-ed there; a trailing partial edit truncates.
std::string edited(std::string body, std::string_view edits) {
  for (; edits.size() >= 5; edits.remove_prefix(5)) {
    uint32_t at = 0;
    for (int i = 3; i >= 0; --i) at = (at << 8) | static_cast<uint8_t>(edits[static_cast<size_t>(i)]);
    body[at % body.size()] ^= edits[4];
  }
  if (!edits.empty()) body.resize(body.size() * static_cast<uint8_t>(edits[0]) / 256);
  return body;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pycell::fuzz::engine();
  real_body();
  real_delta();
  return 0;
}

// Input: one mode byte, then the bytes. Bit 0 set: the bytes as they are, to
// reach the header and seal checks. Else bit 2 set: a delta snapshot (format
// 03) whose inner section is edits of a real one's (bit 1 set) or the bytes
// themselves, compressed and sealed. Else bit 1 set: edits of a real
// snapshot's body (see edited), sealed. Else: the bytes are the sealed body.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string bytes = (data[0] & 1)   ? std::string(rest)
                            : (data[0] & 4) ? delta_of((data[0] & 2) ? edited(real_delta().inner, rest)
                                                                     : std::string(rest))
                            : (data[0] & 2) ? sealed(edited(real_body(), rest))
                                            : sealed(rest);
  auto snap = pycell::Snapshot::deserialize(pycell::fuzz::engine(), bytes);
  if (!snap) return 0;
  pycell::SessionConfig config;
  config.limits.memory_bytes = 64ull << 20;
  auto session = pycell::Session::create(pycell::fuzz::engine(), *snap, config);
  (void)session;
  return 0;
}
