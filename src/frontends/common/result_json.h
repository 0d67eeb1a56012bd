// ExecResult as JSON: the one shape every front end reports a run in (the
// CLI's --json, the servers' responses). Uses only the public API.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "pycell/result.h"

namespace pycell::policy {

/// Every field of `result`: stdout, stderr, stdout_truncated, stderr_truncated,
/// value_repr, value_json (parsed; null if absent), error {type, message,
/// frames [{file, line, function, source}]} or null, exit_reason, exit_code,
/// trap, wall_time_ms (fractional), fuel_used, rolled_back, peak_memory.
nlohmann::json to_json(const ExecResult& result);

/// One line of JSON. Guest output need not be UTF-8: invalid bytes become
/// U+FFFD instead of making serialization fail.
std::string dump(const nlohmann::json& json);

}  // namespace pycell::policy
