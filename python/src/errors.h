// Host Errors as pycell.errors exceptions (pybind11 code: errors are Python exceptions).
#pragma once

#include "pycell/error.h"

namespace pycell_py {

/// Raises the pycell.errors exception matching `e.code()` (InvalidArgumentError
/// for kInvalidArgument, ...) with `e.message()`. Needs the GIL.
[[noreturn]] void raise(const pycell::Error& e);

}  // namespace pycell_py
