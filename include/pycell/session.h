// Session: one isolated Python interpreter, the unit of isolation.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pycell/capabilities.h"
#include "pycell/engine.h"
#include "pycell/error.h"
#include "pycell/limits.h"
#include "pycell/result.h"
#include "pycell/snapshot.h"

namespace pycell {

/// Which guest stream a chunk of output came from.
enum class Stream { kStdout, kStderr };

/// Per-session settings. Consumed by Session::create.
struct SessionConfig {
  Limits limits;
  /// Environment variables the guest sees ("NAME=value"). Nothing of the host's
  /// environment is passed unless it is listed here.
  std::vector<std::string> env;
  /// Host directories visible in the guest (none by default).
  std::vector<Mount> mounts;
  /// Host functions the guest may call, as `pycell_host.<name>` (none by default).
  std::vector<HostFunction> functions;
  /// Also bind each function as a global of __main__ ...
  bool functions_as_globals = false;
  /// ... protected: guest code cannot rebind or delete those names.
  bool protect_functions = true;
  /// Host-mediated HTTP through `pycell_http` and urllib (no network if unset).
  std::optional<HttpPolicy> http;
  Determinism determinism;
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
  /// The program ends with this run: call atexit handlers afterwards, as
  /// interpreter exit would (the CLI's exec and run do).
  bool run_atexit = false;
  /// Called on the calling thread as the guest writes, before capture limits
  /// apply. Borrowed for the duration of exec. It runs on that thread's own
  /// stack, not the guest's, so it may use as much stack as any code there.
  /// An exception it throws stops the run (exit reason kCancelled, rolled
  /// back) and is rethrown from exec once the session is consistent again.
  std::function<void(Stream, std::string_view)> on_output;
};

/// One entry of Session::list_files.
struct FileInfo {
  /// Absolute, e.g. "/tmp/data/a.csv".
  std::string path;
  bool directory = false;
  /// Bytes of a file's content; 0 for a directory.
  uint64_t bytes = 0;
};

struct SessionState;  // opaque

/// One interpreter. Move-only; used by one thread at a time. State (variables,
/// imports, files in /tmp) persists across exec calls.
///
/// While a run is in progress, its host functions and output callback run on
/// the same thread with the guest suspended; they must not destroy or move the
/// session. exec, snapshot, restore, fork, set_variables and get_variable
/// called from them fail with kUnavailable (they would run the guest again or
/// replace the memory the suspended guest resumes on); put_file, get_file,
/// list_files, remove_file and cancel work, since they touch only /tmp or the
/// run's budget.
///
/// Every session has a committed snapshot: the state it was created or
/// restored from, or its last snapshot(). When a run ends in a way that leaves
/// the interpreter in an unknown state (a trap, or a hard stop: timeout past
/// the grace period, fuel, cancel, runaway output), the session rolls back to
/// it and ExecResult::rolled_back is set.
class Session {
 public:
  /// Starts a fresh interpreter from the engine's pre-initialized snapshot
  /// (tens of microseconds), or cold if the engine has none.
  /// Errors: kResourceExhausted, kGuest, kInvalidArgument (limits too small).
  static Result<Session> create(const Engine& engine, SessionConfig config);

  /// Starts a session from `snapshot` (taken from any session of an engine of
  /// the same build). Errors as create().
  static Result<Session> create(const Engine& engine, const Snapshot& snapshot, SessionConfig config);

  /// One-shot mode: runs `code` in a fresh session that is discarded afterwards.
  static Result<ExecResult> run_once(const Engine& engine, std::string_view code,
                                     const ExecOptions& options = {}, SessionConfig config = {});

  /// Runs code. A Python exception, exit or trap is a normal ExecResult; an
  /// Error means the host could not run it (e.g. the session was closed by an
  /// earlier trap, or a run is already in progress on it: kUnavailable).
  Result<ExecResult> exec(std::string_view code, const ExecOptions& options = {});

  /// Captures the current state and makes it the committed state.
  /// Errors: kUnavailable, kResourceExhausted.
  Result<Snapshot> snapshot();

  /// Replaces the whole state with `snapshot`, which becomes the committed state.
  /// Errors: kInvalidArgument (it does not fit this session's limits).
  Result<void> restore(const Snapshot& snapshot);

  /// A new, independent session starting from this one's current state (same
  /// config); the two share memory pages copy-on-write. This session's
  /// committed state does not change.
  Result<Session> fork();

  /// Binds variables of __main__ from a JSON object (name -> value; values are
  /// dicts, lists, strings, numbers, booleans, null). `protect` makes guest
  /// code unable to rebind or delete them.
  /// Errors: kInvalidArgument (not a JSON object, or a name is not an identifier).
  Result<void> set_variables(std::string_view json_object, bool protect = false);

  /// A variable of __main__ as JSON.
  /// Errors: kNotFound (no such variable), kInvalidArgument (not JSON-serializable).
  Result<std::string> get_variable(std::string_view name);

  /// Writes a file into the session's /tmp (path absolute under /tmp, or
  /// relative to it); missing parent directories are created. Counts against
  /// the /tmp quota. Errors: kInvalidArgument, kResourceExhausted, kNotFound.
  Result<void> put_file(std::string_view path, std::string_view data);

  /// Reads a file from the session's /tmp. Errors: kNotFound, kInvalidArgument.
  Result<std::string> get_file(std::string_view path);

  /// Every file and directory under the session's /tmp, sorted by path. Its
  /// length is bounded by limits.tmp_files.
  Result<std::vector<FileInfo>> list_files();

  /// Removes a file, or a directory with everything in it, from the
  /// session's /tmp (path as for put_file). Frees its /tmp quota. Errors:
  /// kNotFound, kInvalidArgument.
  Result<void> remove_file(std::string_view path);

  /// Stops the exec running on another thread at its next check (well under
  /// a millisecond of guest work); it ends with exit reason kCancelled. Safe to
  /// call from any thread while the Session is alive.
  ///
  /// A cancel that arrives while no run is in progress applies to the next
  /// run, which ends at its first check: a cancel racing with exec() from
  /// another thread is never lost, whichever thread is first. Each run clears
  /// it when it ends, so a cancel never outlives the run it stopped (or came
  /// too late for). The internal runs of set_variables and get_variable count.
  void cancel();

  /// Forgets a cancel() that came after the last run ended, which would stop
  /// the next run. For a canceller that watched one run (a client that went
  /// away, a cancelled request): once the run returned and it can no longer
  /// call cancel(), it drops what it may have left. Not during a run.
  void discard_cancel();

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

 private:
  explicit Session(std::unique_ptr<SessionState> s);
  friend struct SessionAccess;
  std::unique_ptr<SessionState> state_;
};

}  // namespace pycell
