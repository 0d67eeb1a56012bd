// ExecResult: everything one exec reports back to the host.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pycell {

/// Why a run ended. Exactly one per ExecResult.
enum class ExitReason {
  kOk,           ///< the code ran to the end
  kException,    ///< an uncaught Python exception (see ExecResult::error)
  kExit,         ///< SystemExit or os._exit / WASI proc_exit (see exit_code)
  kTimeout,      ///< the wall-clock deadline passed
  kFuel,         ///< the CPU budget (fuel) ran out
  kMemory,       ///< guest memory hit its cap: an uncaught MemoryError (see error), or an abort
                 ///< after a refused allocation (e.g. C++ std::bad_alloc; rolled_back is set)
  kOutputLimit,  ///< output ran far past its cap and the run was stopped
  kCancelled,    ///< Session::cancel() was called from another thread
  kTrap,         ///< the guest trapped (see ExecResult::trap)
};

/// Which WebAssembly trap ended a run, when exit_reason is kTrap.
enum class TrapKind {
  kNone,
  kOutOfBounds,       ///< memory access outside linear memory
  kStackExhausted,    ///< native or shadow stack exhausted
  kUnreachable,       ///< `unreachable` executed (e.g. abort() in the guest)
  kIntegerOverflow,   ///< trapping integer conversion
  kDivideByZero,
  kIndirectCall,      ///< call_indirect to a bad index or signature
  kUnknown,           ///< a trap code this build does not name (a host bug if seen)
};

/// Stable lower-case names, as used in JSON and on the command line.
std::string_view to_string(ExitReason r);
std::string_view to_string(TrapKind t);

/// One frame of a Python traceback, innermost last.
struct TracebackFrame {
  std::string file;
  int line = 0;
  std::string function;
  std::string source;  ///< the source line, stripped; empty if unknown
};

/// An uncaught Python exception.
struct GuestError {
  std::string type;     ///< qualified name, e.g. "ValueError" or "json.decoder.JSONDecodeError"
  std::string message;  ///< str(exception)
  std::vector<TracebackFrame> frames;
};

/// The outcome of Session::exec. Owns all its data.
struct ExecResult {
  std::string stdout_text;
  std::string stderr_text;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  /// repr() of a trailing expression (cell mode), if it was not None.
  std::optional<std::string> value_repr;
  /// JSON of that value, if requested and it was JSON-serializable.
  std::optional<std::string> value_json;
  std::optional<GuestError> error;
  ExitReason exit_reason = ExitReason::kOk;
  /// Process-style status: 0 ok, 1 uncaught exception, n for exit(n).
  int exit_code = 0;
  TrapKind trap = TrapKind::kNone;
  std::chrono::nanoseconds wall_time{0};
  /// Fuel consumed (see Limits::fuel); 0 in a guest built without fuel checks.
  uint64_t fuel_used = 0;
  /// The run left the interpreter in an unknown state, so the session was
  /// rolled back to its committed snapshot (see Session).
  bool rolled_back = false;
  /// Guest linear memory size at the end of the run, in bytes.
  uint64_t peak_memory = 0;
};

}  // namespace pycell
