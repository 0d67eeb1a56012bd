// Python callables as pycell host functions: GIL handling and error conversion.
#include "host_functions.h"

#include <memory>
#include <string>
#include <utility>

namespace py = pybind11;

namespace pycell_py {
namespace {

// The core copies and destroys SessionConfig (and so the callback) wherever
// it likes, e.g. inside fork() with the GIL released. Python reference counts
// may only change under the GIL, so the callable lives behind a shared_ptr
// whose copies never touch it and whose deleter takes the GIL.
std::shared_ptr<py::object> share(py::object o) {
  return std::shared_ptr<py::object>(new py::object(std::move(o)), [](py::object* p) {
    if (!Py_IsInitialized()) {
      p->release();  // interpreter gone: leak the reference, it cannot be dropped
      delete p;
      return;
    }
    py::gil_scoped_acquire gil;
    delete p;
  });
}

// "TypeName: message", as the last line of a traceback reads. str() of the
// exception may raise in turn; then the type name alone is reported.
std::string describe(const py::error_already_set& e) {
  std::string type = "Exception";
  try {
    type = py::str(e.type().attr("__name__"));
    std::string message = py::str(e.value());
    return message.empty() ? type : type + ": " + message;
  } catch (const std::exception&) {
    PyErr_Clear();
    return type;
  }
}

// Guest code is entered through a stack switch and leaves by longjmp on a
// trap, so no C++ exception may leave the callback: everything is caught here.
pycell::Result<std::string> call(const py::object& invoke, const pycell::HostCall& call) {
  py::gil_scoped_acquire gil;
  try {
    py::object out = invoke(py::str(call.args_json.data(), call.args_json.size()));
    return out.cast<std::string>();
  } catch (py::error_already_set& e) {
    return pycell::Error(pycell::ErrorCode::kInvalidArgument, describe(e));
  } catch (const std::exception& e) {
    return pycell::Error(pycell::ErrorCode::kInvalidArgument, e.what());
  }
}

}  // namespace

pycell::HostFunction make_host_function(std::string name, std::string description, std::string parameters,
                                        py::object invoke) {
  pycell::HostFunction f;
  f.name = std::move(name);
  f.description = std::move(description);
  f.parameters = std::move(parameters);
  f.callback = [fn = share(std::move(invoke))](const pycell::HostCall& c) { return call(*fn, c); };
  return f;
}

}  // namespace pycell_py
