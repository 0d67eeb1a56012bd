// Loopback names and IP literals (see loopback.h).
#include "common/loopback.h"

#include <arpa/inet.h>

#include <string>

namespace pycell::policy {
namespace {

/// "[v6]" -> "v6"; anything else unchanged.
std::string unbracket(std::string_view name) {
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  return std::string(name);
}

}  // namespace

bool is_loopback_name(std::string_view name) {
  std::string n = unbracket(name);
  for (char& c : n) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (n == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, n.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, n.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

bool is_ip_literal(std::string_view name) {
  std::string n = unbracket(name);
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, n.c_str(), &v4) == 1 || inet_pton(AF_INET6, n.c_str(), &v6) == 1;
}

}  // namespace pycell::policy
