// The outputSchema of run_python. MCP clients validate structuredContent
// against it, so it must accept exactly what policy::to_json writes.
#include "result_schema.h"

#include <string>

namespace pycell::server {

json exec_result_schema() {
  json frame = {{"type", "object"},
                {"properties",
                 {{"file", {{"type", "string"}}},
                  {"line", {{"type", "integer"}}},
                  {"function", {{"type", "string"}}},
                  {"source", {{"type", "string"}}}}},
                {"required", {"file", "line", "function", "source"}}};
  json reasons = json::array();
  for (auto r : {ExitReason::kOk, ExitReason::kException, ExitReason::kExit, ExitReason::kTimeout, ExitReason::kFuel,
                 ExitReason::kMemory, ExitReason::kOutputLimit, ExitReason::kCancelled, ExitReason::kTrap}) {
    reasons.push_back(std::string(to_string(r)));
  }
  return {
      {"type", "object"},
      {"properties",
       {
           {"stdout", {{"type", "string"}, {"description", "captured standard output"}}},
           {"stderr", {{"type", "string"}, {"description", "captured standard error (tracebacks included)"}}},
           {"stdout_truncated", {{"type", "boolean"}}},
           {"stderr_truncated", {{"type", "boolean"}}},
           {"value_repr",
            {{"type", {"string", "null"}}, {"description", "repr() of the final expression, null if None or absent"}}},
           {"value_json", {{"description", "the final expression as JSON, when requested and serializable"}}},
           {"error",
            {{"type", {"object", "null"}},
             {"description", "the uncaught exception, if any"},
             {"properties",
              {{"type", {{"type", "string"}}},
               {"message", {{"type", "string"}}},
               {"frames", {{"type", "array"}, {"items", frame}}}}},
             {"required", {"type", "message", "frames"}}}},
           {"exit_reason", {{"type", "string"}, {"enum", reasons}, {"description", "why the run ended"}}},
           {"exit_code", {{"type", "integer"}, {"description", "0 ok, 1 uncaught exception, n for sys.exit(n)"}}},
           {"trap", {{"type", "string"}, {"description", "which trap ended the run (\"none\" if none)"}}},
           {"wall_time_ms", {{"type", "number"}}},
           {"fuel_used", {{"type", "integer"}, {"minimum", 0}}},
           {"rolled_back", {{"type", "boolean"}, {"description", "the session was reset to its last committed state"}}},
           {"peak_memory", {{"type", "integer"}, {"minimum", 0}, {"description", "guest memory in bytes"}}},
           {"session_id", {{"type", "string"}, {"description", "the session the code ran in, if any"}}},
       }},
      {"required",
       {"stdout", "stderr", "stdout_truncated", "stderr_truncated", "value_repr", "error", "exit_reason", "exit_code",
        "trap", "wall_time_ms", "fuel_used", "rolled_back", "peak_memory"}},
  };
}

}  // namespace pycell::server
