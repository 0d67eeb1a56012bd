// Request/Response helpers: case-insensitive header lookup, safe header
// values, target splitting.
#include "http_message.h"

#include <algorithm>

namespace pycell::server {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

bool safe_field(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Headers::get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (iequals(k, name)) return v;
  }
  return {};
}

bool Headers::has(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(), [&](const auto& f) { return iequals(f.first, name); });
}

void Headers::remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return iequals(f.first, name); });
}

void Response::set_header(std::string_view name, std::string_view value) {
  if (name.empty() || !safe_field(name) || !safe_field(value)) return;
  headers.add(std::string(name), std::string(value));
}

void Response::set_content(std::string content, std::string_view content_type) {
  body = std::move(content);
  headers.remove("Content-Type");
  set_header("Content-Type", content_type);
}

void split_target(std::string_view target, std::string& path, std::string& query) {
  size_t q = target.find('?');
  std::string_view raw = target.substr(0, q);
  query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  path.clear();
  path.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    int hi = 0, lo = 0;
    if (raw[i] == '%' && i + 2 < raw.size() && (hi = hex_digit(raw[i + 1])) >= 0 &&
        (lo = hex_digit(raw[i + 2])) >= 0) {
      path.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      path.push_back(raw[i]);
    }
  }
}

}  // namespace pycell::server
