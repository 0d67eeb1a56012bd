// WASI preview 1 context: the guest's whole view of the outside world (fds, vfs,
// args, env, clocks, output), and the handlers' shared declarations.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rt/budget.h"
#include "rt/guest_memory.h"
#include "vfs/vfs.h"

namespace pycell::wasi {

using vfs::Errno;

/// Captured output of one stream: bounded, with a streaming hook that sees
/// everything. Output past the cap is counted and dropped from the capture.
struct OutputSink {
  std::string captured;
  uint64_t cap = 0;
  uint64_t dropped = 0;
  bool truncated = false;
  std::function<void(std::string_view)> stream;  // may be empty
  void write(std::string_view bytes);
};

/// Status of a host function call (guest/python/pycell_host.py mirrors these).
enum class HostCallStatus : uint32_t {
  kOk = 0,             ///< reply: the result, JSON
  kError = 1,          ///< reply: a JSON string, the sanitized error message
  kNotGranted = 2,     ///< likewise
  kArgsTooLarge = 3,   ///< likewise; the arguments were never copied
  kResultTooLarge = 4, ///< likewise; the result was never copied in
  kBadArguments = 5,   ///< likewise: the arguments do not match the schema
  kDenied = 6,         ///< likewise: a policy refused it (e.g. an HTTP host)
  kTimeout = 7,        ///< likewise
  kFault = 8,          ///< the guest passed a bad pointer
  kInvalid = 9,        ///< reply: a JSON string: a malformed request (e.g. a bad URL)
};
/// Flag or-ed into a call's status: the run's time ran out during the call, so
/// the guest raises its soft stop (TimeoutError) on return (guest/shim/shim.c).
inline constexpr uint32_t kHostCallSoftStop = 0x100;

/// How the guest's pycell_host.call reaches the session's host functions.
struct HostCalls {
  /// Cap on the arguments, checked before they are copied out of the guest.
  /// (Results are capped by the dispatcher, before they are copied in.)
  uint64_t max_args = 0;
  /// Runs one call (on the host's own stack) and fills `reply`. Empty: no
  /// host functions at all.
  std::function<HostCallStatus(std::string_view name, std::string_view args, std::string& reply)> dispatch;
  /// The reply the guest has not taken yet.
  std::string pending;
};

/// Deterministic mode: the guest's clocks and random bytes come from here
/// instead of the host's, so a run can be repeated exactly.
struct Deterministic {
  uint64_t rng[4] = {};       // xoshiro256** state, from the seed
  uint64_t start_ns = 0;      // the clocks' value at fuel 0
  uint64_t ns_per_fuel = 0;
  uint64_t fuel_before = 0;   // fuel of the session's earlier runs
  uint64_t slept_ns = 0;      // sleeps advance the clock instead of waiting
  Deterministic(uint64_t seed, uint64_t start, uint64_t per_fuel);
  /// The guest's current time.
  [[nodiscard]] uint64_t now_ns(const rt::Budget& budget) const;
  void fill(uint8_t* out, size_t len);
};

/// One entry of the guest's fd table.
struct FdEntry {
  enum class Kind { kStdin, kStdout, kStderr, kNode } kind = Kind::kNode;
  std::shared_ptr<vfs::Node> node;  // kNode only
  uint64_t offset = 0;
  uint16_t fdflags = 0;
  bool readable = true;
  bool writable = false;
  std::string preopen;  // guest path if this is a preopened directory
};

/// Everything the WASI handlers of one instance act on. Owned by the session.
struct Context {
  rt::GuestMemory* memory = nullptr;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<std::optional<FdEntry>> fds;
  OutputSink out, err;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  /// The run's allowance: sleeps in poll_oneoff end early at its deadlines,
  /// and runaway output asks it to stop the run.
  rt::Budget* budget = nullptr;
  HostCalls host;
  std::optional<Deterministic> deterministic;
  /// Exit status passed to proc_exit, once it has been called.
  std::optional<uint32_t> exit_code;

  /// Installs stdio (0-2) and preopens `root` as "/" (fd 3).
  void init_fds(std::shared_ptr<vfs::Node> root);
  FdEntry* fd(uint32_t n);
};

// Limits on what one call may make the host allocate.
inline constexpr uint32_t kMaxFds = 1024;
inline constexpr uint32_t kMaxPathBytes = 4096;
inline constexpr uint32_t kMaxIovecs = 1024;
/// Output a run may keep writing after its cap before it is stopped
/// (output_limit): enough for a program to finish normally after a burst.
/// Applied to streamed output too: every consumer (CLI, server streams)
/// drops what is past the cap, so a run writing on would only burn its time.
inline constexpr uint64_t kMaxDroppedOutput = 64ull << 20;

// WASI constants and struct layouts (wasi_snapshot_preview1.witx).
namespace layout {
inline constexpr uint8_t kFiletypeUnknown = 0, kFiletypeCharDevice = 2, kFiletypeDirectory = 3,
                         kFiletypeRegular = 4;
inline constexpr uint16_t kOflagCreat = 1, kOflagDirectory = 2, kOflagExcl = 4, kOflagTrunc = 8;
inline constexpr uint16_t kFdflagAppend = 1;
inline constexpr uint64_t kRightFdRead = 1ull << 1, kRightFdSeek = 1ull << 2, kRightFdTell = 1ull << 5,
                          kRightFdWrite = 1ull << 6;
inline constexpr uint64_t kAllRights = (1ull << 30) - 1;
inline constexpr uint32_t kFilestatSize = 64, kFdstatSize = 24, kDirentHeader = 24, kIovecSize = 8;
inline constexpr uint32_t kSubscriptionSize = 48, kEventSize = 32;
}  // namespace layout

uint8_t filetype_of(vfs::Kind k);
/// Writes a WASI filestat for `st` at guest address `addr`.
Errno store_filestat(rt::GuestMemory& m, uint32_t addr, const vfs::Stat& st, uint8_t filetype);
/// Applies WASI fst_flags (ATIM, ATIM_NOW, MTIM, MTIM_NOW) to a node.
Errno set_times(vfs::Node& node, uint64_t atim, uint64_t mtim, uint32_t flags);
/// Copies a guest path out and checks it (length, no NUL, valid UTF-8).
Errno read_path(const rt::GuestMemory& m, uint32_t ptr, uint32_t len, std::string& out);

}  // namespace pycell::wasi
