// libFuzzer target: Snapshot::deserialize, then a session started from what
// it accepted. The harness writes the header (magic, this build's id) and the
// HMAC-SHA256 seal under the engine's (known) key itself, so the fuzzer reaches
// the parser behind the seal, as a holder of the key could.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "pycell/session.h"
#include "pycell/snapshot.h"
#include "pycell_guest_info.h"

namespace {

std::string sealed(std::string_view body) {
  std::string out = "PYCELLSNAP02";
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

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pycell::fuzz::engine();
  return 0;
}

// Input: one byte (bit 0 set: the bytes as they are, to reach the header and
// seal checks; clear: the rest is the sealed body), then the bytes.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string bytes = (data[0] & 1) ? std::string(rest) : sealed(rest);
  auto snap = pycell::Snapshot::deserialize(pycell::fuzz::engine(), bytes);
  if (!snap) return 0;
  pycell::SessionConfig config;
  config.limits.memory_bytes = 64ull << 20;
  auto session = pycell::Session::create(pycell::fuzz::engine(), *snap, config);
  (void)session;
  return 0;
}
