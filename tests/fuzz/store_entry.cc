// libFuzzer target: decode_entry, the parser of the durable store's entries
// (src/frontends/server/store_entry.h), which a worker reads from Redis. The
// harness seals its input with the (known) cluster key itself, so the fuzzer
// reaches the field parser behind the seal, as a holder of the key could.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store_entry.h"

namespace {

constexpr std::string_view kKey = "pycell-fuzz-cluster-key-0123456789abcdef";

std::string sealed(std::string body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()), reinterpret_cast<const unsigned char*>(body.data()),
            body.size(), mac, &len)) {
    __builtin_trap();
  }
  return body.append(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

// Input: one mode byte, then the bytes. Bit 0 set: the bytes as they are (the
// seal and magic checks). Else: "PYCELLSTORE1" + the bytes, sealed. Bit 1
// picks the kind asked for; the id asked for is "ses_fuzz" either way.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pycell::server::StoreEntry;
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string bytes = (data[0] & 1) ? std::string(rest) : sealed("PYCELLSTORE1" + std::string(rest));
  const auto kind = (data[0] & 2) ? StoreEntry::Kind::kSnapshot : StoreEntry::Kind::kSession;
  auto entry = pycell::server::decode_entry(bytes, kKey, kind, "ses_fuzz");
  if (entry) {
    // What was accepted re-encodes to the same bytes: nothing was misread.
    if (pycell::server::encode_entry(*entry, kKey) != bytes) __builtin_trap();
  }
  return 0;
}
