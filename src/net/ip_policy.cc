// IP address classification and CIDR matching (see ip_policy.h).
#include "net/ip_policy.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace pycell::net {
namespace {

struct V4Range {
  uint8_t a, b, c, d;
  unsigned prefix;
  AddressClass cls;
};

// Checked in order: the first match wins (broadcast sits inside 240/4).
constexpr V4Range kV4Ranges[] = {
    {0, 0, 0, 0, 8, AddressClass::kUnspecified},
    {10, 0, 0, 0, 8, AddressClass::kPrivate},
    {100, 64, 0, 0, 10, AddressClass::kShared},
    {127, 0, 0, 0, 8, AddressClass::kLoopback},
    {169, 254, 0, 0, 16, AddressClass::kLinkLocal},
    {172, 16, 0, 0, 12, AddressClass::kPrivate},
    {192, 0, 0, 0, 24, AddressClass::kReserved},     // IETF protocol assignments
    {192, 0, 2, 0, 24, AddressClass::kReserved},     // TEST-NET-1
    {192, 88, 99, 0, 24, AddressClass::kReserved},   // former 6to4 relay anycast
    {192, 168, 0, 0, 16, AddressClass::kPrivate},
    {198, 18, 0, 0, 15, AddressClass::kReserved},    // benchmarking
    {198, 51, 100, 0, 24, AddressClass::kReserved},  // TEST-NET-2
    {203, 0, 113, 0, 24, AddressClass::kReserved},   // TEST-NET-3
    {224, 0, 0, 0, 4, AddressClass::kMulticast},
    {255, 255, 255, 255, 32, AddressClass::kBroadcast},
    {240, 0, 0, 0, 4, AddressClass::kReserved},
};

bool prefix_equal(const uint8_t* a, const uint8_t* b, unsigned bits) {
  unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

IpAddress v4(const uint8_t* p) {
  IpAddress a;
  std::memcpy(a.bytes.data(), p, 4);
  return a;
}

AddressClass classify_v4(const IpAddress& address) {
  for (const V4Range& r : kV4Ranges) {
    const uint8_t base[4] = {r.a, r.b, r.c, r.d};
    if (prefix_equal(address.bytes.data(), base, r.prefix)) return r.cls;
  }
  return AddressClass::kPublic;
}

bool v6_prefix(const IpAddress& address, std::initializer_list<uint8_t> head, unsigned bits) {
  uint8_t base[16] = {};
  std::copy(head.begin(), head.end(), base);
  return prefix_equal(address.bytes.data(), base, bits);
}

AddressClass classify_v6(const IpAddress& address) {
  const uint8_t* b = address.bytes.data();
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return AddressClass::kUnspecified;
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return AddressClass::kLoopback;
  // Forms whose traffic ends at an embedded IPv4 address: judge that address.
  if (v6_prefix(address, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96)) return classify_v4(v4(b + 12));
  if (v6_prefix(address, {0x00, 0x64, 0xff, 0x9b}, 96)) return classify_v4(v4(b + 12));  // NAT64
  if (v6_prefix(address, {0x20, 0x02}, 16)) return classify_v4(v4(b + 2));                // 6to4
  if (v6_prefix(address, {}, 96)) return AddressClass::kReserved;  // IPv4-compatible (deprecated)
  if (v6_prefix(address, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48)) return AddressClass::kPrivate;
  if (v6_prefix(address, {0xfc}, 7)) return AddressClass::kPrivate;      // unique local
  if (v6_prefix(address, {0xfe, 0x80}, 10)) return AddressClass::kLinkLocal;
  if (v6_prefix(address, {0xfe, 0xc0}, 10)) return AddressClass::kPrivate;  // site-local (deprecated)
  if (v6_prefix(address, {0xff}, 8)) return AddressClass::kMulticast;
  if (!v6_prefix(address, {0x20}, 3)) return AddressClass::kReserved;    // not global unicast
  if (v6_prefix(address, {0x20, 0x01, 0x00, 0x00}, 23)) return AddressClass::kReserved;  // Teredo, ...
  if (v6_prefix(address, {0x20, 0x01, 0x0d, 0xb8}, 32)) return AddressClass::kReserved;  // documentation
  if (v6_prefix(address, {0x3f, 0xff}, 20)) return AddressClass::kReserved;              // documentation
  return AddressClass::kPublic;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.family = IpAddress::Family::kV6;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::string to_string(const IpAddress& address) {
  char buf[INET6_ADDRSTRLEN] = {};
  int af = address.family == IpAddress::Family::kV4 ? AF_INET : AF_INET6;
  inet_ntop(af, address.bytes.data(), buf, sizeof buf);
  return buf;
}

IpAddress unmap(const IpAddress& address) {
  if (address.family == IpAddress::Family::kV6 &&
      v6_prefix(address, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96)) {
    return v4(address.bytes.data() + 12);
  }
  return address;
}

AddressClass classify(const IpAddress& address) {
  return address.family == IpAddress::Family::kV4 ? classify_v4(address) : classify_v6(address);
}

std::string_view describe(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic: return "public";
    case AddressClass::kUnspecified: return "unspecified";
    case AddressClass::kLoopback: return "loopback";
    case AddressClass::kPrivate: return "private";
    case AddressClass::kLinkLocal: return "link-local";
    case AddressClass::kShared: return "shared (carrier-grade NAT)";
    case AddressClass::kMulticast: return "multicast";
    case AddressClass::kBroadcast: return "broadcast";
    case AddressClass::kReserved: return "reserved";
  }
  return "unknown";
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  size_t slash = text.find('/');
  auto base = parse_ip(text.substr(0, slash));
  if (!base) return std::nullopt;
  unsigned max = base->family == IpAddress::Family::kV4 ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix > max) {
      return std::nullopt;
    }
  }
  // Host bits must be zero: compare against a copy with them cleared.
  IpAddress masked{base->family, {}};
  std::memcpy(masked.bytes.data(), base->bytes.data(), prefix / 8);
  if (prefix % 8) {
    masked.bytes[prefix / 8] = base->bytes[prefix / 8] & static_cast<uint8_t>(0xff << (8 - prefix % 8));
  }
  if (!(masked == *base)) return std::nullopt;
  // An IPv4-mapped block means its IPv4 block: addresses are unmapped before matching.
  if (prefix >= 96 && unmap(*base).family == IpAddress::Family::kV4) return Cidr{unmap(*base), prefix - 96};
  return Cidr{*base, prefix};
}

bool contains(const Cidr& block, const IpAddress& address) {
  IpAddress a = unmap(address);
  return a.family == block.base.family && prefix_equal(a.bytes.data(), block.base.bytes.data(), block.prefix);
}

std::optional<AddressClass> denied_class(const IpAddress& address, const std::vector<Cidr>& allowed) {
  AddressClass c = classify(unmap(address));
  if (c == AddressClass::kPublic) return std::nullopt;
  for (const Cidr& block : allowed) {
    if (contains(block, address)) return std::nullopt;
  }
  return c;
}

}  // namespace pycell::net
