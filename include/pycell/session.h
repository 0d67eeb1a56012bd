// Session: one isolated Python interpreter, the unit of isolation.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pycell/engine.h"
#include "pycell/error.h"
#include "pycell/limits.h"
#include "pycell/result.h"

namespace pycell {

/// Which guest stream a chunk of output came from.
enum class Stream { kStdout, kStderr };

/// Per-session settings. Consumed by Session::create.
struct SessionConfig {
  Limits limits;
  /// Environment variables the guest sees ("NAME=value"). Nothing of the host's
  /// environment is passed unless it is listed here.
  std::vector<std::string> env;
};

/// How to run one piece of code.
struct ExecOptions {
  /// Cell: a trailing expression's value is reported (notebook style).
  /// Script: the code runs as a program (like `python FILE`), no value.
  enum class Mode { kCell, kScript } mode = Mode::kCell;
  /// Name shown in tracebacks; empty picks "<cell-N>".
  std::string filename;
  /// sys.argv for this run; empty leaves it unchanged.
  std::vector<std::string> argv;
  /// Also encode the trailing value as JSON when it is serializable.
  bool want_json = false;
  /// Called on the calling thread as the guest writes, before capture limits
  /// apply. Borrowed for the duration of exec.
  std::function<void(Stream, std::string_view)> on_output;
};

struct SessionState;  // opaque

/// One interpreter. Move-only; used by one thread at a time. State (variables,
/// imports, files in /tmp) persists across exec calls.
class Session {
 public:
  /// Starts a fresh interpreter. Errors: kResourceExhausted, kGuest.
  static Result<Session> create(const Engine& engine, SessionConfig config);

  /// Runs code. A Python exception, exit or trap is a normal ExecResult; an
  /// Error means the host could not run it (e.g. the session was closed by an
  /// earlier trap: kUnavailable).
  Result<ExecResult> exec(std::string_view code, const ExecOptions& options = {});

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

 private:
  explicit Session(std::unique_ptr<SessionState> s);
  std::unique_ptr<SessionState> state_;
};

}  // namespace pycell
