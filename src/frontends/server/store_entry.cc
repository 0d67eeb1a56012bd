// StoreEntry encoding: length-prefixed fields behind a magic, sealed with
// HMAC-SHA256 (OpenSSL), as snapshots are (core/snapshot.cc).
#include "store_entry.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace pycell::server {
namespace {

constexpr std::string_view kMagic = "PYCELLSTORE1";
constexpr size_t kMacSize = 32;
/// Ids and owners are short; anything longer is not ours.
constexpr uint32_t kMaxNameBytes = 256;

bool mac_of(std::string_view key, std::string_view data, uint8_t out[kMacSize]) {
  unsigned int len = 0;
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const uint8_t*>(data.data()),
              data.size(), out, &len) != nullptr &&
         len == kMacSize;
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
bool take(std::string_view& in, T& v) {
  if (in.size() < sizeof v) return false;
  std::memcpy(&v, in.data(), sizeof v);
  in.remove_prefix(sizeof v);
  return true;
}

template <class Len>
bool take_string(std::string_view& in, std::string& out, uint64_t max) {
  Len n;
  if (!take(in, n) || n > max || n > in.size()) return false;
  out.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

}  // namespace

std::string encode_entry(const StoreEntry& e, std::string_view key) {
  std::string out(kMagic);
  put<uint8_t>(out, static_cast<uint8_t>(e.kind));
  put<uint64_t>(out, e.version);
  for (const std::string* s : {&e.id, &e.owner, &e.config}) {
    put<uint32_t>(out, static_cast<uint32_t>(s->size()));
    out += *s;
  }
  put<uint64_t>(out, e.snapshot.size());
  out += e.snapshot;
  uint8_t mac[kMacSize];
  if (!mac_of(key, out, mac)) std::abort();  // HMAC-SHA256 cannot fail but for lack of memory
  out.append(reinterpret_cast<const char*>(mac), kMacSize);
  return out;
}

Result<StoreEntry> decode_entry(std::string_view bytes, std::string_view key, StoreEntry::Kind kind,
                                std::string_view id) {
  auto corrupt = [&](const std::string& why) {
    return Error(ErrorCode::kCorrupt, "store entry for '" + std::string(id.substr(0, kMaxNameBytes)) +
                                          "' is refused: " + why);
  };
  if (bytes.size() < kMagic.size() + kMacSize || !bytes.starts_with(kMagic)) return corrupt("not a pycell store entry");
  const std::string_view body = bytes.substr(0, bytes.size() - kMacSize);
  uint8_t mac[kMacSize];
  if (!mac_of(key, body, mac) || CRYPTO_memcmp(mac, bytes.data() + body.size(), kMacSize) != 0) {
    return corrupt("seal mismatch (altered in the store, or written with another cluster key)");
  }
  std::string_view in = body.substr(kMagic.size());
  StoreEntry e;
  uint8_t k;
  if (!take(in, k) || !take(in, e.version) || !take_string<uint32_t>(in, e.id, kMaxNameBytes) ||
      !take_string<uint32_t>(in, e.owner, kMaxNameBytes) || !take_string<uint32_t>(in, e.config, in.size()) ||
      !take_string<uint64_t>(in, e.snapshot, in.size()) || !in.empty()) {
    return corrupt("malformed");
  }
  e.kind = static_cast<StoreEntry::Kind>(k);
  if (e.kind != kind) return corrupt(kind == StoreEntry::Kind::kSession ? "not a session entry" : "not a snapshot entry");
  if (e.id != id) return corrupt("it is the entry of another id");
  return e;
}

}  // namespace pycell::server
