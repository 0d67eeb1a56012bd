// Session settings from Python keyword arguments, derived from the one policy
// schema that the CLI and the servers use too (common/policy.h):
//   * each field "limits.X" is the keyword X        (timeout_ms=2000, fuel=10**6)
//   * each other top-level key K is the keyword K   (env={...}, mounts=[...],
//     http={...}, determinism={...}, functions_as_globals=True)
//   * two conveniences: memory_mb (limits.memory_bytes in MiB) and allow_hosts
//     (http.allow_hosts), and mounts may be (host, guest[, "ro"|"rw"|"pkg"]) tuples.
// A field added to the schema is a keyword here without a change in this file.
#include "config.h"

#include <set>
#include <utility>

#include <nlohmann/json.hpp>
#include <pybind11/pybind11.h>

#include "common/policy.h"
#include "errors.h"
#include "pycell/json.h"

namespace py = pybind11;
using nlohmann::json;

namespace pycell_py {
namespace {

constexpr std::string_view kLimitsPrefix = "limits.";

bool is_limit(const std::string& keyword) {
  for (const auto& f : pycell::policy::fields()) {
    if (f.key.starts_with(kLimitsPrefix) && f.key.substr(kLimitsPrefix.size()) == keyword) return true;
  }
  return false;
}

// Top-level JSON keys of the schema other than "limits" (env, mounts, http, ...).
std::set<std::string> top_level_keys() {
  std::set<std::string> keys;
  for (const auto& f : pycell::policy::fields()) {
    if (f.key.empty()) continue;  // CLI-only
    const std::string top(f.key.substr(0, f.key.find('.')));
    if (top != "limits") keys.insert(top);
  }
  return keys;
}

[[noreturn]] void invalid(std::string message) {
  raise(pycell::Error(pycell::ErrorCode::kInvalidArgument, std::move(message)));
}

// (host, guest[, access]) -> {"host_path", "guest_path", "access", "package_path"}; dicts pass through.
json mounts_json(const json& mounts) {
  if (!mounts.is_array()) return mounts;  // apply_json names the error
  json out = json::array();
  for (const auto& m : mounts) {
    if (!m.is_array()) {
      out.push_back(m);
      continue;
    }
    if (m.size() < 2 || m.size() > 3) invalid("mounts: a tuple is (host_path, guest_path[, \"ro\"|\"rw\"|\"pkg\"])");
    json mount = {{"host_path", m[0]}, {"guest_path", m[1]}};
    if (m.size() == 3 && m[2] == "pkg") {
      mount["access"] = "ro";
      mount["package_path"] = true;
    } else if (m.size() == 3) {
      mount["access"] = m[2];
    }
    out.push_back(std::move(mount));
  }
  return out;
}

void merge_group(json& doc, const std::string& group, const json& value) {
  if (!value.is_object()) throw py::type_error("keyword '" + group + "' must be a dict");
  for (const auto& [k, v] : value.items()) doc[group][k] = v;
}

}  // namespace

void apply_config(std::string_view kwargs_json, pycell::SessionConfig& config) {
  // Depth-capped like every JSON pycell did not write: mounts_json and
  // apply_json copy and recurse, and a settings dict can nest arbitrarily.
  std::string why;
  const auto parsed = pycell::parse_json(kwargs_json, &why);
  if (!parsed) invalid("session settings: " + why);
  const json& kwargs = *parsed;
  if (!kwargs.is_object()) throw py::type_error("session settings must be keyword arguments");
  const std::set<std::string> top = top_level_keys();
  json doc = json::object();
  for (const auto& [key, value] : kwargs.items()) {
    if (key == "memory_mb") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() >= (1ull << 44)) {
        invalid("memory_mb: expected a non-negative int below 2**44");
      }
      doc["limits"]["memory_bytes"] = value.get<uint64_t>() << 20;
    } else if (key == "allow_hosts") {
      doc["http"]["allow_hosts"] = value;
    } else if (is_limit(key)) {
      doc["limits"][key] = value;
    } else if (key == "http" || key == "determinism") {
      merge_group(doc, key, value);
    } else if (key == "mounts") {
      doc["mounts"] = mounts_json(value);
    } else if (top.contains(key)) {
      doc[key] = value;
    } else {
      throw py::type_error("unexpected keyword argument '" + key + "'");
    }
  }
  if (auto r = pycell::policy::apply_json(config, doc, pycell::policy::Trust::kOperator); !r) {
    invalid(r.error().message());
  }
}

std::vector<std::pair<std::string, std::string>> config_keywords() {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> groups;
  for (const auto& f : pycell::policy::fields()) {
    if (f.key.empty()) continue;
    const std::string key(f.key);
    const std::string help = std::string(f.help) + (f.unit.empty() ? "" : " (" + std::string(f.unit) + ")") +
                             ". Default: " + f.default_text + ".";
    if (key.starts_with(kLimitsPrefix)) {
      out.emplace_back(key.substr(kLimitsPrefix.size()), help);
      if (key == "limits.memory_bytes") out.emplace_back("memory_mb", "memory_bytes in MiB.");
    } else if (const size_t dot = key.find('.'); dot != std::string::npos) {
      const std::string group = key.substr(0, dot);
      if (groups.insert(group).second) out.emplace_back(group, "dict of the " + group + " fields below.");
      out.emplace_back(key, help);
      if (key == "http.allow_hosts") out.emplace_back("allow_hosts", "http.allow_hosts.");
    } else {
      out.emplace_back(key, help);
    }
  }
  return out;
}

}  // namespace pycell_py
