// Host-mediated HTTP: every policy check is tried against a local server, and
// the address classification against a table.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loopback_server.h"
#include "net/http_fetch.h"
#include "net/ip_policy.h"

namespace pycell::net {
namespace {

using namespace std::chrono_literals;
constexpr auto kNoDeadline = std::chrono::steady_clock::time_point::max();

// ---------------------------------------------------------------- addresses

TEST(IpPolicy, ClassifiesAddresses) {
  struct Case {
    const char* address;
    AddressClass expected;
  };
  const Case cases[] = {
      {"8.8.8.8", AddressClass::kPublic},
      {"93.184.216.34", AddressClass::kPublic},
      {"0.0.0.0", AddressClass::kUnspecified},
      {"0.1.2.3", AddressClass::kUnspecified},
      {"127.0.0.1", AddressClass::kLoopback},
      {"127.255.255.254", AddressClass::kLoopback},
      {"10.0.0.1", AddressClass::kPrivate},
      {"172.16.0.1", AddressClass::kPrivate},
      {"172.31.255.255", AddressClass::kPrivate},
      {"172.32.0.1", AddressClass::kPublic},
      {"192.168.1.1", AddressClass::kPrivate},
      {"169.254.169.254", AddressClass::kLinkLocal},
      {"100.64.0.1", AddressClass::kShared},
      {"100.127.255.255", AddressClass::kShared},
      {"100.128.0.1", AddressClass::kPublic},
      {"224.0.0.1", AddressClass::kMulticast},
      {"239.255.255.250", AddressClass::kMulticast},
      {"255.255.255.255", AddressClass::kBroadcast},
      {"240.0.0.1", AddressClass::kReserved},
      {"192.0.2.1", AddressClass::kReserved},
      {"198.18.0.1", AddressClass::kReserved},
      {"203.0.113.9", AddressClass::kReserved},
      {"2606:4700::1111", AddressClass::kPublic},
      {"::", AddressClass::kUnspecified},
      {"::1", AddressClass::kLoopback},
      {"fc00::1", AddressClass::kPrivate},
      {"fd12:3456::1", AddressClass::kPrivate},
      {"fe80::1", AddressClass::kLinkLocal},
      {"febf::1", AddressClass::kLinkLocal},
      {"fec0::1", AddressClass::kPrivate},
      {"ff02::1", AddressClass::kMulticast},
      {"::ffff:127.0.0.1", AddressClass::kLoopback},
      {"::ffff:169.254.169.254", AddressClass::kLinkLocal},
      {"::ffff:10.1.2.3", AddressClass::kPrivate},
      {"::ffff:8.8.8.8", AddressClass::kPublic},
      {"::127.0.0.1", AddressClass::kReserved},
      {"64:ff9b::7f00:1", AddressClass::kLoopback},
      {"64:ff9b::808:808", AddressClass::kPublic},
      {"64:ff9b:1::1", AddressClass::kPrivate},
      {"2002:a9fe:a9fe::1", AddressClass::kLinkLocal},
      {"2002:0808:0808::1", AddressClass::kPublic},
      {"2001::1", AddressClass::kReserved},
      {"2001:db8::1", AddressClass::kReserved},
      {"100::1", AddressClass::kReserved},
      {"4000::1", AddressClass::kReserved},
  };
  for (const Case& c : cases) {
    auto ip = parse_ip(c.address);
    ASSERT_TRUE(ip) << c.address;
    EXPECT_EQ(classify(*ip), c.expected) << c.address << " is " << describe(classify(*ip));
  }
}

TEST(IpPolicy, ParsesOnlyStrictLiterals) {
  EXPECT_TRUE(parse_ip("[::1]"));
  EXPECT_EQ(to_string(*parse_ip("0:0:0:0:0:0:0:1")), "::1");
  for (const char* bad : {"", "0x7f.1", "2130706433", "127.1", "1.2.3.4.5", "::1%eth0", "[::1", "localhost"}) {
    EXPECT_FALSE(parse_ip(bad)) << bad;
  }
}

TEST(IpPolicy, ParsesCidrs) {
  auto block = parse_cidr("10.0.0.0/8");
  ASSERT_TRUE(block);
  EXPECT_TRUE(contains(*block, *parse_ip("10.255.0.1")));
  EXPECT_FALSE(contains(*block, *parse_ip("11.0.0.1")));
  EXPECT_TRUE(contains(*block, *parse_ip("::ffff:10.0.0.1")));  // mapped addresses are unmapped
  auto single = parse_cidr("127.0.0.1");
  ASSERT_TRUE(single);
  EXPECT_EQ(single->prefix, 32u);
  auto v6 = parse_cidr("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(contains(*v6, *parse_ip("fd12::1")));
  EXPECT_FALSE(contains(*v6, *parse_ip("10.0.0.1")));
  auto mapped = parse_cidr("::ffff:127.0.0.0/104");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(contains(*mapped, *parse_ip("127.0.0.1")));
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "/8", "::1/129", "fd00::1/8"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
}

TEST(IpPolicy, AllowCidrsLiftOnlyTheirRange) {
  std::vector<Cidr> none;
  std::vector<Cidr> loopback = {*parse_cidr("127.0.0.1/32")};
  EXPECT_EQ(denied_class(*parse_ip("127.0.0.1"), none), AddressClass::kLoopback);
  EXPECT_EQ(denied_class(*parse_ip("127.0.0.1"), loopback), std::nullopt);
  EXPECT_EQ(denied_class(*parse_ip("::ffff:127.0.0.1"), loopback), std::nullopt);
  EXPECT_EQ(denied_class(*parse_ip("127.0.0.2"), loopback), AddressClass::kLoopback);
  EXPECT_EQ(denied_class(*parse_ip("::1"), loopback), AddressClass::kLoopback);
  EXPECT_EQ(denied_class(*parse_ip("169.254.169.254"), loopback), AddressClass::kLinkLocal);
  EXPECT_EQ(denied_class(*parse_ip("8.8.8.8"), none), std::nullopt);
}

// ---------------------------------------------------------------- policy syntax

TEST(HttpFetch, HostMatchesExactAndWildcard) {
  EXPECT_TRUE(host_matches("api.example.com", "api.example.com"));
  EXPECT_TRUE(host_matches("API.Example.COM.", "api.example.com"));
  EXPECT_FALSE(host_matches("api.example.com", "example.com"));
  EXPECT_TRUE(host_matches("*.example.com", "a.example.com"));
  EXPECT_TRUE(host_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "evilexample.com"));
  EXPECT_FALSE(host_matches("*.example.com", "example.com.evil.org"));
  EXPECT_FALSE(host_matches("*.0.0.1", "127.0.0.1"));  // a wildcard never matches an address
  EXPECT_TRUE(host_matches("[::1]", "::1"));
  EXPECT_TRUE(host_matches("0:0::1", "::1"));
  EXPECT_FALSE(host_matches("*", "example.com"));
}

TEST(HttpFetch, ValidatePolicyRejectsBadEntries) {
  EXPECT_TRUE(validate_policy(HttpPolicy{}));
  auto rejects = [](HttpPolicy p, std::string_view needle) {
    auto r = validate_policy(p);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
  };
  HttpPolicy p;
  p.allow_hosts = {"*"};
  rejects(p, "allow_hosts entry '*'");
  p.allow_hosts = {"a.*.com"};
  rejects(p, "allow_hosts entry 'a.*.com'");
  p.allow_hosts = {"*.10.0.0.1"};
  rejects(p, "allow_hosts entry");
  p = {};
  p.allow_cidrs = {"10.0.0.1/8"};
  rejects(p, "allow_cidrs entry '10.0.0.1/8'");
  p = {};
  p.secret_headers = {{"api.example.com", "X-Key", "bad\r\nvalue"}};
  rejects(p, "value of secret header 'X-Key'");
  auto r = validate_policy(p);
  EXPECT_EQ(r.error().message().find("bad"), std::string::npos) << "a secret value leaked";
  p.secret_headers = {{"api.example.com", "Bad Name", "v"}};
  rejects(p, "secret header name 'Bad Name'");
}

// ---------------------------------------------------------------- a local server

// An HTTP server on 127.0.0.1 and an ephemeral port, recording what it receives.
class TestServer {
 public:
  struct Seen {
    std::string method, path, body;
    httplib::Headers headers;
  };

  int port() const { return server_.port(); }
  std::string url(std::string_view path, std::string_view host = "127.0.0.1") const { return server_.url(path, host); }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(mu_);
      seen_.push_back({req.method, req.path, req.body, req.headers});
    }
    if (req.path == "/echo") {
      res.set_header("X-Reply", "yes");
      res.set_content(req.method + " " + req.body, "text/plain");
    } else if (req.path == "/redirect") {
      res.status = req.has_param("code") ? std::stoi(req.get_param_value("code")) : 302;
      res.set_header("Location", req.get_param_value("to"));
    } else if (req.path == "/loop") {
      res.status = 302;
      res.set_header("Location", "/loop");
    } else if (req.path == "/big") {
      res.set_content(std::string(2 << 20, 'x'), "application/octet-stream");
    } else if (req.path == "/big-chunked") {
      // No Content-Length: only counting the bytes as they arrive can stop it.
      res.set_chunked_content_provider("application/octet-stream", [](size_t offset, httplib::DataSink& sink) {
        if (offset >= (2u << 20)) {
          sink.done();
        } else {
          std::string chunk(64 << 10, 'y');
          sink.write(chunk.data(), chunk.size());
        }
        return true;
      });
    } else if (req.path == "/slow") {
      std::this_thread::sleep_for(300ms);
      res.set_content("late", "text/plain");
    } else {
      res.status = 404;
    }
  }

  std::mutex mu_;
  std::vector<Seen> seen_;
  // Last: it serves (and calls handle) from construction until destruction.
  testing::LoopbackServer server_{[this](httplib::Server& s) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
    s.Get(".*", handler);
    s.Post(".*", handler);
    s.Put(".*", handler);
    s.Patch(".*", handler);
    s.Delete(".*", handler);
    s.Options(".*", handler);
  }};
};

// A policy for the local server: 127.0.0.1 named and its address allowed.
HttpPolicy local_policy() {
  HttpPolicy p;
  p.allow_hosts = {"127.0.0.1"};
  p.allow_cidrs = {"127.0.0.1/32"};
  return p;
}

HttpRequest get(std::string url) {
  HttpRequest r;
  r.url = std::move(url);
  return r;
}

std::string describe(const HttpResult& r) {
  if (auto* e = std::get_if<HttpError>(&r)) return "error: " + e->message;
  return "status " + std::to_string(std::get<HttpResponse>(r).status);
}

// Asserts the failure kind and that the message contains `needle`.
void expect_failure(const HttpResult& r, HttpFailure kind, std::string_view needle) {
  auto* e = std::get_if<HttpError>(&r);
  ASSERT_NE(e, nullptr) << describe(r);
  EXPECT_EQ(e->kind, kind) << e->message;
  EXPECT_NE(e->message.find(needle), std::string::npos) << e->message;
}

std::string header(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "(none)";
}

// ---------------------------------------------------------------- round trips

TEST(HttpFetch, GetRoundTrip) {
  TestServer server;
  HttpRequest req = get(server.url("/echo"));
  req.headers = {{"X-Custom", "value 1"}, {"Accept", "text/plain"}};
  auto r = fetch(local_policy(), req, kNoDeadline);
  auto* res = std::get_if<HttpResponse>(&r);
  ASSERT_NE(res, nullptr) << describe(r);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "GET ");
  EXPECT_EQ(header(res->headers, "X-Reply"), "yes");
  EXPECT_EQ(res->url, server.url("/echo"));
  EXPECT_EQ(res->redirects, 0u);
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers.find("X-Custom")->second, "value 1");
  EXPECT_EQ(seen[0].headers.find("Accept")->second, "text/plain");
}

TEST(HttpFetch, PostRoundTripWithBody) {
  TestServer server;
  HttpRequest req = get(server.url("/echo"));
  req.method = "POST";
  req.body = "payload=1";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto r = fetch(local_policy(), req, kNoDeadline);
  auto* res = std::get_if<HttpResponse>(&r);
  ASSERT_NE(res, nullptr) << describe(r);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "POST payload=1");
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "payload=1");
  EXPECT_EQ(seen[0].headers.find("Content-Type")->second, "application/x-www-form-urlencoded");
}

TEST(HttpFetch, PutPatchDeleteOptionsReachTheServer) {
  TestServer server;
  for (const char* method : {"PUT", "PATCH", "DELETE", "OPTIONS"}) {
    HttpRequest req = get(server.url("/echo"));
    req.method = method;
    req.body = method == std::string("PUT") ? "data" : "";
    auto r = fetch(local_policy(), req, kNoDeadline);
    auto* res = std::get_if<HttpResponse>(&r);
    ASSERT_NE(res, nullptr) << method << " " << describe(r);
    EXPECT_EQ(res->body, std::string(method) + " " + req.body);
  }
}

TEST(HttpFetch, HeadHasNoBody) {
  TestServer server;
  HttpRequest req = get(server.url("/echo"));
  req.method = "HEAD";
  auto r = fetch(local_policy(), req, kNoDeadline);
  auto* res = std::get_if<HttpResponse>(&r);
  ASSERT_NE(res, nullptr) << describe(r);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "");
  req.body = "x";
  expect_failure(fetch(local_policy(), req, kNoDeadline), HttpFailure::kInvalid, "HEAD request has no body");
}

TEST(HttpFetch, EnvironmentProxyIsIgnored) {
  TestServer server;
  // A proxy on a closed port: were it used, the request would fail.
  for (const char* var : {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}) {
    setenv(var, "http://127.0.0.1:9", 1);
  }
  auto r = fetch(local_policy(), get(server.url("/echo")), kNoDeadline);
  for (const char* var : {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}) unsetenv(var);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(r)) << describe(r);
  EXPECT_EQ(server.seen().size(), 1u);
}

// ---------------------------------------------------------------- hosts and addresses

TEST(HttpFetch, HostNotInAllowlistIsDenied) {
  HttpPolicy p = local_policy();
  p.allow_hosts = {"*.example.com"};
  expect_failure(fetch(p, get("http://example.com/"), kNoDeadline), HttpFailure::kDenied,
                 "host 'example.com' is not in the allowlist");
  expect_failure(fetch(p, get("https://example.com.evil.org/"), kNoDeadline), HttpFailure::kDenied,
                 "host 'example.com.evil.org' is not in the allowlist");
  expect_failure(fetch(HttpPolicy{}, get("http://127.0.0.1/"), kNoDeadline), HttpFailure::kDenied,
                 "host '127.0.0.1' is not in the allowlist");
}

TEST(HttpFetch, LoopbackDeniedWithoutAllowCidrs) {
  TestServer server;
  HttpPolicy p;
  p.allow_hosts = {"127.0.0.1", "localhost", "::1", "::ffff:127.0.0.1"};
  expect_failure(fetch(p, get(server.url("/echo")), kNoDeadline), HttpFailure::kDenied,
                 "address 127.0.0.1 of host '127.0.0.1' is loopback and not allowed");
  // A name is checked on the address it resolves to, not on its spelling.
  expect_failure(fetch(p, get(server.url("/echo", "localhost")), kNoDeadline), HttpFailure::kDenied,
                 "of host 'localhost' is loopback and not allowed");
  expect_failure(fetch(p, get(server.url("/echo", "[::1]")), kNoDeadline), HttpFailure::kDenied,
                 "address ::1 of host '::1' is loopback");
  expect_failure(fetch(p, get(server.url("/echo", "[::ffff:127.0.0.1]")), kNoDeadline), HttpFailure::kDenied,
                 "address ::ffff:127.0.0.1 of host '::ffff:127.0.0.1' is loopback");
  // A CIDR for another range does not help.
  p.allow_cidrs = {"10.0.0.0/8"};
  expect_failure(fetch(p, get(server.url("/echo")), kNoDeadline), HttpFailure::kDenied, "is loopback");
  EXPECT_EQ(server.seen().size(), 0u);
}

TEST(HttpFetch, AllowCidrsPermitLoopback) {
  TestServer server;
  HttpPolicy p;
  p.allow_hosts = {"127.0.0.1"};
  p.allow_cidrs = {"127.0.0.1/32"};
  auto r = fetch(p, get(server.url("/echo")), kNoDeadline);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(r)) << describe(r);
  EXPECT_EQ(server.seen().size(), 1u);
}

TEST(HttpFetch, NumericHostFormsAreNormalizedBeforeTheAllowlist) {
  TestServer server;
  HttpPolicy p;
  p.allow_hosts = {"127.0.0.1"};
  // libcurl reads "0x7f.1" and "2130706433" as 127.0.0.1; so does the allowlist.
  expect_failure(fetch(p, get(server.url("/echo", "0x7f.1")), kNoDeadline), HttpFailure::kDenied,
                 "address 127.0.0.1 of host '127.0.0.1' is loopback");
  p.allow_cidrs = {"127.0.0.1/32"};
  auto r = fetch(p, get(server.url("/echo", "2130706433")), kNoDeadline);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(r)) << describe(r);
}

TEST(HttpFetch, NonAsciiHostIsInvalid) {
  HttpPolicy p = local_policy();
  p.allow_hosts = {"*.de"};
  expect_failure(fetch(p, get("http://b\xc3\xbc" "cher.de/"), kNoDeadline), HttpFailure::kInvalid, "IDNA");
  expect_failure(fetch(p, get("http://[fe80::1%25eth0]/"), kNoDeadline), HttpFailure::kInvalid, "zone");
}

TEST(HttpFetch, OnlyHttpAndHttpsSchemes) {
  HttpPolicy p = local_policy();
  expect_failure(fetch(p, get("file:///etc/passwd"), kNoDeadline), HttpFailure::kInvalid,
                 "unsupported URL scheme 'file' (only http and https)");
  expect_failure(fetch(p, get("ftp://127.0.0.1/"), kNoDeadline), HttpFailure::kInvalid,
                 "unsupported URL scheme 'ftp'");
  for (const char* url : {"gopher://127.0.0.1/", "dict://127.0.0.1/", "ws://127.0.0.1/", "telnet://127.0.0.1/"}) {
    expect_failure(fetch(p, get(url), kNoDeadline), HttpFailure::kInvalid, "unsupported URL scheme");
  }
  expect_failure(fetch(p, get("not a url"), kNoDeadline), HttpFailure::kInvalid, "invalid URL");
}

// ---------------------------------------------------------------- redirects

TEST(HttpFetch, FollowsRedirectWithinAllowlist) {
  TestServer server;
  auto r = fetch(local_policy(), get(server.url("/redirect?to=/echo")), kNoDeadline);
  auto* res = std::get_if<HttpResponse>(&r);
  ASSERT_NE(res, nullptr) << describe(r);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "GET ");
  EXPECT_EQ(res->url, server.url("/echo"));
  EXPECT_EQ(res->redirects, 1u);
}

TEST(HttpFetch, RedirectToHostOutsideAllowlistIsDenied) {
  TestServer server;
  std::string to = server.url("/echo", "localhost");
  expect_failure(fetch(local_policy(), get(server.url("/redirect?to=" + to)), kNoDeadline), HttpFailure::kDenied,
                 "host 'localhost' is not in the allowlist");
  EXPECT_EQ(server.seen().size(), 1u);
}

TEST(HttpFetch, RedirectToCloudMetadataIsDenied) {
  TestServer server;
  HttpPolicy p = local_policy();
  p.allow_hosts.push_back("169.254.169.254");
  expect_failure(fetch(p, get(server.url("/redirect?to=http://169.254.169.254/latest/meta-data/")), kNoDeadline),
                 HttpFailure::kDenied, "address 169.254.169.254 of host '169.254.169.254' is link-local and not allowed");
}

TEST(HttpFetch, RedirectToFileUrlIsInvalid) {
  TestServer server;
  expect_failure(fetch(local_policy(), get(server.url("/redirect?to=file:///etc/passwd")), kNoDeadline),
                 HttpFailure::kInvalid, "unsupported URL scheme 'file'");
}

TEST(HttpFetch, TooManyRedirects) {
  TestServer server;
  HttpPolicy p = local_policy();
  p.max_redirects = 3;
  expect_failure(fetch(p, get(server.url("/loop")), kNoDeadline), HttpFailure::kTooLarge,
                 "too many redirects (more than 3)");
  EXPECT_EQ(server.seen().size(), 4u);
}

TEST(HttpFetch, SeeOtherAndPostRedirectsBecomeGet) {
  TestServer server;
  for (int code : {303, 302, 301}) {
    HttpRequest req = get(server.url("/redirect?code=" + std::to_string(code) + "&to=/echo"));
    req.method = "POST";
    req.body = "form=1";
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    auto r = fetch(local_policy(), req, kNoDeadline);
    auto* res = std::get_if<HttpResponse>(&r);
    ASSERT_NE(res, nullptr) << describe(r);
    EXPECT_EQ(res->body, "GET ") << code;
    auto seen = server.seen();
    EXPECT_EQ(seen.back().method, "GET") << code;
    EXPECT_EQ(seen.back().body, "") << code;
    EXPECT_EQ(seen.back().headers.count("Content-Type"), 0u) << code;
  }
}

TEST(HttpFetch, TemporaryRedirectKeepsMethodAndBody) {
  TestServer server;
  for (int code : {307, 308}) {
    HttpRequest req = get(server.url("/redirect?code=" + std::to_string(code) + "&to=/echo"));
    req.method = "PUT";
    req.body = "data";
    auto r = fetch(local_policy(), req, kNoDeadline);
    auto* res = std::get_if<HttpResponse>(&r);
    ASSERT_NE(res, nullptr) << describe(r);
    EXPECT_EQ(res->body, "PUT data") << code;
  }
}

// ---------------------------------------------------------------- secret headers

TEST(HttpFetch, SecretHeaderReachesItsHostAndCannotBeOverridden) {
  TestServer server;
  HttpPolicy p = local_policy();
  p.secret_headers = {{"127.0.0.1", "X-Api-Key", "s3cret"}};
  HttpRequest req = get(server.url("/echo"));
  req.headers = {{"x-api-key", "guest"}, {"X-API-KEY", "guest2"}};
  auto r = fetch(p, req, kNoDeadline);
  auto* res = std::get_if<HttpResponse>(&r);
  ASSERT_NE(res, nullptr) << describe(r);
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers.count("X-Api-Key"), 1u);
  EXPECT_EQ(seen[0].headers.find("X-Api-Key")->second, "s3cret");
  for (const auto& [name, value] : res->headers) EXPECT_EQ(value.find("s3cret"), std::string::npos) << name;
  EXPECT_EQ(res->body.find("s3cret"), std::string::npos);
}

TEST(HttpFetch, SecretHeaderNeedsHttpsExceptOnLoopback) {
  // Refused before any connection: the secret would cross the network in clear.
  HttpPolicy p;
  p.allow_hosts = {"api.example.com"};
  p.secret_headers = {{"api.example.com", "X-Api-Key", "s3cret"}};
  expect_failure(fetch(p, get("http://api.example.com/v1"), kNoDeadline), HttpFailure::kDenied,
                 "requests to 'api.example.com' carry a secret header, so they must use https");
  // Plain http to a loopback address never leaves the machine (the test above).
}

TEST(HttpFetch, SecretHeaderNotSentAfterRedirectToAnotherHost) {
  TestServer server;
  HttpPolicy p;
  p.allow_hosts = {"127.0.0.1", "localhost"};
  p.allow_cidrs = {"127.0.0.0/8", "::1/128"};
  p.secret_headers = {{"127.0.0.1", "X-Api-Key", "s3cret"}};
  HttpRequest req = get(server.url("/redirect?to=" + server.url("/echo", "localhost")));
  req.headers = {{"X-Api-Key", "guest"}, {"Authorization", "Bearer guest-token"}};
  auto r = fetch(p, req, kNoDeadline);
  auto* res = std::get_if<HttpResponse>(&r);
  ASSERT_NE(res, nullptr) << describe(r);
  EXPECT_EQ(res->redirects, 1u);
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].headers.find("X-Api-Key")->second, "s3cret");
  EXPECT_EQ(seen[0].headers.find("Authorization")->second, "Bearer guest-token");
  // On localhost the secret does not apply: the guest's own header goes out,
  // and the guest's credentials for 127.0.0.1 stay behind.
  EXPECT_EQ(seen[1].headers.count("X-Api-Key"), 1u);
  EXPECT_EQ(seen[1].headers.find("X-Api-Key")->second, "guest");
  EXPECT_EQ(seen[1].headers.count("Authorization"), 0u);
}

TEST(HttpFetch, SecretNeverAppearsInErrors) {
  TestServer server;
  HttpPolicy p = local_policy();
  p.secret_headers = {{"127.0.0.1", "X-Api-Key", "s3cret"}};
  p.max_response_bytes = 1000;
  p.max_redirects = 1;
  for (const std::string& url :
       {server.url("/big"), server.url("/redirect?to=http://evil.example/"), server.url("/loop"),
        server.url("/redirect?to=http://169.254.169.254/")}) {
    auto r = fetch(p, get(url), kNoDeadline);
    auto* e = std::get_if<HttpError>(&r);
    ASSERT_NE(e, nullptr) << url;
    EXPECT_EQ(e->message.find("s3cret"), std::string::npos) << e->message;
  }
}

// ---------------------------------------------------------------- guest headers

TEST(HttpFetch, ControlCharactersInHeadersAreInvalid) {
  TestServer server;
  struct Case {
    std::string name, value, needle;
  };
  const Case cases[] = {
      {"X-A", "a\r\nX-Injected: 1", "value of header 'X-A' contains a control character"},
      {"X-B", "a\nb", "value of header 'X-B'"},
      {"X-C", std::string("a\0b", 3), "value of header 'X-C'"},
      {"X-D\r\nX-Injected", "1", "invalid header name 'X-D\\x0d\\x0aX-Injected'"},
      {std::string("X-E\0", 4), "1", "invalid header name"},
      {"X F", "1", "invalid header name 'X F'"},
      {"X-G:", "1", "invalid header name"},
      {"", "1", "invalid header name ''"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.needle);
    HttpRequest req = get(server.url("/echo"));
    req.headers = {{c.name, c.value}};
    expect_failure(fetch(local_policy(), req, kNoDeadline), HttpFailure::kInvalid, c.needle);
  }
  EXPECT_EQ(server.seen().size(), 0u);
}

TEST(HttpFetch, TooManyHeadersAreInvalid) {
  HttpRequest req = get("http://127.0.0.1/");
  for (size_t i = 0; i <= kMaxRequestHeaders; ++i) req.headers.emplace_back("X-H" + std::to_string(i), "v");
  expect_failure(fetch(local_policy(), req, kNoDeadline), HttpFailure::kInvalid, "more than 100 request headers");
  req.headers = {{"X-Big", std::string(kMaxRequestHeaderBytes, 'v')}};
  expect_failure(fetch(local_policy(), req, kNoDeadline), HttpFailure::kInvalid, "request headers exceed");
}

TEST(HttpFetch, HostHeaderMustNameTheUrlHost) {
  TestServer server;
  HttpRequest req = get(server.url("/echo"));
  req.headers = {{"Host", "internal.example"}};
  expect_failure(fetch(local_policy(), req, kNoDeadline), HttpFailure::kDenied,
                 "header 'Host: internal.example' does not name the URL's host");
  req.headers = {{"host", "127.0.0.1:" + std::to_string(server.port())}, {"Connection", "close"},
                 {"Content-Length", "999"}};
  auto r = fetch(local_policy(), req, kNoDeadline);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(r)) << describe(r);
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers.count("Content-Length"), 0u);  // a GET without body: none, not 999
}

TEST(HttpFetch, UnsupportedMethodIsInvalid) {
  for (const char* method : {"TRACE", "CONNECT", "get", "", "GET /evil HTTP/1.1\r\n"}) {
    HttpRequest req = get("http://127.0.0.1/");
    req.method = method;
    expect_failure(fetch(local_policy(), req, kNoDeadline), HttpFailure::kInvalid, "unsupported method");
  }
}

// ---------------------------------------------------------------- caps

TEST(HttpFetch, RequestBodyOverCapIsRejectedBeforeSending) {
  TestServer server;
  HttpPolicy p = local_policy();
  p.max_request_bytes = 1024;
  HttpRequest req = get(server.url("/echo"));
  req.method = "POST";
  req.body = std::string(1025, 'b');
  expect_failure(fetch(p, req, kNoDeadline), HttpFailure::kTooLarge, "request body is 1025 bytes, over the limit of 1024");
  EXPECT_EQ(server.seen().size(), 0u);
}

TEST(HttpFetch, ResponseOverCapIsAborted) {
  TestServer server;
  HttpPolicy p = local_policy();
  p.max_response_bytes = 1 << 20;
  for (const char* path : {"/big", "/big-chunked"}) {
    expect_failure(fetch(p, get(server.url(path)), kNoDeadline), HttpFailure::kTooLarge,
                   "response from host '127.0.0.1' is larger than the limit of 1048576 bytes");
  }
  p.max_response_bytes = 3 << 20;
  auto r = fetch(p, get(server.url("/big-chunked")), kNoDeadline);
  auto* res = std::get_if<HttpResponse>(&r);
  ASSERT_NE(res, nullptr) << describe(r);
  EXPECT_EQ(res->body.size(), 2u << 20);
}

TEST(HttpFetch, SlowServerTimesOut) {
  TestServer server;
  HttpPolicy p = local_policy();
  p.timeout_ms = 100;
  expect_failure(fetch(p, get(server.url("/slow")), kNoDeadline), HttpFailure::kTimeout,
                 "request timed out after 100 ms");
  // The request cannot ask for more than the policy grants.
  HttpRequest req = get(server.url("/slow"));
  req.timeout_ms = 10'000;
  expect_failure(fetch(p, req, kNoDeadline), HttpFailure::kTimeout, "request timed out after 100 ms");
  // Nor run past the run's deadline.
  p.timeout_ms = 30'000;
  expect_failure(fetch(p, get(server.url("/slow")), std::chrono::steady_clock::now() + 100ms), HttpFailure::kTimeout,
                 "request stopped at the run's deadline");
}

TEST(HttpFetch, PassedDeadlineSendsNothing) {
  TestServer server;
  expect_failure(fetch(local_policy(), get(server.url("/echo")), std::chrono::steady_clock::now() - 1ms),
                 HttpFailure::kTimeout, "deadline");
  EXPECT_EQ(server.seen().size(), 0u);
}

// ---------------------------------------------------------------- failures

TEST(HttpFetch, RefusedConnectionIsNetworkError) {
  std::string url;
  {
    TestServer server;
    url = server.url("/echo");
  }
  expect_failure(fetch(local_policy(), get(url), kNoDeadline), HttpFailure::kNetwork,
                 "request to host '127.0.0.1' failed");
}

TEST(HttpFetch, InvalidPolicyIsInvalid) {
  HttpPolicy p = local_policy();
  p.allow_cidrs = {"127.0.0.1/8"};
  expect_failure(fetch(p, get("http://127.0.0.1/"), kNoDeadline), HttpFailure::kInvalid,
                 "allow_cidrs entry '127.0.0.1/8' is not a CIDR block");
}

}  // namespace
}  // namespace pycell::net
