// JSON Schema of an ExecResult as common/result_json.h writes it: the MCP
// tool's outputSchema.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result_json.h"

namespace pycell::server {

using nlohmann::json;
using policy::dump;

/// Schema of policy::to_json(ExecResult), plus an optional session_id.
json exec_result_schema();

}  // namespace pycell::server
