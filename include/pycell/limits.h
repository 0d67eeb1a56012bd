// Limits: every resource bound of a session, defined once with its trade-off.
#pragma once

#include <cstdint>

namespace pycell {

/// Resource bounds for one session. Defaults are safe for untrusted code.
struct Limits {
  /// Cap on guest linear memory in bytes. Past it, memory.grow fails and Python
  /// raises MemoryError. Higher allows bigger data; each byte used is host RAM.
  uint64_t memory_bytes = 512ull << 20;
  /// CPU budget per exec in fuel units (one per loop iteration in the
  /// interpreter and in C code such as the regex engine: roughly one per
  /// bytecode). Deterministic: the same code uses the same fuel on any machine.
  /// Exhaustion stops the run (exit reason fuel). 0 means unlimited.
  uint64_t fuel = 0;
  /// Wall-clock limit per exec in milliseconds; 0 means none. At the limit
  /// Python receives TimeoutError (soft stop: state is kept).
  uint64_t timeout_ms = 30'000;
  /// After the soft stop, how long the code may take to finish (e.g. while in
  /// a long C call, or if it swallows TimeoutError) before the hard stop: the
  /// run traps and the session rolls back to its last committed state.
  uint64_t grace_ms = 1'000;
  /// Cap on captured stdout and on captured stderr, each, in bytes. Output past
  /// it is dropped, a marker is appended and the truncation flag is set.
  uint64_t output_bytes = 1ull << 20;
  /// Native stack for guest code in bytes (minimum 512 KiB). Running out is a
  /// stack_exhausted trap, never a host crash. CPython's own C recursion limit
  /// (5000 levels on WASI) needs about 0.8 MiB, so the default leaves a 20x
  /// margin and Python code sees RecursionError. Virtual: only touched pages cost.
  uint64_t native_stack_bytes = 16ull << 20;
  /// Bytes the private /tmp may hold. Past it writes fail with ENOSPC (OSError
  /// in Python). It is host RAM, so keep it near what a job needs.
  uint64_t tmp_bytes = 64ull << 20;
  /// Files and directories /tmp may hold; past it creation fails with EDQUOT.
  uint64_t tmp_files = 4096;
  /// Directory nesting in /tmp; deeper creation fails with ENAMETOOLONG.
  uint32_t tmp_depth = 64;
  /// Bytes the guest may write to read-write mounts per session (every byte
  /// written counts, overwrites included, as does the private copy made when an
  /// existing file is opened for writing, and 4 KiB per file, directory or link
  /// created); past it writes fail with EDQUOT. See docs/filesystem.md.
  uint64_t mount_write_bytes = 64ull << 20;
  /// Host fds the session's open mount files may hold (1 per reader, 2 per writer); past it EMFILE.
  uint64_t host_fds = 256;
  /// Cap on the JSON arguments of one host function call, checked before
  /// they are copied out of the guest; past it the call raises ValueError.
  uint64_t host_call_bytes = 1ull << 20;
  /// Cap on one host function's JSON result, checked before it is copied in.
  uint64_t host_result_bytes = 4ull << 20;
};

}  // namespace pycell
