// Session settings from the Python keyword arguments (sent here as one JSON object).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pycell/session.h"

namespace pycell_py {

/// Applies `json_object` (keyword name -> value) to `config`. Raises TypeError
/// for an unknown keyword or a value of the wrong type, ValueError for a value
/// out of range (pybind11 code: errors are Python exceptions).
void apply_config(std::string_view json_object, pycell::SessionConfig& config);

/// Every keyword apply_config accepts, for error messages and documentation.
std::vector<std::string> config_keywords();

}  // namespace pycell_py
