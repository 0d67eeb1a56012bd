// Network from the guest's side: none by default, and host-mediated HTTP
// (pycell_http, urllib) only within the session's HttpPolicy. Each test runs
// Python in a session against a loopback server and asserts what the guest sees.
#include <chrono>
#include <mutex>
#include <thread>

#include "loopback_server.h"
#include "test_support.h"

namespace pycell {
namespace {

using namespace std::chrono_literals;
using testing::new_session;
using testing::outcome;

/// The test's loopback server: a few routes, and the API key it last saw.
class Server {
 public:
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return server_.url(path, host);
  }
  std::string last_key() {
    std::lock_guard lock(mu_);
    return last_key_;
  }

 private:
  std::mutex mu_;
  std::string last_key_;
  // Last: it serves from construction until destruction.
  testing::LoopbackServer server_{[this](httplib::Server& s) {
    s.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Kind", "greeting");
      res.set_content("hello from the host side", "text/plain");
    });
    s.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "application/octet-stream");
    });
    s.Get("/key", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      last_key_ = req.get_header_value("X-Api-Key");
      res.set_content(last_key_ == "s3cret" ? "authorized" : "denied", "text/plain");
    });
    s.Get("/to-metadata", [](const httplib::Request&, httplib::Response& res) {
      res.status = 302;
      res.set_header("Location", "http://169.254.169.254/latest/meta-data/");
    });
    s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(1500ms);
      res.set_content("late", "text/plain");
    });
    s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(300'000, 'x'), "text/plain");
    });
  }};
};

/// Loopback is non-public, so reaching the test server needs it in allow_cidrs.
SessionConfig allow_loopback() {
  SessionConfig c;
  c.http.emplace();
  c.http->allow_hosts = {"127.0.0.1"};
  c.http->allow_cidrs = {"127.0.0.1/32"};
  return c;
}

TEST(Network, NoGrantMeansNoNetwork) {
  Server server;
  Session s = new_session();
  EXPECT_EQ(outcome(s, "import pycell_http\npycell_http.request('GET', '" + server.url("/hello") + "')"),
            "PermissionError: network access is not granted to this session");
  EXPECT_EQ(outcome(s, "import urllib.request\nurllib.request.urlopen('" + server.url("/hello") + "', timeout=5)"),
            "urllib.error.URLError: <urlopen error [Errno 58] no network in this sandbox (HTTP goes through "
            "pycell_http when the host grants it)>");
  EXPECT_EQ(outcome(s, "import socket\nsocket.gethostbyname('example.com')"),
            "OSError: [Errno 58] no network in this sandbox (HTTP goes through pycell_http when the host grants it)");
  EXPECT_EQ(outcome(s, "print(socket.gethostname(), socket.getfqdn())"), "localhost localhost\n");
}

TEST(Network, AllowedRequestsGoThroughTheHost) {
  Server server;
  Session s = new_session(allow_loopback());
  EXPECT_EQ(outcome(s, "import pycell_http\nr = pycell_http.request('GET', '" + server.url("/hello") +
                       "')\nprint(r.status, r.text, r.header('x-kind'))"),
            "200 hello from the host side greeting\n");
  EXPECT_EQ(outcome(s, "r = pycell_http.request('POST', '" + server.url("/echo") +
                       "', body=bytes(range(256)))\nprint(r.body == bytes(range(256)))"),
            "True\n");
  EXPECT_EQ(outcome(s, "import urllib.request\nwith urllib.request.urlopen('" + server.url("/hello") +
                       "') as f:\n    print(f.status, f.read().decode(), f.headers['X-Kind'])"),
            "200 hello from the host side greeting\n");
}

TEST(Network, LoopbackIsRefusedUnlessAllowed) {
  Server server;
  SessionConfig c = allow_loopback();
  c.http->allow_cidrs.clear();
  Session s = new_session(c);
  EXPECT_EQ(outcome(s, "import pycell_http\npycell_http.request('GET', '" + server.url("/hello") + "')"),
            "PermissionError: address 127.0.0.1 of host '127.0.0.1' is loopback and not allowed");
  EXPECT_EQ(outcome(s, "import urllib.request\nurllib.request.urlopen('" + server.url("/hello") + "')"),
            "urllib.error.URLError: <urlopen error address 127.0.0.1 of host '127.0.0.1' is loopback and not "
            "allowed>");
}

TEST(Network, HostsOutsideTheAllowlistAreRefused) {
  Server server;
  Session s = new_session(allow_loopback());
  EXPECT_EQ(outcome(s, "import pycell_http\npycell_http.request('GET', '" + server.url("/hello", "localhost") + "')"),
            "PermissionError: host 'localhost' is not in the allowlist");
  // A redirect is checked like a first request: to the cloud metadata address.
  EXPECT_EQ(outcome(s, "pycell_http.request('GET', '" + server.url("/to-metadata") + "')"),
            "PermissionError: host '169.254.169.254' is not in the allowlist");
  EXPECT_EQ(outcome(s, "pycell_http.request('GET', 'file:///etc/passwd')"),
            "ValueError: unsupported URL scheme 'file' (only http and https)");
}

TEST(Network, SecretHeadersReachTheServerButNotTheGuest) {
  Server server;
  SessionConfig c = allow_loopback();
  c.http->secret_headers.push_back({"127.0.0.1", "X-Api-Key", "s3cret"});
  Session s = new_session(c);
  EXPECT_EQ(outcome(s, "import pycell_http\nr = pycell_http.request('GET', '" + server.url("/key") +
                       "', headers={'X-Api-Key': 'guess'})\nprint(r.text, 's3cret' in repr(r.headers))"),
            "authorized False\n");
  EXPECT_EQ(server.last_key(), "s3cret");  // the guest's own value was dropped
}

TEST(Network, TimeAndSizeAreCapped) {
  Server server;
  SessionConfig c = allow_loopback();
  c.http->timeout_ms = 200;
  c.http->max_response_bytes = 100'000;
  Session s = new_session(c);
  EXPECT_EQ(outcome(s, "import pycell_http\npycell_http.request('GET', '" + server.url("/slow") + "')"),
            "TimeoutError: request timed out after 200 ms");
  const std::string big = outcome(s, "pycell_http.request('GET', '" + server.url("/big") + "')");
  EXPECT_EQ(big.rfind("ConnectionError: ", 0), 0u) << big;
  EXPECT_NE(big.find("100000"), std::string::npos) << big;
}

TEST(Network, RequestsStopAtTheRunsDeadline) {
  Server server;
  SessionConfig c = allow_loopback();
  c.limits.timeout_ms = 300;
  Session s = new_session(c);
  auto r = s.exec("import pycell_http\nprint(pycell_http.request('GET', '" + server.url("/slow") + "').text)");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_reason, ExitReason::kTimeout);
  ASSERT_TRUE(r->error.has_value());
  EXPECT_EQ(r->error->type, "TimeoutError");
  EXPECT_EQ(r->stdout_text, "");
}

}  // namespace
}  // namespace pycell
