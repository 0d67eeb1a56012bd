// Route patterns compiled to literal/segment/rest parts and matched in one
// pass over the path.
#include "router.h"

#include <cstdio>
#include <cstdlib>

#include "common/echo.h"
#include "http_common.h"

namespace pycell::server {

void Router::add(const char* method, std::string_view pattern, Handler handler) {
  Route route{method, {}, std::move(handler)};
  auto bad = [&](const char* why) {
    std::fprintf(stderr, "pycell: route pattern '%.*s': %s\n", static_cast<int>(pattern.size()), pattern.data(), why);
    std::abort();
  };
  for (size_t i = 0; i < pattern.size();) {
    std::string_view rest = pattern.substr(i);
    if (!route.parts.empty() && (route.parts.back().kind == Part::kRest || route.parts.back().kind == Part::kAny)) {
      bad("(.+) and .* must end the pattern");
    }
    if (rest.starts_with("([^/]+)")) {
      route.parts.push_back({Part::kSegment, {}});
      i += 7;
    } else if (rest.starts_with("(.+)")) {
      route.parts.push_back({Part::kRest, {}});
      i += 4;
    } else if (rest.starts_with(".*")) {
      route.parts.push_back({Part::kAny, {}});
      i += 2;
    } else if (std::string_view("()[]{}*+?\\^$|").find(rest[0]) != std::string_view::npos) {
      bad("unsupported regular expression syntax");
    } else {
      if (route.parts.empty() || route.parts.back().kind != Part::kLiteral) route.parts.push_back({Part::kLiteral, {}});
      route.parts.back().text.push_back(rest[0]);
      ++i;
    }
  }
  // A segment stops at the next '/', so what follows it must start with one
  // for the match to be the one a regex would find.
  for (size_t i = 0; i + 1 < route.parts.size(); ++i) {
    if (route.parts[i].kind == Part::kSegment &&
        !(route.parts[i + 1].kind == Part::kLiteral && route.parts[i + 1].text.starts_with('/'))) {
      bad("([^/]+) must be followed by '/' or end the pattern");
    }
  }
  routes_.push_back(std::move(route));
}

bool Router::match(const std::vector<Part>& parts, std::string_view path, std::vector<std::string>& out) {
  out.assign(1, std::string(path));
  size_t pos = 0;
  for (const Part& p : parts) {
    std::string_view rest = path.substr(pos);
    switch (p.kind) {
      case Part::kLiteral:
        if (!rest.starts_with(p.text)) return false;
        pos += p.text.size();
        break;
      case Part::kSegment: {
        size_t len = std::min(rest.find('/'), rest.size());
        if (len == 0) return false;
        out.emplace_back(rest.substr(0, len));
        pos += len;
        break;
      }
      case Part::kRest:
        if (rest.empty()) return false;
        out.emplace_back(rest);
        pos = path.size();
        break;
      case Part::kAny:
        pos = path.size();
        break;
    }
  }
  return pos == path.size();
}

void Router::dispatch(Request& req, Response& res) const {
  std::string_view method = req.method == "HEAD" ? std::string_view("GET") : std::string_view(req.method);
  std::string allow;
  std::vector<std::string> matches;
  for (const Route& r : routes_) {
    if (!match(r.parts, req.path, matches)) continue;
    if (r.method == method) {
      req.matches = std::move(matches);
      return r.handler(req, res);
    }
    if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.method;
  }
  if (allow.empty()) {
    return send_error(res, 404, "not_found",
                      "no such endpoint: " + policy::echo(req.method) + " " + policy::echo(req.path));
  }
  if (allow.find("GET") != std::string::npos) allow += ", HEAD";
  res.set_header("Allow", allow);
  send_error(res, 405, "method_not_allowed",
             policy::echo(req.method) + " is not allowed on " + policy::echo(req.path) + " (allowed: " + allow + ")");
}

}  // namespace pycell::server
