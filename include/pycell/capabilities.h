// Capabilities: the slices of power a host may grant a session. A session
// starts with none of them: the stdlib (read-only) and a private /tmp only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pycell/error.h"

namespace pycell {

/// A host directory made visible inside the guest.
struct Mount {
  enum class Access { kReadOnly, kReadWrite };
  /// An existing host directory. Resolution never leaves it: "..", absolute
  /// symlinks and symlinks pointing outside it are refused by the kernel
  /// (openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS).
  std::string host_path;
  /// Absolute guest path, e.g. "/data". Not "/", not under /tmp or /usr, and
  /// not inside another mount.
  std::string guest_path;
  Access access = Access::kReadOnly;
  /// Read-only mounts only: add guest_path to sys.path, so pure-Python
  /// packages (and unpacked wheels) in the directory import normally.
  bool package_path = false;
};

/// What a host function receives on each call.
struct HostCall {
  std::string_view name;
  /// The arguments as a JSON object, already checked against the schema.
  std::string_view args_json;
  /// The run's wall-clock deadline (time point max if it has none): time
  /// spent here counts toward it, so a slow callback should give up by then.
  std::chrono::steady_clock::time_point deadline;
};

/// Returns the result as JSON text (any JSON value), or an Error: the guest
/// sees pycell_host.HostError with a sanitized message (host paths and
/// control characters removed, length capped).
using HostCallback = std::function<Result<std::string>(const HostCall& call)>;

/// A function the guest may call: a "tool".
struct HostFunction {
  /// A Python identifier not starting with '_'.
  std::string name;
  /// Becomes the Python docstring.
  std::string description;
  /// JSON Schema of the arguments: an object schema whose properties become
  /// the Python parameters (required ones first, others default to None).
  /// Supported keywords: type, properties, required, items, enum,
  /// additionalProperties, description, default.
  std::string parameters = R"({"type":"object","properties":{}})";
  HostCallback callback;
};

/// Host-mediated HTTP(S). Without it, the guest has no network at all.
struct HttpPolicy {
  /// Host names the guest may request: exact ("api.example.com") or a
  /// subdomain wildcard ("*.example.com"). An IP literal may be listed too.
  std::vector<std::string> allow_hosts;
  /// Addresses that are allowed even though they are loopback, private,
  /// link-local (cloud metadata) or otherwise non-public, in CIDR form
  /// ("127.0.0.1/32", "10.0.0.0/8"). Checked after DNS resolution, on every
  /// connection, redirects included.
  std::vector<std::string> allow_cidrs;
  /// Headers the host adds to requests for `host` (exact match); the guest
  /// never sees their values, and cannot override them. Such requests must
  /// use https (plain http only to a loopback address), so the secret never
  /// crosses a network in clear; otherwise they are refused.
  struct SecretHeader {
    std::string host, name, value;
  };
  std::vector<SecretHeader> secret_headers;
  uint64_t max_response_bytes = 10ull << 20;
  uint64_t max_request_bytes = 10ull << 20;
  /// Per request, and never past the run's deadline.
  uint64_t timeout_ms = 30'000;
  uint32_t max_redirects = 5;
};

/// Reproducible runs: the same code and inputs give the same outputs.
struct Determinism {
  bool enabled = false;
  /// Seeds os.urandom / WASI random_get (and so `random`, `uuid`, ...).
  uint64_t seed = 0;
  /// The guest clock starts here (ns since the epoch; default 2024-01-01T00:00:00Z)
  /// and advances only with consumed fuel, and by the length of each sleep.
  uint64_t start_time_ns = 1'704'067'200'000'000'000ull;
  uint64_t ns_per_fuel = 50;
};

}  // namespace pycell
