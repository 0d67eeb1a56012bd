// Host Errors as pycell.errors exceptions (see errors.h).
#include "errors.h"

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace pycell_py {
namespace {

// The `code` attribute of the matching class in pycell/errors.py.
const char* code_name(pycell::ErrorCode c) {
  switch (c) {
    case pycell::ErrorCode::kInvalidArgument: return "invalid_argument";
    case pycell::ErrorCode::kNotFound: return "not_found";
    case pycell::ErrorCode::kIo: return "io";
    case pycell::ErrorCode::kCorrupt: return "corrupt";
    case pycell::ErrorCode::kGuest: return "guest";
    case pycell::ErrorCode::kResourceExhausted: return "resource_exhausted";
    case pycell::ErrorCode::kUnavailable: return "unavailable";
    case pycell::ErrorCode::kConflict: return "conflict";
  }
  return "unknown";
}

}  // namespace

void raise(const pycell::Error& e) {
  py::object exc = py::module_::import("pycell.errors").attr("from_code")(code_name(e.code()), e.message());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

}  // namespace pycell_py
