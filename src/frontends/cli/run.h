// exec and run: one program in a fresh session, with Python's exit statuses.
// Uses only the public API (include/pycell/), never src/.
#pragma once

#include <string>
#include <string_view>

#include "pycell/engine.h"
#include "pycell/session.h"

namespace pycell::cli {

// Exit statuses besides Python's own (0, 1, n for sys.exit(n)).
constexpr int kExitUsage = 2;
constexpr int kExitTimeout = 124;
constexpr int kExitPycellError = 125;

/// Prints "pycell: MESSAGE" on stderr; returns kExitPycellError.
int fail(std::string_view message);

/// Writes guest output to our stdout/stderr as it is produced.
void stream_output(Stream stream, std::string_view bytes);

/// The process exit status for a finished run: Python's own status for ok,
/// exception, exit and memory (MemoryError is an exception); 124 for a time
/// limit; 125 for a trap or another limit. Unless `quiet`, says why on stderr
/// when the status is not Python's.
int exit_status(const ExecResult& result, bool quiet);

/// Runs `code` once in a fresh session (atexit handlers run at the end, as at
/// interpreter exit). `json`: print the whole ExecResult as one JSON object on
/// stdout instead of streaming the output. Returns the exit status.
int run_program(EngineConfig engine, SessionConfig session, std::string_view code, ExecOptions options, bool json);

}  // namespace pycell::cli
