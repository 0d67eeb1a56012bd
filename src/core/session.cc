// Session: one guest instance with its memory, WASI context and private /tmp.
#include "pycell/session.h"

#include <chrono>

#include "core/engine_state.h"
#include "core/guest_result.h"
#include "rt/guest_memory.h"
#include "rt/instance.h"
#include "rt/trap.h"
#include "vfs/mem_fs.h"
#include "wasi/context.h"

namespace pycell {

struct SessionState {
  std::shared_ptr<const EngineState> engine;
  SessionConfig config;
  std::unique_ptr<rt::GuestMemory> memory;
  std::unique_ptr<wasi::Context> wasi;  // the guest holds its address
  std::unique_ptr<rt::Instance> instance;
  /// Set when a trap left the interpreter in an unknown state.
  std::string broken;

  uint64_t stack() const { return config.limits.native_stack_bytes; }
};

namespace {

constexpr uint32_t kFlagScript = 1, kFlagWantJson = 2;  // guest/python/_pycell.py

/// The guest's filesystem: the stdlib image at its install path, a private /tmp.
std::shared_ptr<vfs::Node> make_root(const EngineState& engine, const Limits& limits) {
  auto quota = std::make_shared<vfs::MemQuota>();
  quota->max_bytes = limits.tmp_bytes;
  quota->max_files = limits.tmp_files;
  quota->max_depth = limits.tmp_depth;
  auto lib = std::make_shared<vfs::StaticDir>();
  lib->add("python3.13", engine.stdlib);
  auto local = std::make_shared<vfs::StaticDir>();
  local->add("lib", lib);
  auto usr = std::make_shared<vfs::StaticDir>();
  usr->add("local", local);
  auto root = std::make_shared<vfs::StaticDir>();
  root->add("tmp", vfs::make_mem_root(std::move(quota)));
  root->add("usr", usr);
  return root;
}

std::string trap_message(int code) {
  return std::string("guest trapped: ") + std::string(to_string(rt::to_trap_kind(code)));
}

}  // namespace

Session::Session(std::unique_ptr<SessionState> s) : state_(std::move(s)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::create(const Engine& engine, SessionConfig config) {
  auto s = std::make_unique<SessionState>();
  s->engine = engine.state();
  s->config = std::move(config);
  const Limits& limits = s->config.limits;

  auto memory = rt::GuestMemory::create(rt::guest_initial_pages(), limits.memory_bytes);
  if (!memory) return memory.error();
  s->memory = std::move(*memory);

  s->wasi = std::make_unique<wasi::Context>();
  s->wasi->memory = s->memory.get();
  s->wasi->env = s->config.env;
  s->wasi->out.cap = limits.output_bytes;
  s->wasi->err.cap = limits.output_bytes;
  s->wasi->init_fds(make_root(*s->engine, limits));

  s->instance = rt::Instance::create();
  if (int trap = s->instance->instantiate(*s->memory, *s->wasi, s->stack()); trap != 0) {
    return Error(ErrorCode::kGuest, "instantiating the guest: " + trap_message(trap));
  }
  int32_t status = 0;
  if (int trap = s->instance->init(status, s->stack()); trap != 0 || status != 0) {
    std::string why = trap ? trap_message(trap) : "status " + std::to_string(status);
    return Error(ErrorCode::kGuest, "starting the interpreter failed (" + why + "): " + s->wasi->err.captured);
  }
  s->wasi->out.captured.clear();
  s->wasi->err.captured.clear();
  return Session(std::move(s));
}

Result<ExecResult> Session::exec(std::string_view code, const ExecOptions& options) {
  SessionState& s = *state_;
  if (!s.broken.empty()) return Error(ErrorCode::kUnavailable, "session unusable: " + s.broken);
  const auto started = std::chrono::steady_clock::now();

  wasi::Context& w = *s.wasi;
  w.out.captured.clear();
  w.err.captured.clear();
  w.out.truncated = w.err.truncated = false;
  if (options.on_output) {
    w.out.stream = [&](std::string_view b) { options.on_output(Stream::kStdout, b); };
    w.err.stream = [&](std::string_view b) { options.on_output(Stream::kStderr, b); };
  }
  struct ClearStreams {
    wasi::Context& w;
    ~ClearStreams() { w.out.stream = nullptr; w.err.stream = nullptr; }
  } clear_streams{w};

  const std::string meta = encode_exec_meta(options);
  uint32_t code_addr = 0, meta_addr = 0, view = 0;
  int trap = s.instance->alloc(static_cast<uint32_t>(code.size()), code_addr, s.stack());
  if (!trap) trap = s.instance->alloc(static_cast<uint32_t>(meta.size()), meta_addr, s.stack());
  if (!trap && (!code_addr || !meta_addr)) {
    return Error(ErrorCode::kResourceExhausted, "guest memory exhausted before the code could be passed in");
  }
  if (!trap) {
    if (!s.memory->store_bytes(code_addr, code.data(), code.size()) ||
        !s.memory->store_bytes(meta_addr, meta.data(), meta.size())) {
      return Error(ErrorCode::kGuest, "guest allocator returned an invalid buffer");
    }
    const uint32_t flags = (options.mode == ExecOptions::Mode::kScript ? kFlagScript : 0) |
                           (options.want_json ? kFlagWantJson : 0);
    trap = s.instance->exec(code_addr, static_cast<uint32_t>(code.size()), meta_addr,
                            static_cast<uint32_t>(meta.size()), flags, view, s.stack());
  }

  ExecResult r;
  if (trap == 0) {
    auto decoded = decode_guest_result(*s.memory, view, s.config.limits.output_bytes, r);
    if (!decoded) return decoded.error();
    // Return the buffers; a trap here would be reported on the next call.
    if (int t = s.instance->free(code_addr, s.stack()); t) s.broken = trap_message(t);
    if (int t = s.instance->free(meta_addr, s.stack()); t) s.broken = trap_message(t);
  } else if (trap == static_cast<int>(rt::TrapCode::kHostExit)) {
    r.exit_reason = ExitReason::kExit;
    r.exit_code = static_cast<int>(w.exit_code.value_or(1));
    s.broken = "the guest called proc_exit";
  } else {
    r.exit_reason = ExitReason::kTrap;
    r.trap = rt::to_trap_kind(trap);
    r.exit_code = 1;
    s.broken = trap_message(trap);
  }
  r.stdout_text = std::move(w.out.captured);
  r.stderr_text = std::move(w.err.captured);
  r.stdout_truncated = w.out.truncated;
  r.stderr_truncated = w.err.truncated;
  const std::string marker = "\n[pycell: output truncated at " + std::to_string(s.config.limits.output_bytes) + " bytes]\n";
  if (r.stdout_truncated) r.stdout_text += marker;
  if (r.stderr_truncated) r.stderr_text += marker;
  r.peak_memory = s.memory->peak();
  r.wall_time = std::chrono::steady_clock::now() - started;
  return r;
}

}  // namespace pycell
