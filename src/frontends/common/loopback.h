// Which host names and addresses mean "this machine only".
#pragma once

#include <string_view>

namespace pycell::policy {

/// True for "localhost", an IPv4 literal in 127/8, and ::1 (bare or in
/// brackets), compared case-insensitively. A DNS name that merely starts with
/// "127." (127.attacker.example) is not loopback: an attacker can point it
/// anywhere, which is exactly the DNS rebinding the servers' checks stop.
bool is_loopback_name(std::string_view name);

/// True for an IP literal (IPv4 dotted quad, or IPv6 bare or in brackets).
/// Such a Host header cannot be rebound by DNS.
bool is_ip_literal(std::string_view name);

}  // namespace pycell::policy
