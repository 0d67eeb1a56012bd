// Python callables as pycell host functions.
#pragma once

#include <pybind11/pybind11.h>

#include "pycell/capabilities.h"

namespace pycell_py {

/// A host function whose callback calls `invoke(args_json: str) -> str` (the
/// pure-Python wrapper that decodes the arguments, calls the user's callable
/// and encodes its result). The callback runs on the thread that called
/// Session::exec, with the GIL released there, so it takes the GIL itself. A
/// Python exception becomes an Error ("TypeName: message"); the guest sees a
/// sanitized pycell_host.HostError.
pycell::HostFunction make_host_function(std::string name, std::string description, std::string parameters,
                                        pybind11::object invoke);

}  // namespace pycell_py
