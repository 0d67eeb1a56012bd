// HostFunctions (see host_functions.h).
#include "core/host_functions.h"

#include "pycell/json.h"
#include "net/http_fetch.h"
#include "wasi/host_call.h"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <cmath>
#include <map>
#include <optional>
#include <variant>
#include <set>

namespace pycell {
bool is_python_identifier(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
    if (!alpha && !(i > 0 && ch >= '0' && ch <= '9')) return false;
  }
  return true;
}

namespace {

using nlohmann::json;
using wasi::HostCallStatus;

constexpr size_t kMaxMessageBytes = 400;
constexpr int kMaxSchemaDepth = 32;

/// A name Python code can use: an identifier that is not a keyword.
bool is_python_name(std::string_view s) {
  static const std::set<std::string_view> keywords = {
      "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
      "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
      "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield"};
  return is_python_identifier(s) && !keywords.contains(s);
}

std::string quote(const std::string& s) { return json(s).dump(); }

/// Checks a schema is one this validator understands, so a typo in the
/// host's schema fails at Session::create, not at the guest's first call.
std::string check_schema(const json& schema, int depth) {
  if (depth > kMaxSchemaDepth) return "schema nested too deeply";
  if (!schema.is_object()) return "a schema must be a JSON object";
  static const std::set<std::string> types = {"string", "integer", "number", "boolean", "array", "object", "null"};
  if (auto t = schema.find("type"); t != schema.end()) {
    const json list = t->is_array() ? *t : json::array({*t});
    for (const auto& one : list) {
      if (!one.is_string() || !types.contains(one.get<std::string>())) return "unknown type " + one.dump();
    }
  }
  if (auto p = schema.find("properties"); p != schema.end()) {
    if (!p->is_object()) return "'properties' must be an object";
    for (const auto& [key, sub] : p->items()) {
      if (auto e = check_schema(sub, depth + 1); !e.empty()) return "property " + quote(key) + ": " + e;
    }
  }
  if (auto r = schema.find("required"); r != schema.end()) {
    if (!r->is_array()) return "'required' must be an array";
    for (const auto& name : *r) {
      if (!name.is_string()) return "'required' must list strings";
    }
  }
  if (auto i = schema.find("items"); i != schema.end()) {
    if (auto e = check_schema(*i, depth + 1); !e.empty()) return "items: " + e;
  }
  if (auto e = schema.find("enum"); e != schema.end() && !e->is_array()) return "'enum' must be an array";
  return {};
}

bool has_type(const json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") {  // JSON Schema: 2.0 is an integer too
    return value.is_number_integer() ||
           (value.is_number_float() && std::isfinite(value.get<double>()) &&
            std::trunc(value.get<double>()) == value.get<double>());
  }
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "array") return value.is_array();
  if (type == "object") return value.is_object();
  return value.is_null();
}

/// Validates `value` against a schema accepted by check_schema. Returns an
/// empty string or what is wrong, naming `where`.
std::string validate(const json& value, const json& schema, const std::string& where) {
  if (auto t = schema.find("type"); t != schema.end()) {
    const json list = t->is_array() ? *t : json::array({*t});
    bool ok = false;
    for (const auto& one : list) ok = ok || has_type(value, one.get<std::string>());
    if (!ok) return where + " must be of type " + (t->is_array() ? t->dump() : t->get<std::string>()) +
                    ", not " + std::string(value.type_name());
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    bool found = false;
    for (const auto& option : *e) found = found || option == value;
    if (!found) return where + " must be one of " + e->dump();
  }
  if (value.is_object()) {
    const auto props = schema.find("properties");
    if (auto r = schema.find("required"); r != schema.end()) {
      for (const auto& name : *r) {
        if (!value.contains(name.get<std::string>())) return "missing required argument " + name.dump();
      }
    }
    const auto extra = schema.find("additionalProperties");
    for (const auto& [key, sub] : value.items()) {
      if (props != schema.end() && props->contains(key)) {
        if (auto e = validate(sub, (*props)[key], quote(key)); !e.empty()) return e;
      } else if (extra != schema.end() && extra->is_boolean() && !extra->get<bool>()) {
        return "unexpected argument " + quote(key);
      }
    }
  }
  if (value.is_array()) {
    if (auto i = schema.find("items"); i != schema.end()) {
      for (size_t n = 0; n < value.size(); ++n) {
        if (auto e = validate(value[n], *i, where + "[" + std::to_string(n) + "]"); !e.empty()) return e;
      }
    }
  }
  return {};
}

struct Function {
  HostFunction spec;
  json schema;
};

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  out.assign(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return false;
  size_t len = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --len;  // EVP_DecodeBlock keeps padding bytes
  out.resize(len);
  return true;
}

/// After parse_json refused `text`: whether it did so for its depth alone
/// (json::accept does not recurse).
bool only_too_deep(std::string_view text) { return json::accept(text); }

}  // namespace

struct HostFunctions::Impl {
  std::map<std::string, Function, std::less<>> functions;
  uint64_t max_result = 0;
  std::optional<HttpPolicy> http;

  /// pycell_http's request: {method, url, headers: [[name, value]], body_b64?, timeout_ms?}.
  HostCallStatus http_request(std::string_view args, const rt::Budget& budget, std::string& reply) const;
};

namespace {

HostCallStatus http_status(net::HttpFailure kind) {
  switch (kind) {
    case net::HttpFailure::kDenied: return HostCallStatus::kDenied;
    case net::HttpFailure::kTimeout: return HostCallStatus::kTimeout;
    case net::HttpFailure::kInvalid: return HostCallStatus::kInvalid;
    case net::HttpFailure::kTooLarge:
    case net::HttpFailure::kNetwork: return HostCallStatus::kError;
  }
  return HostCallStatus::kError;
}

}  // namespace

HostCallStatus HostFunctions::Impl::http_request(std::string_view args, const rt::Budget& budget,
                                                 std::string& reply) const {
  if (!http) return wasi::refuse(reply, HostCallStatus::kNotGranted, "network access is not granted to this session");
  const json a = parse_json(args).value_or(json());  // null: refused below as malformed
  net::HttpRequest req;
  try {
    req.method = a.at("method").get<std::string>();
    req.url = a.at("url").get<std::string>();
    for (const auto& h : a.value("headers", json::array())) {
      req.headers.emplace_back(h.at(0).get<std::string>(), h.at(1).get<std::string>());
    }
    if (a.contains("body_b64") && !base64_decode(a["body_b64"].get<std::string>(), req.body)) {
      return wasi::refuse(reply, HostCallStatus::kInvalid, "the request body is not valid base64");
    }
    req.timeout_ms = a.value("timeout_ms", uint64_t{0});
  } catch (const json::exception&) {
    return wasi::refuse(reply, HostCallStatus::kInvalid, "malformed HTTP request from the guest");
  }
  net::HttpResult result = net::fetch(*http, req, budget.deadline());
  if (const auto* e = std::get_if<net::HttpError>(&result)) return wasi::refuse(reply, http_status(e->kind), e->message);
  const auto& r = std::get<net::HttpResponse>(result);
  json headers = json::array();
  for (const auto& [name, value] : r.headers) headers.push_back({name, value});
  reply = json{{"status", r.status}, {"url", r.url}, {"headers", headers}, {"body_b64", base64_encode(r.body)},
               {"redirects", r.redirects}}
              .dump(-1, ' ', false, json::error_handler_t::replace);
  return HostCallStatus::kOk;
}


Result<std::shared_ptr<const HostFunctions>> HostFunctions::create(const SessionConfig& config) {
  auto impl = std::make_shared<Impl>();
  impl->max_result = config.limits.host_result_bytes;
  if (config.http) {
    if (auto v = net::validate_policy(*config.http); !v) return v.error();
    impl->http = config.http;
  }
  json specs = json::array();
  for (const HostFunction& f : config.functions) {
    const std::string label = "host function " + quote(f.name);
    if (!is_python_name(f.name) || f.name.front() == '_') {
      return Error(ErrorCode::kInvalidArgument, label + ": the name must be a Python identifier not starting with '_'");
    }
    if (!f.callback) return Error(ErrorCode::kInvalidArgument, label + " has no callback");
    std::string why;
    auto parsed = parse_json(f.parameters, &why);
    if (!parsed) {
      return Error(ErrorCode::kInvalidArgument,
                   label + ": parameters are " + (only_too_deep(f.parameters) ? "JSON " + why : "not valid JSON"));
    }
    json schema = std::move(*parsed);
    if (auto e = check_schema(schema, 0); !e.empty()) return Error(ErrorCode::kInvalidArgument, label + ": " + e);
    if (schema.value("type", "object") != "object") {
      return Error(ErrorCode::kInvalidArgument, label + ": parameters must be an object schema");
    }
    const json props = schema.value("properties", json::object());
    for (const auto& [param, sub] : props.items()) {
      if (!is_python_name(param)) {
        return Error(ErrorCode::kInvalidArgument, label + ": parameter " + quote(param) + " is not a Python identifier");
      }
    }
    specs.push_back({{"name", f.name}, {"description", f.description}, {"parameters", schema}});
    if (!impl->functions.emplace(f.name, Function{f, std::move(schema)}).second) {
      return Error(ErrorCode::kInvalidArgument, label + " is defined twice");
    }
  }
  auto out = std::shared_ptr<HostFunctions>(new HostFunctions());
  out->impl_ = std::move(impl);
  out->specs_ = specs.dump();
  return std::shared_ptr<const HostFunctions>(std::move(out));
}

namespace {

bool is_control(unsigned char ch) { return ch < 0x20 || ch == 0x7f; }

/// Ends a path: whitespace (control characters read as spaces), a quote, `)`.
bool ends_path(unsigned char ch) {
  return ch == ' ' || is_control(ch) || ch == '\'' || ch == '"' || ch == '`' || ch == ')';
}

/// May come right before a path: the start of a word or of a quoted or
/// assigned value.
bool before_path(unsigned char ch) {
  return ch == ' ' || is_control(ch) || ch == '\'' || ch == '"' || ch == '`' || ch == '(' || ch == '=' ||
         ch == ':' || ch == ',' || ch == '[';
}

/// If an absolute path with at least two components ("/a/b", not "/a" or
/// "//a") starts at `at`, where it ends; otherwise `at`.
size_t path_end(std::string_view s, size_t at) {
  size_t i = at + 1;
  while (i < s.size() && s[i] != '/' && !ends_path(static_cast<unsigned char>(s[i]))) ++i;
  if (i == at + 1 || i == s.size() || s[i] != '/') return at;
  while (i < s.size() && !ends_path(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

}  // namespace

std::string HostFunctions::sanitize(std::string_view message) {
  // One pass that stops once the output is full: the message may be as long
  // as the embedder likes (e.g. echo a guest's argument), so no backtracking
  // and no recursion (std::regex recursed per character and overflowed the
  // stack on a 30 KB path).
  std::string clean;
  size_t i = 0;
  while (i < message.size() && clean.size() <= kMaxMessageBytes) {
    const auto ch = static_cast<unsigned char>(message[i]);
    // Absolute host paths say where things live.
    if (ch == '/' && (i == 0 || before_path(static_cast<unsigned char>(message[i - 1])))) {
      if (const size_t end = path_end(message, i); end != i) {
        clean += "<path>";
        i = end;
        continue;
      }
    }
    clean += is_control(ch) ? ' ' : static_cast<char>(ch);
    ++i;
  }
  if (clean.size() > kMaxMessageBytes) {
    size_t cut = kMaxMessageBytes;
    while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
    clean.resize(cut);
    clean += "...";
  }
  return clean;
}

wasi::HostCallStatus HostFunctions::dispatch(std::string_view name, std::string_view args, const rt::Budget& budget,
                                             std::string& reply) const {
  if (name == "__specs__") {
    reply = specs_;
    return HostCallStatus::kOk;
  }
  if (name == "__http__") return impl_->http_request(args, budget, reply);
  const auto it = impl_->functions.find(name);
  if (it == impl_->functions.end()) {
    return wasi::refuse(reply, HostCallStatus::kNotGranted, "host function '" + sanitize(name) + "' is not granted");
  }
  const Function& f = it->second;
  // The guest's JSON: depth-checked before anything copies or walks it.
  std::string why;
  const std::optional<json> parsed = parse_json(args, &why);
  if (!parsed && only_too_deep(args)) {
    return wasi::refuse(reply, HostCallStatus::kInvalid, f.spec.name + "(): the arguments are " + why);
  }
  if (!parsed || !parsed->is_object()) {
    return wasi::refuse(reply, HostCallStatus::kBadArguments, f.spec.name + "(): arguments must be a JSON object");
  }
  if (auto e = validate(*parsed, f.schema, "the arguments"); !e.empty()) {
    return wasi::refuse(reply, HostCallStatus::kBadArguments, f.spec.name + "(): " + e);
  }
  auto result = f.spec.callback(HostCall{f.spec.name, args, budget.deadline()});
  if (!result) return wasi::refuse(reply, HostCallStatus::kError, sanitize(result.error().message()));
  if (result->size() > impl_->max_result) {
    return wasi::refuse(reply, HostCallStatus::kResultTooLarge, "the result of " + f.spec.name + "() is " +
                                                        std::to_string(result->size()) + " bytes; the limit is " +
                                                        std::to_string(impl_->max_result));
  }
  // The guest's json.loads recurses: a result nested deeper than the guest can
  // decode is the host's error, said as one.
  if (!parse_json(*result, &why)) {
    return wasi::refuse(reply, HostCallStatus::kError,
                        f.spec.name + "() returned " + (only_too_deep(*result) ? "JSON " + why : "invalid JSON"));
  }
  reply = std::move(*result);
  return HostCallStatus::kOk;
}

}  // namespace pycell
