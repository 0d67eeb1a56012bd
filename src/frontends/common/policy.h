// The one schema of every session knob: each field of Limits and of the
// capability policy in SessionConfig, defined once. CLI flags, the servers'
// JSON (and its JSON Schema) and the docs table all derive from this table,
// so they cannot drift. Uses only the public API (include/pycell/).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pycell/error.h"
#include "pycell/session.h"

namespace pycell::policy {

/// Who may set a field through JSON (see Trust).
enum class Kind {
  kLimit,    ///< a resource bound: an untrusted client may only lower it
  kGrant,    ///< hands the guest host authority (files, network): operator only
  kSetting,  ///< affects only the guest's own view: anyone may set it
};

/// Whose JSON apply_json is reading.
enum class Trust {
  kOperator,  ///< the person running pycell: every field, any value
  /// A remote client of a server: grants are refused and limits may only be
  /// lowered below the operator's (0 = unlimited counts as infinity).
  kClient,
};

/// Reads a host environment variable for the CLI (--pass-env, secret header
/// values given as @NAME); nullopt if unset. Servers never parse CLI values.
using HostEnv = std::function<std::optional<std::string>(std::string_view name)>;

/// One knob. Immutable; fields() owns them all.
struct Field {
  /// JSON path ("limits.memory_bytes", "env"); empty for a CLI-only field.
  std::string_view key;
  /// Long CLI flag with dashes ("--memory-bytes"); empty for a JSON-only field.
  std::string_view flag;
  /// Metavariable of the flag's value ("BYTES", "HOST:GUEST[:ro|rw|pkg]");
  /// empty for a flag that takes no value (a boolean switched on).
  std::string_view value_name;
  /// Unit shown in the docs ("bytes", "ms", ...); empty if none.
  std::string_view unit;
  /// One line for --help and the docs table.
  std::string_view help;
  Kind kind = Kind::kSetting;
  /// The flag may be given many times; each value is added.
  bool repeatable = false;
  /// Parses one CLI value into `config` (adds to it for repeatable fields).
  /// Error messages do not name the flag: the caller does.
  std::function<Result<void>(SessionConfig& config, std::string_view value, const HostEnv& env)> parse;
  /// Sets the field from JSON; `trust` decides what is allowed.
  std::function<Result<void>(SessionConfig& config, const nlohmann::json& value, Trust trust)> from_json;
  /// The field's current value as JSON (env and secret header values are redacted).
  std::function<nlohmann::json(const SessionConfig& config)> to_json;
  /// JSON Schema of the value (without description).
  nlohmann::json schema;
  /// The default, as the docs show it ("512 MiB", "none").
  std::string default_text;
};

/// Every field, in documentation order: Limits first, then capabilities.
const std::vector<Field>& fields();

/// Applies a JSON object shaped like to_json()'s output; keys not given keep
/// their value (env is merged by name; lists are replaced). "http": null
/// removes the HTTP grant. On error `config` may be partly changed.
/// Errors: kInvalidArgument naming the key: unknown key, wrong type, bad
/// value, or (Trust::kClient) a grant or a limit above the operator's.
Result<void> apply_json(SessionConfig& config, const nlohmann::json& json, Trust trust = Trust::kOperator);

/// Every JSON field of `config` (host functions are not data and are left
/// out; environment values and secret header values read "<redacted>", so
/// the result may be shown to anyone allowed to see the limits).
nlohmann::json to_json(const SessionConfig& config);

/// JSON Schema (draft 2020-12) of what apply_json accepts with `trust`. For
/// Trust::kClient it describes a value applied on top of `server` (the
/// operator's configuration): grants are left out; each limit's maximum is
/// its value in `server` (none if that is 0 = unlimited; if 0 would mean
/// unlimited and `server` has a bound, the minimum is 1); "http" may only be
/// null if `server` grants no HTTP; validate()'s determinism rule is included.
nlohmann::json json_schema(Trust trust = Trust::kOperator, const SessionConfig& server = SessionConfig());

/// Checks combinations no single field can: determinism settings without
/// determinism enabled. Errors: kInvalidArgument.
Result<void> validate(const SessionConfig& config);

/// The docs table (Markdown) that docs/cli.md includes.
std::string markdown_table();

/// `j` as a non-negative integer the way JSON Schema sees one: 1000.0 is the
/// integer 1000 (as many JSON writers send it); 1.5, -1, "1" and values of
/// 2^64 or more are not.
std::optional<uint64_t> json_uint(const nlohmann::json& j);

/// Parses a byte count: digits with an optional binary suffix K, M, G, T
/// (also KiB, MiB, ...): "64M" is 64 << 20. Errors: kInvalidArgument.
Result<uint64_t> parse_bytes(std::string_view text);

/// Human form of a byte count, in the largest binary unit that divides it:
/// "512 MiB", "64 KiB", "100 bytes".
std::string format_bytes(uint64_t bytes);

}  // namespace pycell::policy
