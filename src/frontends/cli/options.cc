// Schema-derived command-line flags (see options.h).
#include "options.h"

#include <cstdlib>

namespace pycell::cli {

std::optional<std::string> ambient_env(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

namespace {

std::string group_of(const policy::Field& f) {
  if (f.key.starts_with("limits.")) return "Limits (per run or per session)";
  if (f.key.starts_with("determinism.")) return "Determinism";
  return "Grants (nothing is granted unless given)";
}

}  // namespace

PolicyFlags::PolicyFlags(CLI::App& app) {
  for (const policy::Field& f : policy::fields()) {
    if (f.flag.empty()) continue;  // JSON-only (host functions are not data)
    Given& g = given_.emplace_back();
    g.field = &f;
    const std::string help = std::string(f.help) + " [default: " + f.default_text + "]";
    if (f.value_name.empty()) {
      g.option = app.add_flag(std::string(f.flag), g.on, help);
    } else if (f.repeatable) {
      g.option = app.add_option(std::string(f.flag), g.values, help)
                     ->type_name(std::string(f.value_name))
                     ->allow_extra_args(false);  // one value per occurrence
    } else {
      // Given twice, the last one wins, as in most tools.
      g.option = app.add_option(std::string(f.flag), g.value, help)
                     ->type_name(std::string(f.value_name))
                     ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
    g.option->group(group_of(f));
  }
}

Result<void> PolicyFlags::apply(SessionConfig& config) const {
  for (const Given& g : given_) {
    auto parse = [&](std::string_view v) { return g.field->parse(config, v, ambient_env); };
    Result<void> r = Ok();
    if (g.field->value_name.empty()) {
      if (g.on) r = parse("");
    } else if (g.field->repeatable) {
      for (const std::string& v : g.values) {
        if (r) r = parse(v);
      }
    } else if (g.option->count() > 0) {
      r = parse(g.value);
    }
    if (!r) return Error(ErrorCode::kInvalidArgument, std::string(g.field->flag) + ": " + r.error().message());
  }
  return policy::validate(config);
}

}  // namespace pycell::cli
