// The table of every session knob (see policy.h) and the JSON, schema and docs
// derived from it.
#include "common/policy.h"

#include "common/echo.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>
#include <cctype>

namespace pycell::policy {
namespace {

using nlohmann::json;

/// An invalid value; `key` (empty for a CLI value, whose flag the caller
/// names) says where it was found.
Error bad(std::string_view key, const std::string& message) {
  // Keys come from the client too ("env.<any name>"): quote them bounded.
  return Error(ErrorCode::kInvalidArgument, key.empty() ? message : echo(key) + ": " + message);
}

// --- Values as text ----------------------------------------------------------

Result<uint64_t> parse_uint(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Error(ErrorCode::kInvalidArgument, "'" + echo(text) + "' is not a non-negative integer");
  }
  return v;
}

// --- Field builders ------------------------------------------------------------

/// What every field states about itself.
struct Meta {
  std::string_view key, flag, value_name, unit, help;
  Kind kind = Kind::kSetting;
};

Field make(const Meta& m) {
  Field f;
  f.key = m.key;
  f.flag = m.flag;
  f.value_name = m.value_name;
  f.unit = m.unit;
  f.help = m.help;
  f.kind = m.kind;
  return f;
}

/// Replaces `to` with the JSON array `j` read element by element by `one`
/// (which returns the element or an error naming what is wrong); `to` is left
/// as it was on error. `what` names the elements for a non-array.
template <class T, class One>
Result<void> read_array(std::vector<T>& to, std::string_view key, std::string_view what, const json& j, One one) {
  if (!j.is_array()) return bad(key, "expected an array of " + std::string(what) + ", got " + echo_json(j));
  std::vector<T> out;
  for (const json& e : j) {
    Result<T> v = one(e);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  to = std::move(out);
  return Ok();
}

/// How a number is read and shown.
enum class Num { kPlain, kBytes, kZeroUnlimited };

/// An unsigned integer field. `at` is a generic lambda reaching the member of
/// a config: writable (creating its parent, e.g. the HTTP policy) or const
/// (reading defaults when there is no parent).
template <class At>
Field number(const Meta& m, Num num, At at) {
  using T = std::remove_cvref_t<decltype(at(std::declval<SessionConfig&>()))>;
  Field f = make(m);
  const std::string_view key = m.key;
  const Kind kind = m.kind;
  auto store = [kind, num, at](SessionConfig& c, std::string_view where, uint64_t v, Trust trust) -> Result<void> {
    if (v > std::numeric_limits<T>::max()) {
      return bad(where, std::to_string(v) + " is above the maximum " +
                          std::to_string(std::numeric_limits<T>::max()));
    }
    if (trust == Trust::kClient && kind == Kind::kLimit) {
      // 0 = unlimited is the loosest value there is, not the tightest.
      const uint64_t cur = at(std::as_const(c));
      const bool unlimited_cur = num == Num::kZeroUnlimited && cur == 0;
      const bool unlimited_new = num == Num::kZeroUnlimited && v == 0;
      if (!unlimited_cur && (unlimited_new || v > cur)) {
        return bad(where, (unlimited_new ? std::string("0 (unlimited)") : std::to_string(v)) +
                            " is above the server's limit of " + std::to_string(cur));
      }
    }
    at(c) = static_cast<T>(v);
    return Ok();
  };
  f.parse = [num, store](SessionConfig& c, std::string_view text, const HostEnv&) -> Result<void> {
    auto v = num == Num::kBytes ? parse_bytes(text) : parse_uint(text);
    if (!v) return v.error();
    return store(c, "", *v, Trust::kOperator);
  };
  f.from_json = [key, store](SessionConfig& c, const json& j, Trust trust) -> Result<void> {
    if (auto v = json_uint(j)) return store(c, key, *v, trust);
    return bad(key, "expected a non-negative integer, got " + echo_json(j));
  };
  f.to_json = [at](const SessionConfig& c) { return json(static_cast<uint64_t>(at(c))); };
  f.schema = {{"type", "integer"}, {"minimum", 0}, {"maximum", std::numeric_limits<T>::max()}};
  const SessionConfig defaults;
  const uint64_t d = at(defaults);
  f.default_text = num == Num::kBytes                  ? format_bytes(d)
                   : num == Num::kZeroUnlimited && !d ? "0 (unlimited)"
                                                      : std::to_string(d);
  return f;
}

HttpPolicy& http(SessionConfig& c) {
  if (!c.http) c.http.emplace();
  return *c.http;
}

const HttpPolicy& http(const SessionConfig& c) {
  static const HttpPolicy kDefault;
  return c.http ? *c.http : kDefault;
}

template <class T>
Field limit(Meta m, Num num, T Limits::*member) {
  m.kind = Kind::kLimit;
  return number(m, num, [member](auto& c) -> auto& { return c.limits.*member; });
}

template <class T>
Field http_limit(Meta m, Num num, T HttpPolicy::*member) {
  m.kind = Kind::kLimit;
  return number(m, num, [member](auto& c) -> auto& { return http(c).*member; });
}

template <class T>
Field determinism_number(const Meta& m, T Determinism::*member) {
  return number(m, Num::kPlain, [member](auto& c) -> auto& { return c.determinism.*member; });
}

/// A boolean; its flag (if any) takes no value and switches it on. `at` as
/// for number().
template <class At>
Field boolean(const Meta& m, At at) {
  Field f = make(m);
  const std::string_view key = m.key;
  f.parse = [at](SessionConfig& c, std::string_view, const HostEnv&) -> Result<void> {
    at(c) = true;
    return Ok();
  };
  f.from_json = [key, at](SessionConfig& c, const json& j, Trust) -> Result<void> {
    if (!j.is_boolean()) return bad(key, "expected true or false, got " + echo_json(j));
    at(c) = j.get<bool>();
    return Ok();
  };
  f.to_json = [at](const SessionConfig& c) { return json(at(c)); };
  f.schema = {{"type", "boolean"}};
  const SessionConfig defaults;
  f.default_text = at(defaults) ? "on" : "off";
  return f;
}

/// A list of strings in the HTTP policy; each CLI value adds one.
Field http_list(const Meta& m, std::vector<std::string> HttpPolicy::*member) {
  Field f = make(m);
  f.repeatable = true;
  const std::string_view key = m.key;
  f.parse = [member](SessionConfig& c, std::string_view v, const HostEnv&) -> Result<void> {
    if (v.empty()) return bad("", "empty value");
    (http(c).*member).emplace_back(v);
    return Ok();
  };
  f.from_json = [key, member](SessionConfig& c, const json& j, Trust) -> Result<void> {
    return read_array(http(c).*member, key, "strings", j, [key](const json& e) -> Result<std::string> {
      if (!e.is_string() || e.get_ref<const std::string&>().empty()) {
        return bad(key, "expected non-empty strings, got " + echo_json(e));
      }
      return e.get<std::string>();
    });
  };
  f.to_json = [member](const SessionConfig& c) { return json(http(c).*member); };
  f.schema = {{"type", "array"}, {"items", {{"type", "string"}}}};
  f.default_text = "none";
  return f;
}

// --- Fields with their own syntax ---------------------------------------------

/// What to_json shows instead of a secret (env values, secret header values).
constexpr const char* kRedacted = "<redacted>";

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

/// Sets NAME=VALUE in the guest environment; a later value for a name wins.
Result<void> set_env(SessionConfig& c, std::string_view key, std::string_view name, std::string_view value) {
  if (name.empty() || name.find('=') != std::string_view::npos || has_nul(name) || has_nul(value)) {
    return bad(key, "bad variable name or value '" + echo(name) + "'");
  }
  std::string entry = std::string(name) + "=" + std::string(value);
  auto same = [&](const std::string& e) { return e.size() > name.size() && e.compare(0, name.size() + 1, std::string(name) + "=") == 0; };
  auto it = std::find_if(c.env.begin(), c.env.end(), same);
  if (it != c.env.end()) *it = std::move(entry);
  else c.env.push_back(std::move(entry));
  return Ok();
}

Field env_field() {
  Field f = make({"env", "--env", "NAME=VALUE", "",
                  "Environment variable the guest sees; nothing of the host's is passed otherwise"});
  f.repeatable = true;
  f.parse = [](SessionConfig& c, std::string_view v, const HostEnv&) -> Result<void> {
    const size_t eq = v.find('=');
    if (eq == std::string_view::npos) return bad("", "expected NAME=VALUE, got '" + echo(v) + "'");
    return set_env(c, "", v.substr(0, eq), v.substr(eq + 1));
  };
  f.from_json = [](SessionConfig& c, const json& j, Trust) -> Result<void> {
    if (!j.is_object()) return bad("env", "expected an object of name: string, got " + echo_json(j));
    for (const auto& [name, value] : j.items()) {
      if (!value.is_string()) return bad("env." + name, "expected a string, got " + echo_json(value));
      if (auto r = set_env(c, "env", name, value.get_ref<const std::string&>()); !r) return r;
    }
    return Ok();
  };
  // Values are redacted wherever a config is reported (health, servers,
  // `pycell config`): --env and --pass-env are how API keys reach the guest.
  f.to_json = [](const SessionConfig& c) {
    json out = json::object();
    for (const std::string& e : c.env) out[e.substr(0, e.find('='))] = kRedacted;
    return out;
  };
  // set_env's rule: a name is non-empty without '=' or NUL, a value has no NUL.
  f.schema = {{"type", "object"},
              {"propertyNames", {{"pattern", R"(^[^=\x00]+$)"}}},
              {"additionalProperties", {{"type", "string"}, {"pattern", R"(^[^\x00]*$)"}}}};
  f.default_text = "none";
  return f;
}

Field pass_env_field() {
  Field f = make({"", "--pass-env", "NAME", "",
                  "Pass the host's variable NAME to the guest (an error if it is not set)"});
  f.repeatable = true;
  f.parse = [](SessionConfig& c, std::string_view name, const HostEnv& env) -> Result<void> {
    auto value = env ? env(name) : std::nullopt;
    if (!value) return bad("", "'" + echo(name) + "' is not set in the host environment");
    return set_env(c, "", name, *value);
  };
  f.default_text = "none";
  return f;
}

json mount_json(const Mount& m) {
  return {{"host_path", m.host_path},
          {"guest_path", m.guest_path},
          {"access", m.access == Mount::Access::kReadWrite ? "rw" : "ro"},
          {"package_path", m.package_path}};
}

Result<Mount> mount_from_json(const json& j) {
  if (!j.is_object()) return bad("mounts", "expected an object, got " + echo_json(j));
  Mount m;
  for (const auto& [k, v] : j.items()) {
    if (k == "host_path" || k == "guest_path") {
      if (!v.is_string()) return bad("mounts." + k, "expected a string, got " + echo_json(v));
      (k == "host_path" ? m.host_path : m.guest_path) = v.get<std::string>();
    } else if (k == "access") {
      if (v != "ro" && v != "rw") return bad("mounts.access", "expected \"ro\" or \"rw\", got " + echo_json(v));
      m.access = v == "rw" ? Mount::Access::kReadWrite : Mount::Access::kReadOnly;
    } else if (k == "package_path") {
      if (!v.is_boolean()) return bad("mounts.package_path", "expected true or false, got " + echo_json(v));
      m.package_path = v.get<bool>();
    } else {
      return bad("mounts", "unknown key '" + echo(k) + "' (known: host_path, guest_path, access, package_path)");
    }
  }
  if (m.host_path.empty() || m.guest_path.empty()) return bad("mounts", "host_path and guest_path are required");
  if (m.package_path && m.access == Mount::Access::kReadWrite) {
    return bad("mounts", "package_path needs a read-only mount");
  }
  return m;
}

Field mount_field() {
  Field f = make({"mounts", "--mount", "HOST:GUEST[:ro|rw|pkg]", "",
                  "Show host directory HOST at guest path GUEST: read-only (default), read-write, or "
                  "read-only on sys.path (pkg)",
                  Kind::kGrant});
  f.repeatable = true;
  f.parse = [](SessionConfig& c, std::string_view v, const HostEnv&) -> Result<void> {
    // Split from the right: the guest path and mode never contain ':', a host path may.
    Mount m;
    std::string_view rest = v;
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      const std::string_view mode = rest.substr(colon + 1);
      if (mode == "ro" || mode == "rw" || mode == "pkg") {
        m.access = mode == "rw" ? Mount::Access::kReadWrite : Mount::Access::kReadOnly;
        m.package_path = mode == "pkg";
        rest = rest.substr(0, colon);
        colon = rest.rfind(':');
      }
    }
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
      return bad("", "expected HOST:GUEST[:ro|rw|pkg], got '" + echo(v) + "'");
    }
    m.host_path = rest.substr(0, colon);
    m.guest_path = rest.substr(colon + 1);
    c.mounts.push_back(std::move(m));
    return Ok();
  };
  f.from_json = [](SessionConfig& c, const json& j, Trust) -> Result<void> {
    return read_array(c.mounts, "mounts", "mounts", j, mount_from_json);
  };
  f.to_json = [](const SessionConfig& c) {
    json out = json::array();
    for (const Mount& m : c.mounts) out.push_back(mount_json(m));
    return out;
  };
  f.schema = {{"type", "array"},
              {"items",
               {{"type", "object"},
                {"required", {"host_path", "guest_path"}},
                {"additionalProperties", false},
                {"properties",
                 {{"host_path", {{"type", "string"}}},
                  {"guest_path", {{"type", "string"}}},
                  {"access", {{"enum", {"ro", "rw"}}}},
                  {"package_path", {{"type", "boolean"}}}}}}}};
  f.default_text = "none";
  return f;
}

/// RFC 9110 token characters: anything else in a header name could smuggle
/// a second header or split the request.
bool is_token(std::string_view s) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || kExtra.find(ch) != std::string_view::npos;
  });
}

Result<HttpPolicy::SecretHeader> secret_header(std::string_view key, std::string host, std::string name,
                                               std::string value) {
  if (host.empty()) return bad(key, "empty host");
  if (!is_token(name)) return bad(key, "bad header name '" + echo(name) + "'");
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return bad(key, "header value contains a line break or NUL");
  }
  return HttpPolicy::SecretHeader{std::move(host), std::move(name), std::move(value)};
}

Field secret_header_field() {
  Field f = make({"http.secret_headers", "--secret-header", "HOST:NAME:VALUE", "",
                  "Header the host adds to https requests to HOST; the guest never sees it. VALUE @VAR "
                  "reads host variable VAR, keeping the secret out of argv",
                  Kind::kGrant});
  f.repeatable = true;
  f.parse = [](SessionConfig& c, std::string_view v, const HostEnv& env) -> Result<void> {
    const size_t a = v.find(':');
    const size_t b = a == std::string_view::npos ? a : v.find(':', a + 1);
    if (b == std::string_view::npos) {
      return bad("", "expected HOST:NAME:VALUE or HOST:NAME:@VAR, got '" +
                                        std::string(v.substr(0, std::min<size_t>(v.size(), 40))) + "'");
    }
    std::string value(v.substr(b + 1));
    if (!value.empty() && value[0] == '@') {
      auto from_env = env ? env(std::string_view(value).substr(1)) : std::nullopt;
      if (!from_env) return bad("", "'" + value.substr(1) + "' is not set in the host environment");
      value = std::move(*from_env);
    }
    auto h = secret_header("", std::string(v.substr(0, a)), std::string(v.substr(a + 1, b - a - 1)),
                           std::move(value));
    if (!h) return h.error();
    http(c).secret_headers.push_back(std::move(*h));
    return Ok();
  };
  f.from_json = [](SessionConfig& c, const json& j, Trust) -> Result<void> {
    constexpr std::string_view key = "http.secret_headers";
    auto one = [key](const json& e) -> Result<HttpPolicy::SecretHeader> {
      if (!e.is_object() || e.size() != 3 || !e.contains("host") || !e.contains("name") || !e.contains("value") ||
          !e["host"].is_string() || !e["name"].is_string() || !e["value"].is_string()) {
        return bad(key, "expected {\"host\": string, \"name\": string, \"value\": string}");
      }
      return secret_header(key, e["host"].get<std::string>(), e["name"].get<std::string>(),
                           e["value"].get<std::string>());
    };
    return read_array(http(c).secret_headers, key, "{host, name, value}", j, one);
  };
  f.to_json = [](const SessionConfig& c) {
    json out = json::array();
    for (const auto& h : http(c).secret_headers) out.push_back({{"host", h.host}, {"name", h.name}, {"value", kRedacted}});
    return out;
  };
  f.schema = {{"type", "array"},
              {"items",
               {{"type", "object"},
                {"required", {"host", "name", "value"}},
                {"additionalProperties", false},
                {"properties", {{"host", {{"type", "string"}}}, {"name", {{"type", "string"}}}, {"value", {{"type", "string"}}}}}}}};
  f.default_text = "none";
  return f;
}

// --- The table ----------------------------------------------------------------

std::vector<Field> build() {
  std::vector<Field> t;
  // Limits: one per field of pycell::Limits (tests/cli checks none is missing).
  t.push_back(limit({"limits.memory_bytes", "--memory-bytes", "BYTES", "bytes",
                     "Cap on guest memory; past it Python raises MemoryError"},
                    Num::kBytes, &Limits::memory_bytes));
  t.push_back(limit({"limits.fuel", "--fuel", "N", "fuel units",
                     "CPU budget per run (~1 unit per bytecode, deterministic); 0 = unlimited"},
                    Num::kZeroUnlimited, &Limits::fuel));
  t.push_back(limit({"limits.timeout_ms", "--timeout-ms", "MS", "ms",
                     "Wall-clock limit per run: TimeoutError in Python, state kept; 0 = none"},
                    Num::kZeroUnlimited, &Limits::timeout_ms));
  t.push_back(limit({"limits.grace_ms", "--grace-ms", "MS", "ms",
                     "Time allowed after the timeout before the hard stop (the session rolls back)"},
                    Num::kPlain, &Limits::grace_ms));
  t.push_back(limit({"limits.output_bytes", "--output-bytes", "BYTES", "bytes",
                     "Cap on captured stdout and on stderr, each; the rest is dropped with a marker"},
                    Num::kBytes, &Limits::output_bytes));
  t.push_back(limit({"limits.native_stack_bytes", "--native-stack-bytes", "BYTES", "bytes",
                     "Native stack for guest code (min 512 KiB); running out is a stack_exhausted trap"},
                    Num::kBytes, &Limits::native_stack_bytes));
  t.push_back(limit({"limits.tmp_bytes", "--tmp-bytes", "BYTES", "bytes",
                     "Bytes the private /tmp may hold (host RAM); past it writes fail with ENOSPC"},
                    Num::kBytes, &Limits::tmp_bytes));
  t.push_back(limit({"limits.tmp_files", "--tmp-files", "N", "files",
                     "Files and directories /tmp may hold; past it creation fails with EDQUOT"},
                    Num::kPlain, &Limits::tmp_files));
  t.push_back(limit({"limits.tmp_depth", "--tmp-depth", "N", "levels",
                     "Directory nesting in /tmp; deeper creation fails with ENAMETOOLONG"},
                    Num::kPlain, &Limits::tmp_depth));
  t.push_back(limit({"limits.mount_write_bytes", "--mount-write-bytes", "BYTES", "bytes",
                     "Bytes the guest may write to read-write mounts per session; then EDQUOT"},
                    Num::kBytes, &Limits::mount_write_bytes));
  t.push_back(limit({"limits.host_fds", "--host-fds", "N", "fds",
                     "Host fds open mount files may hold (1 per reader, 2 per writer); then EMFILE"},
                    Num::kPlain, &Limits::host_fds));
  t.push_back(limit({"limits.host_call_bytes", "--host-call-bytes", "BYTES", "bytes",
                     "Cap on the JSON arguments of one host function call (ValueError past it)"},
                    Num::kBytes, &Limits::host_call_bytes));
  t.push_back(limit({"limits.host_result_bytes", "--host-result-bytes", "BYTES", "bytes",
                     "Cap on one host function's JSON result"},
                    Num::kBytes, &Limits::host_result_bytes));
  // Capabilities: nothing is granted unless listed.
  t.push_back(env_field());
  t.push_back(pass_env_field());
  t.push_back(mount_field());
  t.push_back(http_list({"http.allow_hosts", "--allow-host", "HOST", "",
                         "Host the guest may reach over HTTP(S) through the host: exact, or *.example.com",
                         Kind::kGrant},
                        &HttpPolicy::allow_hosts));
  t.push_back(http_list({"http.allow_cidrs", "--allow-cidr", "CIDR", "",
                         "Non-public addresses (loopback, private, link-local) allowed anyway, e.g. 10.0.0.0/8",
                         Kind::kGrant},
                        &HttpPolicy::allow_cidrs));
  t.push_back(secret_header_field());
  t.push_back(http_limit({"http.max_response_bytes", "--http-max-response-bytes", "BYTES", "bytes",
                           "Cap on one HTTP response body"},
                          Num::kBytes, &HttpPolicy::max_response_bytes));
  t.push_back(http_limit({"http.max_request_bytes", "--http-max-request-bytes", "BYTES", "bytes",
                           "Cap on one HTTP request body"},
                          Num::kBytes, &HttpPolicy::max_request_bytes));
  t.push_back(http_limit({"http.timeout_ms", "--http-timeout-ms", "MS", "ms",
                           "Per-request time limit (never past the run's deadline)"},
                          Num::kPlain, &HttpPolicy::timeout_ms));
  t.push_back(http_limit({"http.max_redirects", "--http-max-redirects", "N", "redirects",
                           "Redirects followed per request (each one checked against the allowlist)"},
                          Num::kPlain, &HttpPolicy::max_redirects));
  t.push_back(boolean({"determinism.enabled", "--deterministic", "", "",
                       "Reproducible runs: seeded randomness, a clock driven by fuel"},
                      [](auto& c) -> auto& { return c.determinism.enabled; }));
  t.push_back(determinism_number({"determinism.seed", "--seed", "N", "", "Seed of os.urandom and random (with --deterministic)"},
                                 &Determinism::seed));
  t.push_back(determinism_number({"determinism.start_time_ns", "--start-time-ns", "NS", "ns since the epoch",
                                  "Guest clock start (with --deterministic); default 2024-01-01T00:00:00Z"},
                                 &Determinism::start_time_ns));
  t.push_back(determinism_number({"determinism.ns_per_fuel", "--ns-per-fuel", "NS", "ns",
                                  "Guest clock advance per fuel unit consumed (with --deterministic)"},
                                 &Determinism::ns_per_fuel));
  // Host functions are C++/Python callables, not data: only their binding is.
  t.push_back(boolean({"functions_as_globals", "", "", "", "Also bind each host function as a global of __main__"},
                      [](auto& c) -> auto& { return c.functions_as_globals; }));
  t.push_back(boolean({"protect_functions", "", "", "", "Guest code cannot rebind or delete those globals"},
                      [](auto& c) -> auto& { return c.protect_functions; }));
  return t;
}

const std::map<std::string_view, const Field*>& by_key() {
  static const auto* m = [] {
    auto* out = new std::map<std::string_view, const Field*>;
    for (const Field& f : fields()) {
      if (!f.key.empty()) (*out)[f.key] = &f;
    }
    return out;
  }();
  return *m;
}

constexpr std::string_view kGroups[] = {"limits", "http", "determinism"};

bool is_group(std::string_view name) {
  return std::find(std::begin(kGroups), std::end(kGroups), name) != std::end(kGroups);
}

/// The keys directly under `group` ("" for the top level), for error messages.
std::string known_keys(std::string_view group) {
  std::set<std::string_view> names;
  for (const auto& [key, f] : by_key()) {
    const size_t dot = key.find('.');
    if (group.empty()) names.insert(key.substr(0, dot));
    else if (dot != std::string_view::npos && key.substr(0, dot) == group) names.insert(key.substr(dot + 1));
  }
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

Result<void> apply_field(SessionConfig& c, const std::string& key, const json& value, Trust trust) {
  auto it = by_key().find(key);
  if (it == by_key().end()) {
    const size_t dot = key.find('.');
    const std::string group = dot == std::string::npos ? "" : key.substr(0, dot);
    return bad(key, "unknown key (known" + (group.empty() ? std::string() : " in " + group) + ": " +
                        known_keys(group) + ")");
  }
  const Field& f = *it->second;
  if (trust == Trust::kClient && f.kind == Kind::kGrant) {
    return bad(key, "grants host access and can only be set by the server's operator");
  }
  return f.from_json(c, value, trust);
}

std::string markdown_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace

std::optional<uint64_t> json_uint(const json& j) {
  if (j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0)) return j.get<uint64_t>();
  constexpr double kTwoTo64 = 18446744073709551616.0;
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (d >= 0 && d < kTwoTo64 && std::floor(d) == d) return static_cast<uint64_t>(d);
  }
  return std::nullopt;
}

Result<uint64_t> parse_bytes(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  auto n = parse_uint(text.substr(0, digits));
  if (!n) return n.error();
  std::string_view suffix = text.substr(digits);
  if (suffix.ends_with("iB")) suffix.remove_suffix(2);
  else if (suffix.size() == 2 && suffix.ends_with("B")) suffix.remove_suffix(1);
  int shift = 0;
  if (suffix == "K") shift = 10;
  else if (suffix == "M") shift = 20;
  else if (suffix == "G") shift = 30;
  else if (suffix == "T") shift = 40;
  else if (!suffix.empty() && suffix != "B") {
    return Error(ErrorCode::kInvalidArgument,
                 "'" + echo(text) + "' is not a byte count (digits, optionally with K, M, G or T)");
  }
  if (*n > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return Error(ErrorCode::kInvalidArgument, "'" + echo(text) + "' is too large");
  }
  return *n << shift;
}

std::string format_bytes(uint64_t bytes) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {1ull << 40, "TiB"}, {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
  for (auto [size, name] : kUnits) {
    if (bytes != 0 && bytes % size == 0) return std::to_string(bytes / size) + " " + name;
  }
  return std::to_string(bytes) + " bytes";
}

const std::vector<Field>& fields() {
  static const std::vector<Field> kFields = build();
  return kFields;
}

Result<void> apply_json(SessionConfig& config, const json& j, Trust trust) {
  if (!j.is_object()) {
    return Error(ErrorCode::kInvalidArgument, "session config: expected a JSON object, got " + echo_json(j));
  }
  for (const auto& [key, value] : j.items()) {
    if (key == "http" && value.is_null()) {
      config.http.reset();  // revoking is allowed to anyone
      continue;
    }
    if (!is_group(key)) {
      if (auto r = apply_field(config, key, value, trust); !r) return r;
      continue;
    }
    if (!value.is_object()) return bad(key, "expected an object, got " + echo_json(value));
    if (key == "http" && !config.http) {
      if (trust == Trust::kClient) return bad(key, "the server grants no HTTP access");
      config.http.emplace();  // "http": {} grants the module with nothing allowed
    }
    for (const auto& [sub, v] : value.items()) {
      if (auto r = apply_field(config, key + "." + sub, v, trust); !r) return r;
    }
  }
  return validate(config);
}

json to_json(const SessionConfig& config) {
  json out = json::object();
  for (const Field& f : fields()) {
    if (f.key.empty()) continue;
    if (f.key.starts_with("http.") && !config.http) continue;
    std::string pointer = "/" + std::string(f.key);
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    out[json::json_pointer(pointer)] = f.to_json(config);
  }
  if (!config.http) out["http"] = nullptr;
  return out;
}

namespace {

/// The client bounds of limit `f` on a server configured as `server`, read off
/// f.from_json itself so the schema cannot drift from the check apply_json
/// makes: the maximum is the server's value unless that is unlimited, and 0
/// is refused where it would mean unlimited.
void client_bounds(const Field& f, const SessionConfig& server, json& schema) {
  const uint64_t cur = f.to_json(server).get<uint64_t>();
  auto accepted = [&](uint64_t v) {
    SessionConfig probe = server;
    return f.from_json(probe, json(v), Trust::kClient).has_value();
  };
  if (cur < schema["maximum"].get<uint64_t>() && !accepted(cur + 1)) schema["maximum"] = cur;
  if (!accepted(0)) schema["minimum"] = 1;
}

/// validate()'s rule as JSON Schema for the "determinism" object a client
/// sends on top of `server`: seed, start_time_ns and ns_per_fuel other than
/// their defaults need determinism enabled. (anyOf rather than if/then: the
/// same rule, and test generators handle it better.)
json determinism_rule(const Determinism& server) {
  const Determinism d;
  const std::pair<const char*, uint64_t> knobs[] = {
      {"seed", d.seed}, {"start_time_ns", d.start_time_ns}, {"ns_per_fuel", d.ns_per_fuel}};
  const uint64_t current[] = {server.seed, server.start_time_ns, server.ns_per_fuel};
  json at_defaults = json::object(), changed = json::array();
  for (size_t i = 0; i < std::size(knobs); ++i) {
    at_defaults[knobs[i].first] = {{"const", knobs[i].second}};
    if (current[i] != knobs[i].second) changed.push_back(knobs[i].first);
  }
  // Either determinism ends up enabled, or every value ends up at its default
  // (those the server changed must then be sent back to it).
  json enabled = server.enabled ? json{{"properties", {{"enabled", {{"const", true}}}}}}
                                : json{{"required", {"enabled"}}, {"properties", {{"enabled", {{"const", true}}}}}};
  return {{"anyOf", {enabled, {{"required", changed}, {"properties", at_defaults}}}}};
}

}  // namespace

json json_schema(Trust trust, const SessionConfig& server) {
  auto object = [] { return json{{"type", "object"}, {"additionalProperties", false}, {"properties", json::object()}}; };
  json root = object();
  root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  const bool client = trust == Trust::kClient;
  for (const Field& f : fields()) {
    if (f.key.empty() || (client && f.kind == Kind::kGrant)) continue;
    json s = f.schema;
    std::string description(f.help);
    if (!f.unit.empty()) description += " (" + std::string(f.unit) + ")";
    description += ". Default: " + f.default_text + ".";
    if (client && f.kind == Kind::kLimit) {
      description += " May only be lowered: the maximum is this server's value.";
      client_bounds(f, server, s);
    }
    s["description"] = description;
    const size_t dot = f.key.find('.');
    if (dot == std::string_view::npos) {
      root["properties"][std::string(f.key)] = s;
      continue;
    }
    json& group = root["properties"][std::string(f.key.substr(0, dot))];
    if (group.is_null()) group = object();
    group["properties"][std::string(f.key.substr(dot + 1))] = s;
  }
  json& props = root["properties"];
  if (client) props["determinism"].update(determinism_rule(server.determinism));
  if (props.contains("http")) {
    if (client && !server.http) {
      // apply_json refuses any "http" object then; null (no HTTP) is a no-op.
      props["http"] = {{"type", "null"}, {"description", "This server grants no HTTP access: only null is accepted."}};
    } else {
      props["http"]["type"] = {"object", "null"};
    }
  }
  return root;
}

Result<void> validate(const SessionConfig& config) {
  const Determinism d = config.determinism, defaults;
  if (!d.enabled && (d.seed != defaults.seed || d.start_time_ns != defaults.start_time_ns ||
                     d.ns_per_fuel != defaults.ns_per_fuel)) {
    return Error(ErrorCode::kInvalidArgument,
                 "determinism: seed, start_time_ns and ns_per_fuel need determinism.enabled (--deterministic)");
  }
  return Ok();
}

std::string markdown_table() {
  std::ostringstream out;
  out << "| flag | JSON key | default | meaning |\n|---|---|---|---|\n";
  for (const Field& f : fields()) {
    std::string flag = f.flag.empty() ? "—" : "`" + std::string(f.flag) +
                                                 (f.value_name.empty() ? "" : " " + std::string(f.value_name)) + "`";
    if (f.repeatable && !f.flag.empty()) flag += " (repeatable)";
    const std::string key = f.key.empty() ? "— (CLI only)" : "`" + std::string(f.key) + "`";
    std::string meaning = markdown_escape(f.help);
    if (f.kind == Kind::kGrant) meaning += " **(grant)**";
    out << "| " << markdown_escape(flag) << " | " << key << " | " << f.default_text << " | " << meaning << " |\n";
  }
  return out.str();
}

}  // namespace pycell::policy
