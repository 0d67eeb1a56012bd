// repl: an interactive, persistent session, like Python's REPL.
// Uses only the public API (include/pycell/), never src/.
#pragma once

#include <string>

#include "pycell/engine.h"
#include "pycell/session.h"

namespace pycell::cli {

/// Reads statements until end of input (Ctrl-D) or sys.exit(), runs each in
/// one session and shows the value of expressions. On a terminal: prompts,
/// line editing and history (~/.pycell_history), `banner` on stderr, Ctrl-C
/// cancels the running input (or clears the current one) without exiting.
/// Otherwise: no prompts; a block also ends at the next unindented statement
/// and blank lines do not end it, so a Python file piped in runs as written;
/// Ctrl-C (running or not) exits with 130. The session is saved after each
/// input, so a cancelled or hard-stopped input loses only itself (the save
/// copies guest memory: ~0.25 ms per MiB of heap). Returns the exit status:
/// 0 at the end of input, n for sys.exit(n), 125 if the session cannot run.
/// Guest output and values are shown as exec shows them (run.h GuestOutput;
/// `raw` as there).
int run_repl(EngineConfig engine, SessionConfig session, const std::string& banner, bool raw);

}  // namespace pycell::cli
