// Router, Request/Response and route_with_body without a socket: pattern
// matching, 404/405, HEAD, target decoding, header injection, the body cap.
#include <gtest/gtest.h>

#include "http_common.h"
#include "router.h"

namespace pycell::server {
namespace {

Request make(std::string method, std::string target) {
  Request req;
  req.method = std::move(method);
  req.target = std::move(target);
  split_target(req.target, req.path, req.query);
  return req;
}

std::string error_code(const Response& res) { return json::parse(res.body)["error"]["code"]; }

TEST(Router, CapturesASegmentAndTheRest) {
  Router router;
  std::vector<std::string> seen;
  router.Get(R"(/v1/sessions/([^/]+)/files/(.+))", [&](const Request& req, Response&) { seen = req.matches; });
  Request req = make("GET", "/v1/sessions/ses_1/files/dir/a%20b.txt");
  Response res;
  router.dispatch(req, res);
  EXPECT_EQ(seen, (std::vector<std::string>{"/v1/sessions/ses_1/files/dir/a b.txt", "ses_1", "dir/a b.txt"}));
  EXPECT_EQ(res.status, 200);
}

TEST(Router, ASegmentNeverSpansASlashNorIsEmpty) {
  Router router;
  router.Delete(R"(/v1/sessions/([^/]+))", [](const Request&, Response& res) { res.status = 299; });
  for (const char* path : {"/v1/sessions/a/b", "/v1/sessions/", "/v1/sessions"}) {
    Request req = make("DELETE", path);
    Response res;
    router.dispatch(req, res);
    EXPECT_EQ(res.status, 404) << path;
    EXPECT_EQ(error_code(res), "not_found");
  }
}

TEST(Router, DotMatchesOnlyADot) {
  Router router;
  router.Get("/openapi.json", [](const Request&, Response& res) { res.status = 299; });
  Request req = make("GET", "/openapixjson");
  Response res;
  router.dispatch(req, res);
  EXPECT_EQ(res.status, 404);
}

TEST(Router, HeadIsRoutedAsGet) {
  Router router;
  router.Get("/v1/health", [](const Request&, Response& res) { res.status = 299; });
  Request req = make("HEAD", "/v1/health");
  Response res;
  router.dispatch(req, res);
  EXPECT_EQ(res.status, 299);
}

TEST(Router, AnotherMethodOnAKnownPathIs405WithAllow) {
  Router router;
  router.Get("/mcp", [](const Request&, Response&) {});
  router.Delete("/mcp", [](const Request&, Response&) {});
  Request req = make("PATCH", "/mcp");
  Response res;
  router.dispatch(req, res);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(error_code(res), "method_not_allowed");
  EXPECT_EQ(res.get_header_value("Allow"), "GET, DELETE, HEAD");
}

TEST(Router, AHugePathIsMatchedWithoutRecursion) {
  // std::regex recursed per character: a path this long overflowed its stack.
  Router router;
  router.Get(R"(/v1/sessions/([^/]+)/files/(.+))", [](const Request&, Response& res) { res.status = 299; });
  std::string path = "/v1/sessions/s/files/";
  for (int i = 0; i < 500'000; ++i) path += "a/";
  Request req = make("GET", path);
  Response res;
  router.dispatch(req, res);
  EXPECT_EQ(res.status, 299);
}

TEST(RouterDeathTest, OtherRegexSyntaxIsRefusedAtRegistration) {
  Router router;
  EXPECT_DEATH(router.Get("/v1/(a|b)", [](const Request&, Response&) {}), "unsupported regular expression syntax");
  EXPECT_DEATH(router.Get("/v1/(.+)/x", [](const Request&, Response&) {}), "must end the pattern");
}

TEST(HttpMessage, SplitTargetDecodesThePathOnly) {
  std::string path, query;
  split_target("/a%20b%2Fc%zz%4?x=%20&y", path, query);
  EXPECT_EQ(path, "/a b/c%zz%4");
  EXPECT_EQ(query, "x=%20&y");
}

TEST(HttpMessage, HeaderNamesAreCaseInsensitive) {
  Request req;
  req.headers.add("content-LENGTH", "5");
  req.headers.add("Content-Length", "6");
  EXPECT_TRUE(req.has_header("Content-Length"));
  EXPECT_EQ(req.get_header_value("CONTENT-length"), "5");
  EXPECT_FALSE(req.has_header("Content"));
}

TEST(HttpMessage, SetHeaderDropsValuesThatWouldInjectFields) {
  Response res;
  res.set_header("Access-Control-Allow-Origin", "http://localhost\r\nSet-Cookie: a=b");
  res.set_header("X-Nul", std::string_view("a\0b", 3));
  res.set_header("X\nY", "v");
  EXPECT_EQ(res.headers.size(), 0u);
}

TEST(RouteWithBody, ABodyOverTheCapIs413WithoutCallingTheHandler) {
  ServerConfig cfg;
  cfg.max_body_bytes = 10;
  Router router;
  bool called = false;
  route_with_body(router, "POST", "/v1/exec", cfg, [&](const Request&, Response&, std::string&) { called = true; });
  Request req = make("POST", "/v1/exec");
  req.body.assign(11, 'x');
  Response res;
  router.dispatch(req, res);
  EXPECT_FALSE(called);
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(error_code(res), "payload_too_large");
}

}  // namespace
}  // namespace pycell::server
