// Host-mediated HTTP(S) with libcurl under an HttpPolicy (see http_fetch.h).
#include "net/http_fetch.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include "net/ip_policy.h"

namespace pycell::net {
namespace {

using Clock = std::chrono::steady_clock;

struct EasyCleanup {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct UrlCleanup {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct SlistCleanup {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct CurlFree {
  void operator()(char* s) const { curl_free(s); }
};
using Easy = std::unique_ptr<CURL, EasyCleanup>;
using Url = std::unique_ptr<CURLU, UrlCleanup>;
using Slist = std::unique_ptr<curl_slist, SlistCleanup>;
using CurlString = std::unique_ptr<char, CurlFree>;

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpError fail(HttpFailure kind, std::string message) { return HttpError{kind, std::move(message)}; }

// Guest-chosen text in a message: control and non-ASCII bytes escaped, length capped.
std::string printable(std::string_view s) {
  static constexpr size_t kMax = 200;
  std::string out;
  for (unsigned char c : s.substr(0, kMax)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

char lower(char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// Called for every header against every framing and secret header name: no allocation.
bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) { return lower(x) == lower(y); });
}

// RFC 9110 token: what a header name may be made of.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;  // not strchr: it finds NUL
  });
}

// Field values: no control characters but horizontal tab (so no CR, LF, NUL).
bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

// A DNS name as libcurl would resolve it: ASCII letters, digits, '.', '-', '_'.
bool is_dns_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

// The form hosts are compared in: lowercase, no trailing dot, IP literals
// canonical and unbracketed. Empty if `host` is neither a name nor an address.
std::string canonical_host(std::string_view host) {
  if (auto ip = parse_ip(host)) return to_string(*ip);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (!is_dns_name(host)) return {};
  return lower(host);
}

bool is_method(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (m == known) return true;
  }
  return false;
}

// Headers libcurl owns: framing and hop-by-hop ones, set from the body and the
// connection. A guest value could desynchronize the framing, so it is dropped.
bool is_transport_header(std::string_view name) {
  for (std::string_view h : {"content-length", "transfer-encoding", "connection", "keep-alive", "te",
                             "trailer", "upgrade", "proxy-connection", "expect"}) {
    if (iequals(name, h)) return true;
  }
  return false;
}

// Credentials the guest set for one host; not carried to another on redirect.
bool is_credential_header(std::string_view name) {
  return iequals(name, "authorization") || iequals(name, "cookie") || iequals(name, "proxy-authorization");
}

// Describe the body; dropped when a redirect turns the request into a GET.
bool is_body_header(std::string_view name) {
  return iequals(name, "content-type") || iequals(name, "content-encoding") ||
         iequals(name, "content-language") || iequals(name, "content-location");
}

// One hop's destination, parsed by libcurl (the same handle libcurl then uses).
struct Target {
  Url url;
  std::string host;  // canonical
  bool https = false;
};

std::variant<Target, HttpError> make_target(Url url) {
  char* raw = nullptr;
  if (curl_url_get(url.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK) {
    return fail(HttpFailure::kInvalid, "URL has no scheme");
  }
  std::string scheme = lower(CurlString(raw).get());
  if (scheme != "http" && scheme != "https") {
    return fail(HttpFailure::kInvalid, "unsupported URL scheme '" + printable(scheme) + "' (only http and https)");
  }
  if (curl_url_get(url.get(), CURLUPART_ZONEID, &raw, 0) == CURLUE_OK) {
    curl_free(raw);
    return fail(HttpFailure::kInvalid, "IPv6 zone ids are not supported in URLs");
  }
  if (curl_url_get(url.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK) {
    return fail(HttpFailure::kInvalid, "URL has no host");
  }
  std::string host = CurlString(raw).get();
  std::string canonical = canonical_host(host);
  if (canonical.empty()) {
    return fail(HttpFailure::kInvalid,
                "host '" + printable(host) + "' is not a DNS name or IP address (use the IDNA xn-- form)");
  }
  return Target{std::move(url), std::move(canonical), scheme == "https"};
}

std::variant<Target, HttpError> parse_url(std::string_view text) {
  if (text.size() > 8192) return fail(HttpFailure::kInvalid, "URL is longer than 8192 bytes");
  Url url(curl_url());
  if (!url) return fail(HttpFailure::kNetwork, "out of memory");
  // NON_SUPPORT_SCHEME: let every scheme parse, so it is refused by our check.
  CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, std::string(text).c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    return fail(HttpFailure::kInvalid, "invalid URL '" + printable(text) + "': " + curl_url_strerror(rc));
  }
  return make_target(std::move(url));
}

// Resolves a Location header against the URL that returned it.
std::variant<Target, HttpError> resolve_location(const Target& from, const std::string& location) {
  Url url(curl_url_dup(from.url.get()));
  if (!url) return fail(HttpFailure::kNetwork, "out of memory");
  CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, location.c_str(),
                              CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE | CURLU_ALLOW_SPACE);
  if (rc != CURLUE_OK) {
    return fail(HttpFailure::kInvalid, "redirect to an invalid URL '" + printable(location) + "': " +
                                           curl_url_strerror(rc));
  }
  return make_target(std::move(url));
}

std::string url_text(const Target& t) {
  char* raw = nullptr;
  if (curl_url_get(t.url.get(), CURLUPART_URL, &raw, 0) != CURLUE_OK) return {};
  return CurlString(raw).get();
}

// Per-transfer state the libcurl callbacks share. Lives on fetch's stack for
// the duration of one curl_easy_perform.
struct Transfer {
  CURL* easy = nullptr;
  const std::vector<Cidr>* allowed_cidrs = nullptr;
  std::string host;
  uint64_t max_bytes = 0;
  uint64_t received = 0;
  bool too_large = false;
  std::optional<std::string> denial;  // the first refused address, for the message
  int status = 0;
  Headers headers;
  std::string body;
};

std::optional<IpAddress> socket_address(const curl_sockaddr* a) {
  IpAddress ip;
  if (a->family == AF_INET && a->addrlen >= sizeof(sockaddr_in)) {
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in*>(&a->addr)->sin_addr, 4);
    return ip;
  }
  if (a->family == AF_INET6 && a->addrlen >= sizeof(sockaddr_in6)) {
    ip.family = IpAddress::Family::kV6;
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&a->addr)->sin6_addr, 16);
    return ip;
  }
  return std::nullopt;
}

// CURLOPT_OPENSOCKETFUNCTION: the one place a connection's address is checked.
// libcurl calls it with the resolved address right before connect(); returning
// CURL_SOCKET_BAD makes it try the next address or fail the transfer.
curl_socket_t open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto& t = *static_cast<Transfer*>(user);
  std::optional<IpAddress> ip = socket_address(address);
  if (purpose != CURLSOCKTYPE_IPCXN || !ip) {
    if (!t.denial) t.denial = "host '" + t.host + "' needs a connection of a kind that is not allowed";
    return CURL_SOCKET_BAD;
  }
  if (std::optional<AddressClass> c = denied_class(*ip, *t.allowed_cidrs)) {
    if (!t.denial) {
      t.denial = "address " + to_string(*ip) + " of host '" + t.host + "' is " + std::string(describe(*c)) +
                 " and not allowed";
    }
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

bool charge(Transfer& t, size_t n) {
  t.received += n;
  if (t.received > t.max_bytes) t.too_large = true;
  return !t.too_large;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// CURLOPT_HEADERFUNCTION: one header line at a time, status lines included.
size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  size_t len = size * n;
  if (!charge(t, len)) return 0;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    t.headers.clear();  // a new response (after a 1xx): keep only the final one's
  } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    if (!t.headers.empty()) (t.headers.back().second += ' ') += trim(line);  // obsolete line folding
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    t.headers.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return len;
}

// CURLOPT_WRITEFUNCTION: returning less than given aborts with CURLE_WRITE_ERROR.
size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  size_t len = size * n;
  if (!charge(t, len)) return 0;
  if (t.body.empty()) {
    // Reserve a declared length once (the cap already refused a larger one):
    // growing a multi-megabyte body by doubling measured twice as slow.
    curl_off_t declared = -1;
    curl_easy_getinfo(t.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared);
    if (declared > 0) t.body.reserve(std::min<uint64_t>(declared, t.max_bytes));
  }
  t.body.append(data, len);
  return len;
}

// What one hop sends.
struct Hop {
  std::string method;
  std::string body;
  Headers headers;  // guest headers still in force (already validated)
};

// The header list for one hop; null only if memory ran out (a missing secret
// header must fail the request, not send it without).
Slist hop_headers(const HttpPolicy& policy, const Target& target, const Hop& hop, bool posts_body) {
  curl_slist* head = nullptr;
  bool ok = true;
  auto add = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(head, line.c_str());  // the same head, or the first node
    if (next) head = next;
    ok = ok && next;
  };
  std::vector<const HttpPolicy::SecretHeader*> secrets;
  for (const auto& s : policy.secret_headers) {
    if (canonical_host(s.host) == target.host) secrets.push_back(&s);
  }
  bool has_content_type = false;
  for (const auto& [name, value] : hop.headers) {
    bool overridden = std::any_of(secrets.begin(), secrets.end(), [&](auto* s) { return iequals(s->name, name); });
    if (overridden) continue;
    has_content_type |= iequals(name, "content-type");
    // "Name;" is libcurl's spelling of a header with an empty value.
    add(value.empty() ? name + ";" : name + ": " + value);
  }
  for (const auto* s : secrets) add(s->value.empty() ? s->name + ";" : s->name + ": " + s->value);
  // libcurl would add a form Content-Type to every body, and Expect: 100-continue
  // to large ones; the guest decides the former, the latter only adds a round trip.
  if (posts_body && !has_content_type) add("Content-Type:");
  add("Expect:");
  Slist list(head);
  if (!ok) list.reset();
  return list;
}

std::variant<Transfer, HttpError> perform(const HttpPolicy& policy, const std::vector<Cidr>& cidrs,
                                          const Target& target, const Hop& hop, Clock::duration remaining,
                                          const std::string& timed_out) {
  Transfer t;
  t.allowed_cidrs = &cidrs;
  t.host = target.host;
  t.max_bytes = policy.max_response_bytes;
  Easy easy(curl_easy_init());
  if (!easy) return fail(HttpFailure::kNetwork, "out of memory");
  CURL* h = easy.get();
  t.easy = h;
  char errbuf[CURL_ERROR_SIZE] = {};
  bool posts_body = !hop.body.empty() || hop.method == "POST" || hop.method == "PUT" || hop.method == "PATCH";
  Slist headers = hop_headers(policy, target, hop, posts_body);
  if (!headers) return fail(HttpFailure::kNetwork, "out of memory");
  auto ms = std::max<long>(1, static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(remaining).count()));

  bool ok = true;
  auto set = [&](CURLoption option, auto value) { ok = ok && curl_easy_setopt(h, option, value) == CURLE_OK; };
  set(CURLOPT_CURLU, target.url.get());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_PROXY, "");  // "": no proxy, whatever http_proxy & co. say
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_TIMEOUT_MS, ms);
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(std::min<uint64_t>(policy.max_response_bytes, INT64_MAX)));
  set(CURLOPT_ERRORBUFFER, errbuf);
  set(CURLOPT_OPENSOCKETFUNCTION, &open_socket);
  set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(&t));
  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  set(CURLOPT_HTTPHEADER, headers.get());
  if (hop.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else {
    if (posts_body) {
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(hop.body.size()));
      set(CURLOPT_POSTFIELDS, hop.body.data());
    }
    if (hop.method != "GET") set(CURLOPT_CUSTOMREQUEST, hop.method.c_str());
  }
  if (!ok) return fail(HttpFailure::kNetwork, "libcurl refused a required option (libcurl older than 7.85?)");

  CURLcode rc = curl_easy_perform(h);
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return fail(HttpFailure::kTooLarge,
                "response from host '" + t.host + "' is larger than the limit of " +
                    std::to_string(policy.max_response_bytes) + " bytes");
  }
  if (rc != CURLE_OK && t.denial) return fail(HttpFailure::kDenied, *t.denial);
  if (rc == CURLE_OPERATION_TIMEDOUT) return fail(HttpFailure::kTimeout, timed_out);
  if (rc != CURLE_OK) {
    return fail(HttpFailure::kNetwork, "request to host '" + t.host + "' failed: " +
                                           printable(errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  t.status = static_cast<int>(status);
  return t;
}

std::optional<std::string> header_value(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::optional<HttpError> check_request(const HttpPolicy& policy, const HttpRequest& req) {
  if (!is_method(req.method)) {
    return fail(HttpFailure::kInvalid, "unsupported method '" + printable(req.method) +
                                           "' (GET HEAD POST PUT PATCH DELETE OPTIONS)");
  }
  if (req.method == "HEAD" && !req.body.empty()) return fail(HttpFailure::kInvalid, "a HEAD request has no body");
  if (req.body.size() > policy.max_request_bytes) {
    return fail(HttpFailure::kTooLarge, "request body is " + std::to_string(req.body.size()) +
                                            " bytes, over the limit of " + std::to_string(policy.max_request_bytes));
  }
  if (req.headers.size() > kMaxRequestHeaders) {
    return fail(HttpFailure::kInvalid, "more than " + std::to_string(kMaxRequestHeaders) + " request headers");
  }
  size_t bytes = 0;
  for (const auto& [name, value] : req.headers) {
    if (!is_token(name)) return fail(HttpFailure::kInvalid, "invalid header name '" + printable(name) + "'");
    if (!is_field_value(value)) {
      return fail(HttpFailure::kInvalid, "value of header '" + name + "' contains a control character");
    }
    bytes += name.size() + value.size();
  }
  if (bytes > kMaxRequestHeaderBytes) {
    return fail(HttpFailure::kInvalid, "request headers exceed " + std::to_string(kMaxRequestHeaderBytes) + " bytes");
  }
  return std::nullopt;
}

std::variant<std::vector<Cidr>, HttpError> policy_cidrs(const HttpPolicy& policy) {
  if (Result<void> valid = validate_policy(policy); !valid) {
    return fail(HttpFailure::kInvalid, "the host's HTTP policy is invalid: " + valid.error().message());
  }
  std::vector<Cidr> cidrs;
  for (const auto& text : policy.allow_cidrs) cidrs.push_back(*parse_cidr(text));
  return cidrs;
}

bool has_secret(const HttpPolicy& policy, std::string_view host) {
  return std::any_of(policy.secret_headers.begin(), policy.secret_headers.end(),
                     [&](const auto& s) { return canonical_host(s.host) == host; });
}

// Plain http to a loopback address never crosses a wire (a local test server,
// a sidecar): the one place a secret may travel unencrypted.
bool is_loopback_literal(std::string_view host) {
  const auto ip = parse_ip(host);
  return ip && classify(*ip) == AddressClass::kLoopback;
}

bool host_allowed(const HttpPolicy& policy, std::string_view host) {
  return std::any_of(policy.allow_hosts.begin(), policy.allow_hosts.end(),
                     [&](const std::string& p) { return host_matches(p, host); });
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

bool host_matches(std::string_view pattern, std::string_view host) {
  if (pattern.starts_with("*.")) {
    std::string suffix = canonical_host(pattern.substr(2));
    if (suffix.empty() || parse_ip(host)) return false;
    return host.size() > suffix.size() + 1 && host.ends_with(suffix) && host[host.size() - suffix.size() - 1] == '.';
  }
  std::string exact = canonical_host(pattern);
  return !exact.empty() && exact == host;
}

Result<void> validate_policy(const HttpPolicy& policy) {
  auto invalid = [](std::string m) { return Error(ErrorCode::kInvalidArgument, "HttpPolicy: " + std::move(m)); };
  for (const auto& pattern : policy.allow_hosts) {
    std::string_view name = pattern;
    if (name.starts_with("*.")) name.remove_prefix(2);
    if (canonical_host(name).empty() || (name.size() != pattern.size() && parse_ip(name))) {
      return invalid("allow_hosts entry '" + printable(pattern) +
                     "' is not a host name, an IP address or '*.' followed by a domain");
    }
  }
  for (const auto& text : policy.allow_cidrs) {
    if (!parse_cidr(text)) {
      return invalid("allow_cidrs entry '" + printable(text) + "' is not a CIDR block (are host bits set?)");
    }
  }
  for (const auto& s : policy.secret_headers) {
    if (canonical_host(s.host).empty()) return invalid("secret header host '" + printable(s.host) + "' is invalid");
    if (!is_token(s.name) || is_transport_header(s.name) || iequals(s.name, "host")) {
      return invalid("secret header name '" + printable(s.name) + "' is invalid");
    }
    if (!is_field_value(s.value)) {
      return invalid("value of secret header '" + s.name + "' for host '" + s.host + "' contains a control character");
    }
  }
  return Ok();
}

HttpResult fetch(const HttpPolicy& policy, const HttpRequest& req, Clock::time_point deadline) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  auto cidrs = policy_cidrs(policy);
  if (auto* e = std::get_if<HttpError>(&cidrs)) return *e;
  if (auto e = check_request(policy, req)) return *e;
  auto parsed = parse_url(req.url);
  if (auto* e = std::get_if<HttpError>(&parsed)) return *e;
  Target target = std::move(std::get<Target>(parsed));

  // A Host header would let the guest reach other virtual hosts behind an
  // allowed address; only the URL's own host is accepted (libcurl sets it).
  Hop hop{req.method, req.body, {}};
  for (const auto& [name, value] : req.headers) {
    if (iequals(name, "host")) {
      std::string_view v = value;
      if (size_t colon = v.rfind(':'); colon != std::string_view::npos && v.find(']', colon) == std::string_view::npos) {
        v = v.substr(0, colon);
      }
      if (canonical_host(v) != target.host) {
        return fail(HttpFailure::kDenied, "header 'Host: " + printable(value) + "' does not name the URL's host");
      }
    } else if (!is_transport_header(name)) {
      hop.headers.emplace_back(name, value);
    }
  }

  // One budget for every hop: the request's timeout, capped by the policy's
  // and by the run's deadline (a year stands for "unlimited" without overflow).
  uint64_t timeout_ms = req.timeout_ms == 0 ? policy.timeout_ms : std::min(req.timeout_ms, policy.timeout_ms);
  auto timeout = std::chrono::milliseconds(std::min<uint64_t>(timeout_ms, 365ull * 24 * 3600 * 1000));
  Clock::time_point now = Clock::now();
  bool deadline_first = deadline - now < timeout;
  Clock::time_point end = deadline_first ? deadline : now + timeout;
  std::string timed_out = deadline_first ? "request stopped at the run's deadline"
                                         : "request timed out after " + std::to_string(timeout.count()) + " ms";

  for (uint32_t redirects = 0;; ++redirects) {
    if (!host_allowed(policy, target.host)) {
      return fail(HttpFailure::kDenied, "host '" + target.host + "' is not in the allowlist");
    }
    if (!target.https && has_secret(policy, target.host) && !is_loopback_literal(target.host)) {
      return fail(HttpFailure::kDenied, "requests to '" + target.host +
                                            "' carry a secret header, so they must use https");
    }
    Clock::duration remaining = end - Clock::now();
    if (remaining <= Clock::duration::zero()) return fail(HttpFailure::kTimeout, timed_out);
    auto done = perform(policy, std::get<std::vector<Cidr>>(cidrs), target, hop, remaining, timed_out);
    if (auto* e = std::get_if<HttpError>(&done)) return *e;
    Transfer& t = std::get<Transfer>(done);
    std::optional<std::string> location = header_value(t.headers, "location");
    if (!is_redirect(t.status) || !location) {
      return HttpResponse{t.status, url_text(target), std::move(t.headers), std::move(t.body), redirects};
    }
    if (redirects >= policy.max_redirects) {
      return fail(HttpFailure::kTooLarge, "too many redirects (more than " + std::to_string(policy.max_redirects) + ")");
    }
    auto next = resolve_location(target, *location);
    if (auto* e = std::get_if<HttpError>(&next)) return *e;
    Target to = std::move(std::get<Target>(next));
    if (to.host != target.host) {
      std::erase_if(hop.headers, [](const auto& h) { return is_credential_header(h.first); });
    }
    if ((t.status == 303 && hop.method != "HEAD") || ((t.status == 301 || t.status == 302) && hop.method == "POST")) {
      hop.method = "GET";
      hop.body.clear();
      std::erase_if(hop.headers, [](const auto& h) { return is_body_header(h.first); });
    }
    target = std::move(to);
  }
}

}  // namespace pycell::net
