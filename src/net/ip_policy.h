// IP address classification and CIDR matching: which addresses a host-mediated
// request may connect to. Pure functions, no I/O, so every range is unit-tested.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pycell::net {

/// An IPv4 or IPv6 address in network byte order. IPv4 uses bytes[0..3].
struct IpAddress {
  enum class Family { kV4, kV6 };
  Family family = Family::kV4;
  std::array<uint8_t, 16> bytes{};

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

/// Parses a literal address ("10.0.0.1", "::1", "[::1]"); strict dotted-quad
/// for IPv4 (inet_pton), so "0x7f.1" is not an address here. No zone ids.
std::optional<IpAddress> parse_ip(std::string_view text);

/// Canonical text form (inet_ntop), without brackets.
std::string to_string(const IpAddress& address);

/// ::ffff:a.b.c.d as the IPv4 address a.b.c.d; any other address unchanged.
/// Applied before classification and CIDR matching, so an IPv4-mapped socket
/// address is judged exactly as the IPv4 address the kernel will reach.
IpAddress unmap(const IpAddress& address);

/// Why an address is (not) reachable without an explicit allow_cidrs entry.
/// Everything but kPublic is denied by default. Ranges follow the IANA
/// special-purpose registries; IPv6 outside 2000::/3 is kReserved.
enum class AddressClass {
  kPublic,
  kUnspecified,  ///< 0.0.0.0/8 (Linux connects 0.0.0.0 to the local host), ::
  kLoopback,     ///< 127.0.0.0/8, ::1
  kPrivate,      ///< 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48
  kLinkLocal,    ///< 169.254/16 (cloud metadata 169.254.169.254), fe80::/10
  kShared,       ///< 100.64/10, carrier-grade NAT (RFC 6598)
  kMulticast,    ///< 224/4, ff00::/8
  kBroadcast,    ///< 255.255.255.255
  kReserved,     ///< documentation, benchmarking, IETF, 240/4, Teredo, ...
};

/// The class of `address`. IPv6 forms that embed an IPv4 address the traffic
/// ends up at (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) take the class
/// of the embedded IPv4 address.
AddressClass classify(const IpAddress& address);

/// "loopback", "private", "link-local", ... for messages.
std::string_view describe(AddressClass c);

/// An address block "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128).
struct Cidr {
  IpAddress base;
  unsigned prefix = 0;
};

/// Parses a CIDR; host bits beyond the prefix must be zero ("10.0.0.1/8" is
/// refused: it is almost always a typo for something narrower).
std::optional<Cidr> parse_cidr(std::string_view text);

/// Whether `address` (same family, after unmap) lies inside `block`.
bool contains(const Cidr& block, const IpAddress& address);

/// The verdict for one connection: empty if `address` may be connected to
/// (public, or inside one of `allowed`), else the class that forbids it.
std::optional<AddressClass> denied_class(const IpAddress& address, const std::vector<Cidr>& allowed);

}  // namespace pycell::net
