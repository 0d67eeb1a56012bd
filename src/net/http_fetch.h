// Host-mediated HTTP(S): the host makes a request on the guest's behalf with
// libcurl, within an HttpPolicy. The guest has no sockets; this is its only way out.
//
// Where each check sits, and why there:
//  - Request shape (method, scheme, header syntax and count, body size): before
//    anything is sent, because no later step can undo a sent byte. Header names
//    and values with CR, LF, NUL or other control characters are refused so a
//    guest cannot inject extra headers or split the request.
//  - Host allowlist: on the host name as libcurl itself parsed it (the CURLU
//    handle that is then given to libcurl), so the name checked is the name
//    connected to; numeric forms such as "0x7f.1" are normalized by libcurl
//    before the comparison. Any port of an allowed host may be used.
//  - Addresses: inside libcurl's open-socket callback, i.e. on the very address
//    each connection is about to use, after DNS, for every connection attempt
//    (each address happy-eyeballs tries, each redirect hop). No address is
//    resolved twice, so DNS rebinding cannot swap a checked address for another.
//    Non-public addresses (loopback, private, link-local incl. cloud metadata,
//    CGNAT, multicast, ...) are refused unless inside allow_cidrs.
//  - Redirects: never followed by libcurl. Each hop is a fresh transfer whose
//    URL goes through the scheme, allowlist and address checks again; 303 (and
//    301/302 after POST) become GET without a body, as browsers do.
//  - Secret headers: added per hop, only when that hop's host equals the
//    secret's host (whatever the scheme and port); a guest header of the same name is dropped on that hop so
//    the guest cannot override it. A guest's own Authorization, Cookie and
//    Proxy-Authorization headers are dropped when a redirect changes host.
//    Secret values never appear in messages, and request headers are never
//    echoed into the response.
//  - Response size: max_response_bytes bounds all the host buffers for one
//    response, header lines and body. Counted in libcurl's header and write
//    callbacks, which abort the transfer the moment the cap is passed (a
//    Content-Length over it is refused before the body is read).
//  - Time: one budget for the whole fetch, redirects included: the request's
//    timeout (capped by the policy's) or the run's deadline, whichever is first.
//
// libcurl is configured so nothing ambient leaks in: no proxy (environment
// variables ignored), no .netrc, no cookie engine, no alt-svc or HSTS cache, no
// protocol other than http/https, no signals (safe in a multi-threaded host),
// no decompression (the guest gets the bytes the server sent).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "pycell/capabilities.h"
#include "pycell/error.h"

namespace pycell::net {

/// One request as the guest asked for it. Untrusted: fetch() validates all of it.
struct HttpRequest {
  /// GET HEAD POST PUT PATCH DELETE OPTIONS only (case-sensitive, as in HTTP).
  std::string method = "GET";
  /// http:// or https:// only.
  std::string url;
  /// At most kMaxRequestHeaders, kMaxRequestHeaderBytes in all. Framing and
  /// hop-by-hop headers (Content-Length, Transfer-Encoding, Connection, ...)
  /// are dropped: libcurl sets them from the body. A Host header must name the
  /// URL's host.
  std::vector<std::pair<std::string, std::string>> headers;
  /// At most the policy's max_request_bytes. Not allowed with HEAD.
  std::string body;
  /// 0: the policy's timeout_ms; never more than the policy's.
  uint64_t timeout_ms = 0;
};

inline constexpr size_t kMaxRequestHeaders = 100;
inline constexpr size_t kMaxRequestHeaderBytes = 64 * 1024;

/// The final response (after redirects). The caller owns it.
struct HttpResponse {
  int status = 0;
  /// The final URL after redirects.
  std::string url;
  /// Headers of the final response, in order, names as the server sent them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint32_t redirects = 0;
};

enum class HttpFailure {
  kDenied,    ///< the policy forbids it: host, address, Host header
  kInvalid,   ///< malformed request or URL, unsupported scheme or method, bad policy
  kTooLarge,  ///< request body, response or redirect count over its cap
  kTimeout,   ///< the request's timeout or the run's deadline passed
  kNetwork,   ///< DNS, connection, TLS or protocol failure
};

/// Why there is no response. `message` is meant for the guest: it never holds
/// a secret header's value.
struct HttpError {
  HttpFailure kind;
  std::string message;
};

/// Either the response or why there is none (check with std::get_if).
using HttpResult = std::variant<HttpResponse, HttpError>;

/// Makes `req` within `policy`, giving up at `deadline` (time_point::max() for
/// none). Blocks the calling thread; thread-safe (no shared state but libcurl's
/// one-time global init).
[[nodiscard]] HttpResult fetch(const HttpPolicy& policy, const HttpRequest& req,
                               std::chrono::steady_clock::time_point deadline);

/// Checks a policy's own syntax (CIDRs, allow_hosts patterns, secret header
/// names and values), so an embedder's mistake is reported when the session is
/// configured rather than on the guest's first request. kInvalidArgument.
Result<void> validate_policy(const HttpPolicy& policy);

/// Whether `host` (lowercase, no trailing dot, IP literals canonical and
/// without brackets) matches one allow_hosts `pattern`: exact and
/// case-insensitive, or "*.example.com" for strict subdomains of example.com.
/// A wildcard never matches an IP literal.
bool host_matches(std::string_view pattern, std::string_view host);

}  // namespace pycell::net
