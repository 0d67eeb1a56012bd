// Router: (method, path pattern) → handler, matched in linear time without
// std::regex, whose recursive matcher a long hostile path could overflow.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http_message.h"

namespace pycell::server {

/// Maps requests to handlers. Patterns are the regular-expression subset the
/// routes use, matched against the whole decoded path: literal text,
/// `([^/]+)` (one non-empty segment, captured), and as the last element
/// `(.+)` (the non-empty rest, captured) or `.*` (anything). A '.' elsewhere
/// matches only itself ("/openapi.json"). Any other regular-expression
/// syntax is a programming error and aborts at registration.
class Router {
 public:
  /// Runs on a worker thread; may take as long as the session timeout.
  using Handler = std::function<void(Request&, Response&)>;

  void Get(std::string_view pattern, Handler handler) { add("GET", pattern, std::move(handler)); }
  void Post(std::string_view pattern, Handler handler) { add("POST", pattern, std::move(handler)); }
  void Put(std::string_view pattern, Handler handler) { add("PUT", pattern, std::move(handler)); }
  void Delete(std::string_view pattern, Handler handler) { add("DELETE", pattern, std::move(handler)); }

  /// Routes `req` (HEAD as GET) to the first matching route, in registration
  /// order, filling req.matches. Without one: 404 not_found, or 405
  /// method_not_allowed (with Allow) if the path has routes for other methods.
  void dispatch(Request& req, Response& res) const;

 private:
  struct Part {
    enum Kind { kLiteral, kSegment, kRest, kAny } kind;
    std::string text;  // kLiteral only
  };
  struct Route {
    std::string method;
    std::vector<Part> parts;
    Handler handler;
  };

  void add(const char* method, std::string_view pattern, Handler handler);
  static bool match(const std::vector<Part>& parts, std::string_view path, std::vector<std::string>& out);

  std::vector<Route> routes_;
};

}  // namespace pycell::server
