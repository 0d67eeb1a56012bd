// Command-line flags for every session knob, registered from the one schema
// (common/policy.h), so a new field of Limits or of the capability policy gets
// its flag, help line and docs row without touching the CLI.
// Uses only the public API (include/pycell/), never src/.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/policy.h"
#include "pycell/session.h"

namespace pycell::cli {

/// Reads host environment variable `name` for the guest (--pass-env, secret
/// header values given as @NAME). The CLI's only use of the host environment
/// on the guest's behalf, so it is one greppable function.
std::optional<std::string> ambient_env(std::string_view name);

/// One flag per schema field on `app`; apply() turns the parsed values into a
/// SessionConfig after CLI11 has parsed the command line.
class PolicyFlags {
 public:
  /// Registers the flags on `app` (borrowed; must outlive this object).
  explicit PolicyFlags(CLI::App& app);
  PolicyFlags(const PolicyFlags&) = delete;
  PolicyFlags& operator=(const PolicyFlags&) = delete;

  /// Applies every given flag to `config`, in schema order (repeated values in
  /// command-line order), then validates combinations.
  /// Errors: kInvalidArgument naming the flag and the problem.
  Result<void> apply(SessionConfig& config) const;

 private:
  struct Given {
    const policy::Field* field = nullptr;
    CLI::Option* option = nullptr;
    std::vector<std::string> values;  // repeatable flags: one entry per occurrence
    std::string value;                // other flags taking a value
    bool on = false;                  // flags taking no value
  };
  std::deque<Given> given_;  // a deque: CLI11 keeps pointers into the elements
};

}  // namespace pycell::cli
