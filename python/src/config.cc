// Session settings from the Python keyword arguments: one table, one row per keyword.
//
// TODO(policy): when src/frontends/common/policy.h (the schema shared by the
// CLI, MCP and HTTP front ends) lands, replace this table with its
// apply_json(SessionConfig&, json) so the Python keywords cannot drift from
// the other front ends.
#include "config.h"

#include <cstdint>
#include <functional>
#include <utility>

#include <nlohmann/json.hpp>
#include <pybind11/pybind11.h>

namespace py = pybind11;
using nlohmann::json;

namespace pycell_py {
namespace {

// pybind11 code: a bad keyword is a Python exception, thrown from here.
[[noreturn]] void type_error(const std::string& key, const char* expected) {
  throw py::type_error("keyword '" + key + "' must be " + expected);
}

uint64_t as_uint(const std::string& key, const json& v) {
  if (!v.is_number_unsigned()) type_error(key, "a non-negative int");
  return v.get<uint64_t>();
}

bool as_bool(const std::string& key, const json& v) {
  if (!v.is_boolean()) type_error(key, "a bool");
  return v.get<bool>();
}

std::string as_string(const std::string& key, const json& v) {
  if (!v.is_string()) type_error(key, "a str");
  return v.get<std::string>();
}

std::vector<std::string> as_strings(const std::string& key, const json& v) {
  if (!v.is_array()) type_error(key, "a list of str");
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(as_string(key, e));
  return out;
}

// env={"NAME": "value"} (or a list of "NAME=value").
std::vector<std::string> parse_env(const json& v) {
  if (v.is_array()) return as_strings("env", v);
  if (!v.is_object()) type_error("env", "a dict of str to str");
  std::vector<std::string> out;
  for (const auto& [name, value] : v.items()) {
    if (name.empty() || name.find('=') != std::string::npos) {
      throw py::value_error("env: bad variable name '" + name + "'");
    }
    out.push_back(name + "=" + as_string("env", value));
  }
  return out;
}

pycell::Mount::Access parse_access(const json& v) {
  const std::string a = as_string("mounts", v);
  if (a == "ro") return pycell::Mount::Access::kReadOnly;
  if (a == "rw") return pycell::Mount::Access::kReadWrite;
  throw py::value_error("mounts: access must be \"ro\" or \"rw\", not \"" + a + "\"");
}

// mounts=[("/host", "/data", "ro"), {"host": ..., "guest": ..., "access": "rw", "package_path": False}]
std::vector<pycell::Mount> parse_mounts(const json& v) {
  constexpr const char* kShape = "a list of (host_path, guest_path[, \"ro\"|\"rw\"]) tuples or dicts";
  if (!v.is_array()) type_error("mounts", kShape);
  std::vector<pycell::Mount> out;
  for (const auto& m : v) {
    pycell::Mount mount;
    if (m.is_array() && (m.size() == 2 || m.size() == 3)) {
      mount.host_path = as_string("mounts", m[0]);
      mount.guest_path = as_string("mounts", m[1]);
      if (m.size() == 3) mount.access = parse_access(m[2]);
    } else if (m.is_object()) {
      for (const auto& [k, e] : m.items()) {
        if (k == "host") mount.host_path = as_string("mounts", e);
        else if (k == "guest") mount.guest_path = as_string("mounts", e);
        else if (k == "access") mount.access = parse_access(e);
        else if (k == "package_path") mount.package_path = as_bool("mounts", e);
        else throw py::type_error("mounts: unknown field '" + k + "' (host, guest, access, package_path)");
      }
    } else {
      type_error("mounts", kShape);
    }
    out.push_back(std::move(mount));
  }
  return out;
}

std::vector<pycell::HttpPolicy::SecretHeader> parse_secret_headers(const json& v) {
  constexpr const char* kShape = "a list of {\"host\", \"name\", \"value\"} dicts";
  if (!v.is_array()) type_error("secret_headers", kShape);
  std::vector<pycell::HttpPolicy::SecretHeader> out;
  for (const auto& h : v) {
    if (!h.is_object() || h.size() != 3 || !h.contains("host") || !h.contains("name") || !h.contains("value")) {
      type_error("secret_headers", kShape);
    }
    out.push_back({as_string("secret_headers", h["host"]), as_string("secret_headers", h["name"]),
                   as_string("secret_headers", h["value"])});
  }
  return out;
}

// Any HTTP keyword grants host-mediated HTTP; without one the guest has no network.
pycell::HttpPolicy& http(pycell::SessionConfig& c) {
  if (!c.http) c.http.emplace();
  return *c.http;
}

using Apply = std::function<void(pycell::SessionConfig&, const std::string& key, const json& value)>;
struct Keyword {
  const char* name;
  Apply apply;
};

template <class T>
Keyword limit(const char* name, T pycell::Limits::*field) {
  return {name, [field](pycell::SessionConfig& c, const std::string& k, const json& v) {
            c.limits.*field = static_cast<T>(as_uint(k, v));
          }};
}

// Names follow limits.h and capabilities.h; memory_mb is the one convenience.
const std::vector<Keyword>& keywords() {
  using C = pycell::SessionConfig;
  using K = const std::string&;
  using J = const json&;
  static const std::vector<Keyword> table = {
      limit("memory_bytes", &pycell::Limits::memory_bytes),
      {"memory_mb", [](C& c, K k, J v) { c.limits.memory_bytes = as_uint(k, v) << 20; }},
      limit("fuel", &pycell::Limits::fuel),
      limit("timeout_ms", &pycell::Limits::timeout_ms),
      limit("grace_ms", &pycell::Limits::grace_ms),
      limit("output_bytes", &pycell::Limits::output_bytes),
      limit("native_stack_bytes", &pycell::Limits::native_stack_bytes),
      limit("tmp_bytes", &pycell::Limits::tmp_bytes),
      limit("tmp_files", &pycell::Limits::tmp_files),
      limit("tmp_depth", &pycell::Limits::tmp_depth),
      limit("mount_write_bytes", &pycell::Limits::mount_write_bytes),
      limit("host_call_bytes", &pycell::Limits::host_call_bytes),
      limit("host_result_bytes", &pycell::Limits::host_result_bytes),
      {"env", [](C& c, K, J v) { c.env = parse_env(v); }},
      {"mounts", [](C& c, K, J v) { c.mounts = parse_mounts(v); }},
      {"functions_as_globals", [](C& c, K k, J v) { c.functions_as_globals = as_bool(k, v); }},
      {"protect_functions", [](C& c, K k, J v) { c.protect_functions = as_bool(k, v); }},
      {"allow_hosts", [](C& c, K k, J v) { http(c).allow_hosts = as_strings(k, v); }},
      {"allow_cidrs", [](C& c, K k, J v) { http(c).allow_cidrs = as_strings(k, v); }},
      {"secret_headers", [](C& c, K, J v) { http(c).secret_headers = parse_secret_headers(v); }},
      {"http_max_response_bytes", [](C& c, K k, J v) { http(c).max_response_bytes = as_uint(k, v); }},
      {"http_max_request_bytes", [](C& c, K k, J v) { http(c).max_request_bytes = as_uint(k, v); }},
      {"http_timeout_ms", [](C& c, K k, J v) { http(c).timeout_ms = as_uint(k, v); }},
      {"http_max_redirects",
       [](C& c, K k, J v) { http(c).max_redirects = static_cast<uint32_t>(as_uint(k, v)); }},
      {"deterministic", [](C& c, K k, J v) { c.determinism.enabled = as_bool(k, v); }},
      {"seed", [](C& c, K k, J v) { c.determinism.seed = as_uint(k, v); }},
      {"start_time_ns", [](C& c, K k, J v) { c.determinism.start_time_ns = as_uint(k, v); }},
      {"ns_per_fuel", [](C& c, K k, J v) { c.determinism.ns_per_fuel = as_uint(k, v); }},
  };
  return table;
}

}  // namespace

void apply_config(std::string_view json_object, pycell::SessionConfig& config) {
  const json doc = json::parse(json_object, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw py::type_error("session settings must be keyword arguments");
  for (const auto& [key, value] : doc.items()) {
    const Keyword* kw = nullptr;
    for (const auto& k : keywords()) {
      if (key == k.name) kw = &k;
    }
    if (!kw) throw py::type_error("unexpected keyword argument '" + key + "'");
    kw->apply(config, key, value);
  }
}

std::vector<std::string> config_keywords() {
  std::vector<std::string> names;
  for (const auto& k : keywords()) names.emplace_back(k.name);
  return names;
}

}  // namespace pycell_py
