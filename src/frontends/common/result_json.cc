// ExecResult as JSON (see result_json.h).
#include "common/result_json.h"

#include "pycell/json.h"

namespace pycell::policy {

using nlohmann::json;

json to_json(const ExecResult& r) {
  json error = nullptr;
  if (r.error) {
    json frames = json::array();
    for (const TracebackFrame& f : r.error->frames) {
      frames.push_back({{"file", f.file}, {"line", f.line}, {"function", f.function}, {"source", f.source}});
    }
    error = {{"type", r.error->type}, {"message", r.error->message}, {"frames", std::move(frames)}};
  }
  json value_json = nullptr;
  if (r.value_json) {
    // The core checks it, but an ExecResult can be built by anyone: parse
    // depth-capped again; a value that fails is reported as absent.
    auto parsed = parse_json(*r.value_json);
    if (parsed) value_json = std::move(*parsed);
  }
  return {
      {"stdout", r.stdout_text},
      {"stderr", r.stderr_text},
      {"stdout_truncated", r.stdout_truncated},
      {"stderr_truncated", r.stderr_truncated},
      {"value_repr", r.value_repr ? json(*r.value_repr) : json(nullptr)},
      {"value_json", std::move(value_json)},
      {"error", std::move(error)},
      {"exit_reason", to_string(r.exit_reason)},
      {"exit_code", r.exit_code},
      {"trap", to_string(r.trap)},
      {"wall_time_ms", std::chrono::duration<double, std::milli>(r.wall_time).count()},
      {"fuel_used", r.fuel_used},
      {"rolled_back", r.rolled_back},
      {"peak_memory", r.peak_memory},
  };
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace pycell::policy
