// HostFunctions: a session's granted host functions ("tools") and the one
// dispatcher behind the guest's pycell_host.call: schema checks on the way in,
// sanitized errors and size caps on the way out.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pycell/error.h"
#include "pycell/session.h"
#include "rt/budget.h"
#include "wasi/context.h"

namespace pycell {

/// An ASCII Python identifier (keywords included), at most 256 bytes: the
/// names the host lets cross into Python code.
bool is_python_identifier(std::string_view s);

class HostFunctions {
 public:
  /// Validates the functions of `config` (names, schemas, callbacks).
  /// Errors: kInvalidArgument naming the function and the problem.
  static Result<std::shared_ptr<const HostFunctions>> create(const SessionConfig& config);

  /// The specs the guest builds its Python functions from: a JSON array of
  /// {name, description, parameters}.
  [[nodiscard]] const std::string& specs() const { return specs_; }

  /// Runs one call from the guest. `budget` gives the run's deadline.
  wasi::HostCallStatus dispatch(std::string_view name, std::string_view args, const rt::Budget& budget,
                                std::string& reply) const;

  /// An error message fit for the guest: no host paths, no control
  /// characters, at most a few hundred bytes.
  static std::string sanitize(std::string_view message);

 private:
  HostFunctions() = default;
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  std::string specs_;
};

}  // namespace pycell
