// Session settings from the Python keyword arguments (sent here as one JSON object).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pycell/session.h"

namespace pycell_py {

/// Applies `kwargs_json` (keyword name -> value) to `config` through the
/// shared policy schema (src/frontends/common/policy.h). Raises TypeError for
/// an unknown keyword and pycell.InvalidArgumentError (a ValueError) for a bad
/// value (pybind11 code: errors are Python exceptions).
void apply_config(std::string_view kwargs_json, pycell::SessionConfig& config);

/// Every keyword apply_config accepts, with a line of help (and the default).
std::vector<std::pair<std::string, std::string>> config_keywords();

}  // namespace pycell_py
