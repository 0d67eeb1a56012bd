// pycell._pycell: the C++ half of the Python package (pycell/ holds the rest).
// Uses only the public API (include/pycell/), never src/. It stays thin: JSON
// text crosses here, and the pure-Python layer turns it into Python values.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "config.h"
#include "errors.h"
#include "host_functions.h"
#include "pycell/engine.h"
#include "pycell/session.h"
#include "pycell/snapshot.h"

namespace py = pybind11;
using pycell_py::raise;

namespace {

template <class T>
T unwrap(pycell::Result<T> r) {
  if (!r) raise(r.error());
  return std::move(r).value();
}

void unwrap(const pycell::Result<void>& r) {
  if (!r) raise(r.error());
}

// Guest text is not guaranteed UTF-8 (a capped stream may end mid-character).
py::str text(std::string_view s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

py::object optional_text(const std::optional<std::string>& s) {
  if (!s) return py::none();
  return text(*s);
}

struct PyEngine {
  pycell::Engine engine;
};

struct PySnapshot {
  pycell::Snapshot snapshot;
  std::shared_ptr<PyEngine> engine;  // whose key seals serialize()
};

// The fields of ExecResult, by name; pycell.ExecResult(**fields) is the dataclass.
py::dict to_dict(const pycell::ExecResult& r) {
  py::dict d;
  d["stdout"] = text(r.stdout_text);
  d["stderr"] = text(r.stderr_text);
  d["stdout_truncated"] = r.stdout_truncated;
  d["stderr_truncated"] = r.stderr_truncated;
  d["value_repr"] = optional_text(r.value_repr);
  d["value_json"] = optional_text(r.value_json);
  if (r.error) {
    py::list frames;
    for (const auto& f : r.error->frames) {
      py::dict fd;
      fd["file"] = text(f.file);
      fd["line"] = f.line;
      fd["function"] = text(f.function);
      fd["source"] = text(f.source);
      frames.append(fd);
    }
    py::dict e;
    e["type"] = text(r.error->type);
    e["message"] = text(r.error->message);
    e["frames"] = frames;
    d["error"] = e;
  } else {
    d["error"] = py::none();
  }
  d["exit_reason"] = std::string(pycell::to_string(r.exit_reason));
  d["exit_code"] = r.exit_code;
  d["trap"] = r.trap == pycell::TrapKind::kNone ? py::object(py::none())
                                                 : py::object(py::str(std::string(pycell::to_string(r.trap))));
  d["wall_time"] = std::chrono::duration<double>(r.wall_time).count();
  d["fuel_used"] = r.fuel_used;
  d["rolled_back"] = r.rolled_back;
  d["peak_memory"] = r.peak_memory;
  return d;
}

// (name, description, parameters JSON schema, invoke(args_json) -> result_json)
using FunctionSpec = std::tuple<std::string, std::string, std::string, py::object>;

pycell::SessionConfig make_config(const std::string& config_json, std::vector<FunctionSpec> functions) {
  pycell::SessionConfig config;
  pycell_py::apply_config(config_json, config);
  for (auto& [name, description, parameters, invoke] : functions) {
    config.functions.push_back(pycell_py::make_host_function(std::move(name), std::move(description),
                                                             std::move(parameters), std::move(invoke)));
  }
  return config;
}

// A Session is used by one thread at a time. Python threads could call into
// the same object at once (exec releases the GIL), so each operation marks
// the session busy with its thread's id; a second thread gets an error
// instead of a data race. The same thread re-entering from a host function or
// on_output callback gets one too (the core refuses most such calls itself,
// but close() would destroy the session under the suspended guest), except
// put_file and get_file, which the core allows there. A std::mutex cannot
// tell the two apart, and try_lock on a mutex its own thread holds is
// undefined. cancel() and close() run under the GIL without releasing it, so
// they never overlap, and close() cannot destroy the session under a running
// exec (it must mark it busy).
class PySession {
 public:
  PySession(std::shared_ptr<PyEngine> engine, pycell::Session s)
      : engine_(std::move(engine)), session_(std::move(s)) {}

  py::dict exec(const std::string& code, const std::string& mode, const std::string& filename,
                std::vector<std::string> argv, bool want_json, bool run_atexit, py::object on_output) {
    pycell::ExecOptions options;
    if (mode == "cell") options.mode = pycell::ExecOptions::Mode::kCell;
    else if (mode == "script") options.mode = pycell::ExecOptions::Mode::kScript;
    else throw py::value_error("mode must be \"cell\" or \"script\", not \"" + mode + "\"");
    options.filename = filename;
    options.argv = std::move(argv);
    options.want_json = want_json;
    options.run_atexit = run_atexit;
    if (!on_output.is_none()) {
      // Runs on this thread with the GIL released by exec below. An exception
      // cannot travel through the guest; it is reported as unraisable.
      options.on_output = [&on_output](pycell::Stream s, std::string_view bytes) {
        py::gil_scoped_acquire gil;
        try {
          on_output(s == pycell::Stream::kStdout ? "stdout" : "stderr", py::bytes(bytes.data(), bytes.size()));
        } catch (py::error_already_set& e) {
          e.discard_as_unraisable("pycell on_output callback");
        } catch (const std::exception& e) {
          PyErr_SetString(PyExc_RuntimeError, e.what());
          PyErr_WriteUnraisable(on_output.ptr());
        }
      };
    }
    auto busy = acquire();
    auto result = [&] {
      py::gil_scoped_release nogil;
      return session_->exec(code, options);
    }();
    return to_dict(unwrap(std::move(result)));
  }

  std::shared_ptr<PySnapshot> snapshot() {
    auto busy = acquire();
    auto s = [&] {
      py::gil_scoped_release nogil;
      return session_->snapshot();
    }();
    return std::make_shared<PySnapshot>(PySnapshot{unwrap(std::move(s)), engine_});
  }

  void restore(const PySnapshot& snap) {
    auto busy = acquire();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return session_->restore(snap.snapshot);
    }();
    unwrap(r);
  }

  std::shared_ptr<PySession> fork() {
    auto busy = acquire();
    auto s = [&] {
      py::gil_scoped_release nogil;
      return session_->fork();
    }();
    return std::make_shared<PySession>(engine_, unwrap(std::move(s)));
  }

  void set_variables(const std::string& json_object, bool protect) {
    auto busy = acquire();
    unwrap(session_->set_variables(json_object, protect));
  }

  py::str get_variable(const std::string& name) {
    auto busy = acquire();
    return text(unwrap(session_->get_variable(name)));
  }

  void put_file(const std::string& path, const py::bytes& data) {
    auto busy = acquire(/*nested_ok=*/true);
    unwrap(session_->put_file(path, std::string_view(data)));
  }

  py::bytes get_file(const std::string& path) {
    auto busy = acquire(/*nested_ok=*/true);
    return py::bytes(unwrap(session_->get_file(path)));
  }

  void cancel() {
    if (session_) session_->cancel();
  }

  void close() {
    auto busy = acquire();
    session_.reset();
  }

  bool closed() const { return !session_; }

 private:
  // Marks the session busy until it is destroyed (unless it was nested in a
  // use by the same thread, which releases it).
  class Busy {
   public:
    Busy(std::atomic<std::thread::id>& owner, bool release) : owner_(owner), release_(release) {}
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;
    ~Busy() {
      if (release_) owner_.store(std::thread::id(), std::memory_order_release);
    }

   private:
    std::atomic<std::thread::id>& owner_;
    bool release_;
  };

  // `nested_ok`: the operation may run inside a host function or on_output
  // callback of this session's own run (the core allows put_file and get_file
  // there: they touch only /tmp, not the suspended guest).
  Busy acquire(bool nested_ok = false) {
    const std::thread::id me = std::this_thread::get_id();
    std::thread::id owner;  // none
    if (!owner_.compare_exchange_strong(owner, me, std::memory_order_acquire)) {
      if (owner == me && nested_ok) return Busy(owner_, false);
      raise(pycell::Error(pycell::ErrorCode::kUnavailable,
                          owner == me ? "the session is running code: its own host functions and on_output "
                                        "callback may only use put_file, get_file and cancel"
                                      : "the session is in use by another thread"));
    }
    if (!session_) {
      owner_.store(std::thread::id(), std::memory_order_release);
      raise(pycell::Error(pycell::ErrorCode::kUnavailable, "the session is closed"));
    }
    return Busy(owner_, true);
  }

  std::shared_ptr<PyEngine> engine_;  // the engine outlives its sessions
  std::optional<pycell::Session> session_;
  std::atomic<std::thread::id> owner_;  // the thread using the session; none when idle
};

}  // namespace

PYBIND11_MODULE(_pycell, m) {
  m.doc() = "pycell's C++ core; use the pycell package, not this module.";

  m.def("python_version", &pycell::Engine::python_version, "CPython version of the guest.");
  m.def("config_keywords", &pycell_py::config_keywords,
        "(keyword, help) of every session setting; \"group.key\" names a key of a group's dict.");
  m.def(
      "check_config",
      [](const std::string& config_json) {
        pycell::SessionConfig config;
        pycell_py::apply_config(config_json, config);
      },
      "Raises TypeError/ValueError if the settings are not valid.");

  py::class_<PyEngine, std::shared_ptr<PyEngine>>(m, "Engine")
      .def(py::init([](const std::string& stdlib_image, std::vector<std::string> extra_images, bool preinit,
                       std::optional<std::vector<std::string>> preload, std::optional<uint64_t> hash_seed,
                       std::optional<py::bytes> snapshot_key) {
             pycell::EngineConfig config;
             config.stdlib_image = stdlib_image;
             config.extra_images = std::move(extra_images);
             config.preinit = preinit;
             if (preload) config.preload = std::move(*preload);
             config.hash_seed = hash_seed;
             if (snapshot_key) config.snapshot_key = std::string(*snapshot_key);
             auto engine = [&] {
               py::gil_scoped_release nogil;
               return pycell::Engine::create(std::move(config));
             }();
             return std::make_shared<PyEngine>(PyEngine{unwrap(std::move(engine))});
           }),
           py::arg("stdlib_image"), py::arg("extra_images"), py::arg("preinit"), py::arg("preload"),
           py::arg("hash_seed"), py::arg("snapshot_key"));

  py::class_<PySnapshot, std::shared_ptr<PySnapshot>>(
      m, "Snapshot",
      "A frozen session state: immutable, shareable between sessions.\n\n"
      "serialize() -> bytes, sealed with the key of the sandbox that made it; Sandbox.load_snapshot(bytes)\n"
      "loads them in a sandbox with the same snapshot_key; memory_bytes is the size of the guest memory it holds.")
      .def("serialize", [](const PySnapshot& s) { return py::bytes(unwrap(s.snapshot.serialize(s.engine->engine))); })
      .def_property_readonly("memory_bytes", [](const PySnapshot& s) { return s.snapshot.memory_bytes(); });

  m.def(
      "load_snapshot",
      [](std::shared_ptr<PyEngine> engine, const py::bytes& data) {
        auto snap = pycell::Snapshot::deserialize(engine->engine, std::string_view(data));
        return std::make_shared<PySnapshot>(PySnapshot{unwrap(std::move(snap)), engine});
      },
      py::arg("engine"), py::arg("data"));

  m.def(
      "create_session",
      [](std::shared_ptr<PyEngine> engine, const std::string& config_json, std::vector<FunctionSpec> functions,
         std::shared_ptr<PySnapshot> snapshot) {
        pycell::SessionConfig config = make_config(config_json, std::move(functions));
        auto session = [&] {
          py::gil_scoped_release nogil;
          return snapshot ? pycell::Session::create(engine->engine, snapshot->snapshot, std::move(config))
                          : pycell::Session::create(engine->engine, std::move(config));
        }();
        return std::make_shared<PySession>(engine, unwrap(std::move(session)));
      },
      py::arg("engine"), py::arg("config_json"), py::arg("functions"), py::arg("snapshot") = nullptr);

  py::class_<PySession, std::shared_ptr<PySession>>(m, "Session")
      .def("exec", &PySession::exec, py::arg("code"), py::arg("mode"), py::arg("filename"), py::arg("argv"),
           py::arg("want_json"), py::arg("run_atexit"), py::arg("on_output"))
      .def("snapshot", &PySession::snapshot)
      .def("restore", &PySession::restore)
      .def("fork", &PySession::fork)
      .def("set_variables", &PySession::set_variables, py::arg("json_object"), py::arg("protect"))
      .def("get_variable", &PySession::get_variable)
      .def("put_file", &PySession::put_file)
      .def("get_file", &PySession::get_file)
      .def("cancel", &PySession::cancel)
      .def("close", &PySession::close)
      .def_property_readonly("closed", &PySession::closed);
}
