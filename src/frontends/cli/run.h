// exec and run: one program in a fresh session, with Python's exit statuses.
// Uses only the public API (include/pycell/), never src/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pycell/engine.h"
#include "pycell/session.h"
#include "terminal.h"

namespace pycell::cli {

// Exit statuses besides Python's own (0, 1, n for sys.exit(n)).
constexpr int kExitUsage = 2;
constexpr int kExitTimeout = 124;
constexpr int kExitPycellError = 125;

/// Prints "pycell: MESSAGE" on stderr; returns kExitPycellError.
int fail(std::string_view message);

/// Guest output on its way to our stdout and stderr as it is produced, with
/// the semantics of captured output: each stream is cut at the cap
/// (Limits::output_bytes, counted in guest bytes) with the same marker (the
/// core stops a run that goes on writing far past it: output_limit). A stream
/// that is a terminal gets its control sequences neutralised (terminal.h)
/// unless `raw`.
class GuestOutput {
 public:
  GuestOutput(uint64_t cap, bool raw);
  GuestOutput(const GuestOutput&) = delete;
  GuestOutput& operator=(const GuestOutput&) = delete;

  /// Starts counting a run.
  void begin();
  /// ExecOptions::on_output for the run.
  void write(Stream stream, std::string_view bytes);
  /// Shows host text made of guest data (a value's repr): filtered, not counted.
  void show(Stream stream, std::string_view text);
  /// Ends the run: flushes what is held back.
  void end();

 private:
  struct Sink {
    std::FILE* file;
    bool filter;  // a terminal, and not raw
    TerminalFilter terminal;
    uint64_t written = 0;  // guest bytes shown in this run
    uint64_t dropped = 0;  // guest bytes past the cap in this run
    void put(std::string_view bytes);
    void flush();
  };
  Sink& sink(Stream stream) { return stream == Stream::kStdout ? out_ : err_; }

  const uint64_t cap_;
  Sink out_, err_;
};

/// The process exit status for a finished run: Python's own status for ok,
/// exception, exit and memory (MemoryError is an exception); 124 for a time
/// limit; 125 for a trap or another limit. Unless `quiet`, says why on stderr
/// when the status is not Python's.
int exit_status(const ExecResult& result, bool quiet);

/// Runs `code` once in a fresh session of a new engine built from `engine` (atexit handlers run at the end, as at
/// interpreter exit). `json`: print the whole ExecResult as one JSON object on
/// stdout instead of streaming the output. `raw`: write guest output to a
/// terminal as it is (see GuestOutput). Returns the exit status.
int run_program(EngineConfig engine, SessionConfig session, std::string_view code, ExecOptions options, bool json,
                bool raw);

}  // namespace pycell::cli
